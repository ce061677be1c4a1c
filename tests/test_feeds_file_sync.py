"""``App.sync_feeds_file``: the operator's feeds file makes defaults, on the real SQLite store."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.config import Settings
from bot.models import Feed


async def _open(tmp_path: Path, body: str) -> App:
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text(body, encoding="utf-8")
    settings = Settings(feeds_file=str(feeds_file))
    return await App.open(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")


async def test_listed_feeds_become_defaults_new_or_known(tmp_path: Path) -> None:
    app = await _open(
        tmp_path,
        '[[feed]]\nurl = "https://new.example/rss"\n\n[[feed]]\nurl = "https://chat.example/rss"\n',
    )
    try:
        # A chat added this one before the operator listed it: it becomes a default, once.
        await app.store.add_feed(Feed("https://chat.example/rss", is_default=False))
        await app.store.add_feed(Feed("https://other.example/rss", is_default=False))
        assert await app.sync_feeds_file() == 1  # one feed was new
        assert await app.store.feed_defaults() == {
            "https://chat.example/rss": True,
            "https://other.example/rss": False,
            "https://new.example/rss": True,
        }
        assert await app.sync_feeds_file() == 0  # nothing new the second time
    finally:
        await app.close()


async def test_an_empty_feeds_file_changes_nothing(tmp_path: Path) -> None:
    app = await _open(tmp_path, "")
    try:
        await app.store.add_feed(Feed("https://chat.example/rss", is_default=False))
        assert await app.sync_feeds_file() == 0
        assert await app.store.feed_defaults() == {"https://chat.example/rss": False}
    finally:
        await app.close()
