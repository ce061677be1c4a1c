"""When to poll each feed next. Pure functions on :class:`bot.models.Feed`; no I/O.

Feeds are spread over their interval by a stable per-URL phase (MonitoRSS does the same), so
2,000 feeds on a 15-minute interval arrive as a steady trickle, not a burst every 15 minutes,
and the spread survives restarts and is the same in every worker process (sha1, never Python's
salted ``hash``).

After a success the next check is the feed's next phase slot, never earlier than what the
server asked for (Retry-After / Cache-Control max-age). After a failure the feed backs off
exponentially with a deterministic per-URL jitter, and is disabled with a human-readable reason
after too many consecutive failures or at once on 410 Gone.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from bot.errors import (
    BlockedURL,
    FeedError,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
    TooLarge,
    TooManyRedirects,
)
from bot.models import Feed, FetchResult

MAX_SERVER_DELAY_S = 24 * 3600.0
"""Cap on a server-requested delay (Retry-After, max-age): a hostile or broken header must not
silence a feed for weeks."""

BACKOFF_MIN_S = 60.0
"""Floor of the first retry delay, for feeds with very short intervals."""

BACKOFF_CAP_S = 6 * 3600.0
"""Cap on the exponential failure backoff: a broken feed is still retried four times a day."""

BACKOFF_JITTER = 0.25
"""Backoff delays are scaled into (1 - BACKOFF_JITTER, 1], per URL and failure count, so feeds
that failed together (one host down) do not retry together."""

MIN_GAP_FRACTION = 0.5
"""After a success the next slot is at least this fraction of the interval away, so a poll that
ran late does not re-poll the feed moments later."""

MAX_FAILURES = 10
"""Consecutive failures after which a feed is disabled (with interval 900 s that is about a day
and a half of retries)."""

MAX_ERROR_CHARS = 200
"""``last_error`` is shown to users; keep it one short line."""

_HASH_SCALE = float(2**64)
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _unit_hash(text: str) -> float:
    """A stable number in [0, 1) derived from ``text``."""
    digest = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") / _HASH_SCALE


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def _phase_us(url: str, interval_us: int) -> int:
    return int(_unit_hash(url) * interval_us)


def initial_offset(url: str, interval_s: int) -> float:
    """The feed's phase within its interval: seconds in [0, interval_s), stable per URL."""
    if interval_s <= 0:
        raise ValueError("interval_s must be > 0")
    return _phase_us(url, interval_s * _US) / _US


def next_slot(url: str, interval_s: int, after: datetime) -> datetime:
    """The first phase slot of ``url`` strictly after ``after`` (slots are
    ``epoch + initial_offset + k * interval_s``), in ``after``'s time zone."""
    _check_aware(after)
    if interval_s <= 0:
        raise ValueError("interval_s must be > 0")
    # Whole microseconds (datetime's resolution) so that a slot is exactly on the grid and
    # next_slot(slot) is one interval later, never the same slot again.
    interval_us = interval_s * _US
    phase = _phase_us(url, interval_us)
    ts = (after - _EPOCH) // timedelta(microseconds=1)
    k = (ts - phase) // interval_us + 1
    slot = _EPOCH + timedelta(microseconds=phase + k * interval_us)
    return slot.astimezone(after.tzinfo)


def next_check_after_success(
    feed: Feed, now: datetime, *, retry_after: float | None = None
) -> datetime:
    """The next check time after a successful poll at ``now``: the feed's next phase slot at
    least ``MIN_GAP_FRACTION`` of an interval away, and never earlier than ``retry_after``
    seconds from now (capped at ``MAX_SERVER_DELAY_S``)."""
    _check_aware(now)
    interval = max(1, feed.interval_s)
    earliest = now + timedelta(seconds=interval * MIN_GAP_FRACTION)
    if retry_after is not None and retry_after > 0:
        wanted = now + timedelta(seconds=min(retry_after, MAX_SERVER_DELAY_S))
        earliest = max(earliest, wanted)
    # next_slot is strictly after its argument; step back a hair so a slot exactly at
    # ``earliest`` counts.
    return next_slot(feed.url, interval, earliest - timedelta(microseconds=1))


def describe_error(error: FeedError) -> str:
    """A short, human-readable, secret-free description of a feed failure."""
    if isinstance(error, HTTPStatusError):
        text = str(error) or f"HTTP {error.status}"
        if not text.startswith("HTTP"):
            text = f"HTTP {error.status} {text}"
    elif isinstance(error, FetchTimeout):
        text = f"timed out: {error}"
    elif isinstance(error, TooLarge):
        text = f"too large: {error}"
    elif isinstance(error, TooManyRedirects):
        text = f"redirects: {error}"
    elif isinstance(error, BlockedURL):
        text = f"blocked: {error}"
    elif isinstance(error, ParseError):
        text = f"not a usable feed: {error}"
    else:
        text = str(error) or type(error).__name__
    text = " ".join(text.split())
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    return text


def backoff_delay(url: str, failures: int, interval_s: int) -> float:
    """Seconds to wait after the ``failures``-th consecutive failure: the interval doubled per
    failure (at least BACKOFF_MIN_S), capped at BACKOFF_CAP_S, scaled by a deterministic
    per-URL jitter into (1 - BACKOFF_JITTER, 1] of that."""
    base = max(BACKOFF_MIN_S, float(interval_s))
    exponent = min(max(failures, 1) - 1, 32)  # 2**32 * anything is far past the cap
    delay = min(BACKOFF_CAP_S, base * 2.0**exponent)
    return delay * (1.0 - BACKOFF_JITTER * _unit_hash(f"{failures}|{url}"))


def after_failure(
    feed: Feed, now: datetime, error: FeedError, *, max_failures: int = MAX_FAILURES
) -> None:
    """Record a failed poll at ``now``: count it, keep a short ``last_error``, back off, and
    disable the feed after ``max_failures`` consecutive failures or at once on 410 Gone.

    ``next_check_at`` is always set (also for a disabled feed), so a store that only looks at
    it still never hammers a dead feed; a disabled feed is skipped by ``disabled_reason``.
    """
    _check_aware(now)
    feed.failures += 1
    feed.last_checked_at = now
    feed.last_error = describe_error(error)
    delay = backoff_delay(feed.url, feed.failures, feed.interval_s)
    if isinstance(error, HTTPStatusError) and error.retry_after is not None:
        delay = max(delay, min(error.retry_after, MAX_SERVER_DELAY_S))
    feed.next_check_at = now + timedelta(seconds=delay)
    if isinstance(error, HTTPStatusError) and error.status == 410:
        feed.disabled_reason = f"disabled: the server says the feed is gone ({feed.last_error})"
    elif feed.failures >= max_failures:
        feed.disabled_reason = (
            f"disabled after {feed.failures} consecutive failures: {feed.last_error}"
        )


def after_success(
    feed: Feed,
    now: datetime,
    *,
    result: FetchResult | None = None,
    retry_after: float | None = None,
) -> None:
    """Record a successful poll at ``now`` (a 200 or a 304): reset failures and last_error,
    remember the validators from ``result`` (a 304 without them keeps the old ones), and set
    ``next_check_at``. ``retry_after`` defaults to ``result.retry_after``."""
    _check_aware(now)
    feed.failures = 0
    feed.last_error = None
    feed.last_checked_at = now
    feed.last_ok_at = now
    if result is not None:
        if result.status != 304 or result.etag:
            feed.etag = result.etag
        if result.status != 304 or result.last_modified:
            feed.last_modified = result.last_modified
        if retry_after is None:
            retry_after = result.retry_after
    feed.next_check_at = next_check_after_success(feed, now, retry_after=retry_after)
