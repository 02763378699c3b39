"""/watch and /basket test helpers: SYNTHETIC search rows and prices on the provider
fakes (tests.fakes.providers), a core with a finder on loopback, commands."""

from __future__ import annotations

from typing import Any

import aiohttp
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.market.finder import Finder
from bot.sources.eastmoney import EastmoneySource
from bot.sources.search import InstrumentSearch
from bot.sources.yahoo import YahooSource
from bot.wiring import Core, build_core
from handlers.base import Command
from tests.fakes.providers import FakeProviders
from tests.wire.sources.conftest import NOW, Sleeps

CHAT = "telegram:-1001"
OTHER = "telegram:-1002"
FRESH = NOW.timestamp() - 30  # a trade half a minute ago


def em(code: str, name: str, mkt: str, secid: str, kind: str = "AStock") -> dict[str, Any]:
    """A SYNTHETIC Eastmoney suggest row (QuotationCodeTable.Data[])."""
    return {
        "Code": code,
        "Name": name,
        "PinYin": "",
        "Classify": kind,
        "MktNum": mkt,
        "SecurityTypeName": "",
        "QuoteID": secid,
        "UnifiedCode": code,
    }


def yq(symbol: str, name: str, exchange: str) -> dict[str, Any]:
    """A SYNTHETIC Yahoo search quote."""
    return {"symbol": symbol, "shortname": name, "exchange": exchange, "quoteType": "EQUITY"}


def program(fake: FakeProviders) -> None:
    fake.suggest |= {
        "华虹公司": [em("688347", "华虹公司", "1", "1.688347")],
        "688981": [em("688981", "中芯国际", "1", "1.688981")],
        "NVDA": [
            em("NVDA", "英伟达", "105", "105.NVDA", "UsStock"),
            em("NVDL", "GraniteShares 2x NVDA", "105", "105.NVDL", "UsStock"),
        ],
        "寒武纪": [em("688256", "寒武纪", "1", "1.688256")],
        "中芯国际": [
            em("688981", "中芯国际", "1", "1.688981"),
            em("00981", "中芯国际", "116", "116.00981", "HKStock"),
            em("SMIC", "中芯国际基金", "150", "150.SMIC", "Fund"),
        ],
        "00981": [em("00981", "中芯国际", "116", "116.00981", "HKStock")],
        "600087": [em("600087", "退市长油", "1", "1.600087")],
        "000413": [em("000413", "东旭光电", "0", "0.000413")],
    }
    fake.yahoo_search |= {
        "Moore Threads": [yq("688795.SS", "Moore Threads Technology", "SHH")],
        "Cambricon": [yq("688256.SS", "Cambricon Technologies", "SHH")],
    }
    for secid, price in [
        ("1.688347", 52.1),
        ("1.688981", 118.0),
        ("105.NVDA", 187.5),
        ("116.00981", 66.3),
        ("1.688795", 640.0),
    ]:
        fake.row(secid, f2=price, f17=price, f18=price, f124=FRESH)
    fake.row("1.600087", f2="-", f17="-", f18=4.2, f124=FRESH)  # delisted: no price
    fake.row("0.000413", f2=2.11, f18=2.11, f124=NOW.timestamp() - 200 * 86400)  # suspended


async def make_core(settings: Settings, redis: Redis, session: aiohttp.ClientSession) -> Core:
    core = await build_core(settings, redis, SimClock(NOW))
    sources = [
        EastmoneySource(session, settings, sleep=Sleeps()),
        YahooSource(session, settings, sleep=Sleeps()),
    ]
    search = InstrumentSearch(session, settings, sleep=Sleeps())
    core.finder = Finder(search, sources, core.markets, core.watchlist)  # type: ignore[arg-type]
    return core


def cmd(name: str, *args: str, chat: str = CHAT, admin: bool = True) -> Command:
    return Command("telegram", chat, "u1", name, tuple(args), can_admin=admin)
