"""Short feed claims, renewed while held.

A claimed feed's ``next_check_at`` is pushed ahead by a short lease; while this process still
holds the feed (queued behind its host, being polled, or polled and not yet saved) the lease is
renewed every third of its length. A process killed outright stops renewing, so its feeds are due
again within one lease (seconds) instead of a long fixed one. Saving a feed writes its real next
check time, which a renewal never overwrites (it only moves a lease it still finds in place).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.models import Feed

log = logging.getLogger(__name__)

FEED_LEASE_S = 15.0


class LeaseStore(Protocol):
    async def extend_feed_leases(
        self, urls: Collection[str], held: datetime, until: datetime
    ) -> None: ...


class FeedLeases:
    """The claims one poller holds, by lease time; :meth:`keep` renews them until it ends."""

    def __init__(self, store: LeaseStore, lease_s: float = FEED_LEASE_S) -> None:
        self.store = store
        self.lease_s = lease_s
        self._held: dict[datetime, set[str]] = {}

    def took(self, feeds: Iterable[Feed]) -> None:
        for feed in feeds:
            if feed.next_check_at is not None:
                self._held.setdefault(feed.next_check_at, set()).add(feed.url)

    def settled(self, urls: Iterable[str]) -> None:
        gone = set(urls)
        for lease in list(self._held):
            self._held[lease] -= gone
            if not self._held[lease]:
                del self._held[lease]

    def __len__(self) -> int:
        return sum(len(urls) for urls in self._held.values())

    async def renew(self) -> None:
        """Push every held lease ahead by ``lease_s`` from now (real time: the lease guards
        against a real process dying)."""
        until = datetime.now(UTC) + timedelta(seconds=self.lease_s)
        for lease, urls in list(self._held.items()):
            batch = set(urls)
            try:
                await self.store.extend_feed_leases(batch, lease, until)
            except Exception:  # a missed renewal only shortens the lease
                log.warning("feed lease renewal failed", exc_info=True)
                continue
            # Feeds settled while the renewal ran were saved with their real time: not moved.
            still = self._held.get(lease, set()) & batch
            left = self._held.get(lease, set()) - batch
            if left:
                self._held[lease] = left
            else:
                self._held.pop(lease, None)
            if still:
                self._held.setdefault(until, set()).update(still)

    @contextlib.asynccontextmanager
    async def keep(self) -> AsyncIterator[FeedLeases]:
        """Renew the held leases every third of ``lease_s`` until the block ends."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(max(0.5, self.lease_s / 3))
                await self.renew()

        task = asyncio.create_task(loop(), name="feed-leases")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
