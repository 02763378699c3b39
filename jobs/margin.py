"""The margin financing watcher: after each Shanghai trading day's figures are published
(usually that evening), the Shanghai + Shenzhen balance is fetched from Eastmoney's
datacenter (bot.sources.margin), checked against its history (bot.market.margin), stored
as MARGIN's daily close and fed to the rules as MARGIN's closing quote.

Schedule: PUBLISH_S after each Shanghai close (15:00 + 6 h = 21:00 Beijing), then every
RETRY_S until that session's row is in. The first
run with no stored history fetches BACKFILL_ROWS days (about three years) and feeds no
quote for them: rules fire on new days only, each day once. A bad answer (provider
error, a bad row, a gap, a jump larger than any in its history) stores nothing, raises no
alert and marks `margin` unhealthy in /status with the reason.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from bot.market import margin
from bot.market.sessions import Market
from bot.market.watchlist import Watchlist
from bot.models import Quote
from bot.ops.health import HealthBoard
from bot.rules.service import AlertService
from bot.sources.base import SourceError
from bot.sources.margin import MarginDay
from bot.state.store import Store
from jobs.runner import after_closes, earliest_after

log = logging.getLogger(__name__)
HEALTH = "margin"
PUBLISH_S = 6 * 3600
RETRY_S = 3600
BACKFILL_ROWS = 800  # the most one page holds (DATA.md)
REFRESH_ROWS = 30


class MarginSource(Protocol):
    name: str

    async def fetch(self, page_size: int = 30) -> list[MarginDay]: ...


class Needs(Protocol):
    """What this watcher uses of the wiring (bot.wiring.Core provides it)."""

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


class MarginJob:
    name = "margin"

    def __init__(self, core: Needs, source: MarginSource) -> None:
        self.core = core
        self.source = source
        self.market = core.markets[core.watchlist[margin.KEY].calendar]
        self.behind = True  # the latest published session is not stored yet
        self.last_run: datetime | None = None

    def next_run(self, now: datetime) -> datetime | None:
        candidates = after_closes([self.market], now, timedelta(seconds=PUBLISH_S))
        if self.last_run is None:
            candidates.append(now + timedelta(seconds=1))
        elif self.behind:
            candidates.append(self.last_run + timedelta(seconds=RETRY_S))
        return earliest_after(now, candidates)

    async def run_once(self, now: datetime) -> None:
        self.last_run = now
        store, health = self.core.store, self.core.health
        have = await store.load_closes(margin.KEY)
        try:
            days = await self.source.fetch(REFRESH_ROWS if have.dates else BACKFILL_ROWS)
        except SourceError as exc:
            health.bad(HEALTH, exc.reason, now)
            return
        reason = margin.problem(days, have, self.market, self.core.watchlist[margin.KEY].band)
        if reason is not None:
            health.bad(HEALTH, reason, now)
            log.warning("margin: refused (%s)", reason)
            return
        await margin.store_days(store, days)
        health.ok(HEALTH, now)
        published = self.market.last_session_before(now - timedelta(seconds=PUBLISH_S))
        self.behind = published is not None and days[-1].day < published.day
        if not have.dates:
            self.core.service.set_closes(margin.KEY, await store.load_closes(margin.KEY))
            log.info("margin: %d days of history stored", len(days))
            return
        new = [d for d in days if d.day > have.dates[-1]]
        quotes = [
            Quote(margin.KEY, d.balance_bn, now, d.day, self.source.name, closing=True) for d in new
        ]
        if quotes:
            await self.core.service.on_quotes(quotes, now)
