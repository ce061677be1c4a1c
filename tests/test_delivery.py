"""The outbox end to end on a real SQLite store: composing due digests, draining them through a
chat adapter, retries, permanent failures, crash recovery, instant deliveries, and the
scheduler's ticks.

The chat adapter is a small fake at the ChatAdapter seam (no chat platform runs here): it
renders a digest into numbered text parts, records what it "posted", and raises RetryLater /
PermanentDeliveryError / a crash on demand, and ChannelMoved for every send to a chat listed in
``migrated`` (as Telegram answers for a group that became a supergroup).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.base import ChatAdapter
from bot.analyze import default_scorer
from bot.commands import CommandCore, Reply
from bot.delivery import Backoff, Sender, compose_due, enqueue_instant
from bot.digest import digest_to_json
from bot.errors import ChannelMoved, DeliveryError, PermanentDeliveryError, RetryLater
from bot.models import (
    ChannelRef,
    Delivery,
    DeliveryState,
    Digest,
    Feed,
    Story,
    Subscription,
)
from bot.store import SQLStore, open_store
from bot.ticks import Scheduler

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
CHAT = ChannelRef("fake", "chat-1")
OTHER = ChannelRef("fake", "chat-2")

TEXTS = [
    (
        "Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI",
        "Sekelompok seniman yang mendapat akses awal ke Sora, alat video AI milik OpenAI, "
        "membocorkan akses itu lewat Hugging Face sebagai protes. Para seniman menerbitkan "
        "petisi agar OpenAI membayar seniman atas karya mereka.",
        "id",
    ),
    (
        "Record Labels Sue AI Music Generators Suno and Udio",
        "Major record labels sued the AI music generators Suno and Udio for copyright "
        "infringement, saying the models were trained on recordings of musicians without "
        "permission. The labels seek damages for every infringed song.",
        "en",
    ),
    (
        "Illustrators Win Ruling Against Midjourney Over Training Data",
        "A group of illustrators won a ruling against Midjourney and Stability AI over images "
        "used to train the image generators without consent. The judge let the artists' "
        "copyright claims proceed to trial.",
        "en",
    ),
]


class Crash(BaseException):
    """Stands in for the process dying mid-send (not an Exception: nothing may catch it)."""


class FakeAdapter:
    """Renders one part for the header and one per entry; posts into a list."""

    name = "fake"

    def __init__(self) -> None:
        self.sent: list[tuple[ChannelRef, str]] = []
        self.plan: list[BaseException | None] = []  # consumed one per send_part call
        self.migrated: dict[ChannelRef, ChannelRef] = {}
        self.refused: list[ChannelRef] = []

    async def start(self, core: CommandCore) -> None:
        return None

    async def stop(self) -> None:
        return None

    def render_digest(self, digest: Digest) -> Sequence[object]:
        head = f"{digest.title} ({len(digest.entries)})"
        return [head, *(f"{i}. {e.story.title}" for i, e in enumerate(digest.entries, 1))]

    async def send_part(self, channel: ChannelRef, part: object) -> str:
        if self.plan:
            exc = self.plan.pop(0)
            if exc is not None:
                raise exc
        if channel in self.migrated:
            self.refused.append(channel)
            raise ChannelMoved("group upgraded", new_channel=self.migrated[channel])
        self.sent.append((channel, str(part)))
        return f"msg-{len(self.sent)}"

    async def send_reply(self, channel: ChannelRef, reply: Reply) -> list[str]:
        return []


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _stories() -> list[Story]:
    scorer = default_scorer()
    out = []
    for n, (title, text, lang) in enumerate(TEXTS, 1):
        topic = scorer.score(title, text, lang)
        assert topic.relevant, title
        out.append(
            Story(
                feed_url="https://feeds.example/rss",
                key=f"k{n}",
                url=f"https://news.example/{n}",
                title=title,
                text=text,
                source="Example",
                lang=lang,
                published=NOW - timedelta(hours=n),
                content_hash=f"h{n}",
                relevance=topic.score,
                matched=topic.matched,
                bullets=(f"Fakta pertama {n}.", f"Fakta kedua {n}."),
            )
        )
    return out


@pytest.fixture
async def store(tmp_path: object) -> AsyncIterator[SQLStore]:
    s = await open_store(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    await s.add_feed(Feed(url="https://feeds.example/rss"))
    yield s
    await s.close()


async def subscribe(
    store: SQLStore, channel: ChannelRef = CHAT, schedule: str = "daily 08:00", **kw: object
) -> Subscription:
    return await store.upsert_subscription(
        Subscription(channel=channel, lang="en", schedule=schedule, next_run_at=NOW, **kw)  # type: ignore[arg-type]
    )


async def queue_digest(store: SQLStore, sub: Subscription, n_entries: int = 2) -> Delivery:
    """Compose a real digest for ``sub`` and queue it (n_entries + 1 parts)."""
    await store.upsert_stories(_stories())
    from bot.digest import compose_digest

    digest = await compose_digest(
        store, lang="en", start=NOW - timedelta(days=1), end=NOW, max_stories=n_entries
    )
    assert len(digest.entries) == n_entries
    assert sub.id is not None
    queued = await store.enqueue_delivery(
        Delivery(
            subscription_id=sub.id,
            channel=sub.channel,
            key=f"{sub.id}:test",
            payload=digest_to_json(digest),
        )
    )
    assert queued is not None
    return queued


def sender(store: SQLStore, adapter: FakeAdapter, clock: Clock, **kw: object) -> Sender:
    adapters: dict[str, ChatAdapter] = {"fake": adapter}
    return Sender(store, adapters, clock=clock, pacing_s={}, **kw)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- composing


async def test_compose_due_queues_once_and_advances(store: SQLStore) -> None:
    await store.upsert_stories(_stories())
    sub = await subscribe(store)
    assert await compose_due(store, NOW) == 1
    assert await compose_due(store, NOW) == 0  # advanced: not due any more
    rows = await store.list_deliveries()
    assert len(rows) == 1
    assert rows[0].key == f"{sub.id}:{NOW.isoformat()}"
    after = await store.get_subscription(CHAT)
    assert after is not None
    assert after.next_run_at == NOW + timedelta(days=1)
    assert after.last_window_end == NOW

    # A second worker that read the subscription before the advance composes the same run:
    # same scheduled time, same key, still one delivery.
    await store.upsert_subscription(replace(after, next_run_at=NOW, last_window_end=None))
    assert await compose_due(store, NOW + timedelta(seconds=30)) == 0
    assert len(await store.list_deliveries()) == 1


async def test_enqueue_same_key_twice_gives_one_delivery(store: SQLStore) -> None:
    sub = await subscribe(store)
    assert sub.id is not None
    d = Delivery(subscription_id=sub.id, channel=CHAT, key="k", payload="{}")
    assert await store.enqueue_delivery(d) is not None
    assert await store.enqueue_delivery(d) is None
    assert len(await store.list_deliveries()) == 1


async def test_first_window_looks_back_one_period_and_empty_runs_queue_nothing(
    store: SQLStore,
) -> None:
    await subscribe(store)  # no stories stored
    assert await compose_due(store, NOW) == 0
    assert await store.list_deliveries() == []
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.next_run_at == NOW + timedelta(days=1)  # still advanced
    assert sub.last_window_end == NOW


async def test_compose_due_uses_subscription_language_and_keywords(store: SQLStore) -> None:
    await store.upsert_stories(_stories())
    await subscribe(store, keywords=("-suno",))
    assert await compose_due(store, NOW) == 1
    from bot.digest import digest_from_json

    (row,) = await store.list_deliveries()
    digest = digest_from_json(row.payload)
    assert digest.lang == "en"
    assert digest.window_start == NOW - timedelta(days=1)
    titles = [e.story.title for e in digest.entries]
    assert titles
    assert not any("Suno" in t for t in titles)


async def test_unreadable_schedule_pauses_the_subscription(store: SQLStore) -> None:
    await subscribe(store, schedule="whenever")
    assert await compose_due(store, NOW) == 0
    sub = await store.get_subscription(CHAT)
    assert sub is not None
    assert sub.paused
    assert sub.paused_reason is not None
    assert "whenever" in sub.paused_reason


# ----------------------------------------------------------------------------- sending


async def test_sender_posts_all_parts_in_order(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=2)
    adapter, clock = FakeAdapter(), Clock(NOW)
    assert await sender(store, adapter, clock).drain_once() == 1
    assert adapter.sent[0][1].startswith("AI & Artists Digest")
    assert len(adapter.sent) == 3
    (row,) = await store.list_deliveries()
    assert row.state == DeliveryState.SENT
    assert row.sent_parts == ["msg-1", "msg-2", "msg-3"]
    assert await sender(store, adapter, clock).drain_once() == 0  # nothing left
    assert len(adapter.sent) == 3


async def test_retry_later_honours_retry_after(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=1)
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.plan = [RetryLater("flood control", retry_after=120)]
    s = sender(store, adapter, clock, backoff=Backoff(base_s=15, cap_s=3600))
    assert await s.drain_once() == 0
    (row,) = await store.list_deliveries()
    assert row.state == DeliveryState.PENDING
    assert row.not_before == NOW + timedelta(seconds=120)
    assert row.last_error is not None
    assert "flood" in row.last_error

    clock.advance(119)
    assert await s.drain_once() == 0
    assert adapter.sent == []
    clock.advance(2)
    assert await s.drain_once() == 1
    assert len(adapter.sent) == 2


async def test_backoff_wins_over_a_short_retry_after(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=1)
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.plan = [RetryLater("busy", retry_after=1)]
    await sender(store, adapter, clock, backoff=Backoff(base_s=30)).drain_once()
    (row,) = await store.list_deliveries()
    assert row.not_before == NOW + timedelta(seconds=30)


async def test_permanent_error_fails_and_pauses_with_a_reason(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=1)
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.plan = [PermanentDeliveryError("chat not found")]
    assert await sender(store, adapter, clock).drain_once() == 0
    (row,) = await store.list_deliveries()
    assert row.state == DeliveryState.FAILED
    after = await store.get_subscription(CHAT)
    assert after is not None
    assert after.paused
    assert after.paused_reason == "PermanentDeliveryError: chat not found"


async def test_transient_errors_retry_with_backoff_then_fail(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=1)
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.plan = [DeliveryError("connection reset")] * 3
    s = sender(store, adapter, clock, max_attempts=3, backoff=Backoff(base_s=10, cap_s=25))
    waits = []
    for _ in range(3):
        assert await s.drain_once() == 0
        (row,) = await store.list_deliveries()
        if row.state == DeliveryState.FAILED:
            break
        assert row.not_before is not None
        waits.append((row.not_before - clock.now).total_seconds())
        clock.now = row.not_before
    assert waits == [10, 20]  # doubling
    assert row.state == DeliveryState.FAILED
    assert row.attempts == 3
    assert Backoff(base_s=10, cap_s=25).delay(5) == 25  # capped
    after = await store.get_subscription(CHAT)
    assert after is not None
    assert after.paused


async def test_crash_mid_digest_resumes_after_the_last_confirmed_part(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=2)  # 3 parts
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.plan = [None, Crash()]  # part 1 posts, then the process dies
    with pytest.raises(Crash):
        await sender(store, adapter, clock, lease_s=120).drain_once()
    (row,) = await store.list_deliveries()
    assert row.state == DeliveryState.SENDING
    assert row.sent_parts == ["msg-1"]
    first_part = adapter.sent[0][1]

    # A new process starts after the lease ran out.
    clock.advance(121)
    fresh = FakeAdapter()
    assert await sender(store, fresh, clock).drain_once() == 1
    assert [p for _, p in fresh.sent] == [
        p
        for p in fresh.render_digest(_payload(row))[1:]  # parts 2 and 3 only
    ]
    assert first_part not in [p for _, p in fresh.sent]
    (row,) = await store.list_deliveries()
    assert row.state == DeliveryState.SENT
    assert row.sent_parts == ["msg-1", "msg-1", "msg-2"]


SUPERGROUP = ChannelRef("fake", "chat-1-super")


async def test_a_migrated_chat_is_followed_not_paused(store: SQLStore) -> None:
    sub = await subscribe(store)
    first = await queue_digest(store, sub, n_entries=2)  # 3 parts
    second = await store.enqueue_delivery(replace(first, id=None, key="second"))
    assert second is not None
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.migrated = {CHAT: SUPERGROUP}
    assert await sender(store, adapter, clock).drain_once() == 2

    # One refused send to the old id: the second digest went straight to the new one.
    assert adapter.refused == [CHAT]
    expected = list(adapter.render_digest(_payload(first)))
    assert adapter.sent == [(SUPERGROUP, p) for p in expected * 2]
    rows = await store.list_deliveries()
    assert [(r.state, r.channel, len(r.sent_parts)) for r in rows] == [
        (DeliveryState.SENT, SUPERGROUP, 3),
        (DeliveryState.SENT, SUPERGROUP, 3),
    ]
    assert rows[0].attempts == 1  # followed within the same claim
    assert await store.get_subscription(CHAT) is None
    moved = await store.get_subscription(SUPERGROUP)
    assert moved is not None
    assert moved.id == sub.id
    assert not moved.paused
    assert moved.paused_reason is None
    # The next scheduled digest is composed for the new id.
    await store.upsert_stories(_stories())
    assert await compose_due(store, NOW) == 1
    assert (await store.list_deliveries())[-1].channel == SUPERGROUP


async def test_migration_mid_digest_resumes_at_the_new_chat(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=2)  # 3 parts
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.plan = [None, Crash()]  # part 1 reaches the old group, then the process dies
    with pytest.raises(Crash):
        await sender(store, adapter, clock, lease_s=120).drain_once()
    assert [c for c, _ in adapter.sent] == [CHAT]

    # Meanwhile the group became a supergroup.
    clock.advance(121)
    fresh = FakeAdapter()
    fresh.migrated = {CHAT: SUPERGROUP}
    assert await sender(store, fresh, clock).drain_once() == 1
    (row,) = await store.list_deliveries()
    parts = list(fresh.render_digest(_payload(row)))
    assert fresh.sent == [(SUPERGROUP, p) for p in parts[1:]]  # each remaining part once
    assert row.state == DeliveryState.SENT
    assert row.sent_parts == ["msg-1", "msg-1", "msg-2"]
    moved = await store.get_subscription(SUPERGROUP)
    assert moved is not None
    assert not moved.paused


async def test_migration_into_a_chat_that_has_its_own_subscription(store: SQLStore) -> None:
    old = await subscribe(store)
    await queue_digest(store, old, n_entries=1)
    await subscribe(store, channel=SUPERGROUP)
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.migrated = {CHAT: SUPERGROUP}
    assert await sender(store, adapter, clock).drain_once() == 0
    # The new chat keeps its own subscription; the old one's digest is not posted twice there.
    assert adapter.sent == []
    assert await store.list_deliveries() == []
    assert await store.get_subscription(CHAT) is None
    kept = await store.get_subscription(SUPERGROUP)
    assert kept is not None
    assert not kept.paused


async def test_a_chat_that_keeps_moving_pauses(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=1)
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.migrated = {CHAT: SUPERGROUP, SUPERGROUP: CHAT}  # a confused API
    assert await sender(store, adapter, clock).drain_once() == 0
    assert adapter.sent == []
    (row,) = await store.list_deliveries()
    assert row.state == DeliveryState.FAILED
    assert row.last_error is not None
    assert "keeps moving" in row.last_error


def _payload(row: Delivery) -> Digest:
    from bot.digest import digest_from_json

    return digest_from_json(row.payload)


async def test_delivery_for_a_missing_adapter_waits(
    store: SQLStore, caplog: pytest.LogCaptureFixture
) -> None:
    sub = await subscribe(store, channel=ChannelRef("matrix", "!room"))
    await queue_digest(store, sub, n_entries=1)
    clock = Clock(NOW)
    s = sender(store, FakeAdapter(), clock, lease_s=60)
    assert await s.drain_once() == 0
    clock.advance(61)
    assert await s.drain_once() == 0
    assert caplog.text.count("no running 'matrix' adapter") == 1
    (row,) = await store.list_deliveries()
    assert row.state == DeliveryState.PENDING
    assert row.last_error == "no running 'matrix' adapter"
    after = await store.get_subscription(sub.channel)
    assert after is not None
    assert not after.paused

    # Once that platform's adapter runs, the digest goes out.
    clock.advance(61)
    matrix = FakeAdapter()
    later = Sender(store, {"matrix": matrix}, clock=clock, pacing_s={})
    assert await later.drain_once() == 1
    assert len(matrix.sent) == 2


async def test_a_chats_later_digest_waits_behind_a_retried_one(store: SQLStore) -> None:
    sub = await subscribe(store)
    first = await queue_digest(store, sub, n_entries=1)
    assert sub.id is not None
    second = await store.enqueue_delivery(replace(first, id=None, key="second"))
    assert second is not None
    adapter, clock = FakeAdapter(), Clock(NOW)
    adapter.plan = [RetryLater("flood", retry_after=60)]
    assert await sender(store, adapter, clock).drain_once() == 0
    rows = await store.list_deliveries()
    assert [r.state for r in rows] == [DeliveryState.PENDING, DeliveryState.PENDING]
    assert rows[0].not_before == rows[1].not_before
    assert adapter.sent == []


async def test_per_chat_pacing(store: SQLStore) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=2)  # 3 parts to one chat
    adapter, clock = FakeAdapter(), Clock(NOW)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    s = Sender(store, {"fake": adapter}, clock=clock, pacing_s={"fake": 3.0}, sleep=fake_sleep)
    assert await s.drain_once() == 1
    assert slept == [3.0, 3.0]


# ----------------------------------------------------------------------------- instant


async def test_enqueue_instant_once_per_story_and_subscription(store: SQLStore) -> None:
    instant = await subscribe(store, schedule="instant", keywords=("-suno",))
    await subscribe(store, channel=OTHER)  # a daily subscription gets nothing here
    new = await store.upsert_stories(_stories())
    n = await enqueue_instant(store, new, is_relevant=lambda s: True, now=NOW)
    assert n == 2  # the Suno story is filtered by the -suno keyword
    assert await enqueue_instant(store, new, is_relevant=lambda s: True, now=NOW) == 0
    rows = await store.list_deliveries()
    assert {r.key for r in rows} == {
        f"{instant.id}:story:{s.id}" for s in new if "Suno" not in s.title
    }
    digest = _payload(rows[0])
    assert len(digest.entries) == 1
    assert digest.entries[0].summary.bullets == ("Fakta pertama 1.", "Fakta kedua 1.")
    # An Indonesian story in an English digest sits under the other-language heading.
    assert digest.entries[0].other_lang is True
    assert digest.other_heading == "Stories in Indonesian"
    assert await enqueue_instant(store, new, is_relevant=lambda s: False) == 0


async def test_instant_posts_follow_each_chats_sources(store: SQLStore) -> None:
    mine = await subscribe(store, schedule="instant")
    theirs = await subscribe(store, channel=OTHER, schedule="instant")
    # OTHER switched the default off and added a feed of its own.
    other_feed = "https://other.example/rss"
    await store.add_feed(Feed(url=other_feed, is_default=False))
    assert await store.remove_chat_source(OTHER, "https://feeds.example/rss") == "switched_off"
    assert await store.add_chat_source(OTHER, other_feed) == "added"
    stories = _stories()
    stories[0] = replace(stories[0], feed_url=other_feed)
    new = await store.upsert_stories(stories)
    assert await enqueue_instant(store, new, is_relevant=lambda s: True, now=NOW) == len(new)
    by_sub: dict[int | None, set[str]] = {}
    for row in await store.list_deliveries():
        by_sub.setdefault(row.subscription_id, set()).update(
            e.story.feed_url for e in _payload(row).entries
        )
    assert by_sub == {mine.id: {"https://feeds.example/rss"}, theirs.id: {other_feed}}


# ----------------------------------------------------------------------------- scheduler


async def test_scheduler_runs_each_tick_and_survives_a_failing_one() -> None:
    seen: dict[str, asyncio.Event] = {n: asyncio.Event() for n in ("poll", "compose", "send")}
    calls: list[datetime] = []

    async def poll(now: datetime) -> None:
        raise RuntimeError("feed store down")

    async def compose(now: datetime) -> int:
        calls.append(now)
        seen["compose"].set()
        return 0

    async def send(now: datetime) -> int:
        seen["send"].set()
        return 0

    clock = Clock(NOW)
    sched = Scheduler(poll=poll, compose=compose, send=send, send_every_s=0.05, clock=clock)
    sched.start()
    sched.start()  # idempotent
    assert sched.running
    try:
        await asyncio.wait_for(seen["compose"].wait(), 10)
        await asyncio.wait_for(seen["send"].wait(), 10)
        seen["send"].clear()
        await asyncio.wait_for(seen["send"].wait(), 10)  # the short tick repeats
        for _ in range(200):
            if sched.failures["poll"]:
                break
            await asyncio.sleep(0.01)
    finally:
        await sched.shutdown()
    await sched.shutdown()  # idempotent
    assert not sched.running
    assert sched.failures["poll"] >= 1
    assert sched.runs["send"] >= 2
    assert calls[0] == NOW  # work gets the injected clock's time
    assert await sched.run_once("compose") == 0


async def test_enqueue_instant_same_language_only(store: SQLStore) -> None:
    await subscribe(store, schedule="instant")  # an English subscription
    new = await store.upsert_stories(_stories())
    n = await enqueue_instant(
        store, new, is_relevant=lambda s: True, now=NOW, other_languages=False
    )
    assert n == sum(1 for s in new if s.lang == "en")
    assert n < len(new)
    rows = await store.list_deliveries()
    assert all(_payload(r).entries[0].story.lang == "en" for r in rows)
