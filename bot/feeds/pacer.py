"""Polling paced by work: due feeds are claimed as polling slots free up, not in batches per tick.

At most ``concurrency`` feeds are polled at once, at most ``per_host`` of them on one host. A
claimed feed whose host is busy waits in a per-host queue (bounded: claiming stops while
4 x ``concurrency`` feeds wait), so one host with thousands of feeds cannot take every slot.
Claims are made when half of the slots are free, and finished feeds are saved (their state
written, their lease released) in the claim's own transaction, so the store sees one write
per few dozen feeds, not per feed.

:meth:`Pacer.run_once` polls every feed that was due when it started and returns
(``warta poll --once``); :meth:`Pacer.run_forever` keeps claiming and, when nothing is due,
sleeps until the next feed falls due (``warta run``, ``warta poll``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.feeds.cpu import CpuWork
from bot.feeds.ingest import Batches, FeedFetcher, IngestStore, PollReport, poll_one
from bot.feeds.leases import FEED_LEASE_S, FeedLeases
from bot.models import Feed, Story
from bot.topic import TopicScorer

log = logging.getLogger(__name__)

# A chat's new +keyword widens summaries of stories polled from then on, within this long.
WIDEN_REFRESH_S = 60.0

OnStories = Callable[[Sequence[Story]], Awaitable[object]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _host(feed: Feed) -> str:
    return urlsplit(feed.url).hostname or feed.url


class Pacer:
    def __init__(
        self,
        store: IngestStore,
        fetcher: FeedFetcher,
        *,
        scorer: TopicScorer | None = None,
        cpu: CpuWork | None = None,
        concurrency: int = 50,
        per_host: int = 4,
        claim_max: int = 200,
        # Short and renewed while held: a killed process's feeds are due again within it.
        lease_s: float = FEED_LEASE_S,
        # Feeds added by a chat are due at once; a sleeping pacer looks again this often.
        idle_max_s: float = 30.0,
        clock: Callable[[], datetime] | None = None,
        on_stories: OnStories | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.scorer = scorer
        self.cpu = cpu
        self.concurrency = max(1, concurrency)
        self.per_host = max(1, per_host)
        self.claim_max = max(1, claim_max)
        self.lease_s = lease_s
        self.idle_max_s = idle_max_s
        self.clock = clock or _utcnow
        self.on_stories = on_stories
        # Wake-ups for a claim: half of the slots, so a claim serves many feeds. Feeds started
        # together finish together, and their known-keys reads and story writes coalesce into
        # one round trip each (bot.feeds.batching): per cycle, half as many transactions as
        # with a quarter, ~7 % of a 3,000-feed cycle's CPU (bench.cycle_bench).
        self._claim_min = max(1, self.concurrency // 2)
        # Claimed feeds waiting for their host: enough that other hosts' feeds behind a busy
        # host's get claimed, few enough that they are polled well within their lease.
        self._parked_max = 4 * self.concurrency
        self.claims = 0
        self.peak_running = 0
        self.peak_per_host = 0
        # Set by poke(): a feed may be due now; the running drive's wake-up event.
        self._poked = False
        self._wake: asyncio.Event | None = None

    def poke(self) -> None:
        """A feed may have become due now (added, made a default): claim again at once
        instead of at the next scheduled look. Safe to call at any time, from the loop."""
        self._poked = True
        if self._wake is not None:
            self._wake.set()

    async def run_once(self) -> PollReport:
        """Poll every feed due now (including those that fall due no later than now while
        this runs is not promised: the claim time is fixed at the start, so this ends)."""
        start = self.clock()
        async with FeedLeases(self.store, self.lease_s).keep() as leases:
            return await self._drive(lambda: start, stop=None, leases=leases)

    async def run_forever(self, stop: asyncio.Event) -> PollReport:
        """Poll as feeds fall due until ``stop`` is set; running polls are finished first."""
        async with FeedLeases(self.store, self.lease_s).keep() as leases:
            return await self._drive(self.clock, stop=stop, leases=leases)

    async def _drive(
        self, claim_time: Callable[[], datetime], stop: asyncio.Event | None, leases: FeedLeases
    ) -> PollReport:
        total = PollReport()
        # task -> its feed, report and host (split once per feed, not at every step)
        running: dict[asyncio.Future[Any], tuple[Feed, PollReport, str]] = {}
        busy: Counter[str] = Counter()
        parked: dict[str, deque[Feed]] = {}
        n_parked = 0
        finished: list[tuple[Feed, PollReport]] = []
        # Until then, no claim: the last one found nothing due (forever) or all is claimed (once).
        retry_at: datetime | None = None
        exhausted = False
        # Finished polls are handed over by their tasks' done callbacks and one event, rather
        # than by asyncio.wait over every running poll: that registers and removes a callback
        # on each of them for every poll that ends (concurrency x feeds callbacks per cycle).
        completed: deque[asyncio.Future[Any]] = deque()
        wake = self._wake = asyncio.Event()

        def on_done(task: asyncio.Future[Any]) -> None:
            completed.append(task)
            wake.set()

        stopper: asyncio.Task[bool] | None = None
        if stop is not None:
            stopper = asyncio.create_task(stop.wait())
            stopper.add_done_callback(lambda _: wake.set())

        # The store calls of feeds polled at the same time are coalesced (one known-keys query,
        # one write per batch); the +keywords that widen summaries are read again now and then.
        batches = Batches(self.store, await self.store.widening_keywords())
        batches_at = self.clock()

        def start(feed: Feed, host: str) -> None:
            busy[host] += 1
            self.peak_per_host = max(self.peak_per_host, busy[host])
            report = PollReport(feeds=1)
            task = asyncio.create_task(self._poll(feed, report, batches))
            running[task] = (feed, report, host)
            task.add_done_callback(on_done)
            self.peak_running = max(self.peak_running, len(running))

        def place(feed: Feed) -> None:
            nonlocal n_parked
            host = _host(feed)
            if busy[host] < self.per_host and len(running) < self.concurrency:
                start(feed, host)
            else:
                parked.setdefault(host, deque()).append(feed)
                n_parked += 1

        def unpark() -> None:
            nonlocal n_parked
            for host in list(parked):
                queue = parked[host]
                while queue and busy[host] < self.per_host and len(running) < self.concurrency:
                    start(queue.popleft(), host)
                    n_parked -= 1
                if not queue:
                    del parked[host]

        def take_finished() -> list[tuple[Feed, PollReport]]:
            batch = finished[:]
            finished.clear()
            return batch

        async def flush() -> None:
            if finished:
                batch = take_finished()
                await self.store.save_feeds([feed for feed, _ in batch])
                await settled(batch)

        async def settled(batch: list[tuple[Feed, PollReport]]) -> None:
            """After ``batch``'s state is saved: leases, totals, the new-stories hook."""
            leases.settled(feed.url for feed, _ in batch)
            stories: list[Story] = []
            for _, report in batch:
                total.merge(report)
                stories.extend(report.new_stories)
            if stories and self.on_stories is not None:
                try:
                    await self.on_stories(stories)
                except Exception:  # stories are stored; a failed hook must not stop polling
                    log.exception("handling %d new stories failed", len(stories))

        def may_claim(stopping: bool) -> bool:
            free = self.concurrency - len(running)
            return (
                not stopping
                and not exhausted
                and (retry_at is None or self.clock() >= retry_at)
                and n_parked < self._parked_max
                and (free >= self._claim_min or not running)
            )

        try:
            while True:
                stopping = stop is not None and stop.is_set()
                if self._poked and stop is not None:
                    self._poked = False
                    retry_at = None  # look now, not at the time the last empty claim set
                if not stopping:  # when stopping, claimed feeds not yet started are released
                    unpark()
                free = self.concurrency - len(running)
                if may_claim(stopping):
                    if (self.clock() - batches_at).total_seconds() > WIDEN_REFRESH_S:
                        batches = Batches(self.store, await self.store.widening_keywords())
                        batches_at = self.clock()
                    want = min(self.claim_max, free)
                    # The finished feeds are saved in the claim's transaction.
                    batch = take_finished()
                    feeds = await self.store.claim_due_feeds(
                        claim_time(),
                        limit=want,
                        lease_s=self.lease_s,
                        save=[feed for feed, _ in batch],
                    )
                    if batch:
                        await settled(batch)
                    self.claims += 1
                    leases.took(feeds)
                    for feed in feeds:
                        place(feed)
                    retry_at = None
                    if len(feeds) < want:
                        if stop is None:
                            exhausted = True
                        else:
                            retry_at = await self._next_try()
                    continue
                if not running:
                    await flush()
                    if stop is None or stopping:
                        break
                    await self._sleep_until(retry_at, wake, stop)
                    continue
                if (
                    not completed
                    and not (stopper is not None and stopper.done() and not stopping)
                    and not (self._poked and stop is not None)
                ):
                    wake.clear()
                    timeout = None
                    if retry_at is not None:
                        timeout = max(0.0, (retry_at - self.clock()).total_seconds())
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(timeout):
                            await wake.wait()
                while completed:
                    task = completed.popleft()
                    feed, report, host = running.pop(task)
                    busy[host] -= 1
                    finished.append((feed, report))
                if len(finished) >= self._claim_min and not may_claim(
                    stop is not None and stop.is_set()
                ):
                    # No claim is coming now to save them with.
                    await flush()
        finally:
            self._wake = None
            if stopper is not None:
                stopper.cancel()
            if running:
                # Cancelled from outside: the leases make the cut-short feeds due again later.
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
            if parked:
                # Claimed but never polled: saved unchanged, which releases the lease's claim
                # time back to "due now".
                now = self.clock()
                left = [f for queue in parked.values() for f in queue]
                for feed in left:
                    feed.next_check_at = now
                finished.extend((f, PollReport()) for f in left)
            if finished:
                await asyncio.shield(flush())
        if total.feeds:
            await self.store.set_meta("last_poll_at", self.clock().isoformat())
            log.info(
                "polled %d feeds: %d fetched, %d not modified, %d failed, %d new stories",
                total.feeds,
                total.fetched,
                total.not_modified,
                total.failed,
                len(total.new_stories),
            )
        return total

    async def _poll(self, feed: Feed, report: PollReport, batches: Batches) -> None:
        await poll_one(
            feed,
            store=self.store,
            fetcher=self.fetcher,
            now=self.clock(),
            scorer=self.scorer,
            report=report,
            batches=batches,
            cpu=self.cpu,
        )

    async def _next_try(self) -> datetime:
        """Nothing (more) is due: when to claim again."""
        now = self.clock()
        latest = now + timedelta(seconds=self.idle_max_s)
        next_due = getattr(self.store, "next_due_at", None)
        if next_due is None:
            return latest
        due: datetime | None = await next_due()
        if due is None:
            return latest
        return max(now, min(latest, due))

    async def _sleep_until(
        self, when: datetime | None, wake: asyncio.Event, stop: asyncio.Event
    ) -> None:
        """Sleep until ``when`` (at most ``idle_max_s``), or until woken: stopped or poked."""
        delay = self.idle_max_s if when is None else (when - self.clock()).total_seconds()
        if delay <= 0 or self._poked or stop.is_set():
            return
        # Cleared only now that neither has happened: a later stop or poke sets it again.
        wake.clear()
        log.debug("nothing due: next look in %.1f s", delay)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await wake.wait()
