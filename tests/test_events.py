"""Events flow from the store (DESIGN.md "Events flow from the store").

* A story stored by a poll is queued for instant posts in the same transaction, so nothing
  sits between "stored" and "will be posted" for a crash to lose, and a poll in another
  process (a real ``warta poll --once`` subprocess here) feeds this process's sender.
* The send loop wakes as soon as work is stored: this process's writes through the store's
  in-process signal, another connection's through PostgreSQL LISTEN/NOTIFY (reconnected when
  the listening connection is killed).
* Leases are short and renewed while held: a delivery being sent, and feeds being polled.

Real SQLite and PostgreSQL (marker ``postgres``), a real feed server on 127.0.0.1; the chat is
an in-process recording adapter (what is checked is which posts reach it, not a platform).
No timed assertions: waits have generous deadlines, and the wake-up tests use a fallback tick
of an hour, so only a wake-up can make them pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.analyze import default_scorer
from bot.commands import CommandCore, Reply
from bot.delivery import Sender, announce_stored
from bot.digest import digest_from_json
from bot.feeds.ingest import hold_feed_leases
from bot.models import ChannelRef, Delivery, Digest, Feed, Story, Subscription
from bot.send_loop import SendLoop
from bot.store import SQLStore, open_store
from bot.store.sql import WORK_CHANNEL
from bot.wakeup import APPLICATION_NAME, PgListener, Wakeup, asyncpg_dsn
from tests import feedserver
from tests.conftest import ROOT
from tests.feedserver import FeedServer
from tests.test_ingest import FLOOD, SORA, SUNO, rss

feed_server = feedserver.feed_server

CHAT = ChannelRef("rec", "chat-1")
OTHER = ChannelRef("rec", "chat-2")
DEADLINE_S = 30.0  # for something to happen at all; never a measured figure


class Recorder:
    """A chat adapter that records what it is asked to post (one part per digest entry)."""

    name = "rec"

    def __init__(self) -> None:
        self.sent: list[tuple[ChannelRef, str]] = []
        self.arrived = asyncio.Event()
        self.hold: asyncio.Event | None = None  # when set: send_part waits for it
        self.holding = asyncio.Event()

    async def start(self, core: CommandCore) -> None:
        return None

    async def stop(self) -> None:
        return None

    def render_digest(self, digest: Digest) -> Sequence[object]:
        return [e.story.title for e in digest.entries]

    async def send_part(self, channel: ChannelRef, part: object) -> str:
        if self.hold is not None:
            self.holding.set()
            await self.hold.wait()
        self.sent.append((channel, str(part)))
        self.arrived.set()
        return f"m{len(self.sent)}"

    async def send_reply(self, channel: ChannelRef, reply: Reply) -> list[str]:
        return []


# --------------------------------------------------------------------------- databases


async def _pg(raw: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(raw)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_pg_database(pg_url: str) -> Iterator[str]:
    """A database of its own (a subprocess cannot be handed a search_path through the URL)."""
    name = f"warta_ev_{secrets.token_hex(5)}"
    base = pg_url.rsplit("/", 1)[0]
    admin = pg_url.replace("+asyncpg", "")
    asyncio.run(_pg(admin, f"CREATE DATABASE {name}"))
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'warta.db'}"
        return
    with fresh_pg_database(request.getfixturevalue("pg_url")) as url:
        yield url


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[str]:
    with fresh_pg_database(pg_url) as url:
        yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SQLStore]:
    async with await open_store(db_url) as s:
        yield s


def relevant(story: Story) -> bool:
    return (story.relevance or 0.0) >= default_scorer().threshold_for(story.lang)


def scored_story(key: str, title: str, text: str, *, announce: bool = True) -> Story:
    topic = default_scorer().score(title, text, "id")
    return Story(
        feed_url="https://feeds.example/rss",
        key=key,
        url=f"https://news.example/{key}",
        title=title,
        text=text,
        source="Example",
        lang="id",
        published=datetime.now(UTC),
        content_hash=f"h-{key}",
        relevance=topic.score,
        matched=topic.matched,
        announce=announce,
    )


async def subscribe(store: SQLStore, channel: ChannelRef = CHAT, **kw: object) -> Subscription:
    defaults: dict[str, object] = {"lang": "id", "schedule": "instant"}
    defaults.update(kw)
    return await store.upsert_subscription(Subscription(channel, **defaults))  # type: ignore[arg-type]


async def add_default_feed(store: SQLStore, url: str = "https://feeds.example/rss") -> None:
    await store.add_feed(Feed(url=url, is_default=True))


async def wait_for(cond: object, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not cond():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- the queue


async def test_stored_story_is_queued_with_itself_and_baselines_are_not(store: SQLStore) -> None:
    await add_default_feed(store)
    sub = await subscribe(store, keywords=("-suno",))
    new = await store.upsert_stories(
        [
            scored_story(*SORA),
            scored_story(*SUNO),  # relevant, but the chat filters it out
            scored_story(*FLOOD),  # stored, not relevant
            replace(scored_story("old", SORA[1] + " lama", SORA[2]), announce=False),  # baseline
        ]
    )
    assert len(new) == 4
    now = datetime.now(UTC)
    queued = await store.claim_announcements(now)
    assert sorted(s.key for s in queued) == ["banjir", "sora", "suno"]
    # Claimed: held for the lease, not handed to another sender meanwhile.
    assert await store.claim_announcements(now) == []
    # A claimer that died: its stories come back after the lease, and the outcome is the same.
    assert len(await store.claim_announcements(now + timedelta(seconds=21))) == 3

    assert await announce_stored(store, is_relevant=relevant, now=now + timedelta(minutes=1)) == 1
    [row] = await store.list_deliveries()
    assert row.key == f"{sub.id}:story:{next(s.id for s in new if s.key == 'sora')}"
    assert [e.story.key for e in digest_from_json(row.payload).entries] == ["sora"]
    # The queue is empty now, and announcing again queues nothing twice.
    assert await store.claim_announcements(now + timedelta(hours=1)) == []
    assert await announce_stored(store, is_relevant=relevant) == 0


async def test_announcing_respects_sources_and_languages(store: SQLStore) -> None:
    await add_default_feed(store)
    mine = await subscribe(store)
    english_only = await subscribe(store, OTHER, lang="en")
    # OTHER switched the default source off and added its own.
    await store.add_feed(Feed(url="https://other.example/rss", is_default=False))
    assert await store.remove_chat_source(OTHER, "https://feeds.example/rss") == "switched_off"
    assert await store.add_chat_source(OTHER, "https://other.example/rss") == "added"
    theirs = replace(scored_story("their-sora", *SORA[1:]), feed_url="https://other.example/rss")
    await store.upsert_stories([scored_story(*SORA), theirs])
    n = await announce_stored(store, is_relevant=relevant, other_languages=False)
    # Chat 1 gets its source's story; chat 2 reads only its own source, whose story is in
    # Indonesian, which an English-only chat does not get.
    assert n == 1
    [row] = await store.list_deliveries()
    assert row.subscription_id == mine.id
    assert english_only.id is not None
    assert await announce_stored(store, is_relevant=relevant) == 0
    await store.upsert_stories([replace(theirs, key="their-2", content_hash="x")])
    assert await announce_stored(store, is_relevant=relevant) == 1  # other languages allowed
    assert {d.subscription_id for d in await store.list_deliveries()} == {mine.id, english_only.id}


async def test_a_poll_in_another_process_reaches_instant_subscribers(
    db_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    path = feed_server.add_bytes("/kabar.xml", rss([FLOOD]))
    async with await open_store(db_url) as store:
        await store.add_feed(Feed(url=feed_server.url(path), lang="id", is_default=True))
        sub = await subscribe(store)

    async def warta_poll_once() -> None:
        env = {
            **os.environ,
            "WARTA_DATABASE_URL": db_url,
            "WARTA_FEEDS_FILE": str(tmp_path / "none.toml"),
            "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
            "WARTA_ALLOW_LOOPBACK": "true",  # the feed server is on 127.0.0.1
            "WARTA_LOG_LEVEL": "WARNING",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "poll", "--once", "--all",
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()

    await warta_poll_once()  # the baseline: stored, never posted
    feed_server.set_body(path, rss([SORA, SUNO, FLOOD]))
    await warta_poll_once()  # two relevant new stories; that process queued nothing itself

    rec = Recorder()
    async with await open_store(db_url) as store:
        assert await announce_stored(store, is_relevant=relevant) == 2
        sender = Sender(store, {"rec": rec}, pacing_s={})
        assert await sender.drain_once() == 2
    assert sorted(title for _, title in rec.sent) == sorted([SORA[1], SUNO[1]])
    assert {channel for channel, _ in rec.sent} == {sub.channel}


# --------------------------------------------------------------------------- wake-ups


async def test_a_write_in_this_process_wakes_the_send_loop(store: SQLStore) -> None:
    await add_default_feed(store)
    await subscribe(store)
    rec = Recorder()
    sender = Sender(store, {"rec": rec}, pacing_s={})
    wakeup = Wakeup()
    store.on_work(wakeup.set)

    async def step() -> int:
        return await announce_stored(store, is_relevant=relevant) + await sender.drain_once()

    # An hour's fallback tick: only the wake-up can deliver within the deadline.
    loop = SendLoop(step, wakeup, fallback_s=3600)
    loop.start()
    try:
        await wait_for(lambda: loop.rounds >= 1, "the first, empty round")
        await store.upsert_stories([scored_story(*SORA)])
        await wait_for(lambda: rec.sent, "the instant post")
    finally:
        # Let a round in progress finish: one cancelled mid-query can leave a driver thread
        # answering after the test's event loop is gone (seen once with aiosqlite 0.20).
        await loop.stop(grace_s=10)
    assert [title for _, title in rec.sent] == [SORA[1]]


@pytest.mark.postgres
async def test_notify_from_another_process_wakes_the_listener_and_survives_a_drop(
    pg_db: str,
) -> None:
    async with await open_store(pg_db) as mine, await open_store(pg_db) as theirs:
        await add_default_feed(mine)
        await subscribe(mine)
        rec = Recorder()
        sender = Sender(mine, {"rec": rec}, pacing_s={})
        wakeup = Wakeup()  # not linked to `theirs`: only NOTIFY can carry its writes here
        dsn = asyncpg_dsn(mine.url)
        assert dsn is not None
        listener = PgListener(dsn, WORK_CHANNEL, wakeup, check_every_s=0.5)

        async def step() -> int:
            return await announce_stored(mine, is_relevant=relevant) + await sender.drain_once()

        loop = SendLoop(step, wakeup, fallback_s=3600)
        listener.start()
        loop.start()
        try:
            await wait_for(lambda: listener.listening.is_set() and loop.rounds >= 1, "LISTEN")
            await theirs.upsert_stories([scored_story(*SORA)])
            await wait_for(lambda: len(rec.sent) == 1, "the first post")

            # The server drops the listening connection: the listener reconnects by itself.
            await _pg(
                dsn,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE application_name = '{APPLICATION_NAME}' AND datname = current_database()",
            )
            await wait_for(lambda: listener.connects >= 2, "the reconnect")
            await wait_for(lambda: listener.listening.is_set(), "LISTEN again")
            await theirs.upsert_stories([scored_story(*SUNO)])
            await wait_for(lambda: len(rec.sent) == 2, "the post after the reconnect")
        finally:
            await loop.stop(grace_s=10)
            await listener.stop()
    assert [title for _, title in rec.sent] == [SORA[1], SUNO[1]]


# --------------------------------------------------------------------------- leases


async def test_a_delivery_being_sent_keeps_its_short_lease(store: SQLStore) -> None:
    sub = await subscribe(store, schedule="daily 08:00")
    assert sub.id is not None
    await store.enqueue_delivery(Delivery(sub.id, CHAT, "w1", payload=_one_entry_payload()))
    rec = Recorder()
    rec.hold = asyncio.Event()
    sender = Sender(store, {"rec": rec}, pacing_s={}, lease_s=1.5)  # renewed every 0.5 s
    task = asyncio.create_task(sender.drain_once())
    await wait_for(rec.holding.is_set, "the send to start")
    # Held for several lease lengths: a second sender must never get it meanwhile.
    for _ in range(8):
        await asyncio.sleep(0.5)
        assert await store.claim_deliveries(datetime.now(UTC), lease_s=1.5) == []
    rec.hold.set()
    assert await task == 1
    assert len(rec.sent) == 1
    # Had the process died instead, the row would have come back 1.5 s after the last renewal.


async def test_feeds_being_polled_keep_their_short_lease(store: SQLStore) -> None:
    now = datetime.now(UTC)
    await store.add_feed(Feed(url="https://a.example/rss", next_check_at=now))
    claimed = await store.claim_due_feeds(now, limit=5, lease_s=1.5)
    assert len(claimed) == 1
    async with hold_feed_leases(store, claimed, lease_s=1.5):
        for _ in range(8):
            await asyncio.sleep(0.5)
            assert await store.claim_due_feeds(datetime.now(UTC), limit=5) == []
        # The poll saves its real next time; a renewal after that must not undo it.
        claimed[0].next_check_at = later = now + timedelta(hours=1)
        await store.save_feeds(claimed)
        await asyncio.sleep(1.0)
    feed = await store.get_feed("https://a.example/rss")
    assert feed is not None
    assert feed.next_check_at == later


def _one_entry_payload() -> str:
    from bot.delivery import instant_digest
    from bot.digest import digest_to_json

    story = replace(scored_story(*SORA), id=1)
    return digest_to_json(instant_digest(story, Subscription(CHAT), datetime.now(UTC)))
