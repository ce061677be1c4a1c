"""Polling many feeds: fetch -> parse -> normalize -> analyze new entries -> store.

One failing feed is recorded on that feed (backoff, reason kept) and never stops the others.
Work per feed is proportional to what changed: a 304 costs one request; an unchanged body (same
hash) skips parsing; known entries with the same content hash (title + body as given) skip
HTML->text and analysis; only stories that can reach a chat are summarized (relevant, or
widened by a subscription's ``+keyword``, read once per poll). The store is asked about the
entry keys of every feed that is ready at the same time in one query, and their stories are
written in one transaction (bot/feeds/batching.py): round trips per batch of feeds, not per feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

from bot import metrics
from bot.errors import FeedError
from bot.feeds.batching import Coalescer
from bot.feeds.cpu import CpuWork
from bot.feeds.feedwork import BuildSpec, build, build_job, outline, outline_job, pending
from bot.feeds.leases import FEED_LEASE_S, FeedLeases
from bot.feeds.poll_timing import after_failure, after_success
from bot.models import Feed, FetchResult, ParsedFeed, Story
from bot.topic import TopicScorer

log = logging.getLogger(__name__)


class FeedFetcher(Protocol):
    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Raises FetchError (and subclasses) for anything that is not a usable response."""
        ...


class IngestStore(Protocol):
    async def known_keys_many(
        self, keys_by_feed: Mapping[str, Sequence[str]]
    ) -> dict[tuple[str, str], str]: ...

    async def upsert_stories(
        self,
        stories: Sequence[Story],
        *,
        known: Mapping[tuple[str, str], str] | None = None,
    ) -> list[Story]: ...

    async def widening_keywords(self) -> list[str]: ...

    async def save_feeds(self, feeds: Sequence[Feed]) -> None: ...

    async def claim_due_feeds(
        self,
        now: datetime,
        *,
        limit: int,
        lease_s: float = 300,
        save: Sequence[Feed] = (),
    ) -> list[Feed]: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def extend_feed_leases(
        self, urls: Collection[str], held: datetime, until: datetime
    ) -> None: ...


# Claimed feeds are held this long and renewed every third of it while the poll runs, so a
# killed worker's feeds are due again within seconds, however long its batch takes.


@dataclass(slots=True)
class PollReport:
    feeds: int = 0
    fetched: int = 0
    not_modified: int = 0
    unchanged_body: int = 0
    failed: int = 0
    new_stories: list[Story] = field(default_factory=list)  # excluding baselines
    baseline_stories: int = 0
    updated_stories: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def merge(self, other: PollReport) -> None:
        """Add ``other``'s counts and stories to this report."""
        self.feeds += other.feeds
        self.fetched += other.fetched
        self.not_modified += other.not_modified
        self.unchanged_body += other.unchanged_body
        self.failed += other.failed
        self.new_stories.extend(other.new_stories)
        self.baseline_stories += other.baseline_stories
        self.updated_stories += other.updated_stories
        self.errors.update(other.errors)


class Batches:
    """The store calls of one poll, coalesced across the feeds polled concurrently."""

    def __init__(self, store: IngestStore, widen: Sequence[str]) -> None:
        self.widen = widen
        self._store = store
        self.known: Coalescer[tuple[str, list[str]], dict[str, str]] = Coalescer(self._known)
        self.write: Coalescer[tuple[list[Story], dict[str, str]], list[Story]] = Coalescer(
            self._write
        )

    async def _known(self, reqs: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
        asked: dict[str, list[str]] = {}
        for url, keys in reqs:
            asked.setdefault(url, []).extend(keys)
        found = await self._store.known_keys_many(asked)
        return [{k: found[(url, k)] for k in keys if (url, k) in found} for url, keys in reqs]

    async def _write(self, reqs: list[tuple[list[Story], dict[str, str]]]) -> list[list[Story]]:
        stories = [s for batch, _ in reqs for s in batch]
        known = {
            (s.feed_url, s.key): h
            for batch, hashes in reqs
            for s in batch
            if (h := hashes.get(s.key)) is not None
        }
        new = await self._store.upsert_stories(stories, known=known)
        by_ident = {(s.feed_url, s.key): s for s in new}
        return [
            [by_ident[ident] for s in batch if (ident := (s.feed_url, s.key)) in by_ident]
            for batch, _ in reqs
        ]


def _source_name(feed: Feed, parsed_title: str | None) -> str:
    return feed.title or parsed_title or urlsplit(feed.url).hostname or feed.url


async def poll_feed(
    feed: Feed,
    *,
    store: IngestStore,
    fetcher: FeedFetcher,
    now: datetime,
    scorer: TopicScorer | None,
    report: PollReport,
    batches: Batches | None = None,
    cpu: CpuWork | None = None,
) -> None:
    """Poll one feed and update ``feed``'s state in place (the caller saves it). ``cpu`` runs
    the parse and analysis of large bodies off the loop (None: everything inline)."""
    if batches is None:
        batches = Batches(store, await store.widening_keywords())
    feed.last_checked_at = now
    try:
        result = await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        metrics.FETCH_SECONDS.observe(result.elapsed)
        if result.status == 304 or result.body is None:
            metrics.POLLS.labels(result="not_modified").inc()
            report.not_modified += 1
            after_success(feed, now, result=result)
            return
        metrics.POLLS.labels(result="fetched").inc()
        report.fetched += 1
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == feed.body_hash and feed.baseline_done:
            report.unchanged_body += 1
        else:
            await _ingest_body(
                feed, result, batches=batches, now=now, scorer=scorer, report=report, cpu=cpu
            )
            feed.body_hash = body_hash
        # Validators are kept only once the body was ingested (after_success copies them): a
        # body that failed to parse must be fetched in full again, not answered with a 304.
        after_success(feed, now, result=result)
    except FeedError as e:
        metrics.POLLS.labels(result="failed").inc()
        report.failed += 1
        report.errors[feed.url] = str(e)
        after_failure(feed, now, e)
        log.info("feed failed: %s: %s", feed.url, e)


# Bodies up to this size are parsed and analyzed on the loop: a worker round trip costs more
# than the work, and such a step stays a few ms (bench/loop_lag_bench.py). Larger ones, or
# more than INLINE_MAX_STORIES stories to analyze, go to the CPU pool.
INLINE_MAX_BYTES = 64 * 1024
INLINE_MAX_STORIES = 8


async def _ingest_body(
    feed: Feed,
    result: FetchResult,
    *,
    batches: Batches,
    now: datetime,
    scorer: TopicScorer | None,
    report: PollReport,
    cpu: CpuWork | None = None,
) -> None:
    body = result.body
    assert body is not None
    parsed: ParsedFeed | None = None
    if cpu is None or len(body) <= INLINE_MAX_BYTES:
        out, parsed = outline(body, result.final_url, result.headers)
    else:
        out = await cpu.run(outline_job, body, result.final_url, result.headers)
    if out.parser != "fast":
        metrics.PARSE_FALLBACKS.inc()
    if not feed.title and out.title:
        feed.title = out.title
    if not out.hashes:
        feed.baseline_done = True
        return
    # Keys and hashes need no HTML->text; only entries the store lacks (or holds with another
    # hash) are turned into stories, which is where an entry's text is first made.
    known = await batches.known.submit((feed.url, list(out.hashes)))
    todo = pending(out, known)
    if not todo:
        feed.baseline_done = True
        return
    spec = BuildSpec(
        feed_url=feed.url,
        source=_source_name(feed, out.title),
        lang_hint=feed.lang,
        base_url=out.link or result.final_url,
        now=now,
        widen=tuple(batches.widen),
    )
    if parsed is not None and (cpu is None or todo <= INLINE_MAX_STORIES):
        changed = build(parsed, known, spec, scorer, out.hashes)
    else:
        assert cpu is not None
        changed = await cpu.run(build_job, body, result.final_url, result.headers, known, spec)
    if not changed:
        feed.baseline_done = True
        return
    for story in changed:
        # Queued for instant posts by the store, in the same transaction as the story.
        story.announce = feed.baseline_done
    new = await batches.write.submit((changed, known))
    metrics.STORIES_STORED.inc(len(new))
    report.updated_stories += len(changed) - len(new)
    if feed.baseline_done:
        report.new_stories.extend(new)
    else:
        # A new feed's first fetch is a baseline: stored and searchable, never pushed as "new".
        report.baseline_stories += len(new)
        feed.baseline_done = True


async def poll_one(
    feed: Feed,
    *,
    store: IngestStore,
    fetcher: FeedFetcher,
    now: datetime,
    scorer: TopicScorer | None,
    report: PollReport,
    batches: Batches,
    cpu: CpuWork | None = None,
) -> None:
    """:func:`poll_feed`, with a bug on this one feed recorded on it instead of raised."""
    try:
        await poll_feed(
            feed,
            store=store,
            fetcher=fetcher,
            now=now,
            scorer=scorer,
            report=report,
            batches=batches,
            cpu=cpu,
        )
    except Exception as e:  # a bug on one feed must not sink the poll
        log.exception("unexpected error polling %s", feed.url)
        report.failed += 1
        report.errors[feed.url] = f"internal error: {type(e).__name__}: {e}"
        after_failure(feed, now, FeedError(f"internal error: {type(e).__name__}"))


async def poll_feeds(
    feeds: Sequence[Feed],
    *,
    store: IngestStore,
    fetcher: FeedFetcher,
    now: datetime | None = None,
    scorer: TopicScorer | None = None,
    concurrency: int = 50,
    progress: Callable[[int], object] | None = None,
    cpu: CpuWork | None = None,
) -> PollReport:
    """Poll ``feeds`` concurrently (bounded) and save their state in one batch."""
    now = now or datetime.now(UTC)
    report = PollReport(feeds=len(feeds))
    gate = asyncio.Semaphore(concurrency)
    # Read once per poll, not per story: which +keywords widen some chat's digest.
    batches = Batches(store, await store.widening_keywords())

    async def one(feed: Feed) -> None:
        async with gate:
            await poll_one(
                feed,
                store=store,
                fetcher=fetcher,
                now=now,
                scorer=scorer,
                report=report,
                batches=batches,
                cpu=cpu,
            )
            if progress is not None:
                progress(1)

    await asyncio.gather(*(one(f) for f in feeds))
    await store.save_feeds(list(feeds))
    await store.set_meta("last_poll_at", now.isoformat())
    return report


async def poll_due(
    store: IngestStore,
    fetcher: FeedFetcher,
    *,
    now: datetime | None = None,
    limit: int = 200,
    scorer: TopicScorer | None = None,
    concurrency: int = 50,
    show_progress: bool | None = None,
) -> PollReport:
    """Claim the feeds that are due and poll them. Safe to run in several processes."""
    now = now or datetime.now(UTC)
    feeds = await store.claim_due_feeds(now, limit=limit, lease_s=FEED_LEASE_S)
    if not feeds:
        return PollReport()
    bar = _progress_bar(len(feeds), show_progress)
    try:
        async with hold_feed_leases(store, feeds):
            report = await poll_feeds(
                feeds,
                store=store,
                fetcher=fetcher,
                now=now,
                scorer=scorer,
                concurrency=concurrency,
                progress=bar.update if bar is not None else None,
            )
    finally:
        if bar is not None:
            bar.close()
    log.info(
        "polled %d feeds: %d fetched, %d not modified, %d failed, %d new stories",
        report.feeds,
        report.fetched,
        report.not_modified,
        report.failed,
        len(report.new_stories),
    )
    return report


@contextlib.asynccontextmanager
async def hold_feed_leases(
    store: IngestStore, feeds: Sequence[Feed], *, lease_s: float = FEED_LEASE_S
) -> AsyncIterator[None]:
    """Renew the claim on ``feeds`` (their ``next_check_at`` as claimed) every third of
    ``lease_s`` until the block ends. Feeds saved meanwhile keep their saved time."""
    leases = FeedLeases(store, lease_s)
    leases.took(feeds)
    async with leases.keep():
        yield


class _Bar(Protocol):
    def update(self, n: float | None = 1) -> bool | None: ...

    def close(self) -> None: ...


def _progress_bar(total: int, show: bool | None) -> _Bar | None:
    """A bar on long polls in a terminal; logs, not bars, elsewhere."""
    if show is None:
        show = total >= 20 and sys.stderr.isatty()
    if not show:
        return None
    from tqdm import tqdm

    bar: _Bar = tqdm(total=total, unit="feed", desc="polling", leave=False, file=sys.stderr)
    return bar
