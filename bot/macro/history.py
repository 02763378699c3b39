"""Macro history: China's monthly and quarterly prints, shared by the macro watcher and
/divergence's economy leg.

One Redis hash per indicator (``divbot:macro:{INDICATOR}``: ISO period start -> value).
Periods are the first day of the month (CPI, PPI, PMI, IP, RETAIL) or of the quarter (GDP,
GDP_YTD). The seed file ``seeds/macro_history.csv`` (indicator,period,value,source and an
optional ``released`` date) fills an empty store; every row names where its figure comes
from, or says it is synthetic. ``released`` lets a replay start with only what was public
then: prints released inside the replay window arrive as releases, not as history.

When each print became public (``divbot:macro:at:{INDICATOR}``: ISO period start -> UTC
instant) is kept beside it, so /divergence, the digest and divergence rules count a print
from its real publication time: the instant the bot recorded it (the watcher, ``/macro
set``) or, for the seed's history, the release calendar's time for that release (a row
with only a ``released`` date: 10:00 Beijing that day, after every NBS release time). A
print without a known time (no ``released`` date, or stored before times were kept)
counts from the fallback rule of bot.divergence.metrics.published_by.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.state import keys
from bot.state.atomic import Batch

INDICATORS = ("GDP", "CPI", "PPI", "PMI")  # what load_all returns (the /divergence contract)


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    name: str
    unit: str  # "% y/y" or "index"
    neutral: float  # what "normal" is: 0 for PPI, 2 for CPI, 50 for PMI, the target for GDP
    quarterly: bool = False
    level: float | None = None  # the line streaks are counted against (None: no streaks)
    level_name: str = ""  # "zero", "50", "target"
    # What a print or a consensus can plausibly be, in `unit`: a value outside is a typo
    # (CPI 123 for 1.23) and is refused with this range named. China's extremes since
    # 1990 sit well inside: CPI +27.5 (1994), PPI -8.2 (1998), GDP -6.8/+18.3 (2020/21),
    # PMI 35.7 (Feb 2020), industrial output -25.9 / retail sales +33.8 (Jan-Feb 2020/21).
    plausible: tuple[float, float] = (-30.0, 30.0)


DEFINITIONS = {
    "GDP": Indicator(
        "GDP",
        "GDP",
        "% y/y",
        5.0,
        quarterly=True,
        level=5.0,
        level_name="target",
        plausible=(-20.0, 25.0),
    ),
    "CPI": Indicator("CPI", "CPI", "% y/y", 2.0, level=0.0, level_name="zero", plausible=(-10, 30)),
    "PPI": Indicator("PPI", "PPI", "% y/y", 0.0, level=0.0, level_name="zero", plausible=(-20, 30)),
    "PMI": Indicator(
        "PMI", "Manufacturing PMI", "index", 50.0, level=50.0, level_name="50", plausible=(0, 100)
    ),
    # Added by the macro watcher; not part of load_all.
    "IP": Indicator("IP", "Industrial output", "% y/y", 5.0, plausible=(-40.0, 50.0)),
    "RETAIL": Indicator("RETAIL", "Retail sales", "% y/y", 4.0, plausible=(-40.0, 50.0)),
    "GDP_YTD": Indicator(
        "GDP_YTD", "GDP year-to-date", "% y/y", 5.0, quarterly=True, plausible=(-20.0, 25.0)
    ),
}
# Indicators the bot does not define (US_CPI in the calendar): a range by unit.
PLAUSIBLE_BY_UNIT = {"% y/y": (-30.0, 30.0), "%": (-30.0, 30.0), "index": (0.0, 100.0)}
ANY_NUMBER = (-1000.0, 1000.0)


def plausible_range(indicator: str, unit: str) -> tuple[float, float]:
    """The values a print or consensus of `indicator` (in `unit`) can plausibly take."""
    known = DEFINITIONS.get(indicator)
    if known is not None:
        return known.plausible
    return PLAUSIBLE_BY_UNIT.get(unit.strip(), ANY_NUMBER)


def range_problem(indicator: str, unit: str, what: str, value: float) -> str | None:
    """One line naming the range when `value` is outside it (or not finite), else None."""
    low, high = plausible_range(indicator, unit)
    if math.isfinite(value) and low <= value <= high:
        return None
    shown = f"{value:g}" if math.isfinite(value) else str(value)
    return f"{indicator} {what} {shown} is outside {low:g} to {high:g} ({unit or 'its unit'})"


def _key(indicator: str) -> str:
    if indicator not in DEFINITIONS:
        raise ValueError(f"unknown indicator {indicator!r}")
    return f"{keys.NS}:macro:{indicator}"


async def save_prints(
    redis: Any,
    indicator: str,
    prints: list[tuple[date, float]],
    at: datetime | Mapping[date, datetime] | None = None,
) -> None:
    """Store prints; `at`: when they were public (one instant, or one per period)."""
    if not prints:
        return
    mapping = {d.isoformat(): repr(v) for d, v in prints if math.isfinite(v)}
    await redis.hset(_key(indicator), mapping=mapping)
    if at is None:
        return
    times = {d: at for d, _ in prints} if isinstance(at, datetime) else dict(at)
    stamps = {d.isoformat(): t.astimezone(UTC).isoformat() for d, t in times.items()}
    if stamps:
        await redis.hset(keys.macro_published_at(indicator), mapping=stamps)


async def load_published(redis: Any, indicator: str) -> dict[date, datetime]:
    """When each of an indicator's prints was public, where the bot knows it."""
    raw: dict[str, str] = await redis.hgetall(keys.macro_published_at(indicator))
    return {date.fromisoformat(k): datetime.fromisoformat(v) for k, v in raw.items()}


async def load_all_published(redis: Any) -> dict[str, dict[date, datetime]]:
    return {ind: await load_published(redis, ind) for ind in INDICATORS}


def stage_prints(
    batch: Batch, indicator: str, prints: list[tuple[date, float]], at: datetime | None = None
) -> None:
    """`save_prints` as commands of an atomic batch (bot.state.atomic); `at`: when the
    prints were public, when known."""
    for d, v in prints:
        if math.isfinite(v):
            batch.call("HSET", _key(indicator), d.isoformat(), repr(v))
            if at is not None:
                stamp = at.astimezone(UTC).isoformat()
                batch.call("HSET", keys.macro_published_at(indicator), d.isoformat(), stamp)


async def load_history(redis: Any, indicator: str) -> list[tuple[date, float]]:
    """Oldest first."""
    raw: dict[str, str] = await redis.hgetall(_key(indicator))
    return sorted((date.fromisoformat(k), float(v)) for k, v in raw.items())


async def load_all(redis: Any) -> dict[str, list[tuple[date, float]]]:
    return {ind: await load_history(redis, ind) for ind in INDICATORS}


@dataclass(frozen=True, slots=True)
class SeedRow:
    indicator: str
    period: date
    value: float
    source: str
    released: date | None  # None: released long before any replay window


def read_seed_rows(path: Path) -> list[SeedRow]:
    rows = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            released = (row.get("released") or "").strip()
            rows.append(
                SeedRow(
                    row["indicator"],
                    date.fromisoformat(row["period"]),
                    float(row["value"]),
                    row["source"],
                    date.fromisoformat(released) if released else None,
                )
            )
    return rows


def read_seed(
    path: Path, released_before: date | None = None
) -> dict[str, list[tuple[date, float]]]:
    """Prints by indicator, oldest first; with `released_before`, only those public then."""
    out: dict[str, list[tuple[date, float]]] = {ind: [] for ind in INDICATORS}
    for row in read_seed_rows(path):
        if released_before and row.released and row.released >= released_before:
            continue
        out.setdefault(row.indicator, []).append((row.period, row.value))
    return {k: sorted(v) for k, v in out.items()}


FALLBACK_RELEASE = time(10)  # a seed row with only a date: 10:00 Beijing, after NBS's times
BEIJING = ZoneInfo("Asia/Shanghai")


def release_time(row: SeedRow, scheduled: Mapping[tuple[str, date], datetime]) -> datetime | None:
    """When a seed row's print was public: its release in the calendar (`scheduled`, by
    (indicator, period)), else 10:00 Beijing on its `released` date, else unknown."""
    if row.released is None:
        return None
    at = scheduled.get((row.indicator, row.period))
    if at is not None and at.date() <= row.released:
        return at
    return datetime.combine(row.released, FALLBACK_RELEASE, BEIJING)


async def seed_if_empty(
    redis: Any,
    path: Path,
    released_before: date | None = None,
    scheduled: Mapping[tuple[str, date], datetime] | None = None,
) -> bool:
    """Load the seed file into an empty store, with each print's publication time where
    the row gives one (`release_time`); True when it did."""
    if await redis.exists(*(_key(i) for i in INDICATORS)):
        return False
    rows = read_seed_rows(path)
    for indicator, prints in read_seed(path, released_before).items():
        times = {}
        for row in rows:
            if row.indicator == indicator:
                at = release_time(row, scheduled or {})
                if at is not None:
                    times[row.period] = at
        await save_prints(redis, indicator, prints, {d: times[d] for d, _ in prints if d in times})
    return True
