"""Subscription schedules: the user's text ("daily 08:00", "setiap 6j", "mingguan senin 09:00",
"instant") parsed into a :class:`Schedule` whose next fire time comes from APScheduler 3.x
triggers in the subscription's own time zone.

APScheduler's CronTrigger works on wall-clock fields in a zoneinfo zone, so "daily 08:00" stays
08:00 local across DST changes (a time that does not exist on the spring-forward day fires one
gap later; a time that happens twice on the fall-back day fires once). IntervalTrigger counts
real elapsed seconds, so "every 6h" is six real hours even across a DST change. Interval
schedules are anchored at local midnight of a fixed day so "every 6h" fires at 00/06/12/18 local,
the same times every day, whichever worker computes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.errors import CommandError
from bot.models import ScheduleKind

DEFAULT_TZ = "Asia/Jakarta"
MIN_INTERVAL = timedelta(minutes=15)
MAX_INTERVAL = timedelta(days=7)
EXAMPLES = "daily 08:00 · every 6h · weekly mon 09:00 · instant"
EXAMPLES_ID = "harian 08:00 · setiap 6j · mingguan senin 09:00 · langsung"

_DAILY = frozenset({"daily", "harian", "tiaphari", "setiaphari"})
_EVERY = frozenset({"every", "setiap", "tiap", "each"})
_WEEKLY = frozenset({"weekly", "mingguan"})
_INSTANT = frozenset({"instant", "instantly", "langsung", "segera", "instan"})
HEAD_WORDS: frozenset[str] = _DAILY | _EVERY | _WEEKLY | _INSTANT
"""Words that can only start a schedule; a command parser that meets one must parse a schedule
(and report a schedule error) rather than take the word for a keyword."""

_DAYS: dict[str, int] = {}
for _i, _names in enumerate(
    (
        ("mon", "monday", "sen", "senin"),
        ("tue", "tues", "tuesday", "sel", "selasa"),
        ("wed", "wednesday", "rab", "rabu"),
        ("thu", "thur", "thurs", "thursday", "kam", "kamis"),
        ("fri", "friday", "jum", "jumat", "jum'at", "jumaat"),
        ("sat", "saturday", "sab", "sabtu"),
        ("sun", "sunday", "min", "minggu", "ahad"),
    )
):
    for _n in _names:
        _DAYS[_n] = _i
DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
}

# Indonesian writes times as 08.00 as often as 08:00; "jam 8" and "pukul 8" are also common.
_TIME_RE = re.compile(r"^(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?$")
_TIME_PREFIX = frozenset({"at", "jam", "pukul", "pkl", "pkl."})
_DURATION_RE = re.compile(r"^(?P<n>\d{1,4})\s*(?P<u>[a-z]+)?$")
_UNITS: dict[str, int] = {}
for _secs, _words in (
    (60, ("m", "min", "mins", "minute", "minutes", "mnt", "menit")),
    (3600, ("h", "hr", "hrs", "hour", "hours", "j", "jam")),
    (86400, ("d", "day", "days", "hari")),
):
    for _w in _words:
        _UNITS[_w] = _secs
# Any fixed past date works as the anchor; a Monday keeps "every 7d" on Mondays.
_ANCHOR = datetime(2024, 1, 1)  # noqa: DTZ001 - made aware in the schedule's zone below

# Indonesian time-zone abbreviations people actually type.
_TZ_ALIASES = {
    "wib": "Asia/Jakarta",
    "wita": "Asia/Makassar",
    "wit": "Asia/Jayapura",
    "utc": "UTC",
    "gmt": "UTC",
}


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def validate_tz(name: str) -> str:
    """The canonical IANA name for ``name`` ("asia/makassar", "WITA" -> "Asia/Makassar").

    Raises CommandError("bad_timezone") for anything zoneinfo does not know.
    """
    text = name.strip()
    alias = _TZ_ALIASES.get(text.casefold())
    if alias:
        return alias
    canonical = _zones_by_folded_name().get(text.casefold(), text)
    try:
        ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise CommandError("bad_timezone", f"unknown time zone {name!r}", tz=name[:64]) from e
    return canonical


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed subscription schedule. ``weekday`` is 0 for Monday."""

    kind: ScheduleKind
    tz: str = DEFAULT_TZ
    hour: int = 0
    minute: int = 0
    weekday: int | None = None
    interval: timedelta | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def canonical(self) -> str:
        """The schedule as stored text, in the English form, which :func:`parse_schedule`
        reads back to an equal Schedule."""
        if self.kind is ScheduleKind.INSTANT:
            return "instant"
        if self.kind is ScheduleKind.EVERY:
            assert self.interval is not None
            return f"every {_format_interval(self.interval)}"
        hhmm = f"{self.hour:02d}:{self.minute:02d}"
        if self.kind is ScheduleKind.WEEKLY:
            assert self.weekday is not None
            return f"weekly {DAY_CODES[self.weekday]} {hhmm}"
        return f"daily {hhmm}"

    def describe(self, lang: str) -> str:
        """Human text in ``lang`` ("id"/"en"): "setiap hari 08:00", "every 6h"."""
        hhmm = f"{self.hour:02d}:{self.minute:02d}"
        indo = lang == "id"
        if self.kind is ScheduleKind.INSTANT:
            return "langsung (setiap berita baru)" if indo else "instant (every new story)"
        if self.kind is ScheduleKind.EVERY:
            assert self.interval is not None
            every = _format_interval(self.interval)
            if not indo:
                return f"every {every}"
            unit = "jam" if every.endswith("h") else "menit"
            return f"setiap {every[:-1]} {unit}"
        if self.kind is ScheduleKind.WEEKLY:
            assert self.weekday is not None
            day = _DAY_NAMES["id" if indo else "en"][self.weekday]
            return f"setiap {day} {hhmm}" if indo else f"every {day} at {hhmm}"
        return f"setiap hari {hhmm}" if indo else f"daily at {hhmm}"

    @property
    def lookback(self) -> timedelta:
        """How far back the first digest of a new subscription reaches."""
        if self.kind is ScheduleKind.WEEKLY:
            return timedelta(days=7)
        if self.kind is ScheduleKind.EVERY and self.interval is not None:
            return self.interval
        return timedelta(hours=24)

    def trigger(self) -> BaseTrigger | None:
        """The APScheduler trigger for this schedule; None for instant delivery."""
        zone = self.zone
        if self.kind is ScheduleKind.INSTANT:
            return None
        if self.kind is ScheduleKind.EVERY:
            assert self.interval is not None
            return IntervalTrigger(
                seconds=int(self.interval.total_seconds()),
                start_date=_ANCHOR.replace(tzinfo=zone),
                timezone=zone,
            )
        if self.kind is ScheduleKind.WEEKLY:
            assert self.weekday is not None
            return CronTrigger(
                day_of_week=DAY_CODES[self.weekday],
                hour=self.hour,
                minute=self.minute,
                timezone=zone,
            )
        return CronTrigger(hour=self.hour, minute=self.minute, timezone=zone)

    def next_after(self, now: datetime) -> datetime | None:
        """The first fire time strictly after ``now`` (aware), in UTC; None for instant."""
        if now.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        trig = self.trigger()
        if trig is None:
            return None
        # Both triggers return ``now`` itself when it falls exactly on a fire time; a run that
        # just happened must not be scheduled again, so ask from one microsecond later (in UTC:
        # aware arithmetic in a DST zone is wall-clock arithmetic and would drop ``fold``).
        now = now.astimezone(UTC)
        fire: datetime | None = trig.get_next_fire_time(None, now + timedelta(microseconds=1))
        if fire is not None and isinstance(trig, CronTrigger):
            fire = self._skip_repeated_wall_time(trig, fire, now)
        return None if fire is None else fire.astimezone(UTC)

    def _skip_repeated_wall_time(
        self, trig: CronTrigger, fire: datetime, now: datetime
    ) -> datetime | None:
        # On the fall-back day a wall time such as 02:30 happens twice (fold 0, then fold 1);
        # CronTrigger offers both. "daily 02:30" means once a day, so the repeat is skipped
        # when the first occurrence is already past.
        local = fire.astimezone(self.zone)
        if local.fold == 1:
            first = local.replace(fold=0)
            if first.utcoffset() != local.utcoffset() and first.astimezone(UTC) <= now:
                nxt: datetime | None = trig.get_next_fire_time(
                    None, fire.astimezone(UTC) + timedelta(microseconds=1)
                )
                return nxt
        return fire


def _format_interval(interval: timedelta) -> str:
    minutes = int(interval.total_seconds()) // 60
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _bad(text: str) -> CommandError:
    return CommandError(
        "bad_schedule",
        f"cannot read schedule {text!r}; examples: {EXAMPLES}",
        text=text[:80],
    )


def _parse_time(tokens: Sequence[str], i: int) -> tuple[int, int, int] | None:
    """(hour, minute, tokens used) for a time at ``tokens[i]``, optionally after "jam"/"at"."""
    used = 0
    if i < len(tokens) and tokens[i] in _TIME_PREFIX:
        i += 1
        used = 1
    if i >= len(tokens):
        return None
    m = _TIME_RE.match(tokens[i])
    if not m:
        return None
    hour, minute = int(m["h"]), int(m["m"] or 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute, used + 1


def _parse_duration(tokens: Sequence[str], i: int) -> tuple[timedelta, int] | None:
    """A duration at ``tokens[i]``: "6h", "30m", "6j", "6 jam", "30 menit"."""
    if i >= len(tokens):
        return None
    m = _DURATION_RE.match(tokens[i])
    if not m:
        return None
    used = 1
    unit = m["u"]
    if unit is None:
        if i + 1 >= len(tokens) or tokens[i + 1] not in _UNITS:
            return None
        unit = tokens[i + 1]
        used = 2
    secs = _UNITS.get(unit)
    if secs is None:
        return None
    return timedelta(seconds=int(m["n"]) * secs), used


def parse_schedule_prefix(
    tokens: Sequence[str], tz: str = DEFAULT_TZ
) -> tuple[Schedule, int] | None:
    """Read a schedule from the start of ``tokens`` (already lowercased words).

    Returns the schedule and how many tokens it used, or None when ``tokens`` does not start
    with a schedule word. Raises CommandError("bad_schedule") when it starts with one but the
    rest is wrong ("daily 25:00", "every 5m").
    """
    if not tokens:
        return None
    head = tokens[0]
    text = " ".join(tokens[:4])
    if head in ("setiap", "tiap") and len(tokens) > 1 and tokens[1] == "hari":
        head, start = "harian", 2  # "setiap hari 08:00"
    elif head in ("every",) and len(tokens) > 1 and tokens[1] == "day":
        head, start = "daily", 2  # "every day 08:00"
    else:
        start = 1
    if head not in HEAD_WORDS:
        return None
    tz = validate_tz(tz)
    if head in _INSTANT:
        return Schedule(ScheduleKind.INSTANT, tz), 1
    if head in _DAILY:
        t = _parse_time(tokens, start)
        if t is None:
            raise _bad(text)
        return Schedule(ScheduleKind.DAILY, tz, hour=t[0], minute=t[1]), start + t[2]
    if head in _WEEKLY:
        if start >= len(tokens) or tokens[start] not in _DAYS:
            raise _bad(text)
        t = _parse_time(tokens, start + 1)
        if t is None:
            raise _bad(text)
        sched = Schedule(
            ScheduleKind.WEEKLY, tz, hour=t[0], minute=t[1], weekday=_DAYS[tokens[start]]
        )
        return sched, start + 1 + t[2]
    d = _parse_duration(tokens, start)
    if d is None or not MIN_INTERVAL <= d[0] <= MAX_INTERVAL:
        raise _bad(text)
    if d[0].total_seconds() % 60:
        raise _bad(text)
    return Schedule(ScheduleKind.EVERY, tz, interval=d[0]), start + d[1]


def tokenize(text: str) -> list[str]:
    return text.strip().lower().split()


def parse_schedule(text: str, tz: str = DEFAULT_TZ) -> Schedule:
    """Parse a whole schedule text. Raises CommandError("bad_schedule") with examples, or
    CommandError("bad_timezone")."""
    tokens = tokenize(text)
    parsed = parse_schedule_prefix(tokens, tz)
    if parsed is None or parsed[1] != len(tokens):
        raise _bad(text)
    return parsed[0]
