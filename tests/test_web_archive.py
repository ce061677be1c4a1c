"""The site's read model on both store backends: public sources only, day digests, search pages,
weekly counts, and the digest cache following edits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.analyze import analyze, default_scorer
from bot.models import ChannelRef, Feed, Story
from bot.store import SQLStore
from bot.web.archive import Archive, StoreDefaultSources, bound_query
from tests import test_store

backend = test_store.backend  # SQLite, and PostgreSQL (marked postgres) as the store tests

PUBLIC = "https://public.example/feed"
PRIVATE = "https://private.example/feed?token=s3cret"
# 10:00 WIB on 2 Dec 2026 (a Wednesday); "now" for the archive is 3 Dec, 12:00 WIB.
T0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)

TEXTS = [
    (
        "en",
        "Illustrators sue Midjourney over AI training on their artwork",
        "A group of illustrators filed a copyright lawsuit against Midjourney, saying its AI "
        "image generator was trained on their artwork without consent.",
    ),
    (
        "id",
        "Seniman protes lukisan buatan AI di pameran Jakarta",
        "Sejumlah seniman memprotes lukisan buatan kecerdasan buatan yang dipamerkan di "
        "Jakarta. Mereka menerbitkan petisi yang meminta karya AI diberi label.",
    ),
    (
        "en",
        "Voice actors strike over AI voice clones",
        "The voice actors' union called a strike over generative AI voice clones that copy "
        "performers without consent or pay.",
    ),
]


def make(key: str, feed: str, n: int, published: datetime, source: str) -> Story:
    lang, title, text = TEXTS[n % len(TEXTS)]
    result = analyze(title, text, lang=lang)
    return Story(
        feed_url=feed, key=key, url=f"https://news.example/{key}", title=f"{title} {key}",
        text=text, source=source, lang=lang, published=published, content_hash=f"h-{key}",
        relevance=result.topic.score, matched=result.topic.matched,
        bullets=result.summary.bullets,
    )  # fmt: skip


@pytest.fixture
async def store(backend: test_store.Backend) -> AsyncIterator[SQLStore]:
    async with await backend.open() as s:
        stories = [
            make(f"p{i}", PUBLIC, i, T0 - timedelta(days=i // 2, hours=i % 2), "Public Wire")
            for i in range(24)
        ]
        stories += [make("x1", PRIVATE, 0, T0, "Private Source"), make("x2", PRIVATE, 1, T0, "P")]
        await s.upsert_stories(stories)
        yield s


async def public_only() -> frozenset[str]:
    return frozenset({PUBLIC})


def archive(store: SQLStore) -> Archive:
    return Archive(store, sources=public_only, scorer=default_scorer(), now=lambda: NOW)


async def test_day_digest_holds_that_local_day_of_public_stories(store: SQLStore) -> None:
    site = archive(store)
    digest = await site.digest("en", date(2026, 12, 2))
    assert digest.title == "AI & Artists Digest — 2 Dec 2026"  # the day, not the window's end
    feeds = {e.story.feed_url for e in digest.entries}
    assert feeds == {PUBLIC}
    assert {e.story.key for e in digest.entries} <= {"p0", "p1"}
    assert digest.window_start == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 00:00 WIB
    empty = await site.digest("id", date(2026, 12, 3))
    assert empty.entries == []
    assert empty.title == "Ringkasan AI & Seniman — 3 Des 2026"


async def test_digest_is_cached_until_a_story_of_the_day_changes(store: SQLStore) -> None:
    site = archive(store)
    day = date(2026, 12, 2)
    first = await site.digest("en", day)
    assert await site.digest("en", day) is first
    assert await site.digest("id", day) is not first
    (p0,) = [s for s in await store.search("p0") if s.key == "p0"]
    await store.upsert_stories(
        [replace(p0, id=None, title=p0.title + " (updated)", content_hash="h2")]
    )
    again = await site.digest("en", day)
    assert again is not first
    assert any("(updated)" in e.story.title for e in again.entries)


async def test_recent_days_search_and_story_see_only_public_sources(store: SQLStore) -> None:
    site = archive(store)
    days = await site.recent_days(days=30)
    assert days[0] == date(2026, 12, 2)
    assert days == sorted(days, reverse=True)
    assert len(days) == 12  # two public stories a day over twelve days
    private = [s for s in await store.search("Illustrators") if s.feed_url == PRIVATE]
    assert private
    assert private[0].id is not None
    assert await site.story(private[0].id) is None
    page1 = await site.search("illustrators", page=1, per_page=3)
    assert len(page1.stories) == 3
    assert page1.has_next
    assert all(s.feed_url == PUBLIC for s in page1.stories)
    page3 = await site.search("illustrators", page=3, per_page=3)
    assert not page3.has_next  # 8 public "Illustrators" stories: 3 + 3 + 2
    assert len(page3.stories) == 2


async def test_the_site_follows_the_stores_default_feeds(store: SQLStore) -> None:
    """Public = what the store marks as the operator's defaults: a chat's own addition never
    shows, a chat switching a default off does not hide it from the site, and an operator
    making a feed a default (or taking it back) shows at the next request."""
    await store.add_feed(Feed(url=PUBLIC, title="Public Wire", is_default=True))
    await store.add_feed(Feed(url=PRIVATE, title="Private Source", is_default=False))
    chat = ChannelRef("telegram", "-100777")
    assert await store.add_chat_source(chat, PRIVATE) == "added"
    assert await store.remove_chat_source(chat, PUBLIC) == "switched_off"
    sources = StoreDefaultSources(store)
    assert await sources() == {PUBLIC}
    site = Archive(store, sources=sources, scorer=default_scorer(), now=lambda: NOW)

    found = await site.search("illustrators", per_page=100)
    assert found.stories
    assert {s.feed_url for s in found.stories} == {PUBLIC}
    [private, *_] = [s for s in await store.search("Illustrators") if s.feed_url == PRIVATE]
    assert private.id is not None
    assert await site.story(private.id) is None
    assert set((await site.weekly_counts(weeks=3)).by_outlet) == {"Public Wire"}

    # The operator makes the chat's feed a default and retires the old one.
    assert await store.set_feed_default(PRIVATE, True)
    assert await store.set_feed_default(PUBLIC, False)
    assert await sources() == {PRIVATE}
    assert await site.story(private.id) is not None
    assert {s.feed_url for s in (await site.search("illustrators", per_page=100)).stories} == {
        PRIVATE
    }
    assert set((await site.weekly_counts(weeks=3)).by_outlet) == {"Private Source", "P"}


async def test_weekly_counts_by_outlet_theme_and_language(store: SQLStore) -> None:
    counts = await archive(store).weekly_counts(weeks=3)
    assert counts.weeks == [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]
    assert set(counts.by_outlet) == {"Public Wire"}  # the private source is not counted
    total = sum(counts.by_outlet["Public Wire"])
    assert total == sum(sum(v) for v in counts.by_lang.values())
    assert total == 24  # 21 Nov to 2 Dec, all inside the three weeks from 16 Nov
    assert sum(counts.by_theme["lawsuits"]) > 0
    assert sum(counts.by_theme["protests"]) > 0
    assert sum(counts.by_theme["labour"]) > 0
    assert sum(counts.by_lang["id"]) > 0


def test_bound_query() -> None:
    assert bound_query("  seniman   sora ") == "seniman sora"
    assert bound_query("a " * 20) == "a a a a a a a a"
    assert bound_query("x" * 101) is None
