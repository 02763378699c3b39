"""Quiet hours as pure arithmetic: the spec a chat types, and the window that holds now.

A spec is a wall-clock span in the chat's own time zone (``22:00-07:00``), the days it
applies (``daily`` or ``weekdays``: a window belongs to the day it *starts* on, so
``weekdays`` quiets Friday night into Saturday morning but not Saturday night) and the
severity that still goes through at once (``urgent=critical|warning|none``).

Windows are computed on the wall clock of the chat's zone, then converted to UTC, so a
night that spans a daylight-saving change is 8 or 10 hours long, as the clock on the
chat's wall says. A start or end that falls in the hour skipped by a spring-forward
change is taken as the first real instant after it (02:30 → 03:00 in New York).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.cmdref import ref
from bot.fmt import excerpt

Urgent = Literal["critical", "warning", "none"]
URGENT_LEVELS: tuple[Urgent, ...] = ("critical", "warning", "none")
DAYS = {"daily": frozenset(range(7)), "weekdays": frozenset(range(5))}
_SPAN = re.compile(r"^([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})$")
USAGE = (
    f"usage: {ref('quiet 22:00-07:00 [daily|weekdays] [urgent=critical|warning|none]')} "
    f"| {ref('quiet off')}"
)


class QuietSpecError(ValueError):
    """Not a quiet-hours spec; the message is the one-line reply."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time
    days: str = "daily"  # a key of DAYS
    urgent: Urgent = "critical"

    def describe(self) -> str:
        breaks = {
            "critical": "critical alerts still go through",
            "warning": "warnings and critical alerts still go through",
            "none": "everything waits",
        }[self.urgent]
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.days}; {breaks}"

    def to_json(self) -> dict[str, Any]:
        return {
            "start": f"{self.start:%H:%M}",
            "end": f"{self.end:%H:%M}",
            "days": self.days,
            "urgent": self.urgent,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> QuietHours:
        return parse_quiet(
            [f"{d['start']}-{d['end']}", str(d.get("days", "daily")), f"urgent={d['urgent']}"]
        )


def parse_quiet(words: list[str]) -> QuietHours:
    """`22:00-07:00 [daily|weekdays] [urgent=LEVEL]` -> QuietHours; QuietSpecError if bad."""
    if not words or len(words) > 3:
        raise QuietSpecError(USAGE)
    match = _SPAN.match(words[0])
    if match is None:
        raise QuietSpecError(f"{excerpt(words[0])} is not a span like 22:00-07:00; {USAGE}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise QuietSpecError(f"{excerpt(words[0])}: hours 00-23, minutes 00-59")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise QuietSpecError("quiet hours must start and end at different times")
    days, urgent = "daily", "critical"
    seen: set[str] = set()
    for word in words[1:]:
        low = word.lower()
        kind = "urgent" if low.startswith("urgent=") else "days"
        if kind in seen:
            raise QuietSpecError(f"{kind} given twice; {USAGE}")
        seen.add(kind)
        if kind == "urgent":
            urgent = low.removeprefix("urgent=")
            if urgent not in URGENT_LEVELS:
                raise QuietSpecError(f"urgent= takes critical, warning or none; {USAGE}")
        elif low in DAYS:
            days = low
        else:
            raise QuietSpecError(f"{excerpt(word)} is not daily or weekdays; {USAGE}")
    return QuietHours(start, end, days, urgent)  # type: ignore[arg-type]


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time; a skipped wall time moves to the gap's end."""
    local = datetime.combine(day, wall, zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return _gap_end(local, zone)  # a spring-forward gap: this wall time never happens
    return utc


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after a skipped wall-clock time (the change itself)."""
    before = local.replace(fold=0).astimezone(UTC)  # with the earlier (winter) offset
    after = local.replace(fold=1).astimezone(UTC)  # with the later offset
    lo, hi = min(before, after), max(before, after)
    # The transition lies between the two readings; find it to the minute.
    while hi - lo > timedelta(minutes=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == lo.astimezone(zone).utcoffset():
            lo = mid
        else:
            hi = mid
    return hi.replace(second=0, microsecond=0)


def window_on(q: QuietHours, day: date, tz: str) -> tuple[datetime, datetime]:
    """The quiet window that starts on local `day` (UTC instants), whatever its days."""
    zone = ZoneInfo(tz)
    end_day = day if q.end > q.start else day + timedelta(days=1)
    return _instant(day, q.start, zone), _instant(end_day, q.end, zone)


def quiet_window(q: QuietHours, now: datetime, tz: str) -> tuple[datetime, datetime] | None:
    """The window (start, end) in UTC that `now` falls in, or None when it is not quiet."""
    local_day = now.astimezone(ZoneInfo(tz)).date()
    for day in (local_day - timedelta(days=1), local_day):
        if day.weekday() not in DAYS[q.days]:
            continue
        start, end = window_on(q, day, tz)
        if start <= now < end:
            return start, end
    return None


SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def goes_through(q: QuietHours, severity: str) -> bool:
    """Does an alert of this severity break through these quiet hours?"""
    if q.urgent == "none":
        return False
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[q.urgent]
