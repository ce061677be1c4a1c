"""Store writes of a poll are batched: feeds ready at the same time share one key lookup and
one write transaction; only stories that can reach a chat are summarized at ingest, and a
digest that summarizes one later caches its bullets back. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from bot.digest import compose_digest
from bot.feeds.batching import Coalescer
from bot.feeds.fetch import Fetcher
from bot.feeds.ingest import poll_due
from bot.models import ChannelRef, Feed, FetchResult, Story, Subscription
from bot.store import SQLStore
from tests import feedserver
from tests.feedserver import FeedServer
from tests.test_ingest import FLOOD, NOW, SORA, SUNO, make_due, rss
from tests.test_store import backend, store, story

feed_server = feedserver.feed_server
__all__ = ["backend", "store"]  # fixtures shared with test_store (SQLite and PostgreSQL)

# Off the topic on its own (an AI word, no creative work), but "+ghibli" widens it.
GHIBLI = (
    "ghibli",
    "Pameran Studio Ghibli Dibuka di Jakarta",
    "Pameran Studio Ghibli menampilkan sketsa Hayao Miyazaki. Pengunjung bisa bertanya pada"
    " pemandu AI di pintu masuk. Tiket pameran habis dalam sehari.",
)


# ------------------------------------------------------------------ the coalescer


async def test_coalescer_serves_concurrent_requests_with_one_call() -> None:
    seen: list[list[int]] = []

    async def run(batch: list[int]) -> list[int]:
        seen.append(batch)
        await asyncio.sleep(0)
        return [n * 10 for n in batch]

    c: Coalescer[int, int] = Coalescer(run)
    assert await asyncio.gather(*(c.submit(n) for n in range(5))) == [0, 10, 20, 30, 40]
    assert seen == [[0, 1, 2, 3, 4]]
    assert await c.submit(7) == 70  # an idle coalescer answers at once, alone
    assert seen[-1] == [7]


async def test_coalescer_error_reaches_only_its_batch() -> None:
    async def run(batch: list[int]) -> list[int]:
        if 13 in batch:
            raise ValueError("unlucky")
        return batch

    c: Coalescer[int, int] = Coalescer(run)
    results = await asyncio.gather(c.submit(13), c.submit(1), return_exceptions=True)
    assert [type(r) for r in results] == [ValueError, ValueError]
    assert await c.submit(2) == 2


# ------------------------------------------------------------------ store (both backends)


async def test_known_keys_many_and_upsert_with_known(store: SQLStore) -> None:
    other = "https://b.example/feed"
    await store.upsert_stories([story("a"), story("b"), story("a", feed=other)])
    known = await store.known_keys_many(
        {"https://a.example/feed": ["a", "b", "c", "a"], other: ["a", "b"], "https://x/": []}
    )
    assert known == {
        ("https://a.example/feed", "a"): "h-a",
        ("https://a.example/feed", "b"): "h-b",
        (other, "a"): "h-a",
    }
    many = {f"https://f{n}.example/": [f"k{i}" for i in range(3)] for n in range(400)}
    await store.upsert_stories([story(k, feed=f) for f, ks in many.items() for k in ks])
    assert len(await store.known_keys_many(many)) == 1200  # more than one chunk on SQLite

    # With `known` given, the write trusts it: "b" is an edit, "c" is new.
    edited = story("b", content_hash="h-b2", title="Edited b")
    new = await store.upsert_stories([edited, story("c")], known=known)
    assert [s.key for s in new] == ["c"]
    assert await store.known_keys("https://a.example/feed", ["b"]) == {"b": "h-b2"}
    # A story stored by someone else meanwhile is not announced again.
    assert await store.upsert_stories([story("a")], known={}) == []


async def test_widening_keywords_and_save_bullets(store: SQLStore) -> None:
    await store.upsert_subscription(
        Subscription(ChannelRef("telegram", "-1"), keywords=("+ghibli", "-nft", "+musik"))
    )
    await store.upsert_subscription(
        Subscription(ChannelRef("telegram", "-2"), keywords=("+ghibli", "seniman"))
    )
    paused = await store.upsert_subscription(
        Subscription(ChannelRef("telegram", "-3"), keywords=("+banjir",))
    )
    assert paused.id is not None
    await store.pause_subscription(paused.id, "bot removed")
    assert sorted(await store.widening_keywords()) == ["ghibli", "musik"]

    (bare, full) = await store.upsert_stories([story("bare"), story("full", bullets=("x",))])
    assert bare.id is not None
    assert full.id is not None
    await store.save_bullets({bare.id: ("one", "two"), full.id: ("not", "this")})
    assert (await store.get_story(bare.id)).bullets == ("one", "two")  # type: ignore[union-attr]
    assert (await store.get_story(full.id)).bullets == ("x",)  # type: ignore[union-attr]


# ------------------------------------------------------------------ ingest


class _CountingStore:
    """The real store, counting the calls a poll makes (a pass-through, not a fake)."""

    def __init__(self, store: SQLStore) -> None:
        self._store = store
        self.lookups: list[int] = []  # feeds per known_keys_many call
        self.writes: list[int] = []  # feeds per upsert_stories call

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def known_keys_many(
        self, keys_by_feed: Mapping[str, Sequence[str]]
    ) -> dict[tuple[str, str], str]:
        self.lookups.append(len(keys_by_feed))
        return await self._store.known_keys_many(keys_by_feed)

    async def upsert_stories(
        self, stories: Sequence[Story], *, known: Mapping[tuple[str, str], str] | None = None
    ) -> list[Story]:
        self.writes.append(len({s.feed_url for s in stories}))
        return await self._store.upsert_stories(stories, known=known)


class _TogetherFetcher:
    """The real Fetcher, holding every answer until all ``n`` feeds are fetched, so the feeds
    reach the store at the same time (as under load) and the batching is deterministic."""

    def __init__(self, fetcher: Fetcher, n: int) -> None:
        self._fetcher = fetcher
        self._n = n
        self._done = 0
        self._all = asyncio.Event()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        result = await self._fetcher.fetch(url, etag=etag, last_modified=last_modified)
        self._done += 1
        if self._done >= self._n:
            self._all.set()
        await self._all.wait()
        return result


async def test_feeds_ready_together_share_one_lookup_and_one_write(
    store: SQLStore, feed_server: FeedServer
) -> None:
    n = 12
    for i in range(n):
        path = feed_server.add_bytes(
            f"/f{i}.xml", rss([(f"{g}-{i}", h, b) for g, h, b in (SORA, FLOOD)])
        )
        await store.add_feed(Feed(url=feed_server.url(path), next_check_at=NOW))
    counting = _CountingStore(store)
    async with Fetcher() as fetcher:
        report = await poll_due(counting, _TogetherFetcher(fetcher, n), now=NOW)  # type: ignore[arg-type]
    assert report.failed == 0
    assert report.baseline_stories == 2 * n
    assert counting.lookups == [n]
    assert counting.writes == [n]
    stored = await store.latest(100, relevant_only=False)
    assert len(stored) == 2 * n


async def test_only_stories_that_can_reach_a_chat_are_summarized(
    store: SQLStore, feed_server: FeedServer
) -> None:
    path = feed_server.add_bytes("/k.xml", rss([SORA, FLOOD, GHIBLI]))
    await store.add_feed(Feed(url=feed_server.url(path), next_check_at=NOW))
    async with Fetcher() as fetcher:
        await poll_due(store, fetcher, now=NOW)
        by_key = {s.key: s for s in await store.latest(10, relevant_only=False)}
        assert by_key["sora"].bullets  # relevant
        assert by_key["banjir"].bullets == ()  # reaches no chat
        assert by_key["ghibli"].bullets == ()  # nobody widens to it yet

        # A subscriber widens to Ghibli: the next story about it is summarized at ingest.
        await store.upsert_subscription(
            Subscription(ChannelRef("telegram", "-1"), keywords=("+ghibli",))
        )
        more = (GHIBLI[0] + "2", GHIBLI[1] + " Lagi", GHIBLI[2] + " Antrean panjang.")
        feed_server.set_body(path, rss([more, SUNO, SORA, FLOOD, GHIBLI]))
        await make_due(store)
        report = await poll_due(store, fetcher, now=NOW)
    new = {s.key: s for s in report.new_stories}
    assert set(new) == {"ghibli2", "suno"}
    assert new["ghibli2"].bullets
    assert new["suno"].bullets


async def test_digest_summarizes_a_bare_story_and_caches_it(
    store: SQLStore, feed_server: FeedServer
) -> None:
    path = feed_server.add_bytes("/g.xml", rss([GHIBLI]))
    await store.add_feed(Feed(url=feed_server.url(path), next_check_at=NOW))
    async with Fetcher() as fetcher:
        await poll_due(store, fetcher, now=NOW)
    (bare,) = await store.latest(10, relevant_only=False)
    assert bare.bullets == ()
    digest = await compose_digest(
        store,
        lang="id",
        start=NOW - timedelta(days=1),
        end=NOW + timedelta(hours=1),
        keywords=("+ghibli",),
    )
    (entry,) = digest.entries
    assert entry.summary.bullets
    assert bare.id is not None
    cached = await store.get_story(bare.id)
    assert cached is not None
    assert cached.bullets == entry.summary.bullets


async def test_add_feeds_in_one_batch_keeps_known_state(store: SQLStore) -> None:
    known = await store.add_feed(Feed(url="https://known.example/rss", title="Kept"))
    known.failures = 3
    await store.save_feeds([known])
    urls = [f"https://f{n}.example/rss" for n in range(1200)]  # more than one chunk
    await store.add_feeds(
        [Feed(url=u, interval_s=600) for u in urls]
        + [Feed(url="https://known.example/rss", title="New title", lang="en")]
        + [Feed(url=urls[0], title="Twice")]
    )
    feeds = {f.url: f for f in await store.list_feeds()}
    assert len(feeds) == 1201
    assert feeds[urls[5]].interval_s == 600
    assert feeds[urls[5]].next_check_at is not None  # due at once
    assert feeds[urls[0]].title == "Twice"
    kept = feeds["https://known.example/rss"]
    assert (kept.title, kept.failures, kept.lang) == ("Kept", 3, "en")
