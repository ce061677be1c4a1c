"""Each role as a real process on a real PostgreSQL, with loopback peers.

``warta worker`` polls feeds from the loopback feed server and stores them (and prunes what is
past retention); ``warta sender`` posts what a worker's stories made due to the Telegram
emulator; ``warta gateway --platform telegram`` answers /help and polls nothing; SIGTERM during
work hands that work back within ``shutdown_grace_s`` so another copy takes it at once (not
after the 300 s feed lease / 120 s delivery lease). Every wait below is a deadline for a peer
or a process, never a timing assertion. Needs PostgreSQL (WARTA_TEST_PG_URL) and, for the
Telegram parts, ``npm ci --prefix tests/peers``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import App
from bot.config import Settings
from bot.delivery import compose_due
from bot.digest import digest_from_json
from bot.digest_schedule import parse_schedule
from bot.feeds.ingest import poll_feeds
from bot.models import ChannelRef, Delivery, DeliveryState, Feed, Story, Subscription
from bot.render.telegram import render_digest
from bot.store import open_store
from bot.store.sql import KEEP_PER_FEED
from tests import feedserver
from tests.feedserver import FeedServer
from tests.peers.telegram_emulator import NodeEmulator
from tests.test_e2e_telegram import Planned, ScriptedProxy, check_digest_parts, story_feed

feed_server = feedserver.feed_server
pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
CHAT = -1002700
USER = 4343
STORIES = 32  # story_feed's stories (one per city)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database per test: the role processes migrate it themselves."""
    import asyncpg  # type: ignore[import-untyped]

    name = f"warta_roles_{secrets.token_hex(5)}"
    admin = pg_url.replace("+asyncpg", "")

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE DATABASE {name}"))
    try:
        yield pg_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
async def peer(node: NodeEmulator) -> AsyncIterator[ScriptedProxy]:
    # A fresh token: isolated emulator state.
    async with ScriptedProxy(node.url, long_poll_s=1.0) as proxy:
        yield proxy


# --------------------------------------------------------------------------- a role process


class Role:
    """``python -m bot <args>`` with its output in a file."""

    def __init__(self, tmp: Path, env: dict[str, str], *args: str) -> None:
        self.args = args
        self.env = env
        self.err = tmp / f"{'-'.join(args)}-{time.monotonic_ns()}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Role:
        with self.err.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                *self.args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                env=self.env,
                cwd=ROOT,
            )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def output(self) -> str:
        return self.err.read_text(errors="replace")

    async def stop(self) -> int:
        """SIGTERM, then wait for the exit (killed after 60 s: a hung stop fails the test)."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError as e:
                self.proc.kill()
                await self.proc.wait()
                raise AssertionError(f"{self.args} did not stop:\n{self.output()[-3000:]}") from e
        assert self.proc.returncode is not None
        return self.proc.returncode


async def until(what: str, check: Any, *roles: Role, deadline_s: float = 90.0) -> Any:
    """Poll ``check()`` until truthy; fail if a role died or after the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        for role in roles:
            assert role.alive(), f"{role.args} exited waiting for {what}:\n{role.output()[-3000:]}"
        if time.monotonic() > deadline:
            logs = "\n".join(f"{r.args}:\n{r.output()[-2000:]}" for r in roles)
            raise AssertionError(f"no {what} within {deadline_s} s\n{logs}")
        await asyncio.sleep(0.2)


def role_env(tmp: Path, db: str, feeds: list[str], **extra: str) -> dict[str, str]:
    lines = [f'[[feed]]\nurl = "{url}"\nlang = "id"\n' for url in feeds]
    (tmp / "feeds.toml").write_text("\n".join(lines))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN") and not k.startswith("WARTA_")
    }
    return env | {
        "WARTA_DATABASE_URL": db,
        "WARTA_FEEDS_FILE": str(tmp / "feeds.toml"),
        "WARTA_HEARTBEAT_FILE": str(tmp / f"beat-{secrets.token_hex(3)}"),
        "WARTA_ALLOW_LOOPBACK": "true",
        **extra,
    }


def telegram_env(peer: ScriptedProxy) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": peer.token, "WARTA_TELEGRAM_BASE_URL": peer.base_url}


async def stories_of(db: str, feed_url: str) -> list[Story]:
    async with await open_store(db) as store:
        end = datetime.now(UTC) + timedelta(days=1)
        found = await store.stories_between(end - timedelta(days=5000), end, limit=5000)
    return [s for s in found if s.feed_url == feed_url]


async def deliveries(db: str) -> list[Delivery]:
    async with await open_store(db) as store:
        return await store.list_deliveries()


# --------------------------------------------------------------------------- the roles


async def test_worker_polls_stores_and_prunes(
    tmp_path: Path, pg_db: str, feed_server: FeedServer
) -> None:
    now = datetime.now(UTC)
    url = feed_server.url(feed_server.add_bytes("/seni.xml", story_feed(now)))
    # One more old story than retention keeps per feed (the newest KEEP_PER_FEED stay, see
    # bot/store/sql.py): the oldest of them is past retention and beyond the feed's window.
    async with await open_store(pg_db) as store:
        await store.upsert_stories(
            [
                Story(
                    feed_url="https://old.example/rss",
                    key=f"old{i}",
                    url=f"https://old.example/{i}",
                    title=f"Berita lama {i}",
                    text="Teks lama.",
                    source="Lama",
                    lang="id",
                    published=now - timedelta(days=100 + i),
                    content_hash="h",
                    fetched_at=now - timedelta(days=100 + i),
                )
                for i in range(KEEP_PER_FEED + 1)
            ]
        )
    # Retention's first run waits retention_first_after_s (60 s by default) for start-up.
    env = role_env(tmp_path, pg_db, [url], WARTA_RETENTION_FIRST_AFTER_S="2")
    worker = await Role(tmp_path, env, "worker").start()
    try:

        async def stored() -> bool:
            return len(await stories_of(pg_db, url)) == STORIES

        await until("the feed's stories in PostgreSQL", stored, worker)

        async def pruned() -> bool:
            return len(await stories_of(pg_db, "https://old.example/rss")) == KEEP_PER_FEED

        await until("the oldest story pruned", pruned, worker)
        kept = {s.key for s in await stories_of(pg_db, "https://old.example/rss")}
        assert f"old{KEEP_PER_FEED}" not in kept
        assert "old0" in kept
    finally:
        assert await worker.stop() == 0, worker.output()[-3000:]
    assert "worker: starting" in worker.output()
    assert feed_server.stats("/seni.xml").requests == 1  # polled once, by the one worker


async def test_sender_delivers_what_a_workers_stories_made_due(
    tmp_path: Path, pg_db: str, feed_server: FeedServer, peer: ScriptedProxy
) -> None:
    now = datetime.now(UTC)
    url = feed_server.url(feed_server.add_bytes("/seni.xml", story_feed(now)))
    # The subscription is stored after start: compose every 2 s, not every 30, to see it soon.
    env = role_env(tmp_path, pg_db, [url], WARTA_COMPOSE_EVERY_S="2")
    worker = await Role(tmp_path, env, "worker").start()
    sender = await Role(tmp_path, env | telegram_env(peer), "sender").start()
    try:

        async def stored() -> bool:
            return len(await stories_of(pg_db, url)) == STORIES

        await until("the worker's stories", stored, worker, sender)
        schedule = parse_schedule("daily 08:00", "Asia/Jakarta")
        async with await open_store(pg_db) as store:
            await store.upsert_subscription(
                Subscription(
                    channel=ChannelRef("telegram", str(CHAT)),
                    lang="id",
                    schedule=schedule.canonical(),
                    max_stories=20,
                    next_run_at=now - timedelta(minutes=1),  # due: the worker composes it
                    last_window_end=now - timedelta(days=1),
                )
            )

        async def sent() -> list[Delivery]:
            return [d for d in await deliveries(pg_db) if d.state == DeliveryState.SENT]

        (delivery,) = await until("the digest sent", sent, worker, sender)
        expected = render_digest(digest_from_json(delivery.payload))
        posted = await peer.wait_bot_messages(CHAT, len(expected))
        check_digest_parts([m["text"] for m in posted], digest_from_json(delivery.payload))
        assert len(delivery.sent_parts) == len(expected)
    finally:
        assert await sender.stop() == 0, sender.output()[-3000:]
        assert await worker.stop() == 0, worker.output()[-3000:]
    # The sender received no commands: Telegram allows one getUpdates poller per bot.
    assert not peer.calls_of("getUpdates")
    assert "sender: starting" in sender.output()


async def test_gateway_answers_help_and_polls_nothing(
    tmp_path: Path, pg_db: str, feed_server: FeedServer, peer: ScriptedProxy
) -> None:
    url = feed_server.url(feed_server.add_bytes("/seni.xml", story_feed(datetime.now(UTC))))
    env = role_env(tmp_path, pg_db, [url]) | telegram_env(peer)
    gateway = await Role(tmp_path, env, "gateway", "--platform", "telegram").start()
    try:
        await until("getUpdates", lambda: peer.calls_of("getUpdates"), gateway)
        await peer.user_sends("/help", chat_id=USER, user_id=USER, language_code="en")
        (answer,) = await peer.wait_bot_messages(USER, 1, deadline_s=60)
        assert "/subscribe" in answer["text"]
    finally:
        assert await gateway.stop() == 0, gateway.output()[-3000:]
    assert feed_server.total_requests == 0  # a gateway polls no feed
    assert await stories_of(pg_db, url) == []


async def test_sigterm_releases_a_held_delivery_to_another_sender(
    tmp_path: Path, pg_db: str, feed_server: FeedServer, peer: ScriptedProxy
) -> None:
    now = datetime.now(UTC)
    url = feed_server.url(feed_server.add_bytes("/seni.xml", story_feed(now)))
    settings = Settings(database_url=pg_db, allow_loopback=True)
    async with await App.open(settings) as app:
        await app.store.add_feed(Feed(url=url, next_check_at=now))
        (feed,) = await app.store.claim_due_feeds(now, limit=1)
        await poll_feeds([feed], store=app.store, fetcher=app.fetcher, scorer=app.scorer, now=now)
        await app.store.upsert_subscription(
            Subscription(
                channel=ChannelRef("telegram", str(CHAT)),
                lang="id",
                schedule="daily 08:00",
                max_stories=20,
                next_run_at=now - timedelta(minutes=1),
                last_window_end=now - timedelta(days=1),
            )
        )
        assert await compose_due(app.store, now) == 1
    (queued,) = await deliveries(pg_db)
    parts = render_digest(digest_from_json(queued.payload))
    assert len(parts) >= 2
    # The proxy lets part 1 through and holds part 2: the sender is stopped mid-delivery.
    peer.script(Planned("pass"), Planned("hold"))
    env = role_env(tmp_path, pg_db, []) | telegram_env(peer) | {"WARTA_SHUTDOWN_GRACE_S": "1"}
    first = await Role(tmp_path, env, "sender").start()
    try:
        await until("part 2 held", peer.holding.is_set, first)
    finally:
        code = await first.stop()  # also when the wait failed: no process outlives the test
    assert code == 0, first.output()[-3000:]
    assert "released 0 feeds and 1 deliveries" in first.output()
    (released,) = await deliveries(pg_db)
    assert released.state == DeliveryState.PENDING
    assert len(released.sent_parts) == 1  # part 1 is recorded, so it is not posted twice

    second = await Role(tmp_path, env, "sender").start()
    try:

        async def sent() -> list[Delivery]:
            return [d for d in await deliveries(pg_db) if d.state == DeliveryState.SENT]

        # Well inside the 120 s lease the stopped sender held: it was handed back, not expired.
        (done,) = await until("the second sender finishing it", sent, second, deadline_s=60)
    finally:
        assert await second.stop() == 0, second.output()[-3000:]
    posted = await peer.bot_messages(CHAT)
    check_digest_parts([m["text"] for m in posted], digest_from_json(queued.payload))
    assert len(done.sent_parts) == len(parts)


async def test_a_killed_workers_feed_is_polled_by_another_within_seconds(
    tmp_path: Path, pg_db: str, feed_server: FeedServer
) -> None:
    """kill -9 mid-fetch: nothing is handed back, but the claim's short lease is no longer
    renewed, so a second worker takes the feed over once it runs out (feed_lease_s: 3 s here,
    15 by default), not after minutes."""
    now = datetime.now(UTC)
    body = story_feed(now)
    answer = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        await answer.wait()  # the first worker's fetch hangs until it is killed
        return web.Response(body=body, content_type="application/rss+xml")

    url = feed_server.url(feed_server.add_handler("/slow.xml", slow))
    # The fetch may hang longer than a lease without timing out.
    env = role_env(tmp_path, pg_db, [url], WARTA_FETCH_TIMEOUT_S="120", WARTA_FEED_LEASE_S="3")
    first = await Role(tmp_path, env, "worker").start()
    second: Role | None = None
    try:
        await until("the fetch in flight", lambda: feed_server.stats("/slow.xml").in_flight, first)
        # Held for two leases: the first worker keeps renewing its claim.
        await asyncio.sleep(6)
        assert first.alive()
        async with await open_store(pg_db) as store:
            assert await store.claim_due_feeds(datetime.now(UTC), limit=5) == []
        assert first.proc is not None
        first.proc.kill()
        await first.proc.wait()
        answer.set()
        second = await Role(tmp_path, env, "worker").start()

        async def stored() -> bool:
            return len(await stories_of(pg_db, url)) == STORIES

        # A deadline for the peer (60 s), far below a long fixed lease (it was 300 s); the
        # lease the feed waits out is 3 s.
        await until("the second worker storing the feed", stored, second, deadline_s=60)
    finally:
        await first.stop()
        if second is not None:
            assert await second.stop() == 0, second.output()[-3000:]
    assert feed_server.stats("/slow.xml").requests == 2  # once each: no other poll between


async def test_sigterm_releases_a_feed_being_polled_to_another_worker(
    tmp_path: Path, pg_db: str, feed_server: FeedServer
) -> None:
    now = datetime.now(UTC)
    body = story_feed(now)
    answer = asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        await answer.wait()  # hangs until the test lets it answer
        return web.Response(body=body, content_type="application/rss+xml")

    url = feed_server.url(feed_server.add_handler("/slow.xml", slow))
    env = role_env(tmp_path, pg_db, [url], WARTA_SHUTDOWN_GRACE_S="1")
    first = await Role(tmp_path, env, "worker").start()
    try:
        await until("the fetch in flight", lambda: feed_server.stats("/slow.xml").in_flight, first)
    finally:
        code = await first.stop()  # also when the wait failed: no process outlives the test
    assert code == 0, first.output()[-3000:]
    assert "released 1 feeds and 0 deliveries" in first.output()
    async with await open_store(pg_db) as store:
        feed = await store.get_feed(url)
    assert feed is not None
    assert feed.next_check_at is not None
    # Due again now, not at the end of the claim's lease.
    assert feed.next_check_at <= datetime.now(UTC)

    answer.set()
    second = await Role(tmp_path, env, "worker").start()
    try:

        async def stored() -> bool:
            return len(await stories_of(pg_db, url)) == STORIES

        await until("the second worker storing the feed", stored, second, deadline_s=60)
    finally:
        assert await second.stop() == 0, second.output()[-3000:]


async def test_a_feed_added_elsewhere_is_polled_by_a_sleeping_worker_at_once(
    tmp_path: Path, pg_db: str, feed_server: FeedServer
) -> None:
    # A worker that polled everything sleeps until its next look (up to 30 s, the pacer's
    # idle_max_s); a feed another process adds (a gateway's /feeds add) reaches it by NOTIFY.
    now = datetime.now(UTC)
    first = feed_server.url(feed_server.add_bytes("/first.xml", story_feed(now)))
    added = feed_server.url(feed_server.add_bytes("/added.xml", story_feed(now)))
    # A long lease: the worker's next look is then its idle_max_s (30 s), not the end of the
    # first feed's lease, which it would otherwise check at 15 s.
    env = role_env(tmp_path, pg_db, [first], WARTA_FEED_LEASE_S="120")
    worker = await Role(tmp_path, env, "worker").start()
    try:

        async def stored(url: str) -> bool:
            return len(await stories_of(pg_db, url)) == STORIES

        await until("the first feed's stories", lambda: stored(first), worker)
        async with await open_store(pg_db) as store:
            await store.add_feed(Feed(url=added, is_default=True))
        # Far below the 30 s the worker would sleep without the wake-up.
        await until("the added feed's stories", lambda: stored(added), worker, deadline_s=15)
    finally:
        assert await worker.stop() == 0, worker.output()[-3000:]
    assert feed_server.stats("/added.xml").requests == 1
