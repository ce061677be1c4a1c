"""Composition root: wires settings, store, fetcher and analysis; owns their lifecycle.

Everything long-lived is opened here in one ``async with`` and closed in reverse order, so the
CLI commands and ``warta run`` share one way to build the pipeline.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.analyze import default_scorer
from bot.config import Settings, load_feeds_file
from bot.feeds.cpu import CpuWork, make_cpu_work
from bot.feeds.fetch import Fetcher
from bot.feeds.pacer import OnStories, Pacer
from bot.logsafe import setup_logging
from bot.models import Feed
from bot.store import SQLStore, open_store
from bot.store.sql import FEEDS_CHANNEL
from bot.topic import TopicScorer
from bot.wakeup import PgListener, Poke, asyncpg_dsn

# setup_logging lives in logsafe: cheap CLI start
__all__ = ["USER_AGENT", "App", "settle_heap", "setup_logging"]

USER_AGENT = "Warta/0.1 (+https://github.com/warta-bot/warta; news digest bot)"


def settle_heap() -> None:
    """Start-up is over: keep every object alive now out of the cyclic collector's walks.

    After start-up a process holds ~110,000 tracked objects (modules, the topic lexicon, the
    language model, SQLAlchemy's metadata); a full collection walks them all, 60-75 ms of CPU
    in one loop step whenever Python decides (the ``gc`` line of bench/loop_lag_bench.py).
    Frozen, they are never walked again (they are still freed when their reference count
    drops to zero), and a full collection walks only what was made since. Collected first, so
    no start-up garbage is frozen for good. Long-running processes call this once.

    The youngest generation is then collected every 10,000 allocations instead of 700: a poll
    makes and drops objects by the million (parsed entries, rows, requests), nearly all freed
    by their reference counts, and the collector's passes over them were ~5 % of a poll
    cycle's CPU; a pass over 10,000 young objects is still about a millisecond of loop step."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, gen1, gen2)


YOUNG_GC_THRESHOLD = 10_000


@dataclass(slots=True)
class App:
    settings: Settings
    store: SQLStore
    fetcher: Fetcher
    scorer: TopicScorer
    cpu: CpuWork
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
                    allow_private=settings.feeds_allow_private,
                    allow_loopback=settings.allow_loopback,
                )
            )
            scorer = default_scorer(settings.topics_file)
            # The pool starts on first use: commands that never poll a large feed pay nothing.
            cpu = make_cpu_work(settings.cpu_workers, scorer)
            stack.push_async_callback(cpu.aclose)
        except BaseException:
            await stack.aclose()
            raise
        return cls(
            settings=settings, store=store, fetcher=fetcher, scorer=scorer, cpu=cpu, _stack=stack
        )

    def pacer(
        self,
        *,
        on_stories: OnStories | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Pacer:
        """The feed poller with this app's store, fetcher, scorer, CPU pool and limits."""
        s = self.settings
        return Pacer(
            self.store,
            self.fetcher,
            scorer=self.scorer,
            cpu=self.cpu,
            concurrency=s.fetch_concurrency,
            per_host=s.fetch_per_host,
            claim_max=s.poll_batch,
            lease_s=s.feed_lease_s,
            on_stories=on_stories,
            clock=clock,
        )

    def wake_on_due_feeds(self, pacer: Pacer) -> None:
        """Poke ``pacer`` as soon as a feed may be due (a chat or an operator added one): this
        process's store writes, and on PostgreSQL every process's (LISTEN on a dedicated
        connection, closed with the app). Without it a sleeping pacer finds the feed at its
        next scheduled look, up to ``idle_max_s`` later."""
        self.store.on_feeds_due(pacer.poke)
        dsn = asyncpg_dsn(self.store.url)
        if dsn is not None:
            listener = PgListener(dsn, FEEDS_CHANNEL, Poke(pacer.poke))
            listener.start()
            self.defer_close(listener.stop)

    async def close(self) -> None:
        await self._stack.aclose()

    def defer_close(self, callback: Callable[[], Awaitable[object]]) -> None:
        """Close ``callback``'s owner with the app (before the store and fetcher)."""
        self._stack.push_async_callback(callback)

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
        """Add the feeds listed in the feeds file that the store does not know yet, and make
        every listed feed a default source (in every chat's set unless a chat switched it off).

        A feed dropped from the file stays a default until an operator says otherwise
        (``/feeds default remove``): the file is read as "these are defaults", not as the
        complete list, because operators also add defaults from chat and the CLI."""
        file = Path(path or self.settings.feeds_file)
        if not file.exists():
            return 0
        specs = load_feeds_file(file)
        if not specs:
            return 0
        known = await self.store.feed_defaults()  # url -> is a default
        for spec in specs:
            if spec.url in known and not known[spec.url]:
                await self.store.set_feed_default(spec.url, True)
        new = [
            Feed(
                url=spec.url,
                title=spec.title,
                lang=spec.lang,
                interval_s=spec.interval_s or self.settings.poll_interval_s,
            )
            for spec in specs
            if spec.url not in known
        ]
        await self.store.add_feeds(new)  # one transaction, however long the file
        return len({f.url for f in new})
