"""Three workers and two senders share 500 feeds and 200 subscriptions on the real PostgreSQL,
and one of each is killed with SIGKILL at random moments, again and again (issue 8, item 1).

Processes: ``warta worker`` (three, in small claims so that a kill lands mid-batch) and
``tests/events_proc.py`` senders (two: the public pieces ``warta sender`` wires, with a
recording chat peer in place of a platform adapter). Feeds come from a real HTTP server on
127.0.0.1 (ETag/304, 0.1 s a request while kills happen); chats are a recording HTTP peer on
127.0.0.1 that keeps each message once by nonce, like Discord's ``enforce_nonce`` (the Telegram
Bot API has no such key; see tests/test_crash.py for that residual window), and counts the
repeats it absorbed.

What must hold:

* every story is stored once (one row per feed entry, none missing);
* every instant post (story x instant chat whose sources include its feed and whose keyword
  filter passes) reaches its chat exactly once, and so does every part of every composed digest;
* the work a killed copy held (its leased feeds, deliveries, announcements) is done by the
  others within 30 s of the kill;
* an instant post reaches its chat within 5 s of the poll that stored its story (measured in a
  last round without kills; the figures are printed, only the generous bound is asserted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import text

from bot.analyze import default_scorer
from bot.digest import digest_from_json
from bot.feeds.ingest import FEED_LEASE_S
from bot.models import ChannelRef, Feed, Subscription
from bot.store import SQLStore, open_store
from bot.store.sql import FEEDS_CHANNEL
from tests.conftest import ROOT
from tests.feedserver import FeedServer
from tests.test_events import fresh_pg_database

pytestmark = pytest.mark.postgres

FEEDS = 500
SUBS = 200
INSTANT = 150  # subscriptions 0..149 are instant, the rest get digests
PER_CHAT = 5  # feeds each chat adds: every feed is read by two chats
WORKERS = 3
WORKER_ENV = {
    "WARTA_POLL_BATCH": "25",
    "WARTA_FETCH_CONCURRENCY": "10",
    "WARTA_FETCH_PER_HOST": "10",
}
SENDERS = 2
ROUNDS = 5  # rounds with a kill of one worker and one sender each
# Kills come 20.7-31.3 s apart: more than a lease (15 s), a sender's fallback look (2 s) and
# sending a held batch (~3 s), so each kill's work is done before the next kill, which could
# otherwise hit the copy that took it over and hold it for another lease.
ROUND_S = 26.0
NEW_PER_ROUND = 30
QUIET_NEW = 20
RESUME_BOUND_S = 30.0
LATENCY_BOUND_S = 5.0

SORA = (
    "Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI",
    "Sekelompok seniman membocorkan akses ke Sora, alat video AI milik OpenAI, lewat Hugging "
    "Face. Mereka menuntut OpenAI membayar seniman atas karya kreatif mereka.",
)
SUNO = (
    "Label Rekaman Gugat Suno dan Udio atas Hak Cipta Lagu",
    "Label rekaman besar menggugat pembuat musik AI Suno dan Udio karena melatih model dengan "
    "rekaman lagu musisi tanpa izin.",
)


def chat(j: int) -> ChannelRef:
    return ChannelRef("peer", f"c{j}")


def feeds_of(j: int) -> list[int]:
    return [(j * PER_CHAT + k) % FEEDS for k in range(PER_CHAT)]


def filtered(j: int) -> bool:
    """Every third instant chat says ``-udio``: it never gets the Suno/Udio stories."""
    return j % 3 == 0


@dataclass
class Item:
    key: str
    title: str
    body: str
    published: datetime


@dataclass
class Feeds:
    server: FeedServer
    items: dict[int, list[Item]] = field(default_factory=dict)
    published: set[str] = field(default_factory=set)

    def path(self, i: int) -> str:
        return f"/f/{i}.xml"

    def url(self, i: int) -> str:
        return self.server.url(self.path(i))

    def publish(self, i: int) -> None:
        entries = "".join(
            f"<item><guid>{it.key}</guid><title>{it.title}</title>"
            f"<link>https://kabar.example/{i}/{it.key}</link>"
            f"<pubDate>{it.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"<description><![CDATA[<p>{it.body}</p>]]></description></item>"
            for it in reversed(self.items[i])
        )
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Kabar {i}</title><link>https://kabar.example/{i}</link>"
            f"<language>id</language>{entries}</channel></rss>"
        ).encode()
        if self.path(i) in self.published:
            self.server.set_body(self.path(i), body)
        else:
            self.server.add_bytes(self.path(i), body)
            self.published.add(self.path(i))

    def add(self, i: int, n: int, *, suno: bool) -> Item:
        title, body = SUNO if suno else SORA
        item = Item(f"s{i}-{n}", f"{title} ({i}-{n})", body, datetime.now(UTC))
        self.items.setdefault(i, []).append(item)
        return item


class Peer:
    """The chats: one POST per message; a repeated nonce is stored once and counted."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.by_nonce: dict[str, int] = {}
        self.repeats = 0
        self.repeated_by: list[tuple[int, int]] = []  # (pid that posted first, pid repeating)
        self._runner: web.AppRunner | None = None
        self.url = ""
        # A platform takes a while to answer: while True, each message takes 0-0.3 s, so
        # kills land on deliveries being sent (and on the window after the platform accepted
        # a message and before the outbox recorded it).
        self.slow = False
        self._rng = random.Random(1)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/send", self._send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/send"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.slow:
            await asyncio.sleep(self._rng.uniform(0.0, 0.3))
        nonce = body["nonce"]
        if nonce in self.by_nonce:
            self.repeats += 1
            first = self.messages[self.by_nonce[nonce] - 1]
            self.repeated_by.append((first["pid"], body["pid"]))
            return web.json_response({"id": self.by_nonce[nonce]})
        self.messages.append({**body, "at": time.time(), **json.loads(body["text"])})
        self.by_nonce[nonce] = len(self.messages)
        return web.json_response({"id": len(self.messages)})


class Fleet:
    """The worker and sender processes, restartable by role."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: dict[str, list[asyncio.subprocess.Process]] = {"worker": [], "sender": []}
        self.started = 0
        self.killed: set[int] = set()

    async def spawn(self, role: str) -> asyncio.subprocess.Process:
        self.started += 1
        err = open(self.log_dir / f"{role}-{self.started}.log", "wb")  # noqa: SIM115
        # Workers are `warta worker` itself, in small claims so that a kill lands mid-batch;
        # senders need the recording peer for a chat (tests/events_proc.py).
        args, env = ["-m", "tests.events_proc", role], self.env
        if role == "worker":
            args, env = ["-m", "bot", "worker"], self.env | WORKER_ENV
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *args,
            cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
        err.close()
        self.procs[role].append(proc)
        return proc

    def kill_one(self, role: str, rng: random.Random) -> None:
        victim = rng.choice(self.procs[role])
        victim.send_signal(signal.SIGKILL)
        self.killed.add(victim.pid)
        self.procs[role].remove(victim)

    async def stop(self) -> None:
        for procs in self.procs.values():
            for p in procs:
                with contextlib.suppress(ProcessLookupError):
                    p.send_signal(signal.SIGKILL)
                await p.wait()

    def alive(self) -> bool:
        return all(p.returncode is None for ps in self.procs.values() for p in ps)


@dataclass
class Held:
    """What the copies held at a kill: resolved when someone else finished it."""

    role: str
    at: float
    deliveries: set[int] = field(default_factory=set)
    announcements: set[int] = field(default_factory=set)
    feeds: dict[str, datetime | None] = field(default_factory=dict)
    resolved_after: float | None = None


async def snapshot(store: SQLStore, role: str) -> Held:
    held = Held(role, time.time())
    now = datetime.now(UTC)
    async with store._engine.connect() as conn:
        if role == "sender":
            rows = await conn.execute(text("SELECT id FROM deliveries WHERE state = 'sending'"))
            held.deliveries = {r[0] for r in rows}
            rows = await conn.execute(
                text("SELECT story_id FROM announcements WHERE lease_until > :now"), {"now": now}
            )
            held.announcements = {r[0] for r in rows}
        else:
            rows = await conn.execute(
                text(
                    "SELECT url, last_checked_at FROM feeds "
                    "WHERE next_check_at > :now AND next_check_at <= :lease"
                ),
                {"now": now, "lease": now + timedelta(seconds=FEED_LEASE_S + 1)},
            )
            held.feeds = {r[0]: r[1] for r in rows}
    return held


async def resolved(store: SQLStore, held: Held) -> bool:
    async with store._engine.connect() as conn:
        if held.deliveries:
            rows = await conn.execute(
                text("SELECT count(*) FROM deliveries WHERE id = ANY(:ids) AND state <> 'sent'"),
                {"ids": list(held.deliveries)},
            )
            if rows.scalar_one():
                return False
        if held.announcements:
            rows = await conn.execute(
                text("SELECT count(*) FROM announcements WHERE story_id = ANY(:ids)"),
                {"ids": list(held.announcements)},
            )
            if rows.scalar_one():
                return False
        if held.feeds:
            rows = await conn.execute(
                text("SELECT url, last_checked_at FROM feeds WHERE url = ANY(:urls)"),
                {"urls": list(held.feeds)},
            )
            if any(held.feeds[url] == checked for url, checked in rows):
                return False
    return True


async def watch(store: SQLStore, held: Held) -> None:
    while not await resolved(store, held):
        if time.time() - held.at > 120:
            return
        await asyncio.sleep(0.25)
    held.resolved_after = time.time() - held.at


async def wait_until(cond: Any, what: str, timeout_s: float = 90.0) -> None:
    deadline = time.time() + timeout_s
    while not await cond():
        if time.time() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.25)


async def scalar(store: SQLStore, sql: str, **params: Any) -> Any:
    async with store._engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def execute(store: SQLStore, sql: str, **params: Any) -> None:
    async with store._engine.begin() as conn:
        await conn.execute(text(sql), params)


# A claim is held at most this long past its last renewal (the workers' default lease).
HELD_S = FEED_LEASE_S + 1


async def make_due(store: SQLStore, where: str = "", **params: Any) -> None:
    """Make feeds due now, and say so as the store does when it makes feeds due (``warta poll
    --all``): sleeping workers hear it on the feeds channel and claim at once."""
    async with store._engine.begin() as conn:
        await conn.execute(text(f"UPDATE feeds SET next_check_at = now() {where}"), params)
        await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": FEEDS_CHANNEL})


@pytest.fixture
def kill_db(pg_url: str) -> Any:
    with fresh_pg_database(pg_url) as url:
        yield url


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FeedServer, Peer]]:
    peer = Peer()
    await peer.start()
    async with FeedServer() as feeds:
        try:
            yield feeds, peer
        finally:
            await peer.stop()


async def test_kill_nine_workers_and_senders_lose_and_repeat_nothing(
    kill_db: str, servers: tuple[FeedServer, Peer], tmp_path: Path
) -> None:
    server, peer = servers
    rng = random.Random(int(os.environ.get("WARTA_KILL_SEED", "8")))
    feeds = Feeds(server)
    for i in range(FEEDS):
        feeds.add(i, 0, suno=False)
        feeds.add(i, 1, suno=True)
        feeds.publish(i)
    store = await open_store(kill_db)
    fleet = Fleet(
        {
            **os.environ,
            "WARTA_DATABASE_URL": kill_db,
            "WARTA_FEEDS_FILE": str(tmp_path / "none.toml"),
            "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
            "WARTA_ALLOW_LOOPBACK": "true",  # feeds and chats are on 127.0.0.1
            "WARTA_LOG_LEVEL": "WARNING",
            "WARTA_HEARTBEAT_FILE": str(tmp_path / "beat"),
            "WARTA_EVENTS_PEER": peer.url,
        },
        tmp_path,
    )
    try:
        for i in range(FEEDS):
            await store.add_feed(
                Feed(url=feeds.url(i), lang="id", interval_s=3600, is_default=False)
            )
        for j in range(SUBS):
            keywords = ("-udio",) if j < INSTANT and filtered(j) else ()
            schedule = "instant" if j < INSTANT else "every 1h"
            await store.upsert_subscription(
                Subscription(chat(j), lang="id", schedule=schedule, keywords=keywords)
            )
            for i in feeds_of(j):
                assert await store.add_chat_source(chat(j), feeds.url(i)) == "added"
        await make_due(store)
        for _ in range(WORKERS):
            await fleet.spawn("worker")
        for _ in range(SENDERS):
            await fleet.spawn("sender")

        async def baselined() -> bool:
            return await scalar(store, "SELECT count(*) FROM feeds WHERE baseline_done") == FEEDS

        await wait_until(baselined, "the baseline poll of every feed")
        assert await scalar(store, "SELECT count(*) FROM announcements") == 0  # never posted

        peer.slow = True
        # Polls that take a real round trip (500 feeds, 3 workers x 10: ~2 s a round), so
        # the kills below land on workers in the middle of their claims.
        server.latency_s = 0.1
        helds: list[Held] = []
        watchers: list[asyncio.Task[None]] = []
        n = 2
        new_items: dict[int, list[Item]] = {}
        for _ in range(ROUNDS):
            started = time.time()
            for i in rng.sample(range(FEEDS), NEW_PER_ROUND):
                new_items.setdefault(i, []).append(feeds.add(i, n, suno=rng.random() < 0.3))
                feeds.publish(i)
            n += 1
            # Every feed but those a worker holds right now: as time makes feeds due, which
            # never cuts a lease short (a killed worker's feeds come back when theirs ends).
            await make_due(
                store, "WHERE next_check_at > now() + make_interval(secs => :held)", held=HELD_S
            )
            await execute(
                store,
                "UPDATE subscriptions SET next_run_at = now() WHERE schedule <> 'instant'",
            )
            # Kill while the round's work is under way (the first seconds after it is stored).
            for role, (early, late) in (("worker", (0.2, 2.0)), ("sender", (0.5, 4.0))):
                await asyncio.sleep(rng.uniform(early, late))
                # Snapshot right after the kill: the dead copy's claims are still in the store.
                fleet.kill_one(role, rng)
                held = await snapshot(store, role)
                helds.append(held)
                watchers.append(asyncio.create_task(watch(store, held)))
                await fleet.spawn(role)
            await asyncio.sleep(max(0.0, ROUND_S - (time.time() - started)))
            assert fleet.alive()

        async def settled() -> bool:
            # Every entry the feeds carry is stored (a killed worker's feeds are polled again
            # once its lease ends), and nothing is left to announce or to send.
            stored = await scalar(store, "SELECT count(*) FROM stories")
            if stored != sum(len(items) for items in feeds.items.values()):
                return False
            pending = await scalar(
                store,
                "SELECT (SELECT count(*) FROM announcements)"
                " + (SELECT count(*) FROM deliveries WHERE state <> 'sent')"
                " + (SELECT count(*) FROM feeds WHERE next_check_at <= now())",
            )
            return bool(pending == 0)

        await wait_until(settled, "the killed rounds to be done")
        await asyncio.gather(*watchers)

        # A quiet round: how long from the poll that stores a story to its post in the chat.
        peer.slow = False
        server.latency_s = 0.0
        quiet: list[int] = rng.sample(range(FEEDS), QUIET_NEW)
        for i in quiet:
            new_items.setdefault(i, []).append(feeds.add(i, n, suno=False))
            feeds.publish(i)
        await make_due(store, "WHERE url = ANY(:urls)", urls=[feeds.url(i) for i in quiet])
        await wait_until(settled, "the quiet round to be done")
        await asyncio.sleep(1.0)
        assert fleet.alive()
    finally:
        await fleet.stop()

    try:
        await check(store, feeds, peer, new_items, helds, quiet_keys={f"s{i}-{n}" for i in quiet})
        # A message is sent twice only when the copy that sent it first was killed before the
        # outbox recorded it: never because two live senders held the same delivery.
        assert all(first in fleet.killed for first, _ in peer.repeated_by), peer.repeated_by
    finally:
        await store.close()


async def check(
    store: SQLStore,
    feeds: Feeds,
    peer: Peer,
    new_items: dict[int, list[Item]],
    helds: list[Held],
    *,
    quiet_keys: set[str],
) -> None:
    # Every story stored once: exactly the entries the feeds carried.
    async with store._engine.connect() as conn:
        rows = (await conn.execute(text("SELECT feed_url, key, relevance FROM stories"))).all()
        fetched = dict(
            (r[0], r[1]) for r in await conn.execute(text("SELECT key, fetched_at FROM stories"))
        )
    stored = Counter((url, key) for url, key, _ in rows)
    expected_stories = {(feeds.url(i), it.key) for i, items in feeds.items.items() for it in items}
    assert set(stored) == expected_stories
    assert max(stored.values()) == 1
    threshold = default_scorer().threshold_for("id")
    assert all((rel or 0) >= threshold for _, _, rel in rows), "every test story is relevant"

    # Every instant post exactly once, and nothing else in the instant chats.
    want: Counter[tuple[str, str]] = Counter()
    for j in range(INSTANT):
        for i in feeds_of(j):
            for it in new_items.get(i, []):
                if filtered(j) and "Udio" in it.title:
                    continue
                want[(f"c{j}", it.key)] += 1
    got = Counter(
        (m["chat"], m["story_key"]) for m in peer.messages if int(m["chat"][1:]) < INSTANT
    )
    assert sum(want.values()) > 150  # not a vacuous check
    assert got == want

    # Every digest part exactly once: each composed digest's entries, in its chat.
    digests = [d for d in await store.list_deliveries() if ":story:" not in d.key]
    assert digests, "the forced digest runs composed something"
    assert all(d.state == "sent" for d in await store.list_deliveries())
    want_parts: Counter[tuple[str, str, str]] = Counter()
    for d in digests:
        digest = digest_from_json(d.payload)
        for e in digest.entries:
            want_parts[(d.channel.id, digest.window_end.isoformat(), e.story.key)] += 1
    got_parts = Counter(
        (m["chat"], m["window_end"], m["story_key"])
        for m in peer.messages
        if int(m["chat"][1:]) >= INSTANT
    )
    assert got_parts == want_parts

    # The work a killed copy held was finished by the others.
    kinds = Counter(h.role for h in helds)
    assert kinds == {"worker": ROUNDS, "sender": ROUNDS}
    resumed = [h.resolved_after for h in helds]
    print(
        f"\nkills: {len(helds)}; held at kill: "
        + ", ".join(
            f"{h.role}({len(h.feeds)} feeds, {len(h.deliveries)} deliveries, "
            f"{len(h.announcements)} stories) done after {h.resolved_after:.1f} s"
            if h.resolved_after is not None
            else f"{h.role}: NOT resumed"
            for h in helds
        )
    )
    print(
        f"stories {len(rows)}, instant posts {sum(want.values())}, digests {len(digests)} "
        f"({sum(want_parts.values())} parts), repeats absorbed by the nonce: {peer.repeats}"
    )
    assert all(r is not None and r <= RESUME_BOUND_S for r in resumed), resumed

    # Latency of the quiet round: chat arrival minus the poll time that stored the story.
    latencies = [
        m["at"] - fetched[m["story_key"]].timestamp()
        for m in peer.messages
        if m["story_key"] in quiet_keys and int(m["chat"][1:]) < INSTANT
    ]
    assert latencies
    queued_at = {
        (d.channel.id, digest_from_json(d.payload).entries[0].story.key): d.created_at
        for d in await store.list_deliveries()
        if ":story:" in d.key
    }
    from_queue = [
        m["at"] - queued_at[(m["chat"], m["story_key"])].timestamp()  # type: ignore[union-attr]
        for m in peer.messages
        if m["story_key"] in quiet_keys and int(m["chat"][1:]) < INSTANT
    ]
    print(
        f"instant latency (poll -> chat), {len(latencies)} posts: "
        f"median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s; "
        f"of which queued -> chat: median {statistics.median(from_queue):.2f} s, "
        f"max {max(from_queue):.2f} s"
    )
    assert max(latencies) <= LATENCY_BOUND_S
