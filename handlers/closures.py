"""/closure: what days each market is closed, and who said so; operators correct a day.

- ``/closure [MARKET] [YEAR]``: the market's closures (weekdays without a session) with
  their source: library, table (provisional/confirmed), official, operator, provider.
- ``/closure add MARKET DATE [NAME…]``: the market is closed that day (operators only).
- ``/closure open MARKET DATE [NAME…]``: the market trades that day (operators only).
- ``/closure rm MARKET DATE``: drop an operator's or the provider's call on that day.

A day set here is kept in Redis (bot.market.days), survives restarts and reaches the
leader within a minute. Only operators may change a day (handlers.base.Role, enforced by
handlers.dispatch); anyone else's attempt changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.cmdref import ref
from bot.fmt import excerpt
from bot.market.days import MarketDays
from bot.market.horizons import ALIASES, closures_in, market_name, summary
from bot.market.sessions import START, DayOverride, Market
from bot.models import Message
from handlers.base import Command, UsageError, reply


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def days(self) -> MarketDays: ...

    @property
    def markets(self) -> dict[str, Market]: ...


USAGE = (
    f"{ref('closure [MARKET] [YEAR]')} · {ref('closure add MARKET DATE [NAME]')} · "
    f"{ref('closure open MARKET DATE [NAME]')} · {ref('closure rm MARKET DATE')} (operators)"
)
CHANGES = frozenset({"add", "open", "rm"})
MAX_NAME = 60
BACK_DAYS = 7  # a day can be corrected up to a week back (history windows use it)


def _market(core: Needs, word: str) -> Market:
    code = ALIASES.get(word.upper(), word.upper())
    if code not in core.markets:
        raise UsageError(
            f"unknown market {excerpt(word)}; one of {', '.join(sorted(core.markets))}"
        )
    return core.markets[code]


def _day(word: str, market: Market, today: date) -> date:
    try:
        day = date.fromisoformat(word)
    except ValueError:
        raise UsageError(f"expected a date like 2027-02-08, got {excerpt(word)}") from None
    if day.weekday() >= 5:
        raise UsageError(f"{day} is a {day:%A}: exchanges never trade on weekends")
    if not today - timedelta(days=BACK_DAYS) <= day <= market.end:
        raise UsageError(
            f"{day} is out of range: from {today - timedelta(days=BACK_DAYS)} to {market.end}"
        )
    return day


def _name(words: tuple[str, ...], default: str) -> str:
    name = " ".join(words).strip() or default
    if len(name) > MAX_NAME or not name.isprintable():
        raise UsageError(f"the name must be printable text of at most {MAX_NAME} characters")
    return name


async def closure(core: Needs, cmd: Command) -> Message:
    args = cmd.args
    verb = args[0].lower() if args else ""
    if verb in CHANGES:
        return await _change(core, cmd, verb, args[1:])
    return _listing(core, args, core.clock.now().date())


def _listing(core: Needs, args: tuple[str, ...], today: date) -> Message:
    if len(args) > 2:
        raise UsageError(f"usage: {USAGE}")
    markets = list(core.markets.values())
    year = None
    for word in args:
        if word.isascii() and word.isdigit() and len(word) == 4:
            year = int(word)
            final = max(m.end.year for m in core.markets.values())
            if not START.year <= year <= final:
                raise UsageError(f"year {year} is out of range: from {START.year} to {final}")
        else:
            markets = [_market(core, word)]
    lines: list[str] = []
    for market in sorted(markets, key=lambda m: m.code):
        first = date(year, 1, 1) if year else today
        last = date(year, 12, 31) if year else today + timedelta(days=90)
        lines.append(summary(market))
        rows = closures_in(market, first, min(last, market.end))
        for day, name, source in rows[:40]:
            lines.append(f"  {day:%a %d %b %Y}  {name[:40]}  [{source}]")
        if not rows:
            lines.append(f"  no closures from {first} to {last}")
    return Message(title="Market closures", lines=lines, preformatted=True)


async def _change(core: Needs, cmd: Command, verb: str, args: tuple[str, ...]) -> Message:
    if len(args) < 2:
        raise UsageError(f"usage: {USAGE}")
    market = _market(core, args[0])
    day = _day(args[1], market, core.clock.now().date())
    who = f"{cmd.platform}:{cmd.user}"
    if verb == "rm":
        if len(args) > 2:
            raise UsageError(f"usage: {ref('closure rm MARKET DATE')}")
        if not await core.days.clear(market.code, day):
            raise UsageError(
                f"no operator or provider call on {market.code} {day}; "
                "table and library closures are changed in seeds/closures.toml"
            )
        state = "closed" if not market.is_session(day) else "open"
        return reply(
            f"{market_name(market.code)} {day:%a %d %b %Y}: back to the calendar",
            f"The calendar ({market.source_of(day)}) says {state}.",
        )
    is_open = verb == "open"
    name = _name(args[2:], "open (operator)" if is_open else "closed (operator)")
    await core.days.declare(market.code, DayOverride(day, is_open, name, "operator", who))
    return reply(
        f"{market_name(market.code)} {day:%a %d %b %Y}: {'open' if is_open else 'closed'}",
        f"Set by an operator: {name}. Kept across restarts; "
        f"{ref(f'closure rm {market.code} {day}')} undoes it.",
    )
