"""The Store seam: everything Warta keeps between polls, digests and restarts.

Every method may raise :class:`bot.errors.StoreError` when the database fails (connection lost,
locked past the busy timeout, constraint broken). Only additional or narrower errors are noted
per method. Datetimes going in must be timezone-aware; datetimes coming out are aware UTC.

The implementation is :class:`bot.store.sql.SQLStore` (SQLite embedded, PostgreSQL to scale
out); tests and other backends may provide their own object with these methods.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bot.models import ChannelRef, ChatSource, Delivery, DeliveryState, Feed, Story, Subscription


class Store(Protocol):
    """Persistent state of a Warta instance. All methods are coroutines."""

    async def close(self) -> None:
        """Release connections. Idempotent; never raises."""

    # ------------------------------------------------------------------ feeds

    async def add_feed(self, feed: Feed) -> Feed:
        """Register ``feed`` unless its url is known; return the stored row (with ``id``).

        For a known url the polling state is kept; only ``interval_s`` and ``lang`` (owned by
        the configuration) are updated, and ``title`` only when none is stored yet.
        ``is_default`` is only ever raised by this call (a chat adding a default never demotes
        it); :meth:`set_feed_default` lowers it.
        A new feed without ``next_check_at`` is due immediately.
        Raises ValueError for a naive datetime.
        """
        ...

    async def add_feeds(self, feeds: Sequence[Feed]) -> None:
        """``add_feed`` for many feeds in one transaction (OPML import, the feeds file); for a
        url given twice the last wins. Raises ValueError for a naive datetime."""
        ...

    async def remove_feed(self, url: str) -> bool:
        """Forget a feed (its stories stay searchable). False when the url was unknown."""
        ...

    async def get_feed(self, url: str) -> Feed | None:
        """The feed with this url, or None."""
        ...

    async def list_feeds(self) -> list[Feed]:
        """All feeds, by id."""
        ...

    async def feed_defaults(self) -> dict[str, bool]:
        """Every feed's url and whether it is a default: what syncing the feeds file needs,
        without reading (and converting) every feed's whole row."""
        ...

    async def make_feeds_due(self, now: datetime) -> int:
        """Make every enabled feed due at ``now`` (``warta poll --all``), touching nothing
        else of its state, so a feed another process is polling keeps what that process
        saves. Returns how many feeds."""
        ...

    async def set_feed_default(self, url: str, is_default: bool) -> bool:
        """Make a feed one of the instance's defaults, or stop it being one (chats that added
        it keep it). False when the url is unknown."""
        ...

    async def claim_due_feeds(
        self,
        now: datetime,
        *,
        limit: int,
        lease_s: float = 300,
        save: Sequence[Feed] = (),
    ) -> list[Feed]:
        """Take up to ``limit`` enabled feeds with ``next_check_at <= now``, oldest first.
        Only feeds someone reads are taken: defaults, and feeds at least one chat added; the
        others stay stored but unpolled until a chat adds them again.

        Their ``next_check_at`` is pushed to ``now + lease_s`` atomically, so concurrent workers
        (other processes on PostgreSQL) never take the same feed; a worker that dies leaves the
        feed due again when the lease ends. The caller stores the real next time through
        :meth:`save_feeds`. Returned feeds carry the lease as ``next_check_at``.

        ``save``: feeds whose state to write first, as :meth:`save_feeds` would, in the same
        transaction (a poller saves the feeds it finished whenever it claims more).
        """
        ...

    async def extend_feed_leases(
        self, urls: Collection[str], held: datetime, until: datetime
    ) -> None:
        """Renew the claim of feeds still being polled: ``next_check_at`` goes from the lease
        ``held`` to ``until``. A feed whose state was saved meanwhile (``next_check_at`` no
        longer ``held``) is left alone, so a late renewal never undoes a save."""
        ...

    async def save_feeds(self, feeds: Sequence[Feed]) -> None:
        """Write the polling state of ``feeds`` (matched by url) in one batch: etag,
        last_modified, body_hash, next_check_at, last_checked_at, last_ok_at, failures,
        last_error, disabled_reason, baseline_done, title. Unknown urls are ignored.
        Raises ValueError for a naive datetime.
        """
        ...

    # ------------------------------------------------------------------ chat sources
    # A chat's source set = the default feeds it did not switch off + the feeds it added.

    async def chat_sources(self, channel: ChannelRef) -> list[ChatSource]:
        """The chat's source set, by feed id, each marked as added by the chat or a default."""
        ...

    async def chat_source_urls(self, channel: ChannelRef) -> frozenset[str]:
        """The feed URLs of the chat's source set (one query), for filtering stories."""
        ...

    async def add_chat_source(
        self, channel: ChannelRef, url: str, *, by: str | None = None, max_added: int | None = None
    ) -> str:
        """Put the stored feed ``url`` in the chat's set. Returns ``"added"`` (a chat
        addition), ``"restored"`` (a default the chat had switched off is on again),
        ``"exists"`` (already in the set) or ``"full"`` (the chat already added ``max_added``
        feeds; nothing changed). Raises KeyError when no feed has this url."""
        ...

    async def remove_chat_source(
        self, channel: ChannelRef, url: str, *, by: str | None = None
    ) -> str:
        """Take ``url`` out of the chat's set: ``"removed"`` (a chat addition dropped),
        ``"switched_off"`` (a default, now off for this chat only) or ``"absent"`` (not in the
        set). Other chats and the feed row are never touched."""
        ...

    async def source_usage(self) -> dict[str, int]:
        """Feed url -> how many chats added it (feeds no chat added are absent)."""
        ...

    # ------------------------------------------------------------------ stories

    async def known_keys(self, feed_url: str, keys: Sequence[str]) -> dict[str, str]:
        """Map each already-stored key of ``feed_url`` among ``keys`` to its content hash."""
        ...

    async def known_keys_many(
        self, keys_by_feed: Mapping[str, Sequence[str]]
    ) -> dict[tuple[str, str], str]:
        """``known_keys`` for many feeds in one query: each stored (feed_url, key) among
        ``keys_by_feed`` mapped to its content hash."""
        ...

    async def upsert_stories(
        self,
        stories: Sequence[Story],
        *,
        known: Mapping[tuple[str, str], str] | None = None,
    ) -> list[Story]:
        """Store stories, deduplicated on (feed_url, key); return only the newly inserted ones,
        as copies with ``id`` and ``fetched_at`` set, in input order. ``known``: the answer of
        ``known_keys_many`` for these keys, read just before; the keys are then not read
        again (a story stored by another process meanwhile is left as that process stored it).

        An already-stored story with a different ``content_hash`` (an edit) has its title, text,
        content_hash, relevance, matched and bullets updated but is not returned; its identity,
        dates and place in digests do not change. Within one call the last duplicate wins.
        Raises ValueError for a naive datetime.
        """
        ...

    async def save_bullets(self, bullets: Mapping[int, Sequence[str]]) -> None:
        """Keep quick facts made on demand (by story id) for stories stored without them; a
        story that has bullets meanwhile keeps its own."""
        ...

    async def widening_keywords(self) -> list[str]:
        """The distinct bare terms of every active subscription's ``+keywords``."""
        ...

    async def get_story(self, id: int) -> Story | None:
        """The story with this id, or None."""
        ...

    async def stories_between(
        self,
        start: datetime,
        end: datetime,
        *,
        lang: str | None = None,
        min_relevance: float | None = None,
        limit: int = 200,
        feeds: Collection[str] | None = None,
    ) -> list[Story]:
        """Stories with ``start <= coalesce(published, fetched_at) < end``, newest first.
        ``feeds`` (a chat's source set) keeps only stories of those feed URLs; None: all.

        ``min_relevance`` keeps stories scored at least that (unscored ones are left out).
        """
        ...

    async def latest(
        self,
        n: int,
        *,
        relevant_only: bool = True,
        lang: str | None = None,
        min_relevance: float = 0.4,
        feeds: Collection[str] | None = None,
    ) -> list[Story]:
        """The ``n`` newest stories; with ``relevant_only`` only those scored >= min_relevance;
        with ``feeds`` only stories of those feed URLs.

        The default matches the topic scorer's default threshold; callers that know the
        configured threshold should pass it.
        """
        ...

    async def search(
        self,
        query: str,
        *,
        limit: int = 10,
        lang: str | None = None,
        feeds: Collection[str] | None = None,
    ) -> list[Story]:
        """Full-text search over title and text, best match first, then newest (only stories
        of ``feeds`` when given).

        ``query`` is user input and is never interpreted as search syntax: it is split into
        words, every word must occur (diacritics and case ignored), and words of four or more
        letters also match as prefixes (Indonesian suffixes: seniman -> senimannya). A query
        without any word returns [].
        """
        ...

    # ------------------------------------------------------------------ subscriptions

    async def upsert_subscription(self, sub: Subscription) -> Subscription:
        """Create or replace the subscription of ``sub.channel``; return it with ``id`` set."""
        ...

    async def get_subscription(self, channel: ChannelRef) -> Subscription | None:
        """The subscription of ``channel``, or None."""
        ...

    async def delete_subscription(self, channel: ChannelRef) -> bool:
        """Remove the subscription (and its outbox rows). False when there was none."""
        ...

    async def list_subscriptions(self) -> list[Subscription]:
        """All subscriptions, by id."""
        ...

    async def due_subscriptions(
        self, now: datetime, *, limit: int = 100, offset: int = 0
    ) -> list[Subscription]:
        """Unpaused, non-instant subscriptions with ``next_run_at <= now``, earliest first
        (``offset`` skips that many: a dry run pages through what it does not advance)."""
        ...

    def compose_turn(self) -> AbstractAsyncContextManager[bool]:
        """Whether this process may compose due digests now (True for one holder at a time
        across every process on the store; False at once, never waiting, for the others)."""
        ...

    async def chat_source_sets(
        self, channels: Collection[ChannelRef]
    ) -> dict[ChannelRef, frozenset[str]]:
        """:meth:`chat_source_urls` for many chats in a few queries (a due batch of
        thousands of subscriptions)."""
        ...

    async def pause_subscription(self, id: int, reason: str) -> bool:
        """Pause with a reason users can see. False when no such subscription."""
        ...

    async def move_channel(self, old: ChannelRef, new: ChannelRef) -> bool:
        """The chat ``old`` now lives at ``new`` (a Telegram group became a supergroup). In one
        transaction the chat's source choices move to ``new`` (where ``new`` already chose
        for a feed, its choice wins), and the subscription of ``old`` is re-pointed at ``new``
        together with its pending and sending deliveries (sent and failed rows keep the chat
        they went to).

        Returns True when the subscription moved: its queued deliveries now target ``new``.
        Returns False when nothing moved: ``old`` has no subscription (already moved, or
        unsubscribed), or ``new`` already has one. In that last case the subscription at
        ``new`` (set up in the new chat, so newer) is kept and the one of ``old`` is deleted
        with its outbox rows, so the chat does not get two digests per run.
        """
        ...

    # ------------------------------------------------------------------ outbox

    async def enqueue_delivery(
        self, delivery: Delivery, *, advance: Subscription | None = None
    ) -> Delivery | None:
        """Insert ``delivery`` and, in the same transaction, save ``advance.next_run_at`` and
        ``advance.last_window_end``. Returns the stored row, or None when a delivery with the
        same ``key`` already exists (nothing new is queued; the advance is still saved so an
        already-enqueued window does not keep the subscription due forever).
        """
        ...

    async def enqueue_deliveries(
        self,
        batch: Sequence[tuple[Delivery, Subscription]],
        *,
        advance_only: Sequence[Subscription] = (),
    ) -> int:
        """:meth:`enqueue_delivery` with ``advance`` for many rows in one transaction (a
        composed due batch); ``advance_only`` are subscriptions whose run queued nothing (an
        empty digest) but whose schedule advances in the same transaction. Returns how many
        rows were new."""
        ...

    async def claim_deliveries(
        self, now: datetime, *, limit: int = 20, lease_s: float = 120
    ) -> list[Delivery]:
        """Take up to ``limit`` deliveries to send: pending ones whose ``not_before`` has passed,
        and ``sending`` ones whose lease expired (a crashed sender). They become ``sending``
        with a lease until ``now + lease_s`` and ``attempts + 1``. Deliveries of paused
        subscriptions are left alone. Concurrent claimers never take the same row.
        """
        ...

    async def record_part_sent(
        self, delivery_id: int, message_id: str, *, lease_until: datetime | None = None
    ) -> None:
        """Append a posted message id to ``sent_parts`` in one statement (no lost appends under
        concurrency); optionally extend the lease so a slow, flood-limited send keeps it.
        """
        ...

    async def mark_sent(self, id: int) -> None:
        """The delivery is complete: state ``sent``, lease cleared."""
        ...

    async def retry_delivery(self, id: int, *, not_before: datetime, error: str) -> None:
        """Back to ``pending`` until ``not_before`` (429 / transient error), keeping sent_parts."""
        ...

    async def fail_delivery(self, id: int, error: str) -> None:
        """Permanent failure: state ``failed`` and, in the same transaction, pause the
        subscription with ``error`` as the visible reason."""
        ...

    async def extend_delivery_lease(self, id: int, until: datetime) -> bool:
        """Renew the lease of a delivery being sent (still ``sending``) to ``until``. False
        when it is no longer ``sending`` (finished, or taken back)."""
        ...

    # ------------------------------------------------------------------ announcements
    # Stories stored with ``announce=True`` are queued here in the same transaction; a sender
    # turns them into instant deliveries, so no crash loses them and any poller feeds any
    # sender. Both writes below wake listeners (see ``on_work`` of the SQL store).

    async def claim_announcements(
        self, now: datetime, *, limit: int = 200, lease_s: float = 20
    ) -> list[Story]:
        """Take up to ``limit`` queued stories to announce, oldest first, held for ``lease_s``
        (a killed claimer's stories come back then). Concurrent claimers never share one."""
        ...

    async def finish_announcements(
        self, story_ids: Collection[int], queued: Sequence[Delivery]
    ) -> int:
        """In one transaction: insert ``queued`` deliveries (keys already stored are skipped;
        so are subscriptions deleted meanwhile) and drop ``story_ids`` from the queue.
        Returns how many deliveries were inserted."""
        ...

    async def list_deliveries(self, state: DeliveryState | None = None) -> list[Delivery]:
        """Outbox rows (optionally only one state), by id."""
        ...

    # ------------------------------------------------------------------ meta

    async def get_meta(self, key: str) -> str | None:
        """A small named value (e.g. the last poll time), or None."""
        ...

    async def set_meta(self, key: str, value: str) -> None:
        """Set a named value, replacing any previous one."""
        ...
