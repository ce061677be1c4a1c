"""Keeping secrets out of logs.

HTTP libraries log request URLs, and Telegram's Bot API puts the bot token in the URL path;
exception messages and tracebacks can carry tokens too. One filter on every log handler masks
known secrets (registered at start-up) and anything shaped like a Telegram or Discord token.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

_TOKEN_PATTERNS = (
    re.compile(r"(?<=/bot)(\d+):[^/\s?#\"']+"),  # Telegram API URLs: .../bot<id>:<secret>/method
    re.compile(r"(?<![A-Za-z0-9])(\d{5,}):[A-Za-z0-9_-]{30,}"),  # bare Telegram tokens
)
# Discord bot tokens: base64 user id . timestamp . HMAC.
_DISCORD_TOKEN = re.compile(r"\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,40}\b")
_KNOWN_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Mask this exact string too (a configured token, whatever its shape)."""
    if secret and len(secret) >= 8:
        _KNOWN_SECRETS.add(secret)


def mask_secrets(text: str) -> str:
    for secret in _KNOWN_SECRETS:
        text = text.replace(secret, "<secret>")
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(r"\1:<redacted>", text)
    return _DISCORD_TOKEN.sub("<redacted>", text)


class TokenMaskFilter(logging.Filter):
    """Masks secrets in log messages and tracebacks. Attach it to *handlers*: a logger's own
    filters do not see records propagated from child loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        return True


def install_log_filter(logger: logging.Logger | None = None) -> TokenMaskFilter:
    """Add one :class:`TokenMaskFilter` to every handler of ``logger`` (default: root).
    Call after logging is configured; handlers added later need it too."""
    token_filter = TokenMaskFilter()
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, TokenMaskFilter) for f in handler.filters):
            handler.addFilter(token_filter)
    return token_filter


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for secret in (settings.telegram_token, settings.discord_token, settings.llm_api_key):
        register_secret(secret)
    handler.addFilter(TokenMaskFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # httpx logs every request URL at INFO, tokens included; keep it quiet. Alembic announces
    # every migration check at INFO on each start.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
