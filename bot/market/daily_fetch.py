"""Daily closes from the first provider with a usable answer: the failover the history job
(jobs/history.py) and /backtest's deep history (bot.backtest.history) share.

Each provider that covers the instrument is asked in turn for its closes from `start` to
`last`; a provider error or an unusable answer (`problem`: none, a date after `last`, a
close outside the instrument's sanity band) marks ``history:{source}`` unhealthy in
/status with the reason and the next provider is asked; a usable answer marks it healthy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from bot.models import Instrument
from bot.ops.health import HealthBoard
from bot.sources.base import SourceError


class DailySource(Protocol):
    """What the failover uses of a provider (a QuoteSource is one; so is MARGIN's paged
    report, bot.backtest.margin_history)."""

    name: str

    def covers(self, instrument: Instrument) -> bool: ...

    async def fetch_daily(
        self, instrument: Instrument, start: date, end: date
    ) -> list[tuple[date, float]]: ...


def problem(rows: list[tuple[date, float]], inst: Instrument, last: date) -> str | None:
    """Why a fetched history is unusable, or None."""
    if not rows:
        return f"{inst.key}: no daily closes returned"
    lo, hi = inst.band
    for day, close in rows:
        if day > last:
            return f"{inst.key}: close dated {day} after {last}"
        if not lo <= close <= hi:
            return f"{inst.key}: close {close:g} on {day} outside its band {lo:g}-{hi:g}"
    return None


async def first_usable(
    sources: Sequence[DailySource],
    inst: Instrument,
    start: date,
    last: date,
    health: HealthBoard,
    now: datetime,
) -> tuple[list[tuple[date, float]], str] | None:
    """The closes and the provider's name, or None when no provider gave usable ones."""
    for source in sources:
        if not source.covers(inst):
            continue
        name = f"history:{source.name}"
        try:
            rows = await source.fetch_daily(inst, start, last)
        except SourceError as exc:
            health.bad(name, f"{inst.key}: {exc.reason}", now)
            continue
        reason = problem(rows, inst, last)
        if reason is not None:
            health.bad(name, reason, now)
            continue
        health.ok(name, now)
        return rows, source.name
    return None
