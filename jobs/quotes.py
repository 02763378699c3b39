"""The quotes watcher: polls each instrument while its market trades, snapshots closes.

Schedule: every `poll_interval` on a grid while any watched market is in session, plus
a run at each open, lunch-break edge and close (+ settle time, for the closing auction).
At a close it takes the closing snapshot, which becomes that session's daily close.
Markets closed for a holiday simply have no session: nothing is polled.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.alerting import AlertService
from bot.backlog import UNREACHABLE
from bot.health import HealthBoard
from bot.markets import CalendarStale, Market
from bot.models import Instrument, Quote

log = logging.getLogger(__name__)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Poller(Protocol):
    async def poll(
        self,
        instruments: list[Instrument],
        now: datetime,
        last: dict[str, Quote],
        cached_prev_close: dict[str, float],
    ) -> list[Quote]: ...


class QuotesJob:
    name = "quotes"

    def __init__(
        self,
        instruments: list[Instrument],
        feed: Poller,
        service: AlertService,
        markets: dict[str, Market],
        health: HealthBoard,
        poll_interval_s: int,
        close_settle_s: int,
    ) -> None:
        self.instruments = instruments
        self.feed = feed
        self.service = service
        self.markets = markets
        self.health = health
        self.interval = timedelta(seconds=poll_interval_s)
        self.settle = timedelta(seconds=close_settle_s)
        self.last_run: datetime | None = None

    def _codes(self) -> set[str]:
        return {i.calendar for i in self.instruments}

    def next_run(self, now: datetime) -> datetime | None:
        candidates: list[datetime] = []
        for code in self._codes():
            market = self.markets[code]
            try:
                if market.is_trading(now):
                    steps = (now - EPOCH) // self.interval + 1
                    candidates.append(EPOCH + steps * self.interval)
                change = market.next_change(now)
                if change is not None:
                    candidates.append(change)
                done = market.last_session_before(now + self.settle)
                if done is not None and done.close + self.settle > now:
                    candidates.append(done.close + self.settle)
                upcoming = market.next_session(now)
                if upcoming is not None and upcoming.close + self.settle > now:
                    candidates.append(upcoming.close + self.settle)
            except CalendarStale as exc:
                self.health.bad(f"calendar:{code}", str(exc), now)
        later = [c for c in candidates if c > now]
        return min(later) if later else None

    def _due(self, now: datetime) -> tuple[list[Instrument], set[str]]:
        """Instruments to poll now, and those whose poll is a closing snapshot."""
        due: list[Instrument] = []
        closing: set[str] = set()
        since = self.last_run or now - self.interval
        for inst in self.instruments:
            market = self.markets[inst.calendar]
            try:
                if market.is_trading(now):
                    due.append(inst)
                    continue
                done = market.last_session_before(now - self.settle)
            except CalendarStale as exc:
                self.health.bad(f"calendar:{inst.calendar}", str(exc), now)
                continue
            if done is not None and since < done.close + self.settle <= now:
                due.append(inst)
                closing.add(inst.key)
        return due, closing

    async def run_once(self, now: datetime) -> None:
        due, closing = self._due(now)
        self.last_run = now
        if not due:
            return
        engine = self.service.engine
        prev_close = {}
        for inst in due:
            market = self.markets[inst.calendar]
            session = market.session_at(now) or market.last_session_before(now)
            closes = engine.closes.get(inst.key)
            if session is not None and closes is not None:
                found = closes.last_before(session.day)
                if found is not None:
                    prev_close[inst.key] = found[1]
        quotes = await self.feed.poll(due, now, dict(engine.latest), prev_close)
        quotes = [replace(q, closing=True) if q.instrument in closing else q for q in quotes]
        await self.service.on_quotes(quotes, now)
        # Every replica's /status shows the sources' health; while Redis is unreachable
        # this replica's own /status still has it in memory.
        with contextlib.suppress(*UNREACHABLE):
            await self.service.store.save_health(*self.health.all())
