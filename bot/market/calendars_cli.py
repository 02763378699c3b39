"""`divbot calendars`: each market's horizon and the source of each closure, and the
operators' way to add, open or remove a day from a shell or load a closure file.

    divbot calendars [--year 2027] [--market XSHG]
    divbot calendars add XSHG 2027-02-08 "Spring Festival"
    divbot calendars open XSHG 2027-02-08
    divbot calendars rm XSHG 2027-02-08
    divbot calendars load closures-2028.toml      # the seeds/closures.toml format

Changes go to Redis (REDIS_URL) as operator days, exactly like `/closure` in a chat; the
running bot applies them within a minute and keeps them across restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from bot import cmdref
from bot.config import Settings
from bot.market.closures import ClosureFileError, load_closure_file
from bot.market.days import MarketDays
from bot.market.horizons import ALIASES, closures_in, horizon_line, provisional_line, summary
from bot.market.sessions import DayOverride, Market, market
from bot.market.watchlist import Watchlist
from bot.state.connect import open_redis

CLI_OPERATOR = "cli"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cp = sub.add_parser("calendars", help="market calendars: horizons, closures, operator days")
    cp.add_argument(
        "action", nargs="?", default="show", choices=["show", "add", "open", "rm", "load"]
    )
    cp.add_argument("args", nargs="*", help="MARKET DATE [NAME…] for add/open/rm; FILE for load")
    cp.add_argument("--year", type=int, default=None, help="list this year's closures")
    cp.add_argument("--market", default=None, help="one market, e.g. XSHG")


def _markets(settings: Settings) -> dict[str, Market]:
    watchlist = Watchlist.load(settings.seeds_dir / "watchlist.toml")
    return {c: market(c, settings.seeds_dir) for c in sorted({i.calendar for i in watchlist})}


def _code(word: str, markets: dict[str, Market]) -> str:
    code = ALIASES.get(word.upper(), word.upper())
    if code not in markets:
        raise ValueError(f"unknown market {word!r}; one of {', '.join(markets)}")
    return code


def _day(word: str) -> date:
    try:
        day = date.fromisoformat(word)
    except ValueError:
        raise ValueError(f"expected a date like 2027-02-08, got {word!r}") from None
    if day.weekday() >= 5:
        raise ValueError(f"{day} is a {day:%A}: exchanges never trade on weekends")
    return day


def show(markets: dict[str, Market], year: int | None, only: str | None) -> str:
    today = datetime.now(UTC).date()
    out = []
    for code, m in markets.items():
        if only and code != only:
            continue
        out.append(summary(m))
        for line in (horizon_line(m, today), provisional_line(m, today)):
            if line:
                out.append(f"  ! {cmdref.for_platform(line, 'console')}")
        first = date(year, 1, 1) if year else today
        last = date(year, 12, 31) if year else date(today.year + 1, 12, 31)
        for day, name, source in closures_in(m, first, min(last, m.end)):
            out.append(f"  {day:%Y-%m-%d %a}  {name:<38.38}  {source}")
        out.append("")
    return "\n".join(out)


async def change(
    settings: Settings, markets: dict[str, Market], action: str, args: list[str]
) -> str:
    if not settings.redis_url:
        raise ValueError("needs REDIS_URL: operator days are kept in the bot's Redis")
    redis = open_redis(settings)
    days = MarketDays(redis, markets)
    try:
        await days.load()
        if action == "load":
            if len(args) != 1:
                raise ValueError("usage: divbot calendars load FILE")
            tables = load_closure_file(Path(args[0]))
            count = 0
            for code, table in tables.items():
                code = _code(code, markets)
                for row in table.closure:
                    name = f"{row.name} ({row.status})"
                    await days.declare(
                        code, DayOverride(row.date, False, name, "operator", CLI_OPERATOR)
                    )
                    count += 1
            return f"loaded {count} closure(s) from {args[0]} as operator days"
        if len(args) < 2:
            raise ValueError(
                f"usage: divbot calendars {action} MARKET DATE"
                + (" [NAME]" if action != "rm" else "")
            )
        code, day = _code(args[0], markets), _day(args[1])
        if action == "rm":
            if not await days.clear(code, day):
                raise ValueError(f"no operator or provider day on {code} {day}")
            return f"{code} {day}: back to the calendar ({markets[code].source_of(day)})"
        is_open = action == "open"
        name = " ".join(args[2:]).strip()[:60] or (
            "open (operator)" if is_open else "closed (operator)"
        )
        await days.declare(code, DayOverride(day, is_open, name, "operator", CLI_OPERATOR))
        return f"{code} {day}: {'open' if is_open else 'closed'} ({name})"
    finally:
        await redis.aclose()


def run(settings: Settings, ns: argparse.Namespace) -> int:
    markets = _markets(settings)
    try:
        only = _code(ns.market, markets) if ns.market else None
        if ns.action == "show":
            if settings.redis_url:
                asyncio.run(_load(settings, markets))
            print(show(markets, ns.year, only))
            return 0
        print(asyncio.run(change(settings, markets, ns.action, ns.args)))
        return 0
    except (ValueError, ClosureFileError) as exc:
        print(f"calendars: {exc}", file=sys.stderr)
        return 2


async def _load(settings: Settings, markets: dict[str, Market]) -> None:
    redis = open_redis(settings)
    try:
        await MarketDays(redis, markets).load()
    finally:
        await redis.aclose()
