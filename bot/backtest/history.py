"""The closes a backtest reads: up to ten years per instrument, fetched once from the
providers' daily history (Eastmoney kline first, then Yahoo; MARGIN from the datacenter's
report, paged: bot.backtest.margin_history) and kept in Redis with the closes the history
and margin jobs maintain (``divbot:daily:{instrument}``).

``divbot:daily:{instrument}:from`` records the earliest date a deep fetch asked for: a
backtest that needs nothing earlier reads Redis only, so ten years are fetched once per
instrument (and again only if a longer period is asked than was fetched). A bad answer
(provider error, empty, a date after today, a close outside the instrument's sanity band)
stores nothing and marks ``history:{source}`` unhealthy in /status, and the next provider
is tried: the history job's failover (bot.market.daily_fetch). Concurrent backtests of
one instrument share one fetch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.market.daily_fetch import DailySource, first_usable
from bot.models import Instrument
from bot.ops.health import HealthBoard
from bot.state import keys
from bot.state.store import Store

log = logging.getLogger(__name__)
MAX_YEARS = 10
# Window bases reach back before the period's first session (a 5d base, last year's close
# for ytd): fetch this much more than the period.
LEAD_DAYS = 400


class HistoryUnavailable(Exception):
    """No provider gave usable history; the message is the one-line reply."""


def deep_start(today: date) -> date:
    """The first date a full (10-year) fetch asks for."""
    return today - timedelta(days=MAX_YEARS * 366 + LEAD_DAYS)


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
        found = await first_usable(self.sources, inst, start, today, self.health, now)
        if found is None:
            return False
        rows, source = found
        await self.store.put_closes(inst.key, rows)
        await self.store.redis.set(keys.daily_from(inst.key), start.isoformat())
        log.info("backtest history %s: %d closes from %s", inst.key, len(rows), source)
        return True
