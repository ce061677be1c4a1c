"""Compose once, deliver many, on real SQLite and PostgreSQL stores: chats whose digests
depend on the same (sources, language, window, keywords, length) share one compose and one
payload; every due subscription is taken, in bounded batches; a dry run changes nothing; the
digest is built from the scores stored at ingest, not by re-running the lexicon.

Composes are counted at the compose seam (``ComposeFn``) with a wrapper around the real
:func:`bot.digest.compose_digest`; nothing else is replaced.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text as sql

from bot.analyze import default_scorer
from bot.delivery import compose_due, run_due
from bot.digest import StoryReader, build_digest, compose_digest, digest_to_json
from bot.models import ChannelRef, Digest, Feed, Story, Subscription
from bot.store import SQLStore, open_store
from bot.topic import TopicScorer, default_topics_path
from tests.test_delivery import TEXTS

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
FEED_A = "https://a.example/rss"
FEED_B = "https://b.example/rss"


@dataclass
class Backend:
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)


async def _pg_exec(raw_url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(raw_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# Sync on purpose, as in test_store: pg_url probes the server with asyncio.run.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend(f"sqlite+aiosqlite:///{tmp_path / 'warta.db'}")
        return
    pg_url: str = request.getfixturevalue("pg_url")
    raw = pg_url.replace("+asyncpg", "")
    schema = f"warta_test_{secrets.token_hex(6)}"
    asyncio.run(_pg_exec(raw, f"CREATE SCHEMA {schema}"))
    try:
        yield Backend(pg_url, {"server_settings": {"search_path": schema}})
    finally:
        asyncio.run(_pg_exec(raw, f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[SQLStore]:
    s = await open_store(backend.url, connect_args=backend.connect_args)
    await s.add_feed(Feed(url=FEED_A))
    await s.add_feed(Feed(url=FEED_B))
    await s.upsert_stories(_stories())
    yield s
    await s.close()


def _stories() -> list[Story]:
    """The three on-topic texts from each of two feeds, scored as ingest scores them."""
    scorer = default_scorer()
    out = []
    for feed in (FEED_A, FEED_B):
        for n, (title, text, lang) in enumerate(TEXTS, 1):
            topic = scorer.score(title, text, lang)
            out.append(
                Story(
                    feed_url=feed,
                    key=f"k{n}",
                    url=f"{feed}/{n}",
                    title=title,
                    text=text,
                    source=feed.split("/")[2],
                    lang=lang,
                    published=NOW - timedelta(hours=n),
                    content_hash=f"h{n}",
                    relevance=topic.score,
                    matched=topic.matched,
                    bullets=(f"Fakta {n}.",),
                )
            )
    return out


class CountingCompose:
    """The real compose_digest, counted: the seam compose_due calls once per distinct key."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(
        self,
        store: StoryReader,
        *,
        lang: str,
        start: datetime,
        end: datetime,
        tz: str = "Asia/Jakarta",
        keywords: Sequence[str] = (),
        max_stories: int = 10,
        feeds: frozenset[str] | None = None,
    ) -> Digest:
        self.calls.append({"lang": lang, "keywords": tuple(keywords), "feeds": feeds})
        return await compose_digest(
            store,
            lang=lang,
            start=start,
            end=end,
            tz=tz,
            keywords=keywords,
            max_stories=max_stories,
            feeds=feeds,
        )


def chat(n: int) -> ChannelRef:
    return ChannelRef("fake", f"chat-{n}")


async def subscribe(store: SQLStore, n: int, **kw: Any) -> Subscription:
    values: dict[str, Any] = {"lang": "en", "schedule": "daily 08:00", "next_run_at": NOW}
    return await store.upsert_subscription(Subscription(channel=chat(n), **(values | kw)))


async def test_same_key_shares_one_compose_and_other_keys_do_not(store: SQLStore) -> None:
    await subscribe(store, 1)
    await subscribe(store, 2)  # same key as chat 1
    await subscribe(store, 3, lang="id")  # another language
    await subscribe(store, 4, keywords=("-suno",))  # another filter
    await subscribe(store, 5)
    assert await store.remove_chat_source(chat(5), FEED_B) == "switched_off"  # another source set
    await subscribe(store, 6, max_stories=1)  # another length
    compose = CountingCompose()

    report = await run_due(store, NOW, compose=compose)

    assert report.due == 6
    assert report.queued == 6
    assert report.composes == len(compose.calls) == 5
    rows = {d.channel: d for d in await store.list_deliveries()}
    assert len(rows) == 6
    assert rows[chat(1)].payload == rows[chat(2)].payload
    payloads = {rows[chat(n)].payload for n in (1, 3, 4, 5, 6)}
    assert len(payloads) == 5
    # Stored once: the two rows of the shared key reference one body; the others are inline.
    async with store._engine.connect() as conn:
        raw = dict((await conn.execute(sql("SELECT channel_id, payload FROM deliveries"))).all())
        bodies = (await conn.execute(sql("SELECT body FROM digest_payloads"))).scalars().all()
    assert raw["chat-1"] == raw["chat-2"]
    assert raw["chat-1"].startswith("@digest:")
    assert bodies == [rows[chat(1)].payload]
    assert all(raw[f"chat-{n}"].startswith("{") for n in (3, 4, 5, 6))
    assert {d.key for d in rows.values()} == {f"{n}:{NOW.isoformat()}" for n in range(1, 7)}


async def test_shared_payload_equals_a_per_chat_compose(store: SQLStore) -> None:
    subs = [
        await subscribe(store, 1),
        await subscribe(store, 2),
        await subscribe(store, 3, lang="id", keywords=("+ghibli", "-suno")),
        await subscribe(store, 4, tz="Asia/Makassar"),
    ]
    assert await store.remove_chat_source(chat(2), FEED_A) == "switched_off"
    assert await compose_due(store, NOW) == 4
    rows = {d.channel: d for d in await store.list_deliveries()}
    for sub in subs:
        own = await compose_digest(
            store,
            lang=sub.lang,
            start=NOW - timedelta(days=1),
            end=NOW,
            tz=sub.tz,
            keywords=sub.keywords,
            max_stories=sub.max_stories,
            feeds=await store.chat_source_urls(sub.channel),
        )
        assert own.entries
        assert rows[sub.channel].payload == digest_to_json(own)


async def test_every_due_subscription_is_taken_in_bounded_batches(store: SQLStore) -> None:
    for n in range(1, 8):
        await subscribe(store, n, lang="id" if n % 2 else "en")
    compose = CountingCompose()

    dry = await run_due(store, NOW, compose=compose, batch=3, dry_run=True)

    assert (dry.due, dry.queued, dry.composes) == (7, 7, 2)
    assert sorted(dry.keys.values()) == [3, 4]
    assert await store.list_deliveries() == []  # a dry run queues nothing ...
    assert len(await store.due_subscriptions(NOW, limit=100)) == 7  # ... and advances nothing

    real = await run_due(store, NOW, compose=compose, batch=3)

    assert (real.due, real.queued, real.composes) == (7, 7, 2)
    assert await store.due_subscriptions(NOW, limit=100) == []
    assert len(await store.list_deliveries()) == 7
    again = await run_due(store, NOW + timedelta(minutes=1), compose=compose, batch=3)
    assert (again.due, again.queued) == (0, 0)


async def test_two_workers_composing_one_run_queue_each_chat_once(store: SQLStore) -> None:
    for n in range(1, 13):
        await subscribe(store, n, keywords=("-suno",) if n % 3 == 0 else ())
    counts = await asyncio.gather(
        compose_due(store, NOW, batch=4), compose_due(store, NOW, batch=5)
    )
    rows = await store.list_deliveries()
    assert sum(counts) == len(rows) == 12
    assert len({d.channel for d in rows}) == 12


async def test_empty_digests_advance_without_queueing(store: SQLStore) -> None:
    await subscribe(store, 1, keywords=("nothing-mentions-this",))
    await subscribe(store, 2)
    report = await run_due(store, NOW)
    assert (report.due, report.queued, report.skipped_empty) == (2, 1, 1)
    assert await store.due_subscriptions(NOW, limit=10) == []
    (row,) = await store.list_deliveries()
    assert row.channel == chat(2)


async def test_chat_source_sets_match_one_chat_at_a_time(store: SQLStore) -> None:
    await store.add_feed(Feed(url="https://c.example/rss", is_default=False))
    assert await store.remove_chat_source(chat(1), FEED_A) == "switched_off"
    assert await store.add_chat_source(chat(2), "https://c.example/rss") == "added"
    assert await store.add_chat_source(chat(3), "https://c.example/rss") == "added"
    assert await store.remove_chat_source(chat(3), FEED_B) == "switched_off"
    channels = [chat(n) for n in range(1, 5)] + [ChannelRef("other", "chat-2")]
    sets = await store.chat_source_sets(channels)
    assert sets == {c: await store.chat_source_urls(c) for c in channels}
    assert sets[chat(1)] == {FEED_B}
    assert sets[chat(3)] == {FEED_A, "https://c.example/rss"}
    assert sets[chat(4)] == {FEED_A, FEED_B}


class NoRescoring(TopicScorer):
    """The real scorer, except that running the lexicon fails the test."""

    def score(self, title: str, text: str, lang: str, *, keywords: Sequence[str] = ()) -> Any:
        raise AssertionError("a stored story was scored again")


def test_digest_uses_stored_scores_and_matches_keywords_like_the_scorer() -> None:
    real = default_scorer()
    lexicon = default_topics_path()
    assert lexicon is not None
    strict = NoRescoring.from_toml(lexicon.read_text(encoding="utf-8"))
    stories = _stories()[:3]
    for keywords in ((), ("-suno",), ("midjourney",), ("+ghibli",), ("sora", "-udio")):
        built = build_digest(
            stories,
            lang="en",
            start=NOW - timedelta(days=1),
            end=NOW,
            keywords=keywords,
            scorer=strict,
        )
        for s in stories:
            assert s.relevance is not None
            stored = strict.judge_stored(
                title=s.title,
                text=s.text,
                lang=s.lang,
                relevance=s.relevance,
                matched=s.matched,
                keywords=keywords,
            )
            assert stored == real.score(s.title, s.text, s.lang, keywords=keywords)
        expected = {
            s.title
            for s in stories
            if real.score(s.title, s.text, s.lang, keywords=keywords).relevant
        }
        assert {e.story.title for e in built.entries} == expected
    # The caller's stories keep the score stored at ingest.
    assert [s.relevance for s in stories] == [s.relevance for s in _stories()[:3]]


async def test_cli_deliver_once_dry_run_then_send(tmp_path: Path) -> None:
    """`warta deliver --once --dry-run` composes and reports without changing the store; then
    `warta deliver --once` queues and sends (console chats print to stdout)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    now = datetime.now(UTC)
    s = await open_store(url)
    try:
        await s.add_feed(Feed(url=FEED_A))
        fresh = [
            replace(st, published=now - timedelta(hours=i + 1))
            for i, st in enumerate(_stories()[:3])
        ]
        await s.upsert_stories(fresh)
        for n, lang in ((1, "en"), (2, "en"), (3, "id")):
            await s.upsert_subscription(
                Subscription(
                    channel=ChannelRef("console", f"chat-{n}"),
                    lang=lang,
                    next_run_at=now - timedelta(minutes=5),
                )
            )
    finally:
        await s.close()
    env = {
        **os.environ,
        "WARTA_DATABASE_URL": url,
        "WARTA_FEEDS_FILE": str(tmp_path / "feeds.toml"),
        "WARTA_CONFIG": str(root / "config/settings.example.toml"),
        "WARTA_LOG_LEVEL": "WARNING",
    }

    def warta(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True, text=True, timeout=120, env=env, cwd=root, check=False,
        )  # fmt: skip

    dry = warta("deliver", "--once", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "due 3: 2 composes, would queue 3, 0 empty" in dry.stdout
    assert "  2 chats: lang=en" in dry.stdout
    assert "  1 chats: lang=id" in dry.stdout

    real = warta("deliver", "--once")
    assert real.returncode == 0, real.stderr
    assert "due 3: 2 composes, queued 3, 0 empty" in real.stdout
    assert "sent 3" in real.stdout
    for n in (1, 2, 3):
        assert f"--- console:chat-{n} ---" in real.stdout
    assert "Seniman Bocorkan Akses Sora" in real.stdout

    again = warta("deliver", "--once")
    assert again.returncode == 0, again.stderr
    assert "due 0: 0 composes, queued 0, 0 empty" in again.stdout
    assert "sent 0" in again.stdout


async def test_two_composers_at_once_compose_each_subscription_once(
    backend: Backend, store: SQLStore
) -> None:
    """Two workers' compose ticks overlap (a second store object is a second process's
    connection pool): one composes, the other finds the turn taken and does nothing, so no
    subscription is composed twice; the turn is free again afterwards."""
    for n in range(1, 5):
        await subscribe(store, n, lang="id" if n % 2 else "en")
    other = (
        store  # SQLite: one process, one store (another process would share the file)
        if backend.url.startswith("sqlite")
        else await open_store(backend.url, connect_args=backend.connect_args)
    )
    started, release = asyncio.Event(), asyncio.Event()

    class HeldCompose(CountingCompose):
        async def __call__(self, store: StoryReader, **kw: Any) -> Digest:
            started.set()
            await release.wait()  # the first composer is mid-run while the second starts
            return await super().__call__(store, **kw)

    first, second = HeldCompose(), CountingCompose()
    try:
        running = asyncio.create_task(run_due(store, NOW, compose=first))
        await asyncio.wait_for(started.wait(), 30)
        skipped = await run_due(other, NOW, compose=second)
        release.set()
        done = await running

        assert skipped.busy
        assert (skipped.due, skipped.composes, second.calls) == (0, 0, [])
        assert not done.busy
        assert done.due == done.queued == 4
        assert len(first.calls) == done.composes == 2  # id and en
        assert len(await store.list_deliveries()) == 4
        # The turn was given back: the next pass runs (nothing is due any more).
        again = await run_due(other, NOW + timedelta(minutes=1), compose=second)
        assert not again.busy
    finally:
        release.set()
        if other is not store:
            await other.close()
