"""The closes a backtest reads: up to ten years per instrument, fetched once from the
providers' daily history (Eastmoney kline first, then Yahoo; MARGIN from the datacenter's
report, paged: bot.backtest.margin_history) and kept in Redis with the closes the history
and margin jobs maintain (``divbot:daily:{instrument}``).

``divbot:daily:{instrument}:from`` records the earliest date a deep fetch asked for: a
backtest that needs nothing earlier reads Redis only, so ten years are fetched once per
instrument (and again only if a longer period is asked than was fetched). A bad answer
(provider error, empty, a date after today, a close outside the instrument's sanity band)
stores nothing and marks ``history:{source}`` unhealthy in /status, as the history job
does; the next provider is tried. Concurrent backtests of one instrument share one fetch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.models import Instrument
from bot.ops.health import HealthBoard
from bot.sources.base import SourceError
from bot.state import keys
from bot.state.store import Store

log = logging.getLogger(__name__)
MAX_YEARS = 10
# Window bases reach back before the period's first session (a 5d base, last year's close
# for ytd): fetch this much more than the period.
LEAD_DAYS = 400


class DailySource(Protocol):
    """What a deep fetch uses of a provider (a QuoteSource is one; so is MARGIN's
    paged report, bot.backtest.margin_history)."""

    name: str

    def covers(self, instrument: Instrument) -> bool: ...

    async def fetch_daily(
        self, instrument: Instrument, start: date, end: date
    ) -> list[tuple[date, float]]: ...


class HistoryUnavailable(Exception):
    """No provider gave usable history; the message is the one-line reply."""


def deep_start(today: date) -> date:
    """The first date a full (10-year) fetch asks for."""
    return today - timedelta(days=MAX_YEARS * 366 + LEAD_DAYS)


def problem(rows: list[tuple[date, float]], inst: Instrument, last: date) -> str | None:
    """Why a fetched history is unusable, or None (the history job's checks)."""
    if not rows:
        return f"{inst.key}: no daily closes returned"
    lo, hi = inst.band
    for day, close in rows:
        if day > last:
            return f"{inst.key}: close dated {day} after {last}"
        if not lo <= close <= hi:
            return f"{inst.key}: close {close:g} on {day} outside its band {lo:g}-{hi:g}"
    return None


class DeepHistory:
    """Makes sure Redis holds an instrument's closes back to a date (fetching once)."""

    def __init__(
        self, store: Store, health: HealthBoard, sources: Sequence[DailySource] = ()
    ) -> None:
        self.store = store
        self.health = health
        self.sources = list(sources)
        self._fetching: dict[str, asyncio.Future[bool]] = {}

    async def fetched_from(self, instrument: str) -> date | None:
        raw = await self.store.redis.get(keys.daily_from(instrument))
        return date.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw) if raw else None

    async def ensure(self, inst: Instrument, today: date, now: datetime) -> bool:
        """True when Redis holds `inst`'s deep history (fetched now or earlier); False
        when no provider gave it (Redis keeps whatever it had)."""
        have = await self.fetched_from(inst.key)
        if have is not None and have <= deep_start(today) + timedelta(days=LEAD_DAYS):
            return True
        task = self._fetching.get(inst.key)
        if task is None:
            task = asyncio.ensure_future(self._fetch(inst, today, now))
            self._fetching[inst.key] = task
            task.add_done_callback(lambda _: self._fetching.pop(inst.key, None))
        return await asyncio.shield(task)

    async def _fetch(self, inst: Instrument, today: date, now: datetime) -> bool:
        start = deep_start(today)
        for source in self.sources:
            if not source.covers(inst):
                continue
            health = f"history:{source.name}"
            try:
                rows = await source.fetch_daily(inst, start, today)
            except SourceError as exc:
                self.health.bad(health, f"{inst.key}: {exc.reason}", now)
                continue
            reason = problem(rows, inst, today)
            if reason is not None:
                self.health.bad(health, reason, now)
                continue
            await self.store.put_closes(inst.key, rows)
            await self.store.redis.set(keys.daily_from(inst.key), start.isoformat())
            self.health.ok(health, now)
            log.info("backtest history %s: %d closes from %s", inst.key, len(rows), source.name)
            return True
        return False
