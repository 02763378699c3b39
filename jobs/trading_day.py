"""The provider has the last word on whether a market trades today.

The calendar (library, table, operators) is a forecast; the quotes are the tape:

- On a day the calendar calls open, if none of the market's instruments shows a trade
  dated today by ``GRACE`` (30 min) after the open, while the provider answers, the day is
  declared closed (source "provider"): nothing more is polled, no bar is taken, /status
  says so in one line and the operators are told. Until then the validator already
  rejects the previous session's prices as stale, so no alert fires meanwhile.
- On a weekday the calendar calls closed, one quiet check ``GRACE`` after the usual open
  asks the providers when the market last traded. If it traded today, the day is
  declared open, polled from then on, and the operators are told the calendar is wrong.

A wrong provisional row therefore costs a warning, never a false or a missed alert.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bot.cmdref import ref
from bot.market.days import MarketDays
from bot.market.sessions import DayOverride, Market
from bot.models import Instrument
from bot.ops.health import HealthBoard
from bot.ops.operators import Operators
from bot.state import keys

log = logging.getLogger(__name__)
GRACE = timedelta(minutes=30)
PROBE_TTL_S = 2 * 86400

TradeTimes = Callable[[list[Instrument], datetime], Awaitable[dict[str, datetime]]]


def _hhmm(at: datetime, market: Market) -> str:
    return f"{at.astimezone(market.tz):%a %d %b %H:%M}"


class TradingDayCheck:
    def __init__(
        self,
        markets: Mapping[str, Market],
        instruments: list[Instrument],
        days: MarketDays,
        health: HealthBoard,
        redis: Redis,
        trade_times: TradeTimes,
        operators: Operators | None = None,
    ) -> None:
        self.markets = markets
        self.by_market: dict[str, list[Instrument]] = {}
        for inst in instruments:
            self.by_market.setdefault(inst.calendar, []).append(inst)
        self.days = days
        self.health = health
        # decode_responses=True: replies are str, which redis-py's annotations can't say.
        self.redis: Any = redis
        self.trade_times = trade_times
        self.operators = operators
        self.confirmed: dict[str, date] = {}  # market -> the day its trading was seen

    def _today(self, market: Market, now: datetime) -> date:
        return now.astimezone(market.tz).date()

    def wake_times(self, now: datetime) -> list[datetime]:
        """When a decision falls due: 30 min after today's open (or usual open)."""
        out = []
        for code in self.by_market:
            market = self.markets[code]
            day = self._today(market, now)
            session = market.session_on(day)
            if session is not None:
                if self.confirmed.get(code) != day:
                    out.append(session.open + GRACE)
            elif day.weekday() < 5:
                out.append(market.regular_session(day).open + GRACE)
        return [t for t in out if t > now]

    async def after_poll(self, now: datetime, last_trade_at: Mapping[str, datetime]) -> None:
        """Judge each market polled in session by the trade times its quotes carried."""
        for code, insts in self.by_market.items():
            market = self.markets[code]
            session = market.session_at(now)
            if session is None or not session.is_trading(now):
                continue
            if self.confirmed.get(code) == session.day:
                continue
            times = [last_trade_at[i.key] for i in insts if i.key in last_trade_at]
            if any(self._today(market, t) == session.day for t in times):
                self.confirmed[code] = session.day
                self.health.ok(f"calendar:{code}", now)
                continue
            if not times or now < session.open + GRACE:
                continue  # no answer is a provider outage, not a holiday; or too early
            await self._closed_today(market, session.day, max(times), now)

    async def _closed_today(self, market: Market, day: date, last: datetime, now: datetime) -> None:
        said = market.source_of(day)
        reason = (
            f"{day:%a %d %b}: no trade by {_hhmm(now, market)} (last trade "
            f"{_hhmm(last, market)}); treated as closed today, the calendar ({said}) said open"
        )
        await self.days.declare(
            market.code, DayOverride(day, False, "no trade seen (provider)", "provider")
        )
        self.health.bad(f"calendar:{market.code}", reason, now)
        log.warning("calendar %s: %s", market.code, reason)
        if self.operators is not None:
            await self.operators.tell(
                f"closed:{market.code}:{day.isoformat()}",
                f"{market.code} did not trade on {day:%a %d %b %Y}",
                reason,
                f"If the exchange is open after all: {ref(f'closure open {market.code} {day}')}",
            )

    async def probe_closed_days(self, now: datetime) -> None:
        """The quiet check of a weekday the calendar calls closed, once per day."""
        for code, insts in self.by_market.items():
            market = self.markets[code]
            day = self._today(market, now)
            if day.weekday() >= 5 or market.is_session(day):
                continue
            usual = market.regular_session(day)
            if not usual.open + GRACE <= now < usual.close:
                continue
            probed = keys.market_probed(code, day.isoformat())
            if await self.redis.exists(probed):
                continue
            times = await self.trade_times(insts, now)
            if not times:
                continue  # no provider answered: ask again at the next run, not never
            traded = [
                t for t in times.values() if t >= usual.open and self._today(market, t) == day
            ]
            if traded:
                await self._open_today(market, day, max(traded), now)
            else:
                log.info("calendar %s: %s closed as expected (no trade today)", code, day)
            # Marked only once answered and acted on: a crash before this asks again.
            await self.redis.set(probed, "1", ex=PROBE_TTL_S)

    async def _open_today(self, market: Market, day: date, seen: datetime, now: datetime) -> None:
        said = market.source_of(day)
        name = market.closure_name(day)
        reason = (
            f"{day:%a %d %b}: traded at {_hhmm(seen, market)} though the calendar ({said}: "
            f"{name}) said closed; watching it"
        )
        await self.days.declare(
            market.code, DayOverride(day, True, "trade seen (provider)", "provider")
        )
        self.confirmed[market.code] = day
        self.health.bad(f"calendar:{market.code}", reason, now)
        log.warning("calendar %s: %s", market.code, reason)
        if self.operators is not None:
            await self.operators.tell(
                f"opened:{market.code}:{day.isoformat()}",
                f"{market.code} calendar is wrong: it traded on {day:%a %d %b %Y}",
                reason,
                "Fix the closure table (seeds/closures.toml) or "
                f"{ref(f'closure rm {market.code} {day}')}"
                " if an operator added it.",
            )
