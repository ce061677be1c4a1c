"""Subscription schedules: every accepted form in both languages, next fire times across
midnight, week ends and DST changes, and the errors users get for bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest_schedule import Schedule, parse_schedule, parse_schedule_prefix, validate_tz
from bot.errors import CommandError
from bot.models import ScheduleKind

JKT = ZoneInfo("Asia/Jakarta")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("daily 08:00", "daily 08:00"),
        ("Daily 8:05", "daily 08:05"),
        ("harian 08.00", "daily 08:00"),
        ("setiap hari jam 7", "daily 07:00"),
        ("every day at 21:30", "daily 21:30"),
        ("every 6h", "every 6h"),
        ("every 30m", "every 30m"),
        ("every 90 minutes", "every 90m"),
        ("setiap 6j", "every 6h"),
        ("tiap 6 jam", "every 6h"),
        ("tiap 15 menit", "every 15m"),
        ("every 1d", "every 24h"),
        ("weekly mon 09:00", "weekly mon 09:00"),
        ("weekly Sunday 18:00", "weekly sun 18:00"),
        ("mingguan senin 09:00", "weekly mon 09:00"),
        ("mingguan sel 09:00", "weekly tue 09:00"),
        ("mingguan rabu 09:00", "weekly wed 09:00"),
        ("mingguan kam 09:00", "weekly thu 09:00"),
        ("mingguan jumat 09:00", "weekly fri 09:00"),
        ("mingguan jum'at 09:00", "weekly fri 09:00"),
        ("mingguan sab 09:00", "weekly sat 09:00"),
        ("mingguan min 09:00", "weekly sun 09:00"),
        ("mingguan minggu pukul 20.15", "weekly sun 20:15"),
        ("instant", "instant"),
        ("langsung", "instant"),
    ],
)
def test_parse_forms_round_trip(text: str, canonical: str) -> None:
    sched = parse_schedule(text)
    assert sched.canonical() == canonical
    assert parse_schedule(canonical) == sched


@pytest.mark.parametrize(
    "text",
    [
        "",
        "daily",
        "daily 24:00",
        "daily 08:61",
        "harian jam",
        "every 10m",  # below the 15-minute minimum
        "every 14 menit",
        "every 8d",  # above a week
        "every 6x",
        "weekly 09:00",
        "weekly funday 09:00",
        "mingguan senin",
        "daily 08:00 extra",
        "sometimes",
    ],
)
def test_bad_schedules_raise_bad_schedule(text: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_schedule(text)
    assert info.value.key == "bad_schedule"
    assert "daily 08:00" in str(info.value)  # the log message carries examples too


def test_prefix_reports_tokens_used_and_ignores_non_schedule_words() -> None:
    parsed = parse_schedule_prefix(["setiap", "6", "jam", "+midjourney"])
    assert parsed is not None
    assert parsed[0].interval == timedelta(hours=6)
    assert parsed[1] == 3
    assert parse_schedule_prefix(["+midjourney"]) is None
    assert parse_schedule_prefix([]) is None


def test_daily_next_fire_crosses_midnight_in_jakarta() -> None:
    sched = parse_schedule("daily 08:00", "Asia/Jakarta")
    before = datetime(2026, 11, 24, 7, 59, tzinfo=JKT)
    assert sched.next_after(before) == datetime(2026, 11, 24, 8, 0, tzinfo=JKT)
    after = datetime(2026, 11, 24, 8, 0, tzinfo=JKT)  # exactly at a fire time: next day
    assert sched.next_after(after) == datetime(2026, 11, 25, 8, 0, tzinfo=JKT)
    late = datetime(2026, 11, 24, 23, 30, tzinfo=JKT)
    nxt = sched.next_after(late)
    assert nxt == datetime(2026, 11, 25, 8, 0, tzinfo=JKT)
    assert nxt is not None
    assert nxt.tzinfo == UTC


def test_weekly_next_fire_wraps_the_week() -> None:
    sched = parse_schedule("mingguan senin 09:00")
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=JKT)
    assert sched.next_after(sunday) == datetime(2026, 11, 30, 9, 0, tzinfo=JKT)
    monday_after = datetime(2026, 11, 30, 9, 0, 1, tzinfo=JKT)
    assert sched.next_after(monday_after) == datetime(2026, 12, 7, 9, 0, tzinfo=JKT)


def test_interval_is_anchored_at_local_midnight() -> None:
    sched = parse_schedule("every 6h", "Asia/Jakarta")
    now = datetime(2026, 11, 24, 13, 10, tzinfo=JKT)
    assert sched.next_after(now) == datetime(2026, 11, 24, 18, 0, tzinfo=JKT)
    now = datetime(2026, 11, 24, 18, 0, tzinfo=JKT)
    assert sched.next_after(now) == datetime(2026, 11, 25, 0, 0, tzinfo=JKT)


def test_daily_keeps_local_wall_time_across_dst_in_berlin() -> None:
    sched = parse_schedule("daily 08:00", "Europe/Berlin")
    # Spring forward on 2026-03-29: 08:00 local is 07:00 UTC before, 06:00 UTC after.
    first = sched.next_after(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert first is not None
    second = sched.next_after(first)
    assert first == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert second == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert second.astimezone(BERLIN).hour == 8
    # The day before the change was at 07:00 UTC.
    assert sched.next_after(datetime(2026, 3, 27, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 28, 7, 0, tzinfo=UTC
    )


def test_repeated_wall_time_on_fall_back_day_fires_once() -> None:
    sched = parse_schedule("daily 02:30", "Europe/Berlin")
    fires = []
    now = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    for _ in range(3):
        nxt = sched.next_after(now)
        assert nxt is not None
        fires.append(nxt)
        now = nxt
    assert [f.astimezone(BERLIN).date().day for f in fires] == [25, 26, 27]
    assert fires[0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first one


def test_missing_wall_time_on_spring_forward_still_fires_that_day() -> None:
    sched = parse_schedule("daily 02:30", "Europe/Berlin")
    nxt = sched.next_after(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert nxt is not None
    assert nxt.astimezone(BERLIN).date().day == 29


def test_interval_counts_real_hours_across_dst() -> None:
    sched = parse_schedule("every 6h", "Europe/Berlin")
    a = sched.next_after(datetime(2026, 3, 28, 22, 30, tzinfo=UTC))
    assert a is not None
    b = sched.next_after(a)
    assert b is not None
    assert b - a == timedelta(hours=6)


def test_instant_has_no_fire_time_and_naive_now_is_refused() -> None:
    assert parse_schedule("instant").next_after(datetime(2026, 1, 1, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="aware"):
        parse_schedule("daily 08:00").next_after(datetime(2026, 1, 1))  # noqa: DTZ001


def test_schedule_uses_its_timezone() -> None:
    wita = parse_schedule("daily 08:00", "Asia/Makassar")  # UTC+8
    now = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert wita.next_after(now) == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    wib = parse_schedule("daily 08:00", "Asia/Jakarta")  # UTC+7
    assert wib.next_after(now) == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Asia/Jakarta", "Asia/Jakarta"),
        ("asia/makassar", "Asia/Makassar"),
        ("WIB", "Asia/Jakarta"),
        ("wita", "Asia/Makassar"),
        ("WIT", "Asia/Jayapura"),
        ("UTC", "UTC"),
    ],
)
def test_validate_tz(name: str, canonical: str) -> None:
    assert validate_tz(name) == canonical


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "", "Asia/"])
def test_bad_timezone(name: str) -> None:
    with pytest.raises(CommandError) as info:
        validate_tz(name)
    assert info.value.key == "bad_timezone"
    with pytest.raises(CommandError):
        parse_schedule("daily 08:00", name)


def test_describe_in_both_languages() -> None:
    s = Schedule(ScheduleKind.WEEKLY, hour=9, minute=0, weekday=0)
    assert s.describe("id") == "setiap Senin 09:00"
    assert s.describe("en") == "every Monday at 09:00"
    assert parse_schedule("tiap 30 menit").describe("id") == "setiap 30 menit"
    assert parse_schedule("every 6h").describe("id") == "setiap 6 jam"
