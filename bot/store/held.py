"""What this process holds right now: feeds and deliveries it claimed and has not settled.

A claim is a lease in the database (a feed's ``next_check_at`` pushed ahead, a delivery in state
``sending`` until ``lease_until``). When a process stops on SIGTERM after its grace period, the
work it was cut short on would otherwise wait for those leases to run out; with this record the
store hands it back at once (:meth:`bot.store.sql.SQLStore.release_held`), so another copy picks
it up within seconds. Each entry keeps the claim's own token (the feed's leased
``next_check_at``, the delivery's ``attempts`` after the claim), so a release never touches a
row another copy claimed since.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Held:
    feeds: dict[int, datetime] = field(default_factory=dict)  # feed id -> leased next_check_at
    urls: dict[str, int] = field(default_factory=dict)  # feed url -> feed id
    deliveries: dict[int, int] = field(default_factory=dict)  # delivery id -> attempts token

    def took_feed(self, id_: int, url: str, lease: datetime) -> None:
        self.feeds[id_] = lease
        self.urls[url] = id_

    def settled_feeds(self, urls: Iterable[str]) -> None:
        for url in urls:
            id_ = self.urls.pop(url, None)
            if id_ is not None:
                self.feeds.pop(id_, None)

    def took_delivery(self, id_: int, attempts: int) -> None:
        self.deliveries[id_] = attempts

    def settled_delivery(self, id_: int) -> None:
        self.deliveries.pop(id_, None)

    def __len__(self) -> int:
        return len(self.feeds) + len(self.deliveries)
