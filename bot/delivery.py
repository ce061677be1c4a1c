"""The outbox: composing due digests into delivery rows, and sending those rows to chats.

Composing and sending are separate so a crash never loses a digest and never posts one twice:

* :func:`compose_due` writes one delivery per (subscription, window) with a unique key, in the
  same transaction that advances the subscription's schedule (``Store.enqueue_deliveries``), so
  two workers or a retried tick cannot queue the same window twice. A digest is composed once
  per distinct :class:`ComposeKey` and its payload shared by every chat with that key.
* :class:`Sender` drains pending rows. It records each posted part's message id right after the
  platform confirmed it and marks the row sent only after the last part (MonitoRSS's
  flush-after-delivery), so a crash mid-digest resumes after the last confirmed part.
  Flood control (``RetryLater``) and transient errors are retried with backoff; a permanent
  error fails the row and pauses the subscription with a reason users see in /status.
  A chat that got a new id (``ChannelMoved``: a Telegram group upgraded to a supergroup) is
  followed: the subscription moves to the new id and the remaining parts go there at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot import metrics
from bot.adapters.base import ChatAdapter
from bot.digest import (
    BulletCache,
    ComposeFn,
    StoryReader,
    compose_digest,
    digest_from_json,
    digest_to_json,
    order_sections,
)
from bot.digest_schedule import parse_schedule
from bot.errors import ChannelMoved, CommandError, PermanentDeliveryError, RetryLater
from bot.lang.strings import format_date, norm_lang, t
from bot.models import (
    ChannelRef,
    Delivery,
    Digest,
    DigestEntry,
    Story,
    Subscription,
    Summary,
    TopicResult,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Spacing between two parts posted to the same chat. Telegram allows about 20 messages a minute
# in a group or channel (1/s in a private chat); Discord's per-channel bucket is 5 per 5 s.
DEFAULT_PACING_S: Mapping[str, float] = {"telegram": 3.0, "discord": 1.0}

# A claimed delivery is held this long and renewed every third of it while being sent, so a
# killed sender's work is claimable again within seconds, and a slow, paced multi-part digest
# still keeps its claim.
DEFAULT_LEASE_S = 15.0

# A chat migrates once (group -> supergroup); more hops in one send means a confused API.
MAX_MOVES = 3


class OutboxStore(Protocol):
    """The part of :class:`bot.store.base.Store` the sender uses."""

    async def claim_deliveries(
        self, now: datetime, *, limit: int = 20, lease_s: float = 120
    ) -> list[Delivery]: ...
    async def record_part_sent(
        self, delivery_id: int, message_id: str, *, lease_until: datetime | None = None
    ) -> None: ...
    async def mark_sent(self, id: int) -> None: ...
    async def retry_delivery(self, id: int, *, not_before: datetime, error: str) -> None: ...
    async def fail_delivery(self, id: int, error: str) -> None: ...
    async def move_channel(self, old: ChannelRef, new: ChannelRef) -> bool: ...
    async def extend_delivery_lease(self, id: int, until: datetime) -> bool: ...


class ComposeStore(StoryReader, Protocol):
    """The part of the Store that composing due digests uses."""

    async def due_subscriptions(
        self, now: datetime, *, limit: int = 100, offset: int = 0
    ) -> list[Subscription]: ...
    async def chat_source_sets(
        self, channels: Collection[ChannelRef]
    ) -> dict[ChannelRef, frozenset[str]]: ...
    async def enqueue_deliveries(
        self,
        batch: Sequence[tuple[Delivery, Subscription]],
        *,
        advance_only: Sequence[Subscription] = (),
    ) -> int: ...
    async def list_subscriptions(self) -> list[Subscription]: ...
    async def upsert_subscription(self, sub: Subscription) -> Subscription: ...
    async def pause_subscription(self, id: int, reason: str) -> bool: ...
    async def enqueue_delivery(
        self, delivery: Delivery, *, advance: Subscription | None = None
    ) -> Delivery | None: ...
    async def chat_source_urls(self, channel: ChannelRef) -> frozenset[str]: ...
    def compose_turn(self) -> AbstractAsyncContextManager[bool]: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff for outbox retries: ``base * 2**(attempt-1)``, capped.

    Hand-written rather than tenacity: the retry state (attempt count, not-before time) lives in
    the database row so it survives restarts and moves between workers; tenacity retries inside
    one running call.
    """

    base_s: float = 15.0
    cap_s: float = 3600.0

    def delay(self, attempt: int) -> float:
        return min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))


class Sender:
    """Drains the outbox through the running chat adapters.

    ``adapters`` maps a platform name (``ChannelRef.platform``) to its adapter. Deliveries for a
    platform without a running adapter go back to pending (looked at again every ``lease_s``),
    so starting that adapter later delivers them; they are never failed for it.
    """

    def __init__(
        self,
        store: OutboxStore,
        adapters: Mapping[str, ChatAdapter],
        *,
        clock: Clock = _utcnow,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
        pacing_s: Mapping[str, float] | None = None,
        batch: int = 20,
        lease_s: float = DEFAULT_LEASE_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.pacing_s = dict(DEFAULT_PACING_S if pacing_s is None else pacing_s)
        self.batch = batch
        self.lease_s = lease_s
        self._sleep = sleep
        self._next_allowed: dict[ChannelRef, datetime] = {}
        self._warned_missing: set[str] = set()
        # Chats seen moving: deliveries claimed before the move still carry the old id.
        self._moved: dict[ChannelRef, ChannelRef] = {}

    async def drain_once(self) -> int:
        """Claim a batch of due deliveries and send them. Returns how many were completed.

        Chats are served concurrently; the parts of one chat go strictly in order, paced.
        """
        claimed = await self.store.claim_deliveries(
            self.clock(), limit=self.batch, lease_s=self.lease_s
        )
        by_channel: dict[ChannelRef, list[Delivery]] = {}
        for d in claimed:
            by_channel.setdefault(d.channel, []).append(d)
        results = await asyncio.gather(*(self._send_channel(ds) for ds in by_channel.values()))
        return sum(results)

    async def _send_channel(self, deliveries: list[Delivery]) -> int:
        done = 0
        for i, d in enumerate(deliveries):
            if self.adapters.get(d.channel.platform) is None:
                self._warn_missing(d.channel.platform)
                await self._park(deliveries[i:], f"no running {d.channel.platform!r} adapter")
                return done
            retry_at = await self._send_one(d)
            if retry_at is None:
                done += 1
                continue
            # Keep a chat's digests in order: the ones behind a failed delivery wait with it
            # (after a permanent failure the subscription is paused and they are not claimed).
            for later in deliveries[i + 1 :]:
                assert later.id is not None
                await self.store.retry_delivery(
                    later.id, not_before=retry_at, error=f"waiting behind delivery {d.id}"
                )
            return done
        return done

    async def _park(self, deliveries: Sequence[Delivery], reason: str) -> None:
        # Back to pending, looked at again after a lease period. (Each claim counts as an
        # attempt in the store; a parked row's backoff therefore grows, capped by Backoff.)
        until = self.clock() + timedelta(seconds=self.lease_s)
        for d in deliveries:
            assert d.id is not None
            await self.store.retry_delivery(d.id, not_before=until, error=reason)

    def _warn_missing(self, platform: str) -> None:
        if platform not in self._warned_missing:
            self._warned_missing.add(platform)
            log.warning("no running %r adapter: its deliveries wait until it starts", platform)

    async def _send_one(self, d: Delivery) -> datetime | None:
        """Send one delivery, renewing its lease while it is held. Returns None when it is
        complete, else when it may be tried again (failures are recorded in the store)."""
        assert d.id is not None
        renew = asyncio.create_task(self._renew_lease(d.id), name=f"lease:{d.id}")
        try:
            return await self._send_held(d)
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew

    async def _renew_lease(self, delivery_id: int) -> None:
        # Real time, not the injected sleep: the lease guards against a real process dying.
        every = max(0.5, self.lease_s / 3)
        while True:
            await asyncio.sleep(every)
            try:
                until = self.clock() + timedelta(seconds=self.lease_s)
                if not await self.store.extend_delivery_lease(delivery_id, until):
                    return
            except Exception:  # a missed renewal only shortens the lease; the send goes on
                log.warning("delivery %s: lease renewal failed", delivery_id, exc_info=True)

    async def _send_held(self, d: Delivery) -> datetime | None:
        assert d.id is not None
        adapter = self.adapters[d.channel.platform]
        channel = self._current(d.channel)
        moves = 0
        try:
            parts = adapter.render_digest(digest_from_json(d.payload))
            done = len(d.sent_parts)
            while done < len(parts):
                await self._pace(channel)
                try:
                    message_id = await adapter.send_part(channel, parts[done])
                except ChannelMoved as e:
                    moves += 1
                    if moves > MAX_MOVES or e.new_channel == channel:
                        raise PermanentDeliveryError(f"{channel}: chat keeps moving: {e}") from e
                    if not await self._follow_move(d.id, channel, e.new_channel):
                        # Not ours to move (already moved by another sender, or merged into
                        # a subscription of the new chat): let the next claim decide.
                        now = self.clock()
                        await self.store.retry_delivery(
                            d.id, not_before=now, error=f"chat moved to {e.new_channel}"
                        )
                        return now
                    channel = e.new_channel
                    continue
                metrics.MESSAGES_SENT.labels(platform=channel.platform).inc()
                await self.store.record_part_sent(
                    d.id,
                    message_id,
                    lease_until=self.clock() + timedelta(seconds=self.lease_s),
                )
                done += 1
            await self.store.mark_sent(d.id)
            return None
        except PermanentDeliveryError as e:
            log.warning("delivery %s to %s failed permanently: %s", d.id, d.channel, e)
            await self.store.fail_delivery(d.id, f"{type(e).__name__}: {e}"[:500])
            return self.clock() + timedelta(seconds=self.backoff.cap_s)
        except RetryLater as e:
            metrics.RETRY_LATER.labels(platform=d.channel.platform).inc()
            wait = max(e.retry_after, self.backoff.delay(d.attempts))
            log.info("delivery %s to %s: retry in %.0f s (%s)", d.id, d.channel, wait, e)
            retry_at = self.clock() + timedelta(seconds=wait)
            await self.store.retry_delivery(
                d.id, not_before=retry_at, error=f"retry later: {e}"[:500]
            )
            return retry_at
        except Exception as e:
            # Unknown failures (a transient DeliveryError, a renderer bug) get a few tries, then
            # stop blocking the subscription's queue as a visible failure.
            log.exception("delivery %s to %s failed (attempt %s)", d.id, d.channel, d.attempts)
            error = f"{type(e).__name__}: {e}"[:500]
            retry_at = self.clock() + timedelta(seconds=self.backoff.delay(d.attempts))
            if d.attempts >= self.max_attempts:
                await self.store.fail_delivery(d.id, error)
            else:
                await self.store.retry_delivery(d.id, not_before=retry_at, error=error)
            return retry_at

    def _current(self, channel: ChannelRef) -> ChannelRef:
        for _ in range(MAX_MOVES):
            moved = self._moved.get(channel)
            if moved is None:
                break
            channel = moved
        return channel

    async def _follow_move(self, delivery_id: int, old: ChannelRef, new: ChannelRef) -> bool:
        """Move the subscription of ``old`` (and its queued deliveries) to ``new``. True when
        this delivery should go on at ``new`` right away."""
        moved = await self.store.move_channel(old, new)
        log.info(
            "delivery %s: chat %s moved to %s; subscription %s",
            delivery_id,
            old,
            new,
            "follows it" if moved else "not moved (none there, or the new chat has one)",
        )
        if moved:
            self._moved[old] = new
        return moved

    async def _pace(self, channel: ChannelRef) -> None:
        interval = self.pacing_s.get(channel.platform, 0.0)
        if interval <= 0:
            return
        now = self.clock()
        allowed = self._next_allowed.get(channel)
        if allowed is not None and allowed > now:
            await self._sleep((allowed - now).total_seconds())
            now = max(self.clock(), allowed)
        self._next_allowed[channel] = now + timedelta(seconds=interval)


# --------------------------------------------------------------------------- composing


@dataclass(frozen=True, slots=True)
class ComposeKey:
    """Everything a scheduled digest depends on. Subscriptions with equal keys get the same
    digest, so it is composed once per key and its payload shared by all of their deliveries
    (each still one outbox row per chat, for exactly-once sending). ``tz`` is in the key
    because the title carries the local date; the composer's other-languages setting is one
    per run, so it is fixed for every key of a run."""

    feeds: frozenset[str] | None
    lang: str
    start: datetime
    end: datetime
    tz: str
    keywords: tuple[str, ...]
    max_stories: int


@dataclass(slots=True)
class DueReport:
    """What one pass over the due subscriptions did (or, dry, would do)."""

    due: int = 0
    queued: int = 0
    composes: int = 0
    skipped_empty: int = 0
    busy: bool = False  # another process was composing: this pass did nothing
    # key -> how many subscriptions got its digest (non-empty ones)
    keys: dict[ComposeKey, int] = field(default_factory=dict)


class WindowCache:
    """A :class:`StoryReader` that remembers each window it read, for one run over the due
    subscriptions (stories stored meanwhile wait for the next run, as they would anyway).
    Composing never modifies the stories it reads."""

    def __init__(self, store: StoryReader) -> None:
        self._store = store
        self._windows: dict[tuple[object, ...], list[Story]] = {}

    async def stories_between(
        self,
        start: datetime,
        end: datetime,
        *,
        lang: str | None = None,
        min_relevance: float | None = None,
        limit: int = 200,
        feeds: Collection[str] | None = None,
    ) -> list[Story]:
        key = (start, end, lang, min_relevance, limit, None if feeds is None else frozenset(feeds))
        got = self._windows.get(key)
        if got is None:
            got = self._windows[key] = await self._store.stories_between(
                start, end, lang=lang, min_relevance=min_relevance, limit=limit, feeds=feeds
            )
        return list(got)

    async def save_bullets(self, bullets: Mapping[int, Sequence[str]]) -> None:
        """Quick facts a compose made for stories stored without them: kept on the cached
        stories, so later composes of this run reuse them, and saved when the store keeps
        them (``BulletCache``)."""
        if not bullets:
            return
        for window in self._windows.values():
            for story in window:
                if story.id is not None and story.id in bullets and not story.bullets:
                    story.bullets = tuple(bullets[story.id])
        if isinstance(self._store, BulletCache):
            await self._store.save_bullets(bullets)


# Subscriptions read, composed and enqueued per transaction: bounds memory and the length of a
# write transaction, not how many are done per tick (every due one is).
DUE_BATCH = 1000


async def compose_due(
    store: ComposeStore,
    now: datetime,
    *,
    compose: ComposeFn | None = None,
    batch: int = DUE_BATCH,
    skip_empty: bool = True,
) -> int:
    """Compose and queue a digest for every due subscription. Returns how many were queued.

    See :func:`run_due`, which also reports how many distinct digests were composed."""
    report = await run_due(store, now, compose=compose, batch=batch, skip_empty=skip_empty)
    return report.queued


async def run_due(
    store: ComposeStore,
    now: datetime,
    *,
    compose: ComposeFn | None = None,
    batch: int = DUE_BATCH,
    skip_empty: bool = True,
    dry_run: bool = False,
) -> DueReport:
    """Compose a digest for every due subscription and queue it, in batches of ``batch``.

    The window is (last window end, this run's scheduled time]; a new subscription looks back
    one schedule period (24 h for daily). The scheduled time (``next_run_at``), not the clock,
    ends the window and names the delivery key, so two workers composing the same run build
    the same key and the store keeps one. The next run is computed from ``now``: after downtime
    one digest covers the gap instead of one per missed run.

    One compose per distinct :class:`ComposeKey` in the run; each delivery row carries the
    shared payload. A batch's rows and schedule advances are written in one transaction.

    Scheduled runs with no stories queue nothing (``skip_empty``): a chat is not pinged with
    "nothing new"; the schedule still advances. /digest (asked for) shows an empty digest.
    ``dry_run`` composes but neither queues nor advances anything.
    """
    report = DueReport()
    # A dry run only reads: it needs no turn.
    turn: AbstractAsyncContextManager[bool] = (
        contextlib.nullcontext(True) if dry_run else store.compose_turn()
    )
    async with turn as mine:
        if not mine:
            # Another worker is composing: the same subscriptions would be composed twice.
            log.debug("compose: another process has the turn; skipping this pass")
            report.busy = True
            return report
        await _run_due(store, now, compose, batch, skip_empty, dry_run, report)
    return report


async def _run_due(
    store: ComposeStore,
    now: datetime,
    compose: ComposeFn | None,
    batch: int,
    skip_empty: bool,
    dry_run: bool,
    report: DueReport,
) -> None:
    composer: ComposeFn = compose or compose_digest
    payloads: dict[ComposeKey, str | None] = {}  # None: the digest was empty
    schedules: dict[tuple[str, str], tuple[timedelta, datetime | None]] = {}
    # Keys that differ only in language, time zone, length or keywords read the same window.
    reader = WindowCache(store)
    seen: set[int] = set()
    while True:
        # Done subscriptions are advanced (no longer due); a dry run pages past them instead.
        subs = await store.due_subscriptions(now, limit=batch, offset=len(seen) if dry_run else 0)
        subs = [s for s in subs if s.id is not None and s.id not in seen]
        if not subs:
            return
        seen.update(s.id for s in subs if s.id is not None)
        report.due += len(subs)
        sources = await store.chat_source_sets([s.channel for s in subs])
        rows: list[tuple[Delivery, Subscription]] = []
        advances: list[Subscription] = []
        for sub in subs:
            assert sub.id is not None
            timing = schedules.get((sub.schedule, sub.tz))
            if timing is None:
                try:
                    schedule = parse_schedule(sub.schedule, sub.tz)
                except CommandError as e:
                    log.warning(
                        "subscription %s has an unreadable schedule %r", sub.id, sub.schedule
                    )
                    if not dry_run:
                        reason = f"invalid schedule {sub.schedule!r}: {e}"
                        await store.pause_subscription(sub.id, reason)
                    continue
                # Thousands of subscriptions share a few schedules: one trigger computation each.
                timing = (schedule.lookback, schedule.next_after(now))
                schedules[sub.schedule, sub.tz] = timing
            lookback, next_run = timing
            window_end = sub.next_run_at if sub.next_run_at and sub.next_run_at <= now else now
            window_start = sub.last_window_end or window_end - lookback
            advanced = replace(sub, next_run_at=next_run, last_window_end=window_end)
            key = ComposeKey(
                feeds=sources.get(sub.channel, frozenset()),
                lang=norm_lang(sub.lang),
                start=window_start,
                end=window_end,
                tz=sub.tz,
                keywords=tuple(sub.keywords),
                max_stories=sub.max_stories,
            )
            if key not in payloads:
                digest = await composer(
                    reader,
                    lang=key.lang,
                    start=key.start,
                    end=key.end,
                    tz=key.tz,
                    keywords=key.keywords,
                    max_stories=key.max_stories,
                    feeds=key.feeds,
                )
                report.composes += 1
                empty = skip_empty and not digest.entries
                payloads[key] = None if empty else digest_to_json(digest)
            payload = payloads[key]
            if payload is None:
                report.skipped_empty += 1
                advances.append(advanced)
                continue
            report.keys[key] = report.keys.get(key, 0) + 1
            delivery = Delivery(
                subscription_id=sub.id,
                channel=sub.channel,
                key=f"{sub.id}:{window_end.isoformat()}",
                payload=payload,
            )
            rows.append((delivery, advanced))
        if dry_run:
            report.queued += len(rows)
            continue
        report.queued += await store.enqueue_deliveries(rows, advance_only=advances)


def _matches_keywords(story: Story, keywords: Sequence[str]) -> bool:
    """Instant delivery's keyword filter: ``-term`` drops a story mentioning it, a bare ``term``
    must be mentioned. ``+term`` only widens what topic scoring keeps, which happened at ingest,
    so it does not filter here."""
    if not keywords:
        return True
    haystack = f"{story.title}\n{story.text}".casefold()
    for kw in keywords:
        if kw.startswith("-") and kw[1:].casefold() in haystack:
            return False
        if not kw.startswith(("+", "-")) and kw.casefold() not in haystack:
            return False
    return True


def instant_digest(story: Story, sub: Subscription, now: datetime) -> Digest:
    """A one-story digest for an instant subscription."""
    lang = norm_lang(sub.lang)
    local = now.astimezone(ZoneInfo(sub.tz))
    entry = DigestEntry(
        story=story,
        summary=Summary(headline=story.title, bullets=story.bullets, lang=story.lang),
        topic=TopicResult(score=story.relevance or 0.0, relevant=True, matched=story.matched),
        other_lang=story.lang != lang,
    )
    digest = Digest(
        lang=lang,
        title=t("digest_title", lang, date=format_date(local, lang)),
        window_start=story.published or story.fetched_at or now,
        window_end=now,
        tz=sub.tz,
        entries=[entry],
        empty_text=t("digest_empty", lang),
    )
    order_sections(digest)
    return digest


class AnnounceStore(ComposeStore, Protocol):
    """The part of the Store that turns stored stories into instant deliveries."""

    async def claim_announcements(
        self, now: datetime, *, limit: int = 200, lease_s: float = 20
    ) -> list[Story]: ...
    async def finish_announcements(
        self, story_ids: Collection[int], queued: Sequence[Delivery]
    ) -> int: ...


async def instant_deliveries(
    store: ComposeStore,
    stories: Sequence[Story],
    *,
    now: datetime,
    other_languages: bool = True,
) -> list[Delivery]:
    """One delivery per (unpaused instant subscription, story of a source in that chat's set
    passing its keyword filter and, unless ``other_languages``, in its language). Keys are
    ``"{sub}:story:{story}"``, so queueing them twice stores them once."""
    stories = [s for s in stories if s.id is not None]
    if not stories:
        return []
    subs = [
        s
        for s in await store.list_subscriptions()
        if not s.paused and s.schedule.strip().lower() in ("instant", "langsung") and s.id
    ]
    out: list[Delivery] = []
    # Each chat gets only stories of its own sources (all chats' sets in a few queries).
    sources_of = await store.chat_source_sets([sub.channel for sub in subs])
    for sub in subs:
        assert sub.id is not None
        sources = sources_of[sub.channel]
        for story in stories:
            if story.feed_url not in sources or not _matches_keywords(story, sub.keywords):
                continue
            if not other_languages and story.lang != norm_lang(sub.lang):
                continue
            out.append(
                Delivery(
                    subscription_id=sub.id,
                    channel=sub.channel,
                    key=f"{sub.id}:story:{story.id}",
                    payload=digest_to_json(instant_digest(story, sub, now)),
                )
            )
    return out


async def announce_stored(
    store: AnnounceStore,
    *,
    is_relevant: Callable[[Story], bool],
    now: datetime | None = None,
    other_languages: bool = True,
    batch: int = 200,
    lease_s: float = DEFAULT_LEASE_S,
) -> int:
    """Turn the stories queued for announcement (by any process's poll) into instant
    deliveries, until the queue is empty. Returns how many deliveries were queued.

    A batch is claimed (leased), its deliveries inserted and the batch dropped from the queue
    in one transaction; a process killed in between leaves the batch to the next claimer after
    the lease, and the delivery keys make a repeat harmless.
    """
    queued = 0
    while True:
        when = now or _utcnow()
        claimed = await store.claim_announcements(when, limit=batch, lease_s=lease_s)
        if not claimed:
            return queued
        relevant = [s for s in claimed if is_relevant(s)]
        rows = await instant_deliveries(store, relevant, now=when, other_languages=other_languages)
        queued += await store.finish_announcements([s.id for s in claimed if s.id], rows)
        if len(claimed) < batch:
            return queued


async def enqueue_instant(
    store: ComposeStore,
    new_stories: Sequence[Story],
    *,
    is_relevant: Callable[[Story], bool],
    now: datetime | None = None,
    other_languages: bool = True,
) -> int:
    """Queue one delivery per (instant subscription, new relevant story of a source in that
    chat's set). Returns how many.

    For stories held in memory (tests, one-off tools); ``warta run`` derives instant posts
    from the store instead (:func:`announce_stored`), which has no crash window.
    ``is_relevant`` decides relevance (ingest knows the scorer's threshold). Keys are
    ``"{sub}:story:{story}"``, so re-running after a crash queues nothing twice.
    ``other_languages=False`` sends a subscription only stories in its own language.
    """
    when = now or _utcnow()
    stories = [s for s in new_stories if s.id is not None and is_relevant(s)]
    queued = 0
    for delivery in await instant_deliveries(
        store, stories, now=when, other_languages=other_languages
    ):
        if await store.enqueue_delivery(delivery) is not None:
            queued += 1
    return queued
