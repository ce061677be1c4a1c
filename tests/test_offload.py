"""CPU work off the event loop: a real process pool, a real loopback server, SQLite on disk.

The ticker test measures the loop's lag while big feeds are polled. It asserts no timing
figure of its own: it compares the worst stall against the time the same feed's parse and
analysis takes inline, measured in the same test, so a slow machine moves both sides.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from bench.feedgen import long_feed
from bot.analyze import default_scorer
from bot.app import YOUNG_GC_THRESHOLD, settle_heap
from bot.feeds.cpu import InlineWork, ProcessWork
from bot.feeds.feedwork import BuildSpec, build, outline
from bot.feeds.fetch import Fetcher
from bot.feeds.pacer import Pacer
from bot.models import Feed, Story
from bot.store import SQLStore, open_store
from tests import feedserver
from tests.feedserver import FeedServer

feed_server = feedserver.feed_server


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLStore]:
    s = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    yield s
    await s.close()


def _square_and_pid(x: int) -> tuple[int, int]:
    time.sleep(0.05)  # long enough that submitted jobs overlap
    return x * x, os.getpid()


async def test_pool_runs_jobs_in_other_processes_with_bounded_in_flight() -> None:
    work = ProcessWork(2, max_in_flight=3)
    try:
        results = await asyncio.gather(*(work.run(_square_and_pid, i) for i in range(12)))
    finally:
        await work.aclose()
    assert [r for r, _ in results] == [i * i for i in range(12)]
    assert os.getpid() not in {pid for _, pid in results}
    # Back-pressure: 12 callers at once, never more than 3 jobs handed to the pool.
    assert work.jobs == 12
    assert work.peak_in_flight == 3


async def test_pool_starts_every_worker_before_the_first_job() -> None:
    # A worker left to start on demand is spawned by a later submit, on the event loop: a
    # loop step as long as a fork + exec.
    before = {p.pid for p in multiprocessing.active_children()}
    work = ProcessWork(3)
    try:
        await work.run(int)
        started = {p.pid for p in multiprocessing.active_children()} - before
    finally:
        await work.aclose()
    assert len(started) == 3


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector could free it


def test_settled_heap_is_not_walked_by_collections() -> None:
    before = _Node()
    thresholds = gc.get_threshold()
    settle_heap()
    try:
        after = _Node()
        walked = gc.get_objects()
        # What existed at start-up is out of every collection's walk; what came later is not.
        assert not any(o is before for o in walked)
        assert any(o is after for o in walked)
        # And the young generation is collected less often from then on.
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *thresholds[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def _poll_all(store: SQLStore, work: InlineWork | ProcessWork, urls: list[str]) -> Pacer:
    for url in urls:
        await store.add_feed(Feed(url=url))
    async with Fetcher(allow_loopback=True, max_bytes=32 * 2**20) as fetcher:
        pacer = Pacer(store, fetcher, scorer=default_scorer(), cpu=work, concurrency=8)
        report = await pacer.run_once()
    assert report.feeds == len(urls)
    assert report.failed == 0, report.errors
    return pacer


async def test_big_feed_parsed_in_pool_stores_what_inline_stores(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.url(feed_server.add_bytes("/big.xml", long_feed(7, items=60)))
    inline_db = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    pool_db = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    work = ProcessWork(2)
    try:
        await _poll_all(inline_db, InlineWork(), [url])
        await _poll_all(pool_db, work, [url])
        assert work.jobs == 2  # outline + build, both in the pool (the body is > 64 KiB)

        def view(stories: list[Story]) -> list[tuple[object, ...]]:
            return sorted(
                (s.url, s.title, s.text, s.lang, s.relevance, s.matched, s.bullets) for s in stories
            )

        span = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        inline = await inline_db.stories_between(*span, limit=1000)
        pooled = await pool_db.stories_between(*span, limit=1000)
        assert len(inline) == 60
        assert view(pooled) == view(inline)
    finally:
        await work.aclose()
        await inline_db.close()
        await pool_db.close()


async def test_polling_big_feeds_never_blocks_the_loop_for_a_feed(
    store: SQLStore, feed_server: FeedServer
) -> None:
    body = long_feed(3, items=150)
    # What one such feed costs when it runs as one loop step (the behaviour before the pool).
    started = time.perf_counter()
    _, parsed = outline(body, None, {})
    build(parsed, {}, BuildSpec("u", "s", None, None, datetime.now(UTC)), default_scorer())
    inline_s = time.perf_counter() - started

    urls = [feed_server.url(feed_server.add_bytes(f"/big{i}.xml", body)) for i in range(4)]
    work = ProcessWork(2)
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    tick = asyncio.create_task(ticker())
    try:
        await _poll_all(store, work, urls)
    finally:
        done.set()
        await tick
        await work.aclose()
    assert work.jobs == 8
    assert len(lags) > 10
    # Inline, the loop would stall for inline_s per feed; off the loop the worst stall is a
    # fraction of that (unpickling results, the store's writes), however slow this machine is.
    assert max(lags) < inline_s / 3, (max(lags), inline_s)
