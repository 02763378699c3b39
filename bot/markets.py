"""Market hours from exchange_calendars: sessions, lunch breaks, holidays, closes.

Each market keeps its own trading dates; a Shanghai session and a New York session that
overlap in UTC are still different dates. Schedules are read once into plain lists and
searched with bisect, so the hot path never touches pandas. exchange_calendars' data ends
on a fixed date (Shanghai: 2026-12-31); past it `CalendarStale` is raised and shown in
/status rather than guessing.
"""

from __future__ import annotations

import bisect
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals


class CalendarStale(RuntimeError):
    """The calendar's data does not reach the asked date."""


@dataclass(frozen=True, slots=True)
class Session:
    day: date
    open: datetime
    close: datetime
    break_start: datetime | None = None
    break_end: datetime | None = None

    def is_trading(self, at: datetime) -> bool:
        if not (self.open <= at < self.close):
            return False
        return not (self.break_start and self.break_end and self.break_start <= at < self.break_end)


def _utc(ts: object) -> datetime | None:
    if ts is None or str(ts) == "NaT":
        return None
    return ts.to_pydatetime().astimezone(UTC)  # type: ignore[attr-defined, no-any-return]


class Market:
    """One exchange's sessions between the calendar's first and last dates."""

    def __init__(self, code: str, start: str = "2019-01-01") -> None:
        with warnings.catch_warnings():
            # exchange_calendars trips pandas deprecations of its own; not ours to fix.
            warnings.simplefilter("ignore")
            cal = xcals.get_calendar(code, start=start)
        self.code = code
        self.tz = ZoneInfo(str(cal.tz))
        sched = cal.schedule
        has_breaks = "break_start" in sched.columns
        self.sessions: list[Session] = []
        for label, row in sched.iterrows():
            open_, close = _utc(row["open"]), _utc(row["close"])
            assert open_ is not None
            assert close is not None
            self.sessions.append(
                Session(
                    day=label.date(),
                    open=open_,
                    close=close,
                    break_start=_utc(row["break_start"]) if has_breaks else None,
                    break_end=_utc(row["break_end"]) if has_breaks else None,
                )
            )
        self._days = [s.day for s in self.sessions]
        self._opens = [s.open for s in self.sessions]
        self.last_day = self._days[-1]

    def _check(self, at: datetime) -> None:
        if at.astimezone(self.tz).date() > self.last_day:
            raise CalendarStale(f"{self.code} calendar data ends {self.last_day.isoformat()}")

    def session_at(self, at: datetime) -> Session | None:
        """The session whose open..close contains `at` (lunch included), if any."""
        self._check(at)
        i = bisect.bisect_right(self._opens, at) - 1
        if i >= 0 and at < self.sessions[i].close:
            return self.sessions[i]
        return None

    def is_trading(self, at: datetime) -> bool:
        session = self.session_at(at)
        return session is not None and session.is_trading(at)

    def session_on(self, day: date) -> Session | None:
        i = bisect.bisect_left(self._days, day)
        if i < len(self._days) and self._days[i] == day:
            return self.sessions[i]
        return None

    def is_session(self, day: date) -> bool:
        return self.session_on(day) is not None

    def next_session(self, at: datetime) -> Session | None:
        """The first session that opens at or after `at`."""
        i = bisect.bisect_left(self._opens, at)
        return self.sessions[i] if i < len(self.sessions) else None

    def last_session_before(self, at: datetime) -> Session | None:
        """The latest session that has closed by `at`."""
        i = bisect.bisect_right(self._opens, at) - 1
        while i >= 0 and self.sessions[i].close > at:
            i -= 1
        return self.sessions[i] if i >= 0 else None

    def next_change(self, at: datetime) -> datetime | None:
        """The next open, break edge or close after `at`: when polling should wake."""
        session = self.session_at(at)
        if session is not None:
            edges = [session.break_start, session.break_end, session.close]
            later = [e for e in edges if e is not None and e > at]
            if later:
                return min(later)
        nxt = self.next_session(at + timedelta(microseconds=1))
        return nxt.open if nxt else None

    def sessions_between(self, first: date, last: date) -> list[Session]:
        lo = bisect.bisect_left(self._days, first)
        hi = bisect.bisect_right(self._days, last)
        return self.sessions[lo:hi]


@cache
def market(code: str) -> Market:
    """Markets are expensive to build (pandas); build each once per process."""
    return Market(code)
