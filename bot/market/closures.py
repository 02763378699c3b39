"""Exchange closures beyond exchange_calendars' data: the bot's own table and the official
schedule, and where each closure came from.

exchange_calendars hard-codes Shanghai's holidays and its data ends on 2026-12-31; a
calendar that ends is a cliff the bot must never fall off. This module owns what extends
it, in order of trust (later wins):

1. ``seeds/closures.toml``: closures for the years the library lacks, each row
   ``provisional`` (derived by ``seeds/closures_derive.py`` from the lunar calendar and the
   usual State Council pattern) or ``confirmed`` (checked against the exchange's notice);
2. the State Council's official schedule from the ``chinese-calendar`` package, for the
   years its installed release covers (it replaces the provisional rows of those years);
3. operators' days, kept in Redis (``bot.market.days``), applied on top by ``bot.market.sessions``.

Past every source's data, weekdays are assumed open and the provider decides each day
(``jobs.quotes``); operators are told weeks ahead (``jobs.calendars``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from bot.seedfiles import At, SeedFileError, load_seed_file

Status = Literal["provisional", "confirmed"]
# Markets whose closures follow the mainland State Council schedule.
MAINLAND = frozenset({"XSHG", "XSHE", "BJSE"})


class ClosureRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    name: str = Field(min_length=1, max_length=80)
    status: Status


class MarketTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    through: date  # the table knows every closure up to and including this day
    closure: list[ClosureRow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rows_within(self) -> MarketTable:
        seen: set[date] = set()
        for i, row in enumerate(self.closure):
            where = ("closure", i, "date")
            if row.date > self.through:
                raise At(where, f"closure {row.date} is after `through` {self.through}")
            if row.date.weekday() >= 5:
                raise At(where, f"closure {row.date} is a weekend day (weekends never trade)")
            if row.date in seen:
                raise At(where, f"closure {row.date} is listed twice")
            seen.add(row.date)
        return self


class ClosureFile(RootModel[dict[str, MarketTable]]):
    """A closure file: one table per market code, e.g. ``[XSHG]``."""

    model_config = ConfigDict(frozen=True)


class ClosureFileError(SeedFileError):
    """A closure file that does not validate; the message names the field path."""


def load_closure_file(path: Path) -> dict[str, MarketTable]:
    """Read and validate a closure file; ClosureFileError names the bad field's path."""
    return load_seed_file(path, ClosureFile, error=ClosureFileError).root


@dataclass(frozen=True, slots=True)
class Closure:
    """One day a market does not trade, beyond the library's data, and who says so."""

    day: date
    name: str
    source: str  # "table (provisional)", "table (confirmed)", "official (chinese-calendar 1.11.0)"

    @property
    def provisional(self) -> bool:
        return "provisional" in self.source


@dataclass(frozen=True, slots=True)
class Extension:
    """What the bot adds to one market's library calendar."""

    closures: tuple[Closure, ...] = ()
    through: date | None = None  # the last day the table (or the official schedule) knows


@cache
def official_closures(year: int) -> tuple[tuple[date, str], ...] | None:
    """The mainland's official holiday weekdays of `year` from the installed
    chinese-calendar release, or None when that release does not cover the year."""
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover - a dependency; absent only in a broken install
        return None
    day, out = date(year, 1, 1), []
    try:
        while day.year == year:
            if day.weekday() < 5:
                on_holiday, name = chinese_calendar.get_holiday_detail(day)
                if on_holiday:
                    out.append((day, str(name or "holiday")))
            day += timedelta(days=1)
    except NotImplementedError:
        return None
    return tuple(out)


def official_version() -> str:
    try:
        import chinese_calendar
    except ImportError:  # pragma: no cover
        return "absent"
    return str(getattr(chinese_calendar, "__version__", "?"))


def extension_for(code: str, table: MarketTable | None, library_through: date | None) -> Extension:
    """The closures to add past `library_through`: the table's rows, except that a year
    the official schedule covers takes the official days instead of provisional rows."""
    if table is None:
        return Extension()
    rows = [r for r in table.closure if library_through is None or r.date > library_through]
    years = sorted({r.date.year for r in rows} | {table.through.year})
    closures: list[Closure] = []
    for year in years:
        in_year = [r for r in rows if r.date.year == year]
        official = official_closures(year) if code in MAINLAND else None
        if official is not None and any(r.status == "provisional" for r in in_year):
            confirmed = {r.date for r in in_year if r.status == "confirmed"}
            src = f"official (chinese-calendar {official_version()})"
            closures += [
                Closure(r.date, r.name, "table (confirmed)")
                for r in in_year
                if r.status == "confirmed"
            ]
            closures += [
                Closure(d, n, src)
                for d, n in official
                if d not in confirmed and (library_through is None or d > library_through)
            ]
        else:
            closures += [Closure(r.date, r.name, f"table ({r.status})") for r in in_year]
    through = table.through
    # A chinese-calendar release that reaches past the table extends the horizon.
    while code in MAINLAND and through == date(through.year, 12, 31):
        official = official_closures(through.year + 1)
        if official is None:
            break
        src = f"official (chinese-calendar {official_version()})"
        closures += [Closure(d, n, src) for d, n in official]
        through = date(through.year + 1, 12, 31)
    return Extension(tuple(sorted(closures, key=lambda c: c.day)), through)


@cache
def seed_tables(seeds_dir: Path) -> dict[str, MarketTable]:
    """seeds/closures.toml, validated (an absent file is an empty table)."""
    path = seeds_dir / "closures.toml"
    return load_closure_file(path) if path.is_file() else {}
