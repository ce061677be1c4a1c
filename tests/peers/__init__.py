"""Third-party peers started by tests on loopback (Telegram Bot API emulator)."""
