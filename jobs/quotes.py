"""The quotes watcher: polls each instrument while its market trades, snapshots closes.

Schedule: every `poll_interval` on a grid while any watched market is in session, plus
a run at each open, lunch-break edge and close (+ settle time, for the closing auction).
At a close it takes the closing snapshot, which becomes that session's daily close.
Markets closed for a holiday simply have no session: nothing is polled. Whether a day
really trades is the provider's call in the end (``jobs.trading_day``). An instrument
that is due but gets no usable quote is never only skipped: /status names it at once
(``watch:KEY``) and the operators are told when it misses a second poll in a row.
Baskets (bot.market.baskets) are not polled: each cycle their level is computed from
their members' quotes, and the closing poll's level is the basket's daily close.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.cmdref import ref
from bot.market.baskets import Basket, live_level
from bot.market.sessions import Market
from bot.models import Instrument, Quote
from bot.ops.health import HealthBoard
from bot.ops.operators import Operators
from bot.rules.backlog import UNREACHABLE
from bot.rules.service import AlertService
from jobs.trading_day import GRACE, TradingDayCheck

log = logging.getLogger(__name__)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Poller(Protocol):
    last_trade_at: dict[str, datetime]  # as the providers said in the latest poll

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
        instruments: Collection[Instrument],  # live: a Watchlist /watch adds to
        feed: Poller,
        service: AlertService,
        markets: dict[str, Market],
        health: HealthBoard,
        poll_interval_s: int,
        close_settle_s: int,
        day_check: TradingDayCheck | None = None,
        operators: Operators | None = None,
        baskets: Callable[[], Mapping[str, Basket]] = dict,
    ) -> None:
        self.instruments = instruments
        self.feed = feed
        self.service = service
        self.markets = markets
        self.health = health
        self.interval = timedelta(seconds=poll_interval_s)
        self.settle = timedelta(seconds=close_settle_s)
        self.last_run: datetime | None = None
        self.day_check = day_check
        self.operators = operators
        self.misses: dict[str, int] = {}  # consecutive due polls without a usable quote
        self.baskets = baskets  # live: the baskets every replica knows (bot.market.catalogue)

    def _codes(self) -> set[str]:
        return {i.calendar for i in self.instruments}

    def next_run(self, now: datetime) -> datetime | None:
        candidates: list[datetime] = []
        for code in self._codes():
            market = self.markets[code]
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
        if self.day_check is not None:
            candidates += self.day_check.wake_times(now)
        later = [c for c in candidates if c > now]
        return min(later) if later else None

    def _due(self, now: datetime) -> tuple[list[Instrument], set[str]]:
        """Instruments to poll now, and those whose poll is a closing snapshot."""
        due: list[Instrument] = []
        closing: set[str] = set()
        since = self.last_run or now - self.interval
        for inst in self.instruments:
            market = self.markets[inst.calendar]
            if market.is_trading(now):
                due.append(inst)
                continue
            session = market.session_at(now)
            morning_close = session.break_start if session is not None else None
            if morning_close is not None and since < morning_close <= now:
                due.append(inst)  # the morning close (11:30) is a real print: it counts
                continue
            done = market.last_session_before(now - self.settle)
            if done is not None and since < done.close + self.settle <= now:
                due.append(inst)
                closing.add(inst.key)
        return due, closing

    async def run_once(self, now: datetime) -> None:
        if self.day_check is not None:
            await self.day_check.probe_closed_days(now)
        due, closing = self._due(now)
        self.last_run = now
        if not due:
            return
        prev_close = {}
        for inst in due:
            market = self.markets[inst.calendar]
            session = market.session_at(now) or market.last_session_before(now)
            if session is not None:
                found = self.service.previous_close(inst.key, session.day)
                if found is not None:
                    prev_close[inst.key] = found
        baskets = self.baskets()
        polled = [i for i in due if i.key not in baskets]
        quotes = await self.feed.poll(polled, now, self.service.latest_quotes(), prev_close)
        quotes = [replace(q, closing=True) if q.instrument in closing else q for q in quotes]
        if self.day_check is not None:
            await self.day_check.after_poll(now, self.feed.last_trade_at)
            # A market just found closed today takes no quote (none was fresh anyway).
            quotes = [q for q in quotes if q.closing or self._trading(q.instrument, now)]
        quotes += self._basket_quotes(
            [baskets[i.key] for i in due if i.key in baskets], quotes, closing, now
        )
        await self.service.on_quotes(quotes, now)
        await self._unwatched(due, {q.instrument for q in quotes}, now)
        # Every replica's /status shows the sources' health; while Redis is unreachable
        # this replica's own /status still has it in memory.
        with contextlib.suppress(*UNREACHABLE):
            await self.service.store.save_health(*self.health.all())

    def _basket_quotes(
        self, due: list[Basket], quotes: list[Quote], closing: set[str], now: datetime
    ) -> list[Quote]:
        """Each due basket's level from its members' latest quotes of today's session."""
        latest = self.service.latest_quotes() | {q.instrument: q for q in quotes}
        out: list[Quote] = []
        for basket in due:
            market = self.markets[basket.calendar]
            session = market.session_at(now) or market.last_session_before(now)
            if session is None:
                continue
            prev_level = self.service.previous_close(basket.key, session.day)
            moves: dict[str, float] = {}
            for member in basket.members:
                q = latest.get(member)
                if q is None or q.session != session.day:
                    continue  # not traded today (suspended, a holiday): contributes nothing
                prev = self.service.previous_close(member, q.session) or q.prev_close
                if prev:
                    moves[member] = q.price / prev - 1
            if prev_level is None or not moves:
                continue
            out.append(
                Quote(
                    basket.key,
                    live_level(prev_level, moves, basket.weight()),
                    max(latest[m].at for m in moves),
                    session.day,
                    "basket",
                    prev_close=prev_level,
                    closing=basket.key in closing,
                )
            )
        return out

    def _trading(self, key: str, now: datetime) -> bool:
        """Trading now, or now is its morning close (11:30 in Shanghai: that bar counts)."""
        inst = next(i for i in self.instruments if i.key == key)
        market = self.markets[inst.calendar]
        if market.is_trading(now):
            return True
        session = market.session_at(now)
        return session is not None and session.break_start == now

    def _reasons(self, key: str) -> list[str]:
        return [
            f"{h.name.split(':', 1)[0]}: {h.reason}"
            for h in self.health.all()
            if h.name.endswith(f":{key}") and not h.ok and not h.name.startswith("watch:")
        ]

    async def _unwatched(self, due: list[Instrument], got: set[str], now: datetime) -> None:
        """Name every due instrument that got no usable quote: /status at once, the
        operators from its second miss in a row (a jump awaiting its confirming quote
        and a market just found closed are not misses)."""
        for inst in due:
            tag = f"watch:{inst.key}"
            if inst.key in got:
                self.misses.pop(inst.key, None)
                if self.health.get(tag) is not None:
                    self.health.ok(tag, now)
                continue
            market = self.markets[inst.calendar]
            session = market.session_on(now.astimezone(market.tz).date())
            if session is None:
                continue
            reasons = self._reasons(inst.key) or ["no source answered for it"]
            reason = "no usable quote: " + "; ".join(reasons)
            self.health.bad(tag, reason, now)
            if all(r.split(": ", 1)[-1].startswith("jump") for r in reasons):
                continue
            if now < session.open + GRACE:
                continue  # the trading-day check decides first whether the market is open
            self.misses[inst.key] = self.misses.get(inst.key, 0) + 1
            if self.misses[inst.key] >= 2 and self.operators is not None:
                day = now.astimezone(market.tz).date()
                await self.operators.tell(
                    f"unwatched:{inst.key}:{day.isoformat()}",
                    f"{inst.name} is not being watched",
                    f"{self.misses[inst.key]} polls in a row without a usable quote ({reason});"
                    " no alert can fire on it until a provider answers well. "
                    f"{ref('status')} shows it.",
                )
