"""Daily history refresh: after each market's close, the watchlist's daily closes for that
market are fetched from the providers' history endpoints (Eastmoney kline first, Yahoo
chart as fallback) and written to Redis, the engine and the /divergence cache.

The first run (start-up) refreshes every instrument; an instrument with under a year of
stored closes gets BACKFILL_DAYS of history, otherwise the last REFRESH_DAYS. A bad
answer (provider error, empty, a date after the session, a close outside the
instrument's sanity band) stores nothing and marks `history:{source}` unhealthy in
/status with the reason; the next provider is tried (bot.market.daily_fetch).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.divergence.snapshot import DivergenceCache, Sources, refresh_pulse
from bot.market.daily_fetch import first_usable
from bot.market.sessions import Market
from bot.market.watchlist import Watchlist
from bot.models import Instrument
from bot.ops.health import HealthBoard
from bot.rules.service import AlertService
from bot.sources.base import QuoteSource
from bot.state.store import Store
from jobs.runner import after_closes, earliest_after


class Needs(Sources, Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def divergence(self) -> DivergenceCache: ...

    @property
    def health(self) -> HealthBoard: ...

    @property
    def markets(self) -> dict[str, Market]: ...

    @property
    def service(self) -> AlertService: ...

    @property
    def store(self) -> Store: ...

    @property
    def watchlist(self) -> Watchlist: ...


log = logging.getLogger(__name__)
BACKFILL_DAYS = 5 * 366
REFRESH_DAYS = 20
FULL_HISTORY = 250  # closes that count as "a year": below this, backfill


class HistoryJob:
    name = "history"

    def __init__(
        self, core: Needs, sources: Sequence[QuoteSource], *, settle_s: int = 30 * 60
    ) -> None:
        self.core = core
        self.sources = list(sources)
        self.settle = timedelta(seconds=settle_s)
        self.last_run: datetime | None = None

    def _calendars(self) -> set[str]:
        return {i.calendar for i in self.core.watchlist}

    def next_run(self, now: datetime) -> datetime | None:
        markets = (self.core.markets[code] for code in self._calendars())
        return earliest_after(now, after_closes(markets, now, self.settle))

    async def run_once(self, now: datetime) -> None:
        since, self.last_run = self.last_run, now
        for inst in self.core.watchlist:
            session = self.core.markets[inst.calendar].last_session_before(now - self.settle)
            if session is None:
                continue
            if since is None or since < session.close + self.settle <= now:
                await self.refresh(inst, session.day, now)
        await refresh_pulse(self.core)

    async def refresh(self, inst: Instrument, last: date, now: datetime) -> bool:
        """Fetch and store one instrument's closes up to `last`; True when stored."""
        store = self.core.store
        have = await store.load_closes(inst.key)
        if len(have.dates) >= FULL_HISTORY:
            start = min(have.dates[-1], last) - timedelta(days=REFRESH_DAYS)
        else:
            start = last - timedelta(days=BACKFILL_DAYS)
        found = await first_usable(self.sources, inst, start, last, self.core.health, now)
        if found is None:
            return False
        rows, source = found
        await store.put_closes(inst.key, rows)
        self.core.service.set_closes(inst.key, await store.load_closes(inst.key))
        self.core.divergence.invalidate(inst.key)
        log.info("history %s: %d closes from %s", inst.key, len(rows), source)
        return True
