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

from dataclasses import dataclass
from datetime import date

from bot.models import DailyCloses, Window


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
