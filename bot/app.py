"""Composition root: wires settings, store, fetcher and analysis; owns their lifecycle.

Everything long-lived is opened here in one ``async with`` and closed in reverse order, so the
CLI commands and ``warta run`` share one way to build the pipeline.
"""

from __future__ import annotations

import logging
import re
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.analyze import default_scorer
from bot.config import Settings, load_feeds_file
from bot.feeds.fetch import Fetcher
from bot.models import Feed
from bot.store import SQLStore, open_store
from bot.topic import TopicScorer

USER_AGENT = "Warta/0.1 (+https://github.com/warta-bot/warta; news digest bot)"


class TokenFilter(logging.Filter):
    """Masks bot tokens in every log record: HTTP libraries log request URLs, and Telegram's
    Bot API puts the token in the URL path."""

    _PATTERNS = (
        re.compile(r"bot\d{3,}:[A-Za-z0-9_-]{20,}"),  # Telegram: /bot<id>:<secret>
        re.compile(r"[MN][A-Za-z\d_-]{23,25}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}"),  # Discord
    )

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        for pattern in self._PATTERNS:
            text = pattern.sub("***", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(
        TokenFilter(tuple(t for t in (settings.telegram_token, settings.discord_token) if t))
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # httpx logs every request URL at INFO, tokens included; keep it quiet.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(slots=True)
class App:
    settings: Settings
    store: SQLStore
    fetcher: Fetcher
    scorer: TopicScorer
    _stack: AsyncExitStack

    @classmethod
    async def open(cls, settings: Settings, *, database_url: str | None = None) -> App:
        stack = AsyncExitStack()
        try:
            store = await open_store(database_url or settings.database_url)
            stack.push_async_callback(store.close)
            fetcher = await stack.enter_async_context(
                Fetcher(
                    user_agent=USER_AGENT,
                    timeout_s=settings.fetch_timeout_s,
                    max_bytes=settings.fetch_max_bytes,
                    concurrency=settings.fetch_concurrency,
                    per_host=settings.fetch_per_host,
                )
            )
            scorer = default_scorer(settings.topics_file)
        except BaseException:
            await stack.aclose()
            raise
        return cls(settings=settings, store=store, fetcher=fetcher, scorer=scorer, _stack=stack)

    async def close(self) -> None:
        await self._stack.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def sync_feeds_file(self, path: str | None = None) -> int:
        """Add the feeds listed in the feeds file that the store does not know yet."""
        file = Path(path or self.settings.feeds_file)
        if not file.exists():
            return 0
        known = {f.url for f in await self.store.list_feeds()}
        added = 0
        for spec in load_feeds_file(file):
            if spec.url in known:
                continue
            await self.store.add_feed(
                Feed(
                    url=spec.url,
                    title=spec.title,
                    lang=spec.lang,
                    interval_s=spec.interval_s or self.settings.poll_interval_s,
                )
            )
            added += 1
        return added

