"""Polling paced by work: real loopback servers (two hosts), the real fetcher, SQLite on disk.

Concurrency is observed at the servers (requests in flight per server), not only in the
pacer's own bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from bot.app import App
from bot.cli import _poll
from bot.config import Settings
from bot.feeds.fetch import Fetcher
from bot.feeds.pacer import Pacer
from bot.models import Feed
from bot.store import SQLStore, open_store
from tests import feedserver
from tests.feedserver import FeedServer

feed_server = feedserver.feed_server

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    b"<item><guid>a</guid><title>Hello</title><description>World</description></item>"
    b"</channel></rss>"
)


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLStore]:
    s = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    yield s
    await s.close()


async def test_once_all_polls_every_feed_not_one_batch(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    paths = [feed_server.add_bytes(f"/f{i}.xml", RSS) for i in range(37)]
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
        feeds_file=str(tmp_path / "none.toml"),
        allow_loopback=True,
        feeds_allow_private=True,
        poll_batch=5,  # at most 5 feeds per claim: 37 feeds need 8 claims at least
        fetch_concurrency=4,
        cpu_workers=-1,
    )
    thresholds = gc.get_threshold()
    async with await App.open(settings) as app:
        for path in paths:
            await app.store.add_feed(Feed(url=feed_server.url(path), is_default=True))
        try:
            assert await _poll(app, once=True, everything=True) == 0
            assert {p: feed_server.stats(p).requests for p in paths} == dict.fromkeys(paths, 1)
            # Everything is polled now and nothing is due: a second --once (without --all) is
            # empty.
            assert await _poll(app, once=True, everything=False) == 0
        finally:
            # _poll settles the heap as a poll process does (both calls): not this test
            # process's.
            gc.unfreeze()
            gc.set_threshold(*thresholds)
        assert feed_server.total_requests == 37
        assert feed_server.max_in_flight <= 4


async def test_bounded_overall_and_per_host(store: SQLStore) -> None:
    async with FeedServer(host="127.0.0.1") as one, FeedServer(host="127.0.0.2") as two:
        urls = []
        for server in (one, two):
            for i in range(10):
                urls.append(server.url(server.add_slow(f"/s{i}.xml", RSS, delay_s=0.15)))
        for url in urls:
            await store.add_feed(Feed(url=url, is_default=True))
        # The fetcher's own limits are wide: the bounds seen below are the pacer's.
        async with Fetcher(allow_loopback=True, concurrency=50, per_host=50) as fetcher:
            pacer = Pacer(store, fetcher, concurrency=3, per_host=2, claim_max=20)
            report = await pacer.run_once()
        assert report.feeds == 20
        assert report.failed == 0, report.errors
        assert one.total_requests == two.total_requests == 10
        assert one.max_in_flight == two.max_in_flight == 2  # per host: bounded, and used
        assert pacer.peak_running == 3  # overall
        # 20 feeds, at most 3 at a time: claimed as slots freed, over several claims.
        assert pacer.claims > 1


async def test_one_host_cannot_take_every_slot(store: SQLStore) -> None:
    async with FeedServer(host="127.0.0.1") as busy, FeedServer(host="127.0.0.2") as other:
        urls = [busy.url(busy.add_slow(f"/b{i}.xml", RSS, delay_s=0.2)) for i in range(12)]
        urls.append(other.url(other.add_slow("/o.xml", RSS, delay_s=0.01)))
        for url in urls:  # the busy host's feeds are due first
            await store.add_feed(Feed(url=url, is_default=True))
        order: list[str] = []
        async with Fetcher(allow_loopback=True, concurrency=50, per_host=50) as fetcher:
            pacer = Pacer(store, fetcher, concurrency=4, per_host=1)

            async def watch() -> None:
                for _ in range(2000):
                    if other.total_requests:
                        break
                    await asyncio.sleep(0.005)
                order.append(f"other after {busy.total_requests} busy")

            watcher = asyncio.create_task(watch())
            await pacer.run_once()
            await watcher
        # With per_host=1 the busy host's feeds queue; the other host's feed does not wait
        # for all twelve of them (it would be last in claim order).
        assert busy.total_requests == 12
        assert busy.max_in_flight == 1
        assert order == ["other after 1 busy"]


async def test_run_forever_sleeps_until_the_next_feed_is_due(
    store: SQLStore, feed_server: FeedServer
) -> None:
    now = datetime.now(UTC)
    first = feed_server.url(feed_server.add_bytes("/now.xml", RSS))
    later = feed_server.url(feed_server.add_bytes("/later.xml", RSS))
    await store.add_feed(Feed(url=first, is_default=True, next_check_at=now))
    await store.add_feed(
        Feed(url=later, is_default=True, next_check_at=now + timedelta(seconds=1.5))
    )
    stop = asyncio.Event()
    async with Fetcher(allow_loopback=True) as fetcher:
        pacer = Pacer(store, fetcher, idle_max_s=60)
        task = asyncio.create_task(pacer.run_forever(stop))
        for _ in range(1000):
            if feed_server.stats("/later.xml").requests:
                break
            await asyncio.sleep(0.01)
        stop.set()
        report = await asyncio.wait_for(task, 10)
    # The later feed was polled when it fell due, not after idle_max_s (60 s): the pacer
    # slept until the store's next due time.
    assert feed_server.stats("/now.xml").requests == 1
    assert feed_server.stats("/later.xml").requests == 1
    assert report.feeds == 2


async def test_claims_are_short_renewed_while_held_and_free_soon_after_a_poller_dies(
    store: SQLStore, feed_server: FeedServer
) -> None:
    """A 1.5-s lease on feeds that take 4 s to answer: while the poller lives, no other
    poller can claim them (the lease is renewed); when it dies mid-poll (its task cancelled,
    as a process killed outright stops renewing), they are due again within one lease."""
    slow = [feed_server.add_slow(f"/slow{i}.xml", RSS, delay_s=4.0) for i in range(3)]
    now = datetime.now(UTC)
    for path in slow:
        await store.add_feed(Feed(url=feed_server.url(path), next_check_at=now))
    async with Fetcher(allow_loopback=True, allow_private=True) as fetcher:
        pacer = Pacer(store, fetcher, concurrency=3, per_host=3, lease_s=1.5)
        polling = asyncio.create_task(pacer.run_once())
        await asyncio.sleep(3.0)  # two lease lengths: without renewal the claims ran out
        assert feed_server.total_requests >= 1  # the poller is inside a slow answer
        assert await store.claim_due_feeds(datetime.now(UTC), limit=10) == []
        polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await polling
    # Dead: nothing renews its claims any more, so they run out within one lease.
    await asyncio.sleep(2.0)
    again = await store.claim_due_feeds(datetime.now(UTC), limit=10)
    assert sorted(f.url for f in again) == sorted(feed_server.url(p) for p in slow)


async def test_a_feed_added_wakes_a_sleeping_pacer(
    store: SQLStore, feed_server: FeedServer
) -> None:
    # Nothing is due and the pacer sleeps up to idle_max_s; a feed added meanwhile (a chat's
    # /feeds add) is polled at once when the store pokes the pacer, not at its next look.
    before = feed_server.url(feed_server.add_bytes("/before.xml", RSS))
    after = feed_server.url(feed_server.add_bytes("/after.xml", RSS))
    stop = asyncio.Event()
    async with Fetcher(allow_loopback=True) as fetcher:
        pacer = Pacer(store, fetcher, idle_max_s=60)
        task = asyncio.create_task(pacer.run_forever(stop))
        try:
            await asyncio.sleep(0.5)  # the pacer found nothing due and went to sleep
            # Not wired yet: the pacer sleeps on (the check below can fail).
            await store.add_feed(Feed(url=before, is_default=True))
            await asyncio.sleep(1.5)
            assert feed_server.total_requests == 0
            store.on_feeds_due(pacer.poke)
            await store.add_feed(Feed(url=after, is_default=True))
            for _ in range(100):
                if feed_server.total_requests == 2:
                    break
                await asyncio.sleep(0.05)
            # Both: a poke claims everything due, not only what was just added.
            assert feed_server.stats("/before.xml").requests == 1
            assert feed_server.stats("/after.xml").requests == 1
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
