"""Public URLs of the site, for chats and other places that link to it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def digest_url(base_url: str, lang: str, window_end: datetime, tz: str = "Asia/Jakarta") -> str:
    """The permalink of the day page that holds a chat digest ending at ``window_end``.

    A chat's window rarely matches a calendar day (a daily 08:00 digest covers two), so it
    links to the day its window ends in, local time; a window ending exactly at midnight
    belongs to the day before.
    """
    day = (window_end - timedelta(microseconds=1)).astimezone(ZoneInfo(tz)).date()
    return f"{base_url.rstrip('/')}/digest/{lang}/{day.isoformat()}"


def story_url(base_url: str, lang: str, story_id: int) -> str:
    return f"{base_url.rstrip('/')}/{lang}/story/{story_id}"
