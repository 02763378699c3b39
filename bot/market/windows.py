"""Window arithmetic: the exact base each window measures a move from.

Pure functions over one instrument's daily closes (its own market's trading dates, so
holidays are simply absent):

- ``intraday``: today's open;
- ``1d``: the last close before today's session (the previous close);
- ``5d``: the close five sessions before today's;
- ``mtd``: the last close of the previous month;
- ``ytd``: the last close of the previous year.

"Today" is the quote's session date in its own market, never the UTC date.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date

from bot.models import Window


@dataclass(slots=True)
class DailyCloses:
    """One instrument's closes, sorted by date."""

    dates: list[date] = field(default_factory=list)
    closes: list[float] = field(default_factory=list)

    @classmethod
    def from_pairs(cls, pairs: list[tuple[date, float]]) -> DailyCloses:
        ordered = sorted(dict(pairs).items())
        return cls([d for d, _ in ordered], [c for _, c in ordered])

    def put(self, day: date, close: float) -> None:
        i = bisect.bisect_left(self.dates, day)
        if i < len(self.dates) and self.dates[i] == day:
            self.closes[i] = close
        else:
            self.dates.insert(i, day)
            self.closes.insert(i, close)

    def before(self, day: date) -> int:
        """How many closes fall strictly before `day`."""
        return bisect.bisect_left(self.dates, day)

    def last_before(self, day: date) -> tuple[date, float] | None:
        i = self.before(day)
        return (self.dates[i - 1], self.closes[i - 1]) if i else None


@dataclass(frozen=True, slots=True)
class Base:
    """What a window's move is measured from."""

    value: float
    label: str  # e.g. "31 Dec close", "today's open"


def window_base(
    closes: DailyCloses, window: Window, session: date, day_open: float | None
) -> Base | None:
    """The base for `window` on `session`, or None when the history does not reach it."""
    if window is Window.INTRADAY:
        return Base(day_open, "today's open") if day_open else None
    if window is Window.D1:
        cutoff = session
    elif window is Window.D5:
        i = closes.before(session)
        if i < 5:
            return None
        return Base(closes.closes[i - 5], f"{closes.dates[i - 5]:%d %b} close")
    elif window is Window.MTD:
        cutoff = session.replace(day=1)
    else:  # YTD
        cutoff = date(session.year, 1, 1)
    found = closes.last_before(cutoff)
    if found is None:
        return None
    day, value = found
    return Base(value, f"{day:%d %b} close")


def pct_change(price: float, base: float) -> float:
    return (price / base - 1.0) * 100.0
