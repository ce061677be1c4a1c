"""Feed dates -> timezone-aware UTC datetimes, or None when unknown or implausible.

The parsers already turn RFC 822 / RFC 3339 dates into UTC ``struct_time``. What they miss is
mostly Indonesian outlets writing dates for people ("Senin, 12 Mei 2025 10:00 WIB",
"Selasa, 3 Des 2024 | 14:05 WITA", "12/05/2025, 10.00 WIB"); no date library knows the
Indonesian month abbreviations and zone names together, hence the small parser here.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

__all__ = ["MAX_FUTURE", "MIN_DATE", "in_range", "parse_date"]

MIN_DATE = datetime(1990, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=2)

_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        "januari jan january",
        "februari feb pebruari peb february",
        "maret mar march",
        "april apr",
        "mei may",
        "juni jun june",
        "juli jul july",
        "agustus agu agt ags agust aug august",
        "september sep sept",
        "oktober okt oct october",
        "november nov nop nopember",
        "desember des dec december",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _num

_ZONES: dict[str, int] = {  # offset in minutes
    "wib": 7 * 60,
    "wita": 8 * 60,
    "wit": 9 * 60,
    "utc": 0,
    "gmt": 0,
    "z": 0,
}

_RFC822_SHAPE = re.compile(
    r"(?:[A-Za-z]+,?\s*)?\d{1,2}\s+[A-Za-z]+\.?\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s+\S+)?\s*$"
)

_DEFAULT_OFFSET = 7 * 60  # a zone-less Indonesian date is read as Jakarta time (WIB)

_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*[-/ ]?\s*(?P<m>{_MONTH_ALT})\.?"
    rf"\s*[-/ ,]?\s*(?P<y>\d{{4}})\b"
)
_MONTH_DAY_YEAR = re.compile(
    rf"\b(?P<m>{_MONTH_ALT})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b"
)
# Numeric dates in Indonesia are day-first.
_NUMERIC = re.compile(r"\b(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})\b")
_ISO_DAY = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_TIME = re.compile(
    r"(?<![\d/.-])(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?(?![\d/])",
)
_ZONE = re.compile(
    r"(?:\b(?P<name>wita|wib|wit|utc|gmt)\b|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})\b)"
    r"(?:\s*(?P<sign2>[+-])(?P<oh2>\d{1,2}):?(?P<om2>\d{2})?)?"
)


def in_range(dt: datetime, *, now: datetime | None = None) -> bool:
    """True when ``dt`` is a plausible publication time (1990 .. now + 2 days)."""
    current = now or datetime.now(UTC)
    return MIN_DATE <= dt <= current + MAX_FUTURE


def parse_date(
    value: str | time.struct_time | None, *, now: datetime | None = None
) -> datetime | None:
    """A feed date -> aware UTC datetime, or None when missing, unparsable or out of range.

    Accepts the parsers' ``*_parsed`` struct_time (already UTC), RFC 822, ISO 8601 / RFC 3339
    and Indonesian or English human-written dates. Never raises.
    """
    if value is None:
        return None
    dt = _from_struct(value) if isinstance(value, time.struct_time) else _from_text(value)
    if dt is None or not in_range(dt, now=now):
        return None
    return dt


def _from_struct(st: time.struct_time) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(st), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _from_text(raw: str) -> datetime | None:
    text = raw.strip()[:200]
    if not text:
        return None
    dt = _iso(text)
    if dt is None:
        dt = _rfc822(text)
        # email.utils drops zones it does not know (WIB, WITA) and returns a naive time; the
        # human parser knows them, so it gets the first say for those.
        if dt is None or dt.tzinfo is None:
            dt = _human(text) or dt
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _rfc822(text: str) -> datetime | None:
    # email.utils is lenient enough to misread "May 12, 2025 3:04 pm"; only give it RFC shapes.
    if _RFC822_SHAPE.match(text) is None:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _iso(text: str) -> datetime | None:
    if len(text) < 10 or not text[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _human(text: str) -> datetime | None:
    low = text.lower()
    day_match = (
        _DAY_MONTH_YEAR.search(low)
        or _MONTH_DAY_YEAR.search(low)
        or _ISO_DAY.search(low)
        or _NUMERIC.search(low)
    )
    if day_match is None:
        return None
    month_raw = day_match.group("m")
    month = int(month_raw) if month_raw.isdigit() else _MONTHS[month_raw]
    hour = minute = second = 0
    rest = low[: day_match.start()] + " " + low[day_match.end() :]
    time_match = _TIME.search(rest)
    if time_match is not None:
        hour = int(time_match.group("h"))
        minute = int(time_match.group("mi"))
        second = int(time_match.group("s") or 0)
        ampm = time_match.group("ampm")
        if ampm:
            if hour > 12:
                return None
            hour = hour % 12 + (12 if ampm.startswith("p") else 0)
        rest = rest[: time_match.start()] + " " + rest[time_match.end() :]
    offset = _zone_offset(rest)
    try:
        return datetime(
            int(day_match.group("y")),
            month,
            int(day_match.group("d")),
            hour,
            minute,
            second,
            tzinfo=timezone(timedelta(minutes=offset)),
        )
    except ValueError:
        return None


def _zone_offset(rest: str) -> int:
    match = _ZONE.search(rest)
    if match is None:
        return _DEFAULT_OFFSET
    if match.group("name"):
        offset = _ZONES[match.group("name")]
    else:
        offset = int(match.group("oh")) * 60 + int(match.group("om"))
        if match.group("sign") == "-":
            offset = -offset
    if match.group("sign2"):  # "GMT+7", "UTC+07:00"
        extra = int(match.group("oh2")) * 60 + int(match.group("om2") or 0)
        offset += -extra if match.group("sign2") == "-" else extra
    if abs(offset) >= 24 * 60:
        return _DEFAULT_OFFSET
    return offset
