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
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from bot import metrics
from bot.analyze import analyze, judge_story_lang
from bot.errors import FeedError
from bot.feeds.batching import Coalescer
from bot.feeds.normalize import entry_hash, entry_key, to_story
from bot.feeds.parse import parse_feed
from bot.feeds.poll_timing import after_failure, after_success
from bot.models import Feed, FetchResult, ParsedEntry, Story
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
        self, now: datetime, *, limit: int, lease_s: float = 300
    ) -> list[Feed]: ...

    async def set_meta(self, key: str, value: str) -> None: ...

    async def extend_feed_leases(
        self, urls: Collection[str], held: datetime, until: datetime
    ) -> None: ...


# Claimed feeds are held this long and renewed every third of it while the poll runs, so a
# killed worker's feeds are due again within seconds, however long its batch takes.
FEED_LEASE_S = 15.0


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


class _Batches:
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
    batches: _Batches | None = None,
) -> None:
    """Poll one feed and update ``feed``'s state in place (the caller saves it)."""
    if batches is None:
        batches = _Batches(store, await store.widening_keywords())
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
            await _ingest_body(feed, result, batches=batches, now=now, scorer=scorer, report=report)
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


async def _ingest_body(
    feed: Feed,
    result: FetchResult,
    *,
    batches: _Batches,
    now: datetime,
    scorer: TopicScorer | None,
    report: PollReport,
) -> None:
    assert result.body is not None
    parsed = parse_feed(result.body, url=result.final_url, headers=result.headers)
    if parsed.parser != "fast":
        metrics.PARSE_FALLBACKS.inc()
    if not feed.title and parsed.title:
        feed.title = parsed.title
    source = _source_name(feed, parsed.title)
    # Keys and hashes need no HTML->text; only entries the store lacks (or holds with another
    # hash) are turned into stories, which is where an entry's text is first made.
    groups: dict[str, list[ParsedEntry]] = {}
    for entry in parsed.entries:
        groups.setdefault(entry_key(entry), []).append(entry)
    if not groups:
        feed.baseline_done = True
        return
    known = await batches.known.submit((feed.url, list(groups)))
    changed: list[Story] = []
    for key, group in groups.items():
        stored_hash = known.get(key)
        # The first entry that makes a story owns the key; later duplicates are ignored.
        for entry in group:
            if stored_hash is not None and entry_hash(entry) == stored_hash:
                break
            story = to_story(
                entry,
                feed_url=feed.url,
                source=source,
                lang_hint=feed.lang,
                detect_lang=judge_story_lang,
                base_url=parsed.link or result.final_url,
            )
            if story is not None:
                story.fetched_at = now
                changed.append(story)
                break
    for story in changed:
        result_ = analyze(
            story.title, story.text, lang=story.lang, scorer=scorer, widen=batches.widen
        )
        story.relevance = result_.topic.score
        story.matched = result_.topic.matched
        story.bullets = result_.summary.bullets
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


async def poll_feeds(
    feeds: Sequence[Feed],
    *,
    store: IngestStore,
    fetcher: FeedFetcher,
    now: datetime | None = None,
    scorer: TopicScorer | None = None,
    concurrency: int = 50,
    progress: Callable[[int], object] | None = None,
) -> PollReport:
    """Poll ``feeds`` concurrently (bounded) and save their state in one batch."""
    now = now or datetime.now(UTC)
    report = PollReport(feeds=len(feeds))
    gate = asyncio.Semaphore(concurrency)
    # Read once per poll, not per story: which +keywords widen some chat's digest.
    batches = _Batches(store, await store.widening_keywords())

    async def one(feed: Feed) -> None:
        async with gate:
            try:
                await poll_feed(
                    feed,
                    store=store,
                    fetcher=fetcher,
                    now=now,
                    scorer=scorer,
                    report=report,
                    batches=batches,
                )
            except Exception as e:  # a bug on one feed must not sink the poll
                log.exception("unexpected error polling %s", feed.url)
                report.failed += 1
                report.errors[feed.url] = f"internal error: {type(e).__name__}: {e}"
                after_failure(feed, now, FeedError(f"internal error: {type(e).__name__}"))
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
    held: dict[datetime, list[str]] = {}
    for feed in feeds:
        if feed.next_check_at is not None:
            held.setdefault(feed.next_check_at, []).append(feed.url)

    async def renew() -> None:
        # Real time: the lease guards against a real process dying mid-poll.
        while True:
            await asyncio.sleep(max(0.5, lease_s / 3))
            until = datetime.now(UTC) + timedelta(seconds=lease_s)
            for lease, urls in list(held.items()):
                try:
                    await store.extend_feed_leases(urls, lease, until)
                except Exception:  # a missed renewal only shortens the lease
                    log.warning("feed lease renewal failed", exc_info=True)
                    continue
                held.pop(lease)
                held.setdefault(until, []).extend(urls)

    task = asyncio.create_task(renew(), name="feed-leases")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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
