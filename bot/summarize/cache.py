"""Where LLM summaries are remembered, so a story is paid for once per target language.

The LLM backend depends on the ``SummaryCache`` protocol only. The default is a small in-memory
LRU; the app may back the protocol with the store so summaries survive restarts and are shared
between worker processes.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Protocol

from bot.models import Summary


def cache_key(title: str, text: str, target_lang: str) -> str:
    """``<sha256 of title and text>:<target language>``.

    A NUL separates title from text so ("ab", "c") and ("a", "bc") do not collide.
    """
    digest = hashlib.sha256(f"{title}\x00{text}".encode()).hexdigest()
    return f"{digest}:{target_lang}"


class SummaryCache(Protocol):
    """Summaries by ``cache_key``. Implementations may raise ``StoreError``; the LLM backend
    treats any cache error as a miss (get) or a no-op (put)."""

    async def get(self, key: str) -> Summary | None:
        """The summary stored under ``key``, or None."""
        ...

    async def put(self, key: str, summary: Summary) -> None:
        """Remember ``summary`` under ``key`` (replacing any older one)."""
        ...


class MemorySummaryCache:
    """An in-process LRU of at most ``max_entries`` summaries."""

    def __init__(self, max_entries: int = 2048) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._items: OrderedDict[str, Summary] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: str) -> Summary | None:
        summary = self._items.get(key)
        if summary is not None:
            self._items.move_to_end(key)
        return summary

    async def put(self, key: str, summary: Summary) -> None:
        self._items[key] = summary
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
