"""Polling schedule: pure functions, checked on fixed clocks."""

from __future__ import annotations

import hashlib
import statistics
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.errors import FeedError, FetchTimeout, HTTPStatusError, ParseError
from bot.feeds import poll_timing as schedule
from bot.models import Feed, FetchResult

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _off_phase(when: datetime, phase: float, interval: int) -> float:
    """Seconds between ``when`` and the nearest slot ``phase + k * interval``."""
    r = (when.timestamp() - phase) % interval
    return min(r, interval - r)


def test_initial_offset_is_stable_in_range_and_spread() -> None:
    urls = [f"https://example{i}.com/feed.xml" for i in range(2000)]
    offsets = [schedule.initial_offset(u, 900) for u in urls]
    assert all(0 <= o < 900 for o in offsets)
    assert offsets == [schedule.initial_offset(u, 900) for u in urls]
    # sha1 of the URL, not Python's salted hash: the same in every process and release.
    digest = hashlib.sha1(b"https://example.com/feed").digest()
    expected = int.from_bytes(digest[:8], "big") / 2**64 * 900
    assert schedule.initial_offset("https://example.com/feed", 900) == pytest.approx(
        expected, abs=1e-5
    )
    # Spread: every 90 s tenth of the interval gets a fair share (expected 200 each).
    buckets = [0] * 10
    for o in offsets:
        buckets[int(o // 90)] += 1
    assert min(buckets) > 140
    assert max(buckets) < 260
    assert 400 < statistics.mean(offsets) < 500


def test_initial_offset_rejects_bad_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        schedule.initial_offset("u", 0)


def test_next_slot_is_aligned_to_the_feed_phase() -> None:
    url = "https://a.example/rss"
    slot = schedule.next_slot(url, 900, NOW)
    assert slot > NOW
    assert slot - NOW <= timedelta(seconds=900)
    phase = schedule.initial_offset(url, 900)
    assert _off_phase(slot, phase, 900) < 1e-3
    # The next slot after a slot is one interval later.
    assert schedule.next_slot(url, 900, slot) - slot == timedelta(seconds=900)


def test_next_check_after_success_keeps_phase_and_min_gap() -> None:
    feed = Feed(url="https://b.example/rss", interval_s=600)
    nxt = schedule.next_check_after_success(feed, NOW, retry_after=None)
    assert timedelta(seconds=300) <= nxt - NOW <= timedelta(seconds=900)
    phase = schedule.initial_offset(feed.url, 600)
    assert _off_phase(nxt, phase, 600) < 1e-3
    # Polled late, at its slot + 0.9 interval: next slot is not 60 s away but one more interval.
    late = schedule.next_slot(feed.url, 600, NOW) + timedelta(seconds=540)
    nxt_late = schedule.next_check_after_success(feed, late, retry_after=None)
    assert nxt_late - late >= timedelta(seconds=300)


def test_next_check_honours_retry_after_and_caps_it() -> None:
    feed = Feed(url="https://c.example/rss", interval_s=900)
    nxt = schedule.next_check_after_success(feed, NOW, retry_after=3 * 3600)
    assert nxt - NOW >= timedelta(hours=3)
    assert nxt - NOW < timedelta(hours=3, seconds=900)
    phase = schedule.initial_offset(feed.url, 900)
    assert _off_phase(nxt, phase, 900) < 1e-3
    capped = schedule.next_check_after_success(feed, NOW, retry_after=30 * 86400)
    assert capped - NOW <= timedelta(hours=24, seconds=900)
    # A short max-age does not make the feed poll more often than its interval allows.
    short = schedule.next_check_after_success(feed, NOW, retry_after=5)
    assert short == schedule.next_check_after_success(feed, NOW, retry_after=None)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_check_after_success(Feed(url="u"), datetime(2026, 1, 1), retry_after=None)  # noqa: DTZ001


def test_other_timezones_give_the_same_instant() -> None:
    feed = Feed(url="https://d.example/rss")
    wib = NOW.astimezone(timezone(timedelta(hours=7)))
    assert schedule.next_check_after_success(
        feed, wib, retry_after=None
    ) == schedule.next_check_after_success(feed, NOW, retry_after=None)


def test_backoff_grows_is_capped_and_deterministic() -> None:
    url = "https://e.example/rss"
    delays = [schedule.backoff_delay(url, n, 900) for n in range(1, 12)]
    assert delays == [schedule.backoff_delay(url, n, 900) for n in range(1, 12)]
    assert delays[0] <= 900
    assert delays[0] > 900 * (1 - schedule.BACKOFF_JITTER)
    assert delays[3] > delays[1] > delays[0]
    assert all(d <= schedule.BACKOFF_CAP_S for d in delays)
    assert delays[-1] > schedule.BACKOFF_CAP_S * (1 - schedule.BACKOFF_JITTER)
    # Two feeds failing together do not retry at the same instant.
    assert schedule.backoff_delay("https://f.example/rss", 3, 900) != delays[2]
    # Huge failure counts do not overflow.
    assert schedule.backoff_delay(url, 10_000, 900) <= schedule.BACKOFF_CAP_S


def test_after_failure_counts_backs_off_and_describes() -> None:
    feed = Feed(url="https://g.example/rss?token=SECRET", interval_s=900)
    schedule.after_failure(feed, NOW, FetchTimeout("no complete response within 20 s"))
    assert feed.failures == 1
    assert feed.last_error == "timed out: no complete response within 20 s"
    assert feed.last_checked_at == NOW
    assert feed.next_check_at is not None
    first_wait = feed.next_check_at - NOW
    schedule.after_failure(feed, NOW, FetchTimeout("again"))
    assert feed.next_check_at - NOW > first_wait
    assert feed.disabled_reason is None


def test_after_failure_honours_retry_after() -> None:
    feed = Feed(url="https://h.example/rss", interval_s=900)
    err = HTTPStatusError("HTTP 429 Too Many Requests", status=429, retry_after=5 * 3600)
    schedule.after_failure(feed, NOW, err)
    assert feed.next_check_at is not None
    assert feed.next_check_at - NOW >= timedelta(hours=5)
    assert feed.last_error == "HTTP 429 Too Many Requests"
    assert feed.disabled_reason is None


def test_410_disables_at_once() -> None:
    feed = Feed(url="https://i.example/rss")
    schedule.after_failure(feed, NOW, HTTPStatusError("HTTP 410 Gone", status=410))
    assert feed.failures == 1
    assert feed.disabled_reason is not None
    assert "HTTP 410 Gone" in feed.disabled_reason


def test_disabled_after_max_consecutive_failures() -> None:
    feed = Feed(url="https://j.example/rss")
    for i in range(9):
        schedule.after_failure(feed, NOW, HTTPStatusError("HTTP 404 Not Found", status=404))
        assert feed.disabled_reason is None, i
    schedule.after_failure(feed, NOW, HTTPStatusError("HTTP 404 Not Found", status=404))
    assert feed.failures == 10
    assert feed.disabled_reason == "disabled after 10 consecutive failures: HTTP 404 Not Found"
    small = Feed(url="https://k.example/rss")
    schedule.after_failure(small, NOW, ParseError("no entries"), max_failures=1)
    assert (
        small.disabled_reason
        == "disabled after 1 consecutive failures: not a usable feed: no entries"
    )


def test_last_error_is_one_short_line() -> None:
    feed = Feed(url="https://l.example/rss")
    schedule.after_failure(feed, NOW, FeedError("x\n" * 500))
    assert feed.last_error is not None
    assert "\n" not in feed.last_error
    assert len(feed.last_error) <= schedule.MAX_ERROR_CHARS


def test_after_success_resets_and_keeps_validators() -> None:
    feed = Feed(url="https://m.example/rss", failures=4, last_error="boom", etag='"old"')
    ok = FetchResult(
        url=feed.url, final_url=feed.url, status=200, body=b"x", etag='"v2"',
        last_modified="Sun, 01 Mar 2026 11:00:00 GMT", retry_after=7200,
    )  # fmt: skip
    schedule.after_success(feed, NOW, result=ok)
    assert feed.failures == 0
    assert feed.last_error is None
    assert feed.last_ok_at == NOW
    assert feed.etag == '"v2"'
    assert feed.last_modified == "Sun, 01 Mar 2026 11:00:00 GMT"
    assert feed.next_check_at is not None
    assert feed.next_check_at - NOW >= timedelta(hours=2)  # max-age from the result
    # A 304 without validators keeps the ones we have.
    later = NOW + timedelta(hours=3)
    schedule.after_success(feed, later, result=FetchResult(feed.url, feed.url, 304))
    assert feed.etag == '"v2"'
    assert feed.last_modified == "Sun, 01 Mar 2026 11:00:00 GMT"
    assert feed.next_check_at is not None
    assert feed.next_check_at - later <= timedelta(seconds=900)
