"""Market hours: sessions, lunch breaks, holidays and closes, on a calendar with no cliff.

Each market keeps its own trading dates; a Shanghai session and a New York session that
overlap in UTC are still different dates. The sessions come from exchange_calendars,
extended past the library's data by the bot's closure table and the official schedule
(``bot.market.closures``), and corrected day by day by operators and by the provider (an
override: a day declared closed or open). Past every source's data, weekdays are assumed
open (``assumed``): the provider has the last word on each of them (``jobs.quotes``) and
operators are warned before that happens (``jobs.calendars``). Nothing here raises past a
date: a calendar that runs out is a warning, never silence.

Schedules are read once into plain lists and searched with bisect, so the hot path never
touches pandas.
"""

from __future__ import annotations

import bisect
import copy
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd
from exchange_calendars import calendar_utils
from exchange_calendars.precomputed_exchange_calendar import PrecomputedExchangeCalendar

from bot.config import REPO_ROOT
from bot.market.closures import (
    MAINLAND,
    Closure,
    Extension,
    extension_for,
    official_closures,
    seed_tables,
)

SEEDS_DIR = REPO_ROOT / "seeds"

START = date(2019, 1, 1)
YEARS_AHEAD = 2  # sessions are built this many years past the later of today and the data


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


@dataclass(frozen=True, slots=True)
class DayOverride:
    """A day declared open or closed against the calendar, and by whom."""

    day: date
    open: bool
    name: str
    source: str  # "operator" | "provider"
    by: str = ""

    def to_json(self) -> dict[str, object]:
        return {"open": self.open, "name": self.name, "source": self.source, "by": self.by}

    @classmethod
    def from_json(cls, day: date, d: dict[str, Any]) -> DayOverride:
        return cls(
            day, bool(d["open"]), str(d.get("name", "")), str(d["source"]), str(d.get("by", ""))
        )


def _utc(ts: object) -> datetime | None:
    if ts is None or str(ts) == "NaT":
        return None
    return ts.to_pydatetime().astimezone(UTC)  # type: ignore[attr-defined, no-any-return]


def _last_time(times: Any) -> time | None:
    """The time in force today from an exchange_calendars ((since, time), …) table."""
    return times[-1][1] if times else None


def _holiday_names(cal: Any, start: date, end: date) -> dict[date, str]:
    """Names of a rule-based calendar's regular holidays (precomputed ones have none)."""
    try:
        named = cal.regular_holidays.holidays(
            pd.Timestamp(start), pd.Timestamp(end), return_name=True
        )
    except Exception:  # calendars without named rules: the names are only a courtesy
        return {}
    return {ts.date(): str(name) for ts, name in named.items()}


def calendar_class(code: str) -> type[Any]:
    factories: dict[str, type[Any]] = calendar_utils._default_calendar_factories
    name = xcals.resolve_alias(code)
    if name not in factories:
        raise ValueError(f"unknown exchange calendar {code!r}")
    return factories[name]


def library_through(code: str) -> date | None:
    """The last day exchange_calendars' own data covers (None: rule-based, no end)."""
    cls = calendar_class(code)
    if issubclass(cls, PrecomputedExchangeCalendar):
        return cls.bound_max().date()  # type: ignore[no-any-return]
    return None


def _extended_class(cls: type[Any], extra: list[date], end: date) -> type[Any]:
    """The library's calendar class with the bot's closures and a later bound."""
    stamps = pd.DatetimeIndex([pd.Timestamp(d) for d in extra])
    if issubclass(cls, PrecomputedExchangeCalendar):
        holidays = cls.precomputed_holidays()
        through = cls.bound_max()

        class Precomputed(cls):  # type: ignore[misc]
            @classmethod
            def precomputed_holidays(cls_) -> Any:
                if not isinstance(holidays, pd.DatetimeIndex):  # XHKG: a list of indexes
                    return [*holidays, stamps] if len(stamps) else holidays
                return holidays.append(stamps)

            @classmethod
            def bound_max(cls_) -> pd.Timestamp:
                return max(through, pd.Timestamp(end))

        return Precomputed

    class RuleBased(cls):  # type: ignore[misc]
        @property
        def adhoc_holidays(self) -> Any:
            return list(super().adhoc_holidays) + list(stamps)

    return RuleBased


class Market:
    """One exchange's sessions from 2019 to a couple of years past its known data."""

    def __init__(
        self, code: str, extension: Extension | None = None, today: date | None = None
    ) -> None:
        extension = extension or Extension()
        cls = calendar_class(code)
        self.code = code
        self.library_through = library_through(code)
        self.extension = extension
        self.closures: dict[date, Closure] = {c.day: c for c in extension.closures}
        known = [d for d in (self.library_through, extension.through) if d is not None]
        # The last day some source knows the closures of; None for a rule-based calendar.
        self.horizon: date | None = max(known) if known else None
        today = today or datetime.now(UTC).date()
        end = date(max(today, extension.through or today).year + YEARS_AHEAD, 12, 31)
        with warnings.catch_warnings():
            # exchange_calendars trips pandas deprecations of its own; not ours to fix.
            warnings.simplefilter("ignore")
            cal = _extended_class(cls, list(self.closures), end)(
                start=START.isoformat(), end=end.isoformat()
            )
        self.tz = ZoneInfo(str(cal.tz))
        self.holiday_names = _holiday_names(cal, START, end)
        self.end = end
        self._hours = (
            _last_time(cal.open_times),
            _last_time(getattr(cal, "break_start_times", None)),
            _last_time(getattr(cal, "break_end_times", None)),
            _last_time(cal.close_times),
        )
        sched = cal.schedule
        has_breaks = "break_start" in sched.columns
        self._built: list[Session] = []
        for label, row in sched.iterrows():
            open_, close = _utc(row["open"]), _utc(row["close"])
            assert open_ is not None
            assert close is not None
            self._built.append(
                Session(
                    day=label.date(),
                    open=open_,
                    close=close,
                    break_start=_utc(row["break_start"]) if has_breaks else None,
                    break_end=_utc(row["break_end"]) if has_breaks else None,
                )
            )
        self.overrides: dict[date, DayOverride] = {}
        self._rebuild()

    def fresh(self) -> Market:
        """A copy sharing the built sessions, with no overrides of its own."""
        twin = copy.copy(self)
        twin.overrides = {}
        twin._rebuild()
        return twin

    # -- overrides ------------------------------------------------------------------------
    def _rebuild(self) -> None:
        by_day = {s.day: s for s in self._built}
        for day, o in self.overrides.items():
            if o.open:
                by_day.setdefault(day, self.regular_session(day))
            else:
                by_day.pop(day, None)
        self.sessions: list[Session] = [by_day[d] for d in sorted(by_day)]
        self._days = [s.day for s in self.sessions]
        self._opens = [s.open for s in self.sessions]
        self.last_day = self._days[-1]

    def set_override(self, override: DayOverride) -> None:
        self.overrides[override.day] = override
        self._rebuild()

    def clear_override(self, day: date) -> DayOverride | None:
        gone = self.overrides.pop(day, None)
        if gone is not None:
            self._rebuild()
        return gone

    def replace_overrides(self, overrides: dict[date, DayOverride]) -> None:
        if overrides != self.overrides:
            self.overrides = dict(overrides)
            self._rebuild()

    def regular_session(self, day: date) -> Session:
        """The session `day` would have at the usual hours (whether or not it trades)."""
        open_t, break_s, break_e, close_t = self._hours
        assert open_t is not None
        assert close_t is not None

        def at(t: time | None) -> datetime | None:
            return datetime.combine(day, t, self.tz).astimezone(UTC) if t else None

        o, c = at(open_t), at(close_t)
        assert o is not None
        assert c is not None
        return Session(day, o, c, at(break_s), at(break_e))

    # -- what a day is, and who says so ----------------------------------------------------
    def assumed(self, day: date) -> bool:
        """True past every source's data: the day is a weekday guess, not a known session."""
        return self.horizon is not None and day > self.horizon

    def source_of(self, day: date) -> str:
        """Who says whether `day` trades: operator, provider, table, official, library, or
        assumed (past the data)."""
        if day in self.overrides:
            return self.overrides[day].source
        if day in self.closures:
            return self.closures[day].source
        if self.assumed(day):
            return "assumed (past the calendar's data)"
        return "library"

    def closure_name(self, day: date) -> str:
        if day in self.overrides:
            return self.overrides[day].name
        if day in self.closures:
            return self.closures[day].name
        if day in self.holiday_names:
            return self.holiday_names[day]
        if self.code in MAINLAND:
            official = dict(official_closures(day.year) or [])
            return official.get(day, "holiday")
        return "holiday"

    def closed_weekdays(self, first: date, last: date) -> list[date]:
        """Weekdays in [first, last] without a session: the market's holidays."""
        out, day = [], first
        while day <= last:
            if day.weekday() < 5 and not self.is_session(day):
                out.append(day)
            day += timedelta(days=1)
        return out

    # -- sessions -------------------------------------------------------------------------
    def session_at(self, at: datetime) -> Session | None:
        """The session whose open..close contains `at` (lunch included), if any."""
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


def local_date(market: Market, at: datetime) -> date:
    return at.astimezone(market.tz).date()


@cache
def _built(code: str, seeds_dir: Path) -> Market:
    table = seed_tables(seeds_dir).get(code)
    return Market(code, extension_for(code, table, library_through(code)))


def market(code: str, seeds_dir: Path = SEEDS_DIR) -> Market:
    """A market with the seed closure table. Building one is expensive (pandas): each code
    is built once per process, and every caller gets its own copy to override days on."""
    return _built(code, seeds_dir).fresh()
