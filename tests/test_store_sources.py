"""Per-chat source sets in the store, on SQLite and PostgreSQL (the backends of test_store)."""

from __future__ import annotations

from datetime import timedelta

from bot.models import ChannelRef, Feed, Subscription
from bot.store import SQLStore
from tests.test_store import T0, backend, story, store  # noqa: F401 - fixtures

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
