"""parse_date: RFC 822/3339, parser struct_time, Indonesian and English human dates, range."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.feeds.dates import parse_date

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # what the parsers hand over
        ("Mon, 12 May 2025 10:00:00 +0000", utc(2025, 5, 12, 10)),
        ("Mon, 12 May 2025 10:00:00 GMT", utc(2025, 5, 12, 10)),
        ("Mon, 12 May 2025 10:00:00 +0700", utc(2025, 5, 12, 3)),
        ("Mon, 12 May 2025 10:00:00 EST", utc(2025, 5, 12, 15)),
        ("12 May 2025 10:00 -0000", utc(2025, 5, 12, 10)),
        ("2025-05-12T10:00:00Z", utc(2025, 5, 12, 10)),
        ("2025-05-12T10:00:00+07:00", utc(2025, 5, 12, 3)),
        ("2025-05-12 10:00:00", utc(2025, 5, 12, 10)),
        ("2025-05-12", utc(2025, 5, 12)),
        # Indonesian, as outlets write them (no zone = WIB)
        ("Senin, 12 Mei 2025 10:00 WIB", utc(2025, 5, 12, 3)),
        ("Senin, 12 Mei 2025 10.00 WIB", utc(2025, 5, 12, 3)),
        ("12 Mei 2025", utc(2025, 5, 11, 17)),
        ("Selasa, 3 Des 2024 | 14:05 WITA", utc(2024, 12, 3, 6, 5)),
        ("Rabu, 7 Agt 2024 10.00 WIT", utc(2024, 8, 7, 1)),
        ("7 Agu 2024 10:00 WIB", utc(2024, 8, 7, 3)),
        ("7 Ags 2024 10:00 WIB", utc(2024, 8, 7, 3)),
        ("Jumat, 04 Oktober 2024 pukul 21:30 WIB", utc(2024, 10, 4, 14, 30)),
        ("12 Okt 2024 - 09:15 WIB", utc(2024, 10, 12, 2, 15)),
        ("Kamis, 2 Januari 2025 08:00:30 WIB", utc(2025, 1, 2, 1, 0, 30)),
        ("Sabtu, 1 Februari 2025", utc(2025, 1, 31, 17)),
        ("1 Pebruari 2025 00:00 WIB", utc(2025, 1, 31, 17)),
        ("Minggu, 16 Maret 2025 07:00 WIB", utc(2025, 3, 16)),
        ("20 Juni 2024 12:00 WIB", utc(2024, 6, 20, 5)),
        ("20 Juli 2024 12:00 WIB", utc(2024, 7, 20, 5)),
        ("5 Sept 2024 12:00 WIB", utc(2024, 9, 5, 5)),
        ("5 Nop 2024 12:00 WIB", utc(2024, 11, 5, 5)),
        ("Senin, 12 Apr 2025 10:00 WIB", utc(2025, 4, 12, 3)),
        ("12/05/2025, 10.00 WIB", utc(2025, 5, 12, 3)),
        ("12-05-2025 10:00", utc(2025, 5, 12, 3)),
        ("Senin, 12 Mei 2025 10:00 GMT+7", utc(2025, 5, 12, 3)),
        ("12 Mei 2025 10:00 +0800", utc(2025, 5, 12, 2)),
        # English human dates
        ("May 12, 2025 3:04 pm", utc(2025, 5, 12, 8, 4)),
        ("12th May 2025 10:00 UTC", utc(2025, 5, 12, 10)),
    ],
)
def test_parses(raw: str, expected: datetime) -> None:
    assert parse_date(raw, now=NOW) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "garbage",
        "kemarin",
        "2024-13-45",
        "31 Feb 2024",
        "Kamis, 1 Januari 1970 10:00 WIB",  # before 1990
        "1989-12-31T23:59:59Z",
        "2025-06-04T00:00:00Z",  # more than 2 days after NOW
        "Mon, 01 Jan 2099 00:00:00 GMT",
        "12 Mei 2025 25:99 WIB",
    ],
)
def test_unknown_or_out_of_range(raw: str) -> None:
    assert parse_date(raw, now=NOW) is None


def test_none() -> None:
    assert parse_date(None) is None


def test_struct_time_is_utc() -> None:
    assert parse_date(time.gmtime(1_700_000_000)) == utc(2023, 11, 14, 22, 13, 20)


def test_struct_time_out_of_range() -> None:
    assert parse_date(time.gmtime(0)) is None


def test_small_future_allowed() -> None:
    assert parse_date("2025-06-02T12:00:00Z", now=NOW) == utc(2025, 6, 2, 12)


def test_result_is_aware_utc() -> None:
    dt = parse_date("Senin, 12 Mei 2025 10:00 WIB", now=NOW)
    assert dt is not None
    assert dt.utcoffset() is not None
    assert dt.tzinfo == UTC
