"""The calendars watcher: warns the operators before any market's calendar runs out, and
keeps every day override (bot.market.days) in step with Redis.

Each minute it reloads the overrides (an operator's /closure on another replica reaches
the leader's markets within a minute). Once a day it checks each market's horizon: 60, 30,
7 and 1 day(s) before the last day any source knows, and once past it, the operators get
one message each (at most once across restarts: bot.ops.operators), naming the market, the
date and what to do; and once per market and year, a notice when provisional closures
come within 60 days. /status says the same (bot.market.horizons).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.cmdref import ref
from bot.market.days import MarketDays
from bot.market.horizons import WARN_DAYS, market_name, provisional_ahead
from bot.market.sessions import Market
from bot.ops.operators import Operators

EVERY = timedelta(minutes=1)


class CalendarsJob:
    name = "calendars"

    def __init__(self, markets: dict[str, Market], days: MarketDays, operators: Operators) -> None:
        self.markets = markets
        self.days = days
        self.operators = operators
        self.checked: str | None = None  # the UTC date the horizons were last checked

    def next_run(self, now: datetime) -> datetime | None:
        return now + EVERY

    async def run_once(self, now: datetime) -> None:
        await self.days.load()
        today = now.date().isoformat()
        if self.checked != today:
            await self.warn(now)
            self.checked = today

    async def warn(self, now: datetime) -> int:
        """Send whatever horizon and provisional notices are due; how many were sent."""
        sent = 0
        for code, market in sorted(self.markets.items()):
            today = now.astimezone(market.tz).date()
            if market.horizon is not None:
                left = (market.horizon - today).days
                due = [t for t in WARN_DAYS if left <= t]
                if left < 0:
                    sent += await self.operators.tell(
                        f"horizon:{code}:{market.horizon}:past",
                        f"{market_name(code)} calendar ran out on {market.horizon}",
                        "Weekdays are now assumed open and the provider decides each day "
                        "(a day with no trade 30 min after the open is treated as closed).",
                        "Add the exchange's published closures: "
                        f"{ref(f'closure add {code} DATE NAME')},"
                        " or `divbot calendars load FILE`.",
                    )
                elif due:
                    step = min(due)
                    sent += await self.operators.tell(
                        f"horizon:{code}:{market.horizon}:{step}",
                        f"{market_name(code)} calendar runs out in {left} day(s), "
                        f"on {market.horizon}",
                        f"After {market.horizon} weekdays are assumed open and the provider "
                        "decides each day; holidays would cost a warning each.",
                        "Add the exchange's closures for the next year: "
                        f"{ref(f'closure add {code} DATE NAME')}, "
                        "or `divbot calendars load FILE`; or upgrade "
                        "exchange-calendars / chinesecalendar once a release covers it.",
                    )
            ahead = provisional_ahead(market, today)
            if ahead:
                year = ahead[0].year
                listed = ", ".join(f"{d:%d %b}" for d in ahead[:8])
                sent += await self.operators.tell(
                    f"provisional:{code}:{year}",
                    f"{market_name(code)}: {year} closures are provisional",
                    f"Derived, not yet confirmed by the exchange: {listed}"
                    + (" …" if len(ahead) > 8 else ""),
                    "Check them against the exchange's notice; fix a day with "
                    f"{ref(f'closure add|rm {code} DATE')}, "
                    "and see `divbot calendars` for every source.",
                )
        return sent
