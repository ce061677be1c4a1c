"""What the roles rely on in the store, on SQLite and PostgreSQL: a stopping process hands its
claims back (and only its own), and retention prunes old rows in batches, keeping recent ones
and anything still queued."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bot.models import Delivery, DeliveryState, Feed, Subscription
from bot.store import SQLStore
from tests.test_store import T0, backend, delivery, make_sub, store, story

__all__ = ["backend", "store"]  # fixtures used by name below


async def test_release_hands_back_unsettled_claims_only(store: SQLStore) -> None:
    for i in range(3):
        await store.add_feed(Feed(url=f"https://f{i}.example/rss", next_check_at=T0))
    claimed = await store.claim_due_feeds(T0, limit=3, lease_s=300)
    assert len(claimed) == 3
    # One feed is polled to the end (its state saved): settled, not held any more.
    done = claimed[0]
    done.next_check_at = T0 + timedelta(minutes=15)
    await store.save_feeds([done])
    sub = await make_sub(store)
    for key in ("w1", "w2"):
        await store.enqueue_delivery(delivery(sub, key))
    sending = await store.claim_deliveries(T0, limit=2, lease_s=120)
    assert len(sending) == 2
    assert sending[0].id is not None
    await store.mark_sent(sending[0].id)
    assert len(store.held) == 3  # two feeds, one delivery

    assert await store.release_held(T0) == (2, 1)

    assert len(store.held) == 0
    # Another copy takes the released work at once, not after the 300 s / 120 s leases.
    again = await store.claim_due_feeds(T0, limit=10)
    assert sorted(f.url for f in again) == sorted(f.url for f in claimed[1:])
    redo = await store.claim_deliveries(T0, limit=10)
    assert [d.id for d in redo] == [sending[1].id]
    assert redo[0].attempts == 1  # the cut-short attempt does not count against it
    saved = await store.get_feed(done.url)
    assert saved is not None
    assert saved.next_check_at == T0 + timedelta(minutes=15)


async def test_release_leaves_work_another_copy_claimed_since(store: SQLStore) -> None:
    await store.add_feed(Feed(url="https://f.example/rss", next_check_at=T0))
    sub = await make_sub(store)
    await store.enqueue_delivery(delivery(sub))
    assert await store.claim_due_feeds(T0, limit=1, lease_s=60)
    assert await store.claim_deliveries(T0, limit=1, lease_s=60)
    # Our leases ran out and another copy (its own store object) claimed both.
    later = T0 + timedelta(minutes=5)
    other = SQLStore(store._engine)
    assert await other.claim_due_feeds(later, limit=1, lease_s=300)
    assert await other.claim_deliveries(later, limit=1, lease_s=120)

    assert await store.release_held(later) == (0, 0)

    feed = await store.get_feed("https://f.example/rss")
    assert feed is not None
    assert feed.next_check_at == later + timedelta(seconds=300)
    (row,) = await store.list_deliveries()
    assert row.state == DeliveryState.SENDING
    assert row.attempts == 2


async def test_retention_prunes_old_rows_in_batches_and_keeps_recent_and_queued(
    store: SQLStore,
) -> None:
    old, recent = T0 - timedelta(days=100), T0 - timedelta(days=1)
    await store.upsert_stories(
        [story(f"old{i}", published=old, fetched_at=old) for i in range(5)]
        + [story("recent", published=recent, fetched_at=recent)]
        # An old date, but fetched lately: it must stay known (pruned, it could come back as a
        # "new" story on the next poll).
        + [story("old-but-listed", published=old, fetched_at=recent)]
    )
    sub = await make_sub(store)
    for key in ("sent-old", "failed-old", "pending-old", "sent-recent"):
        d = delivery(sub, key)
        d.created_at = recent if key.endswith("recent") else old
        await store.enqueue_delivery(d)
    by_key = {d.key: d for d in await store.list_deliveries()}
    for key in ("sent-old", "sent-recent"):
        await store.mark_sent(by_key[key].id or 0)
    await store.fail_delivery(by_key["failed-old"].id or 0, "gone")

    pruned = await store.prune(
        stories_before=T0 - timedelta(days=90),
        deliveries_before=T0 - timedelta(days=30),
        batch=2,  # several batches: 5 old stories
        keep_per_feed=0,
    )

    assert pruned == (5, 2)
    left = await store.stories_between(T0 - timedelta(days=365), T0, limit=100)
    assert sorted(s.key for s in left) == ["old-but-listed", "recent"]
    assert sorted(d.key for d in await store.list_deliveries()) == ["pending-old", "sent-recent"]
    # Search (FTS5 on SQLite, tsvector on PostgreSQL) forgets the pruned stories too.
    assert sorted(s.key for s in await store.search("body")) == ["old-but-listed", "recent"]
    assert await store.prune(stories_before=None, deliveries_before=None) == (0, 0)


async def test_retention_keeps_each_feeds_newest_stories_whatever_their_age(
    store: SQLStore,
) -> None:
    # Feeds list their newest items: a feed that still lists old items must keep knowing them.
    ages = [200, 150, 120, 100]
    await store.upsert_stories(
        [
            story(
                f"{feed}-{age}",
                feed=f"https://{feed}.example/rss",
                published=T0 - timedelta(days=age),
                fetched_at=T0 - timedelta(days=age),
            )
            for feed in ("a", "b")
            for age in ages
        ]
    )
    pruned = await store.prune(
        stories_before=T0 - timedelta(days=90), deliveries_before=None, batch=1, keep_per_feed=2
    )
    assert pruned == (4, 0)
    left = await store.stories_between(T0 - timedelta(days=365), T0, limit=100)
    assert sorted(s.key for s in left) == ["a-100", "a-120", "b-100", "b-120"]


async def test_retention_drops_shared_digest_bodies_once_nothing_refers_to_them(
    store: SQLStore,
) -> None:
    subs = [await make_sub(store, chat=f"-10{i}") for i in range(4)]

    def shared(
        body: str, key: str, pair: list[Subscription]
    ) -> list[tuple[Delivery, Subscription]]:
        return [(replace(delivery(s, f"{key}-{s.channel.id}"), payload=body), s) for s in pair]

    # Two composes, each shared by two chats: each body is stored once.
    await store.enqueue_deliveries(shared('{"digest": "a"}', "a", subs[:2]))
    await store.enqueue_deliveries(shared('{"digest": "b"}', "b", subs[2:]))
    assert await bodies(store) == ['{"digest": "a"}', '{"digest": "b"}']
    # Both chats of "a" were sent long ago; one chat of "b" still waits for its turn.
    rows = await store.list_deliveries()
    for d in rows:
        if d.key.startswith("a-") or d.key == f"b-{subs[2].channel.id}":
            await store.mark_sent(d.id or 0)
    later = datetime.now(UTC) + timedelta(days=60)

    assert await store.prune(stories_before=None, deliveries_before=later) == (0, 3)

    # "a" is gone with its deliveries; "b" stays while a queued delivery refers to it.
    assert await bodies(store) == ['{"digest": "b"}']
    (left,) = await store.list_deliveries()
    assert left.payload == '{"digest": "b"}'
    # Composed again later, the same body is stored again and read back whole.
    await store.enqueue_deliveries(shared('{"digest": "a"}', "a2", subs[:2]))
    assert await bodies(store) == ['{"digest": "a"}', '{"digest": "b"}']


async def bodies(store: SQLStore) -> list[str]:
    async with store._engine.connect() as conn:
        found = await conn.execute(text("SELECT body FROM digest_payloads ORDER BY body"))
    return list(found.scalars().all())
