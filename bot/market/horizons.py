"""What the market calendars say about themselves: how far each one's data reaches, which
closures are provisional, and who said so. Read by /status, /closure, the operators'
warnings (jobs.calendars) and `divbot calendars`."""

from __future__ import annotations

from datetime import date, timedelta

from bot.cmdref import ref
from bot.market.sessions import Market

WARN_DAYS = (60, 30, 7, 1)
MARKET_NAMES = {"XSHG": "Shanghai", "XSHE": "Shenzhen", "XHKG": "Hong Kong", "XNYS": "New York"}
ALIASES = {
    "SH": "XSHG",
    "SSE": "XSHG",
    "SHANGHAI": "XSHG",
    "SZ": "XSHE",
    "SZSE": "XSHE",
    "HK": "XHKG",
    "HKEX": "XHKG",
    "HONGKONG": "XHKG",
    "NY": "XNYS",
    "US": "XNYS",
    "NYSE": "XNYS",
    "XNAS": "XNYS",
    "NASDAQ": "XNYS",
}


def market_name(code: str) -> str:
    return f"{MARKET_NAMES.get(code, code)} ({code})"


def horizon_line(market: Market, today: date, operator: bool = True) -> str | None:
    """A warning when the calendar's data ends within 60 days or has ended, else None.
    What to do about it (add closures, upgrade a library) is the operators' (`operator`);
    anyone else is told only what it means for their alerts."""
    if market.horizon is None:
        return None
    left = (market.horizon - today).days
    if left >= WARN_DAYS[0]:
        return None
    if not operator:
        if left < 0:
            return (
                f"calendar {market.code}: past its data (ended {market.horizon}): weekdays "
                "are assumed open and the provider decides each day"
            )
        return f"calendar {market.code}: data ends {market.horizon} ({left} days)"
    if left < 0:
        return (
            f"calendar {market.code}: past its data (ended {market.horizon}): weekdays are "
            "assumed open and the provider decides each day; add the exchange's closures "
            f"with {ref(f'closure add {market.code} DATE NAME')}"
        )
    return (
        f"calendar {market.code}: data ends {market.horizon} ({left} days): add the "
        f"exchange's closures after it with {ref(f'closure add {market.code} DATE NAME')}, or "
        "upgrade exchange-calendars/chinesecalendar once a release covers the next year"
    )


def provisional_ahead(market: Market, today: date, days: int = 60) -> list[date]:
    last = today + timedelta(days=days)
    return [
        d
        for d, c in sorted(market.closures.items())
        if c.provisional and today <= d <= last and d not in market.overrides
    ]


def provisional_line(market: Market, today: date) -> str | None:
    ahead = provisional_ahead(market, today)
    if not ahead:
        return None
    first = ahead[0]
    return (
        f"calendar {market.code}: {len(ahead)} provisional closure(s) in the next 60 days "
        f"(next {first:%a %d %b %Y}: {market.closure_name(first)}); check them against the "
        "exchange's notice"
    )


def closures_in(market: Market, first: date, last: date) -> list[tuple[date, str, str]]:
    """(day, name, source) of every weekday in [first, last] the market does not trade."""
    return [
        (d, market.closure_name(d), market.source_of(d))
        for d in market.closed_weekdays(first, last)
    ]


def summary(market: Market) -> str:
    lib = market.library_through
    parts = [f"library data to {lib}" if lib else "library rules (no end date)"]
    if market.extension.through:
        parts.append(f"closure table to {market.extension.through}")
    if market.horizon:
        parts.append(f"after {market.horizon}: weekdays assumed open, the provider decides")
    return f"{market_name(market.code)}: " + " · ".join(parts)
