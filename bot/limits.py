"""Limits that keep one user, one chat or one burst of /summary from taking the whole bot.

* :class:`RateLimiter` — token buckets keyed by user or chat, with a memory bound: a bucket that
  has refilled is indistinguishable from a new one and is dropped, and an LRU cap bounds the
  table even under a flood of distinct keys.
* :class:`CommandLimits` — the per-user and per-chat buckets every command passes, and the
  "answer the first refusal, stay silent after" rule, so a flood cannot make the bot flood back.
* :class:`FetchGate` — a global cap on concurrent /summary page fetches and on the bytes they
  hold together, reserved *before* the fetch starts.

Hand-written rather than a library: the rate-limit packages on PyPI either keep unbounded
per-key state, are synchronous/thread-locked, or cannot tell "first refusal" from "later
refusals"; a token bucket is a dozen lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass

from bot.errors import CommandError, ConfigError

__all__ = ["CommandLimits", "FetchGate", "RateLimiter", "Verdict"]

Clock = Callable[[], float]
"""Monotonic seconds (``time.monotonic``); tests inject a fake one."""

DEFAULT_MAX_KEYS = 50_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    # True once a refusal was answered; cleared by the next admitted command.
    notified: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of :meth:`CommandLimits.check`.

    ``allowed``: run the command. Otherwise ``notify`` says whether this is the first refusal of
    the limited period (answer it, once) and ``retry_after`` how many seconds until the next
    command would be admitted.
    """

    allowed: bool
    retry_after: float = 0.0
    notify: bool = False

    @property
    def retry_seconds(self) -> int:
        """``retry_after`` rounded up to whole seconds (what a person is told), at least 1."""
        return max(1, math.ceil(self.retry_after))


class RateLimiter:
    """Token buckets: each key may spend ``burst`` commands at once, refilled at ``per_min`` a
    minute. ``per_min <= 0`` or ``burst <= 0`` disables the limiter (everything is allowed).

    Memory: at most ``max_keys`` buckets; idle ones (full again) are evicted as keys are seen,
    least recently used first, so the table stays as small as the set of recently active keys.
    """

    def __init__(
        self,
        *,
        per_min: float,
        burst: int,
        clock: Clock = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be >= 1")
        self.enabled = per_min > 0 and burst > 0
        self.rate = per_min / 60.0  # tokens per second
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, key: Hashable, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=self.burst, updated=now)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        self._evict(now)
        return bucket

    def _evict(self, now: float) -> None:
        # Oldest first: the front of the table is the least recently used bucket. A bucket full
        # again by now carries no state a fresh one would not, so dropping it changes nothing.
        full_after = self.burst / self.rate
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            if len(self._buckets) > self.max_keys or now - oldest.updated >= full_after:
                del self._buckets[key]
                continue
            break

    def wait_time(self, key: Hashable) -> float:
        """Seconds until ``key`` may spend one token (0 when it may now). Updates the bucket."""
        if not self.enabled:
            return 0.0
        bucket = self._bucket(key, self._clock())
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def spend(self, key: Hashable) -> None:
        """Take one token (call after :meth:`wait_time` said 0); clears the refusal flag."""
        if not self.enabled:
            return
        bucket = self._bucket(key, self._clock())
        bucket.tokens = max(0.0, bucket.tokens - 1)
        bucket.notified = False

    def first_refusal(self, key: Hashable) -> bool:
        """Whether a refusal of ``key`` is the first since it was last admitted (and mark it)."""
        bucket = self._buckets.get(key)
        if bucket is None:  # evicted meanwhile: treat as a new limited period
            return True
        first = not bucket.notified
        bucket.notified = True
        return first


class CommandLimits:
    """Per-user and per-chat command rate limits (one instance serves every platform).

    A command is admitted only when both its user's and its chat's bucket have a token; both
    are spent together, so a refused command costs nothing. The first refusal of a limited
    period gets ``notify=True`` (answer "slow down" once); later ones until the next admitted
    command get ``notify=False`` (answer nothing). The per-chat bucket is shared by everyone in
    the chat, and so is its one "slow down" message.
    """

    def __init__(
        self,
        *,
        user_per_min: float = 12.0,
        user_burst: int = 6,
        chat_per_min: float = 30.0,
        chat_burst: int = 15,
        clock: Clock = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self.users = RateLimiter(
            per_min=user_per_min, burst=user_burst, clock=clock, max_keys=max_keys
        )
        self.chats = RateLimiter(
            per_min=chat_per_min, burst=chat_burst, clock=clock, max_keys=max_keys
        )

    def check(self, user: Hashable, chat: Hashable) -> Verdict:
        user_wait = self.users.wait_time(user)
        chat_wait = self.chats.wait_time(chat)
        if user_wait == 0 and chat_wait == 0:
            self.users.spend(user)
            self.chats.spend(chat)
            return Verdict(allowed=True)
        if user_wait > 0:
            # The user's own flood: one answer to them. When the chat is limited too, it must
            # not answer again to this chat either.
            notify = self.users.first_refusal(user)
            if chat_wait > 0:
                notify = self.chats.first_refusal(chat) and notify
        else:
            notify = self.chats.first_refusal(chat)
        return Verdict(allowed=False, retry_after=max(user_wait, chat_wait), notify=notify)


class FetchGate:
    """At most ``concurrency`` /summary fetches at once, holding at most ``total_bytes``.

    ``reserve(want)`` waits (up to ``wait_s``) for a slot and for free bytes, then yields how
    many bytes this fetch may read: ``min(want, free)``, but never less than ``floor`` (a page
    is not worth fetching with a budget too small for any article). The reservation is held
    until the block ends, so the page's bytes *and* the extraction that works on them are
    counted. When nothing frees up in time it raises CommandError("summary_busy").
    """

    def __init__(
        self,
        *,
        concurrency: int = 4,
        total_bytes: int = 24 * 2**20,
        floor: int = 2**20,
        wait_s: float = 20.0,
    ) -> None:
        if concurrency < 1 or total_bytes < 1 or floor < 1 or wait_s < 0:
            raise ConfigError(
                "summary_fetch_concurrency and summary_fetch_total_bytes must be at least 1"
            )
        self.concurrency = concurrency
        self.total_bytes = total_bytes
        self.floor = min(floor, total_bytes)
        self.wait_s = wait_s
        self._slots = asyncio.Semaphore(concurrency)
        self._free = total_bytes
        self._freed = asyncio.Event()
        self.peak_reserved = 0  # for benches and tests: the most bytes ever reserved at once

    @property
    def free_bytes(self) -> int:
        return self._free

    @contextlib.asynccontextmanager
    async def reserve(self, want: int) -> AsyncIterator[int]:
        want = max(1, want)
        need = min(want, self.floor)
        got = 0
        slot = False
        try:
            async with asyncio.timeout(self.wait_s):
                await self._slots.acquire()
                slot = True
                while self._free < need:
                    self._freed.clear()
                    await self._freed.wait()
                got = min(want, self._free)
                self._free -= got
            self.peak_reserved = max(self.peak_reserved, self.total_bytes - self._free)
        except BaseException as e:
            # Give back whatever was taken before the wait ended (a timeout that fires right
            # after the reservation is made must not leak it).
            self._give_back(got, slot)
            if isinstance(e, TimeoutError):
                raise CommandError("summary_busy", "no /summary slot or byte budget free") from e
            raise
        try:
            yield got
        finally:
            self._give_back(got, slot)

    def _give_back(self, got: int, slot: bool) -> None:
        # Synchronous on purpose: a cancelled task must still return what it held.
        if got:
            self._free += got
            self._freed.set()
        if slot:
            self._slots.release()
