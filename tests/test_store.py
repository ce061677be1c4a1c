"""The store against real databases: a SQLite file in a temp dir and the PostgreSQL server.

Every test runs on both backends. PostgreSQL tests get a fresh schema (dropped afterwards), so
they can share the database with other test runs.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.errors import ConfigError, StoreError
from bot.models import ChannelRef, Delivery, DeliveryState, Feed, Story, Subscription
from bot.store import SQLStore, Store, open_store

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@dataclass
class Backend:
    name: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)

    async def open(self) -> SQLStore:
        return await open_store(self.url, connect_args=self.connect_args)


async def _pg_exec(raw_url: str, sql: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(raw_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# Sync on purpose: the pg_url fixture probes the server with asyncio.run, which cannot run
# inside the event loop of an async fixture.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'warta.db'}")
        return
    pg_url: str = request.getfixturevalue("pg_url")
    raw = pg_url.replace("+asyncpg", "")
    schema = f"warta_test_{secrets.token_hex(6)}"
    asyncio.run(_pg_exec(raw, f"CREATE SCHEMA {schema}"))
    try:
        yield Backend("postgresql", pg_url, {"server_settings": {"search_path": schema}})
    finally:
        asyncio.run(_pg_exec(raw, f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[SQLStore]:
    async with await backend.open() as s:
        yield s


def story(key: str, *, feed: str = "https://a.example/feed", **kw: Any) -> Story:
    values: dict[str, Any] = {
        "url": f"https://a.example/{key}",
        "title": f"Title {key}",
        "text": f"Body of {key}",
        "source": "A",
        "lang": "id",
        "published": T0,
        "content_hash": f"h-{key}",
    }
    values.update(kw)
    return Story(feed_url=feed, key=key, **values)


async def make_sub(store: SQLStore, chat: str = "-100", **kw: Any) -> Subscription:
    return await store.upsert_subscription(Subscription(ChannelRef("telegram", chat), **kw))


def delivery(sub: Subscription, key: str = "w1") -> Delivery:
    assert sub.id is not None
    return Delivery(sub.id, sub.channel, key, payload='{"digest": 1}')


# --------------------------------------------------------------------------- lifecycle


async def test_sqlstore_satisfies_protocol(store: SQLStore) -> None:
    seam: Store = store  # mypy checks the structure; the call checks it is usable as one
    assert await seam.list_feeds() == []


async def test_migrations_are_idempotent(backend: Backend) -> None:
    async with await backend.open() as first:
        await first.add_feed(Feed("https://a.example/feed", etag='"v1"'))
        await first.set_meta("last_poll", "x")
    async with await backend.open() as second:  # migrates again: must be a no-op
        feed = await second.get_feed("https://a.example/feed")
        assert feed is not None
        assert feed.etag == '"v1"'
        assert await second.get_meta("last_poll") == "x"
        async with second._engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert [v[0] for v in versions] == ["0005"]


def test_head_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.store.sql import MIGRATIONS_DIR, head_revision

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_heads() == [head_revision()]


async def test_a_database_behind_the_head_is_migrated(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from bot.store.sql import MIGRATIONS_DIR, head_revision

    db = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    engine.dispose()
    async with await open_store(f"sqlite+aiosqlite:///{db}") as store:
        await store.add_feed(Feed("https://a.example/feed"))
        async with store._engine.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert [v[0] for v in versions] == [head_revision()]


async def test_concurrent_open_migrates_once(backend: Backend) -> None:
    stores = await asyncio.gather(backend.open(), backend.open(), backend.open())
    try:
        await stores[0].add_feed(Feed("https://a.example/feed"))
        assert [f.url for f in await stores[2].list_feeds()] == ["https://a.example/feed"]
    finally:
        for s in stores:
            await s.close()


async def test_bad_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        await open_store("not a url")
    with pytest.raises(ConfigError):
        await open_store("mysql://u@127.0.0.1/db")


async def test_unreachable_database_is_store_error() -> None:
    # Port 9 (discard) on loopback: nothing listens there, the connect is refused at once.
    with pytest.raises(StoreError):
        await open_store("postgresql+asyncpg://postgres@127.0.0.1:9/none")


async def test_naive_datetime_is_refused(store: SQLStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.claim_due_feeds(datetime(2026, 1, 1), limit=1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="naive"):
        await store.add_feed(Feed("https://a.example/f", next_check_at=datetime(2026, 1, 1)))  # noqa: DTZ001


async def test_times_come_back_as_utc(store: SQLStore) -> None:
    jakarta = T0.astimezone(ZoneInfo("Asia/Jakarta"))
    await store.add_feed(Feed("https://a.example/f", next_check_at=jakarta))
    feed = await store.get_feed("https://a.example/f")
    assert feed is not None
    assert feed.next_check_at == T0
    assert feed.next_check_at.tzinfo is UTC or feed.next_check_at.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- feeds


async def test_add_feed_is_idempotent_and_keeps_polling_state(store: SQLStore) -> None:
    before = datetime.now(UTC)
    first = await store.add_feed(Feed("https://a.example/feed", lang="id"))
    assert first.id is not None
    assert first.next_check_at is not None
    assert before <= first.next_check_at <= datetime.now(UTC)  # due immediately
    first.etag = '"e1"'
    first.failures = 2
    await store.save_feeds([first])

    again = await store.add_feed(Feed("https://a.example/feed", lang="en", interval_s=60))
    assert again.id == first.id
    assert again.etag == '"e1"'
    assert again.failures == 2
    assert (again.lang, again.interval_s) == ("en", 60)  # configuration wins
    assert len(await store.list_feeds()) == 1


async def test_get_list_remove_feed(store: SQLStore) -> None:
    for n in range(3):
        await store.add_feed(Feed(f"https://a.example/{n}", title=f"F{n}"))
    assert [f.title for f in await store.list_feeds()] == ["F0", "F1", "F2"]
    assert await store.remove_feed("https://a.example/1") is True
    assert await store.remove_feed("https://a.example/1") is False
    assert await store.get_feed("https://a.example/1") is None
    assert [f.url for f in await store.list_feeds()] == [
        "https://a.example/0",
        "https://a.example/2",
    ]


async def test_claim_due_feeds_order_lease_and_exclusions(store: SQLStore) -> None:
    for n in range(6):
        await store.add_feed(Feed(f"https://due/{n}", next_check_at=T0 - timedelta(minutes=n)))
    await store.add_feed(Feed("https://future/", next_check_at=T0 + timedelta(minutes=1)))
    off = await store.add_feed(Feed("https://off/", next_check_at=T0 - timedelta(hours=1)))
    off.disabled_reason = "410 Gone"
    await store.save_feeds([off])

    first = await store.claim_due_feeds(T0, limit=4, lease_s=300)
    assert [f.url for f in first] == [f"https://due/{n}" for n in (5, 4, 3, 2)]  # oldest first
    assert all(f.next_check_at == T0 + timedelta(seconds=300) for f in first)
    second = await store.claim_due_feeds(T0, limit=4)
    assert [f.url for f in second] == ["https://due/1", "https://due/0"]
    assert await store.claim_due_feeds(T0, limit=4) == []

    # A worker that died leaves its feeds due again when the lease ends.
    later = T0 + timedelta(seconds=301)
    again = await store.claim_due_feeds(later, limit=10)
    assert {f.url for f in again} == {f"https://due/{n}" for n in range(6)} | {"https://future/"}


async def test_make_feeds_due_moves_only_the_due_time(store: SQLStore) -> None:
    # `warta poll --all`: every enabled feed due now; nothing else of a feed's state is
    # written, so a feed another process holds keeps what that process saves meanwhile.
    for n in range(3):
        await store.add_feed(Feed(f"https://a/{n}", next_check_at=T0 + timedelta(hours=n + 1)))
    off = await store.add_feed(Feed("https://off/", next_check_at=T0 + timedelta(hours=5)))
    off.disabled_reason = "410 Gone"
    await store.save_feeds([off])
    (held,) = await store.claim_due_feeds(T0 + timedelta(hours=1), limit=1)
    held.etag = '"saved by the poller"'
    held.next_check_at = T0 + timedelta(hours=9)

    assert await store.make_feeds_due(T0) == 3
    await store.save_feeds([held])  # the poller finishes after --all made everything due

    got = {f.url: f for f in await store.list_feeds()}
    assert got["https://a/0"].etag == '"saved by the poller"'
    assert got["https://a/0"].next_check_at == T0 + timedelta(hours=9)
    assert got["https://a/1"].next_check_at == T0
    assert got["https://a/2"].next_check_at == T0
    assert got["https://off/"].next_check_at == T0 + timedelta(hours=5)  # disabled: untouched
    assert [f.url for f in await store.claim_due_feeds(T0, limit=10)] == [
        "https://a/1",
        "https://a/2",
    ]


async def test_feed_defaults_lists_every_feed_once(store: SQLStore) -> None:
    await store.add_feed(Feed("https://d.example/rss", is_default=True))
    await store.add_feed(Feed("https://chat.example/rss", is_default=False))
    assert await store.feed_defaults() == {
        "https://d.example/rss": True,
        "https://chat.example/rss": False,
    }


async def test_concurrent_claimers_never_share_a_feed(backend: Backend, store: SQLStore) -> None:
    urls = {f"https://f{n}.example/rss" for n in range(60)}
    for url in urls:
        await store.add_feed(Feed(url, next_check_at=T0 - timedelta(seconds=len(url))))

    async def worker(s: SQLStore) -> list[str]:
        got: list[str] = []
        while batch := await s.claim_due_feeds(T0, limit=7):
            got += [f.url for f in batch]
            await asyncio.sleep(0)
        return got

    # Two separate engines (connection pools), as two worker processes would have.
    async with await backend.open() as a, await backend.open() as b:
        got_a, got_b = await asyncio.gather(worker(a), worker(b))
    assert not set(got_a) & set(got_b)
    assert len(got_a) + len(got_b) == len(urls)
    assert set(got_a) | set(got_b) == urls


async def test_save_feeds_writes_polling_state_in_bulk(store: SQLStore) -> None:
    a = await store.add_feed(Feed("https://a/"))
    b = await store.add_feed(Feed("https://b/"))
    a = replace(
        a,
        etag='"x"',
        last_modified="Mon, 24 Nov 2026 08:00:00 GMT",
        body_hash="bh",
        next_check_at=T0 + timedelta(minutes=15),
        last_checked_at=T0,
        last_ok_at=T0,
        baseline_done=True,
        title="Outlet A",
    )
    b = replace(b, failures=3, last_error="timeout " * 1000, disabled_reason="too many failures")
    await store.save_feeds([a, b, Feed("https://unknown/")])
    got_a = await store.get_feed("https://a/")
    got_b = await store.get_feed("https://b/")
    assert got_a == a
    assert got_b is not None
    assert (got_b.failures, got_b.disabled_reason) == (3, "too many failures")
    assert got_b.last_error is not None
    assert 0 < len(got_b.last_error) <= 2000
    assert await store.get_feed("https://unknown/") is None


# --------------------------------------------------------------------------- stories


async def test_upsert_dedups_and_edits_are_not_new(store: SQLStore) -> None:
    new = await store.upsert_stories([story("a"), story("b"), story("c")])
    assert [s.key for s in new] == ["a", "b", "c"]
    assert all(s.id is not None and s.fetched_at is not None for s in new)
    assert len({s.id for s in new}) == 3

    assert await store.upsert_stories([story("a"), story("b")]) == []

    edited = story(
        "b",
        title="Judul baru",
        text="Teks diperbarui tentang pelukis",
        content_hash="h-b2",
        relevance=0.9,
        matched=("ai:sora", "art:pelukis"),
        bullets=("satu", "dua"),
        published=T0 + timedelta(days=3),  # an edit must not move the story to a new window
    )
    assert await store.upsert_stories([edited]) == []

    stored = await store.get_story(new[1].id or 0)
    assert stored is not None
    assert stored.title == "Judul baru"
    assert stored.text == "Teks diperbarui tentang pelukis"
    assert stored.content_hash == "h-b2"
    assert stored.relevance == pytest.approx(0.9)
    assert stored.matched == ("ai:sora", "art:pelukis")
    assert stored.bullets == ("satu", "dua")
    assert stored.published == T0
    assert stored.fetched_at == new[1].fetched_at
    # The full-text index follows the edit.
    assert [s.key for s in await store.search("pelukis")] == ["b"]
    assert await store.search("Title b") == []


async def test_upsert_returns_only_inserted_rows(store: SQLStore) -> None:
    await store.upsert_stories([story("a")])
    edited = story("a", content_hash="h-a2", title="Edited")
    new = await store.upsert_stories([edited, story("d")])
    assert [s.key for s in new] == ["d"]
    assert new[0].id is not None
    assert await store.get_story(new[0].id) == new[0]


async def test_upsert_duplicates_in_one_batch_and_across_feeds(store: SQLStore) -> None:
    batch = [
        story("x", title="first"),
        story("x", title="second", content_hash="h-x2"),
        story("x", feed="https://b.example/feed"),
    ]
    new = await store.upsert_stories(batch)
    assert sorted((s.feed_url, s.title) for s in new) == [
        ("https://a.example/feed", "second"),
        ("https://b.example/feed", "Title x"),
    ]


async def test_upsert_of_long_texts_keeps_every_row_and_edit(store: SQLStore) -> None:
    # Long texts are written in several statements (one loop step each must stay short);
    # the sizes put slice boundaries mid-batch, and one story is longer than a whole slice.
    sizes = [15_000] * 20 + [250_000] + [9_000] * 30 + [40]
    batch = [story(f"s{i}", text=f"pelukis{i} " + "x" * n) for i, n in enumerate(sizes)]
    new = await store.upsert_stories(batch)
    assert [s.key for s in new] == [s.key for s in batch]
    assert len({s.id for s in new}) == len(batch)

    edits = [replace(s, text=f"penari{i} {s.text}", content_hash="h2") for i, s in enumerate(batch)]
    assert await store.upsert_stories(edits) == []
    for stored_new, edit in zip(new, edits, strict=True):
        got = await store.get_story(stored_new.id or 0)
        assert got is not None
        assert got.text == edit.text
    assert [s.key for s in await store.search("penari20")] == ["s20"]
    assert [s.key for s in await store.search("penari51")] == ["s51"]


async def test_fetched_at_defaults_to_now_and_is_kept_when_given(store: SQLStore) -> None:
    before = datetime.now(UTC)
    given = T0 - timedelta(days=1)
    a, b = await store.upsert_stories([story("a"), story("b", fetched_at=given)])
    assert a.fetched_at is not None
    assert before <= a.fetched_at <= datetime.now(UTC)
    assert b.fetched_at == given


async def test_known_keys(store: SQLStore) -> None:
    await store.upsert_stories([story("a"), story("b"), story("z", feed="https://other/")])
    known = await store.known_keys("https://a.example/feed", ["a", "b", "c", "z", "a"])
    assert known == {"a": "h-a", "b": "h-b"}
    assert await store.known_keys("https://a.example/feed", []) == {}
    many = [f"k{n}" for n in range(1200)]  # more than one IN chunk
    await store.upsert_stories([story(k) for k in many])
    assert len(await store.known_keys("https://a.example/feed", many)) == 1200


async def test_stories_between_and_latest(store: SQLStore) -> None:
    fetched = T0 + timedelta(hours=5)
    await store.upsert_stories(
        [
            story("old", published=T0 - timedelta(days=2), relevance=0.9),
            story("in1", published=T0 + timedelta(hours=1), relevance=0.2),
            story("in2", published=T0 + timedelta(hours=3), relevance=0.8, lang="en"),
            story("nodate", published=None, fetched_at=fetched, relevance=0.7),
            story("edge", published=T0 + timedelta(days=1), relevance=0.9),  # end is exclusive
        ]
    )
    window = (T0, T0 + timedelta(days=1))
    keys = [s.key for s in await store.stories_between(*window)]
    assert keys == ["nodate", "in2", "in1"]  # coalesce(published, fetched_at), newest first
    assert [s.key for s in await store.stories_between(*window, lang="en")] == ["in2"]
    assert [s.key for s in await store.stories_between(*window, min_relevance=0.5)] == [
        "nodate",
        "in2",
    ]
    assert [s.key for s in await store.stories_between(*window, limit=1)] == ["nodate"]

    assert [s.key for s in await store.latest(3)] == ["edge", "nodate", "in2"]
    assert [s.key for s in await store.latest(2, relevant_only=False, lang="id")] == [
        "edge",
        "nodate",
    ]
    assert [s.key for s in await store.latest(10, min_relevance=0.85)] == ["edge", "old"]


# --------------------------------------------------------------------------- search

CORPUS = [
    story(
        "sora",
        title="Seniman bocorkan akses Sora milik OpenAI sebagai protes",
        text="Sekelompok seniman yang menguji Sora menuduh OpenAI memanfaatkan kerja kreatif "
        "mereka tanpa bayaran yang layak.",
        published=T0,
    ),
    story(
        "lukisan",
        title="Pameran lukisan di Jakarta",
        text="Para pelukis menampilkan karya senimannya; tidak ada kecerdasan buatan.",
        published=T0 + timedelta(hours=1),
    ),
    story(
        "musicians",
        title="Musicians sue over AI-generated songs",
        text="Record labels and artists say the generative AI model copied their work.",
        lang="en",
        published=T0 + timedelta(hours=2),
    ),
    story(
        "cafe",
        title="Café Müller hosts an exhibition of generative art",
        text="The café shows prints by Zoë Ångström and other painters.",
        lang="en",
        published=T0 + timedelta(hours=3),
    ),
    story(
        "body",
        title="Weekly roundup",
        text="Among other things, a piece on Sora and what it means for animators.",
        lang="en",
        published=T0 + timedelta(hours=4),
    ),
]


@pytest.fixture
async def corpus(store: SQLStore) -> SQLStore:
    await store.upsert_stories(CORPUS)
    return store


async def keys(store: SQLStore, query: str, **kw: Any) -> list[str]:
    return [s.key for s in await store.search(query, **kw)]


async def test_search_indonesian(corpus: SQLStore) -> None:
    assert await keys(corpus, "seniman openai") == ["sora"]
    # Prefix match covers Indonesian suffixes: "seniman" also finds "senimannya".
    assert sorted(await keys(corpus, "seniman")) == ["lukisan", "sora"]
    assert await keys(corpus, "kecerdasan buatan") == ["lukisan"]


async def test_search_english_multiword_and_case(corpus: SQLStore) -> None:
    assert await keys(corpus, "GENERATIVE ai Songs") == ["musicians"]
    assert await keys(corpus, "musicians  sue!") == ["musicians"]
    assert await keys(corpus, "musicians painters") == []  # every word must occur


async def test_search_ignores_diacritics_both_ways(corpus: SQLStore) -> None:
    assert await keys(corpus, "cafe muller") == ["cafe"]
    assert await keys(corpus, "Café Müller") == ["cafe"]
    assert await keys(corpus, "zoe angstrom") == ["cafe"]


async def test_search_ranks_title_hits_first_and_filters_language(corpus: SQLStore) -> None:
    # "sora" is in the title of one story and in the body of a newer one.
    assert await keys(corpus, "sora") == ["sora", "body"]
    assert await keys(corpus, "sora", lang="en") == ["body"]
    assert await keys(corpus, "sora", limit=1) == ["sora"]


@pytest.mark.parametrize(
    ("query", "finds_sora"),
    [
        ('"sora AND (', True),
        ("sora AND (", True),
        ("NEAR(sora openai)", True),
        ("sora OR", True),
        ("-sora", True),
        ("^sora", True),
        ("sora:*&|!", True),
        ("sora'", True),
        ("title:sora", False),  # "title" is a word to find here, not a column filter
        ("*", False),
        ("'; DROP TABLE stories; --", False),
        ('""""', False),
        ("🎨🤖", False),
        ("", False),
        ("   ", False),
        ("a" * 5000, False),
        (" ".join(["sora"] * 100), True),
    ],
)
async def test_search_hostile_input_never_raises(
    corpus: SQLStore, query: str, finds_sora: bool
) -> None:
    found = await keys(corpus, query)
    assert set(found) <= {s.key for s in CORPUS}
    # The words still count; only the syntax is ignored.
    assert ("sora" in found) is finds_sora
    assert len(await corpus.search("seniman")) == 2  # and nothing was dropped


# --------------------------------------------------------------------------- subscriptions


async def test_subscription_upsert_get_delete(store: SQLStore) -> None:
    chan = ChannelRef("discord", "123456789012345678")
    sub = await store.upsert_subscription(
        Subscription(chan, lang="en", keywords=("+ilustrator", "-crypto"), created_by="u1")
    )
    assert sub.id is not None
    assert sub.keywords == ("+ilustrator", "-crypto")
    again = await store.upsert_subscription(replace(sub, schedule="every 6h", max_stories=5))
    assert again.id == sub.id
    assert (again.schedule, again.max_stories) == ("every 6h", 5)
    assert await store.get_subscription(chan) == again
    # Same id on another platform is another channel.
    other = await store.upsert_subscription(Subscription(ChannelRef("telegram", chan.id)))
    assert other.id != sub.id
    assert len(await store.list_subscriptions()) == 2
    assert await store.delete_subscription(chan) is True
    assert await store.delete_subscription(chan) is False
    assert await store.get_subscription(chan) is None


async def test_due_subscriptions_and_pause(store: SQLStore) -> None:
    past = T0 - timedelta(minutes=1)
    due1 = await make_sub(store, "1", next_run_at=past - timedelta(hours=1))
    due2 = await make_sub(store, "2", next_run_at=past)
    await make_sub(store, "3", next_run_at=T0 + timedelta(minutes=1))
    await make_sub(store, "4", schedule="instant", next_run_at=past)
    await make_sub(store, "5", paused=True, next_run_at=past)
    await make_sub(store, "6", next_run_at=None)
    assert [s.id for s in await store.due_subscriptions(T0)] == [due1.id, due2.id]
    assert [s.id for s in await store.due_subscriptions(T0, limit=1)] == [due1.id]

    assert await store.pause_subscription(due1.id or 0, "bot was removed from the chat")
    assert await store.pause_subscription(10_000, "nope") is False
    assert [s.id for s in await store.due_subscriptions(T0)] == [due2.id]
    paused = await store.get_subscription(due1.channel)
    assert paused is not None
    assert (paused.paused, paused.paused_reason) == (True, "bot was removed from the chat")


# --------------------------------------------------------------------------- outbox


async def test_enqueue_is_once_per_key_and_advances_the_subscription(store: SQLStore) -> None:
    sub = await make_sub(store, next_run_at=T0)
    advance = replace(sub, next_run_at=T0 + timedelta(days=1), last_window_end=T0)
    first = await store.enqueue_delivery(delivery(sub), advance=advance)
    assert first is not None
    assert first.id is not None
    assert (first.state, first.attempts, first.sent_parts) == (DeliveryState.PENDING, 0, [])
    assert first.created_at is not None
    saved = await store.get_subscription(sub.channel)
    assert saved is not None
    assert (saved.next_run_at, saved.last_window_end) == (T0 + timedelta(days=1), T0)

    # Composing the same window again queues nothing; the advance still lands.
    advance2 = replace(sub, next_run_at=T0 + timedelta(days=2), last_window_end=T0)
    assert await store.enqueue_delivery(delivery(sub), advance=advance2) is None
    assert len(await store.list_deliveries()) == 1
    saved = await store.get_subscription(sub.channel)
    assert saved is not None
    assert saved.next_run_at == T0 + timedelta(days=2)


async def test_enqueue_is_atomic(store: SQLStore) -> None:
    sub = await make_sub(store, next_run_at=T0)
    orphan = Delivery(99_999, sub.channel, "orphan", "{}")  # no such subscription: FK fails
    with pytest.raises(StoreError):
        await store.enqueue_delivery(orphan, advance=replace(sub, next_run_at=T0 + timedelta(1)))
    saved = await store.get_subscription(sub.channel)
    assert saved is not None
    assert saved.next_run_at == T0  # the advance was rolled back with the failed insert
    assert await store.list_deliveries() == []


async def test_claim_lease_expiry_and_retry(store: SQLStore) -> None:
    sub = await make_sub(store)
    d1 = await store.enqueue_delivery(delivery(sub, "w1"))
    d2 = await store.enqueue_delivery(delivery(sub, "w2"))
    assert d1 is not None
    assert d2 is not None
    claimed = await store.claim_deliveries(T0, limit=1, lease_s=120)
    assert [(d.id, d.state, d.attempts) for d in claimed] == [(d1.id, DeliveryState.SENDING, 1)]
    assert [d.id for d in await store.claim_deliveries(T0)] == [d2.id]
    assert await store.claim_deliveries(T0 + timedelta(seconds=119)) == []

    # The sender of d1 crashed: after the lease, another sender takes it over.
    reclaimed = await store.claim_deliveries(T0 + timedelta(seconds=121))
    assert [(d.id, d.attempts) for d in reclaimed] == [(d1.id, 2), (d2.id, 2)]

    await store.retry_delivery(d1.id or 0, not_before=T0 + timedelta(minutes=10), error="429")
    await store.mark_sent(d2.id or 0)
    later = T0 + timedelta(minutes=5)
    assert await store.claim_deliveries(later) == []  # d1 waits for not_before; d2 is sent
    retried = await store.claim_deliveries(T0 + timedelta(minutes=10))
    assert [(d.id, d.attempts, d.last_error) for d in retried] == [(d1.id, 3, "429")]
    states = {d.id: d.state for d in await store.list_deliveries()}
    assert states == {d1.id: DeliveryState.SENDING, d2.id: DeliveryState.SENT}
    assert [d.id for d in await store.list_deliveries(DeliveryState.SENT)] == [d2.id]


async def test_record_part_sent_survives_a_reclaim(store: SQLStore) -> None:
    sub = await make_sub(store)
    d = await store.enqueue_delivery(delivery(sub))
    assert d is not None
    assert d.id is not None
    (first,) = await store.claim_deliveries(T0, lease_s=60)
    assert first.sent_parts == []
    await store.record_part_sent(d.id, "m1")
    (second,) = await store.claim_deliveries(T0 + timedelta(seconds=61), lease_s=60)
    assert second.sent_parts == ["m1"]  # the new sender resumes after part 1
    await store.record_part_sent(d.id, "m2", lease_until=T0 + timedelta(hours=1))
    # The lease was extended, so a third claimer does not take it while parts flow.
    assert await store.claim_deliveries(T0 + timedelta(minutes=30)) == []
    (row,) = await store.list_deliveries()
    assert row.sent_parts == ["m1", "m2"]


async def test_record_part_sent_loses_no_concurrent_append(
    backend: Backend, store: SQLStore
) -> None:
    sub = await make_sub(store)
    d = await store.enqueue_delivery(delivery(sub))
    assert d is not None
    assert d.id is not None
    did = d.id
    async with await backend.open() as other:
        await asyncio.gather(
            *((store if n % 2 else other).record_part_sent(did, f"m{n}") for n in range(30))
        )
    (row,) = await store.list_deliveries()
    assert sorted(row.sent_parts) == sorted(f"m{n}" for n in range(30))


async def test_concurrent_delivery_claimers_never_share(backend: Backend, store: SQLStore) -> None:
    sub = await make_sub(store)
    for n in range(40):
        await store.enqueue_delivery(delivery(sub, f"w{n}"))

    async def sender(s: SQLStore) -> list[int]:
        got: list[int] = []
        while batch := await s.claim_deliveries(T0, limit=3):
            got += [d.id or 0 for d in batch]
            await asyncio.sleep(0)
        return got

    async with await backend.open() as a, await backend.open() as b:
        got_a, got_b = await asyncio.gather(sender(a), sender(b))
    assert not set(got_a) & set(got_b)
    assert len(got_a) + len(got_b) == 40


async def test_fail_delivery_pauses_subscription(store: SQLStore) -> None:
    sub = await make_sub(store)
    d1 = await store.enqueue_delivery(delivery(sub, "w1"))
    d2 = await store.enqueue_delivery(delivery(sub, "w2"))
    assert d1 is not None
    assert d2 is not None
    await store.claim_deliveries(T0, limit=1)
    await store.fail_delivery(d1.id or 0, "Forbidden: bot was kicked from the group chat")
    saved = await store.get_subscription(sub.channel)
    assert saved is not None
    assert saved.paused
    assert saved.paused_reason == "Forbidden: bot was kicked from the group chat"
    (failed,) = await store.list_deliveries(DeliveryState.FAILED)
    assert failed.id == d1.id
    assert failed.last_error == saved.paused_reason
    # The other pending digest for that chat waits while the subscription is paused.
    assert await store.claim_deliveries(T0 + timedelta(hours=1)) == []
    await store.upsert_subscription(replace(saved, paused=False, paused_reason=None))
    assert [d.id for d in await store.claim_deliveries(T0 + timedelta(hours=1))] == [d2.id]


async def test_deleting_a_subscription_drops_its_outbox(store: SQLStore) -> None:
    sub = await make_sub(store)
    await store.enqueue_delivery(delivery(sub))
    assert await store.delete_subscription(sub.channel)
    assert await store.list_deliveries() == []


async def test_move_channel_moves_subscription_and_queued_deliveries(store: SQLStore) -> None:
    group, supergroup = ChannelRef("telegram", "-4001"), ChannelRef("telegram", "-1004001")
    sub = await make_sub(store, group.id, lang="en", schedule="daily 07:00", next_run_at=T0)
    sent = await store.enqueue_delivery(delivery(sub, "w0"))
    sending = await store.enqueue_delivery(delivery(sub, "w1"))
    pending = await store.enqueue_delivery(delivery(sub, "w2"))
    assert sent is not None
    assert sending is not None
    assert pending is not None
    await store.claim_deliveries(T0, limit=2)
    await store.mark_sent(sent.id or 0)
    await store.record_part_sent(sending.id or 0, "m1")

    assert await store.move_channel(group, supergroup)

    assert await store.get_subscription(group) is None
    moved = await store.get_subscription(supergroup)
    assert moved is not None
    assert (moved.id, moved.lang, moved.schedule, moved.paused) == (
        sub.id,
        "en",
        "daily 07:00",
        False,
    )
    rows = {d.key: d for d in await store.list_deliveries()}
    assert rows["w0"].channel == group  # history keeps the chat it went to
    assert rows["w1"].channel == supergroup
    assert rows["w1"].state == DeliveryState.SENDING
    assert rows["w1"].sent_parts == ["m1"]  # the resend starts after the posted part
    assert rows["w2"].channel == supergroup
    # A claim after the move hands out the new chat id.
    claimed = await store.claim_deliveries(T0 + timedelta(hours=1))
    assert {d.channel for d in claimed} == {supergroup}
    # A second sender meeting the same migration finds nothing left to move.
    assert not await store.move_channel(group, supergroup)
    assert await store.get_subscription(supergroup) is not None


async def test_move_channel_keeps_an_existing_subscription_at_the_new_id(store: SQLStore) -> None:
    group, supergroup = ChannelRef("telegram", "-4002"), ChannelRef("telegram", "-1004002")
    old = await make_sub(store, group.id, lang="id")
    new = await make_sub(store, supergroup.id, lang="en")
    await store.enqueue_delivery(delivery(old, "old-w1"))
    await store.enqueue_delivery(delivery(new, "new-w1"))

    assert not await store.move_channel(group, supergroup)

    assert await store.get_subscription(group) is None
    kept = await store.get_subscription(supergroup)
    assert kept is not None
    assert (kept.id, kept.lang) == (new.id, "en")
    assert [(d.key, d.channel) for d in await store.list_deliveries()] == [("new-w1", supergroup)]


async def test_move_channel_without_a_subscription_changes_nothing(store: SQLStore) -> None:
    other = await make_sub(store, "-4003")
    assert not await store.move_channel(ChannelRef("telegram", "-9"), other.channel)
    assert not await store.move_channel(other.channel, other.channel)
    assert [s.id for s in await store.list_subscriptions()] == [other.id]


# --------------------------------------------------------------------------- meta


async def test_meta_roundtrip(store: SQLStore) -> None:
    assert await store.get_meta("last_poll") is None
    await store.set_meta("last_poll", "2026-11-24T08:00:00+00:00")
    await store.set_meta("last_poll", "2026-11-24T09:00:00+00:00")
    assert await store.get_meta("last_poll") == "2026-11-24T09:00:00+00:00"


# --------------------------------------------------------------------------- chat sources

A = ChannelRef("telegram", "-100")
B = ChannelRef("discord", "555")
DEF = "https://default.example/feed"
MINE = "https://mine.example/feed?token=SECRET"


async def _setup(store: SQLStore) -> None:
    await store.add_feed(Feed(DEF, title="Default", next_check_at=T0))
    await store.add_feed(Feed(MINE, title="Mine", is_default=False, next_check_at=T0))


async def test_source_set_is_defaults_plus_additions_minus_switched_off(store: SQLStore) -> None:
    await _setup(store)
    assert await store.chat_source_urls(A) == {DEF}
    assert await store.add_chat_source(A, MINE, by="7") == "added"
    assert await store.add_chat_source(A, MINE, by="7") == "exists"
    assert await store.add_chat_source(A, DEF) == "exists"
    assert await store.chat_source_urls(A) == {DEF, MINE}
    assert await store.chat_source_urls(B) == {DEF}  # the other chat is untouched

    assert await store.remove_chat_source(B, DEF, by="9") == "switched_off"
    assert await store.chat_source_urls(B) == frozenset()
    assert await store.chat_source_urls(A) == {DEF, MINE}
    assert await store.remove_chat_source(B, DEF) == "absent"
    assert await store.remove_chat_source(B, MINE) == "absent"
    assert await store.add_chat_source(B, DEF) == "restored"
    assert await store.chat_source_urls(B) == {DEF}

    listed = await store.chat_sources(A)
    assert [(s.feed.url, s.added) for s in listed] == [(DEF, False), (MINE, True)]
    assert await store.source_usage() == {MINE: 1}
    assert await store.remove_chat_source(A, MINE) == "removed"
    assert await store.chat_source_urls(A) == {DEF}


async def test_chat_addition_never_demotes_a_default_and_cap_holds(store: SQLStore) -> None:
    await _setup(store)
    again = await store.add_feed(Feed(DEF, is_default=False))
    assert again.is_default
    assert await store.add_chat_source(A, MINE, max_added=0) == "full"
    assert await store.chat_source_urls(A) == {DEF}
    assert await store.add_chat_source(A, MINE, max_added=1) == "added"
    other = "https://other.example/rss"
    await store.add_feed(Feed(other, is_default=False))
    assert await store.add_chat_source(A, other, max_added=1) == "full"
    # Switching a default off does not count against the cap.
    assert await store.remove_chat_source(A, DEF) == "switched_off"
    assert await store.add_chat_source(A, other, max_added=2) == "added"


async def test_only_read_feeds_are_polled(store: SQLStore) -> None:
    await _setup(store)
    claimed = await store.claim_due_feeds(T0, limit=10)
    assert [f.url for f in claimed] == [DEF]  # nobody reads MINE yet
    await store.add_chat_source(A, MINE)
    claimed = await store.claim_due_feeds(T0, limit=10)
    assert [f.url for f in claimed] == [MINE]
    # The operator stops DEF being a default: nobody reads it, so it is no longer claimed.
    assert await store.set_feed_default(DEF, False)
    later = T0 + timedelta(hours=1)
    assert [f.url for f in await store.claim_due_feeds(later, limit=10)] == [MINE]
    assert await store.remove_chat_source(A, MINE) == "removed"
    assert await store.claim_due_feeds(later + timedelta(hours=1), limit=10) == []


async def test_stories_are_read_from_the_chat_set_in_sql(store: SQLStore) -> None:
    await _setup(store)
    await store.upsert_stories(
        [
            story("d1", feed=DEF, title="Seniman menolak AI", relevance=0.9),
            story("m1", feed=MINE, title="Seniman menggugat AI", relevance=0.9),
        ]
    )
    window = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    only_def = frozenset({DEF})
    assert [s.key for s in await store.stories_between(*window, feeds=only_def)] == ["d1"]
    assert sorted(s.key for s in await store.stories_between(*window)) == ["d1", "m1"]
    assert [s.key for s in await store.latest(10, feeds={MINE})] == ["m1"]
    assert [s.key for s in await store.search("seniman", feeds=only_def)] == ["d1"]
    assert await store.search("seniman", feeds=frozenset()) == []


async def test_sources_follow_a_moved_chat(store: SQLStore) -> None:
    await _setup(store)
    old, new = ChannelRef("telegram", "-1"), ChannelRef("telegram", "-1001")
    await store.upsert_subscription(Subscription(old))
    await store.add_chat_source(old, MINE)
    await store.remove_chat_source(old, DEF)
    assert await store.move_channel(old, new)
    assert await store.chat_source_urls(new) == {MINE}
    assert await store.chat_source_urls(old) == {DEF}  # no rows left behind: defaults only


async def test_sqlite_full_text_index_merges_sixteen_segments_at_a_time(tmp_path: Path) -> None:
    # Migration 0005: fewer, larger merges of the segments each poll's stories add.
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    async with store, store._engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT v FROM stories_fts_config WHERE k = 'automerge'"))
        ).all()
    assert [r[0] for r in rows] == [16]
