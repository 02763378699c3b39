"""Finding an instrument by code or name: Eastmoney's search, Yahoo's as the fallback.

Owns both search wire formats (../shared/DATA.md, "Finding an instrument"):

- Eastmoney `GET {EASTMONEY_SEARCH_BASE}/api/suggest/get?input=…&type=14&token=…&count=10`
  -> `QuotationCodeTable.Data[]{Code, Name, Classify, MktNum, SecurityTypeName, QuoteID}`.
  `QuoteID` is the secid the quote endpoints take. Only `Classify` AStock (Shanghai
  `MktNum` 1; Shenzhen and Beijing 0), HKStock (116) and UsStock (105/106/107) are
  instruments the bot can watch; funds, bonds, indices and the rest are left out.
- Yahoo `GET {YAHOO_SEARCH_BASE}/v1/finance/search?q=…` -> `quotes[]{symbol, shortname,
  longname, exchange, quoteType}`: EQUITY rows on Shanghai (SHH, `.SS`), Shenzhen (SHZ,
  `.SZ`), Hong Kong (HKG, `.HK`) and the US exchanges.

Both become `Candidate`s carrying the ids of both providers and the market calendar
(A-shares: XSHG, which Shenzhen and Beijing share; Hong Kong: XHKG; US: XNYS).
Eastmoney is asked first; Yahoo when Eastmoney fails or finds no instrument it can watch
(English names of A-shares, e.g. "Cambricon", are Yahoo's).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Literal

import aiohttp

from bot.config import Settings
from bot.sources.base import SourceError
from bot.sources.http import JsonClient, Sleep, join
from bot.sources.parse import obj, seq

Market = Literal["SH", "SZ", "BJ", "HK", "US"]
CALENDAR: dict[Market, str] = {
    "SH": "XSHG",
    "SZ": "XSHG",
    "BJ": "XSHG",
    "HK": "XHKG",
    "US": "XNYS",
}
# The token the Eastmoney web pages send (public; DATA.md). A changed answer shape is a
# source error, never a guess.
EASTMONEY_TOKEN = "D43BF722C8E33BDC906FB84D85E326E8"  # noqa: S105 (public, not a secret)
US_MKTNUM = {"105", "106", "107"}
YAHOO_US = {"NMS": "105", "NGM": "105", "NCM": "105", "NYQ": "106", "ASE": "107", "PCX": "107"}
SECID = re.compile(r"^(0|1|116|105|106|107)\.[0-9A-Z_]{1,12}$")
MAX_CANDIDATES = 6


@dataclass(frozen=True, slots=True)
class Candidate:
    """One instrument a search found, with both providers' ids."""

    code: str  # the exchange code: 688256, 09988, NVDA
    name: str  # as the provider names it: 寒武纪, 阿里巴巴-W, NVIDIA Corp
    market: Market
    eastmoney: str | None  # secid, e.g. 1.688256
    yahoo: str | None  # symbol, e.g. 688256.SS

    @property
    def calendar(self) -> str:
        return CALENDAR[self.market]


def _a_share_market(mktnum: str, code: str) -> Market | None:
    if mktnum == "1":
        return "SH"
    if mktnum == "0":
        return "BJ" if code.startswith(("4", "8", "92")) else "SZ"
    return None


def _yahoo_symbol(market: Market, code: str) -> str:
    if market == "HK":
        return f"{int(code):04d}.HK" if code.isdigit() else f"{code}.HK"
    suffix = {"SH": ".SS", "SZ": ".SZ", "BJ": ".BJ", "US": ""}[market]
    return f"{code}{suffix}"


def parse_eastmoney_suggest(payload: object) -> list[Candidate]:
    """Watchable instruments in an Eastmoney suggest answer, in its order."""
    table = obj(
        "eastmoney-search",
        obj("eastmoney-search", payload, "the answer").get("QuotationCodeTable"),
        "QuotationCodeTable",
    )
    out: list[Candidate] = []
    for row in seq(table.get("Data") or []):
        if not isinstance(row, dict):
            continue
        code, name = str(row.get("Code") or ""), str(row.get("Name") or "").strip()
        secid, kind = str(row.get("QuoteID") or "").upper(), row.get("Classify")
        mktnum = str(row.get("MktNum") or "")
        if not code or not name or not SECID.match(secid):
            continue
        market: Market | None
        if kind == "AStock":
            market = _a_share_market(mktnum, code)
        elif kind == "HKStock" and mktnum == "116":
            market = "HK"
        elif kind == "UsStock" and mktnum in US_MKTNUM:
            market = "US"
        else:
            market = None
        if market is None:
            continue
        out.append(Candidate(code, name[:40], market, secid, _yahoo_symbol(market, code)))
    return out


def _from_yahoo_symbol(symbol: str, exchange: str) -> tuple[Market, str, str | None] | None:
    """(market, code, Eastmoney secid) for a Yahoo symbol, if one the bot watches."""
    base, _, suffix = symbol.partition(".")
    if suffix == "SS" and base.isdigit():
        return "SH", base, f"1.{base}"
    if suffix == "SZ" and base.isdigit():
        return "SZ", base, f"0.{base}"
    if suffix == "BJ" and base.isdigit():
        return "BJ", base, f"0.{base}"
    if suffix == "HK" and base.isdigit():
        code = f"{int(base):05d}"
        return "HK", code, f"116.{code}"
    if exchange in YAHOO_US and re.fullmatch(r"[A-Z][A-Z0-9.\-]{0,9}", symbol):
        secid = f"{YAHOO_US[exchange]}.{symbol.replace('-', '_')}"
        return "US", symbol, secid if SECID.match(secid) else None
    return None


def parse_yahoo_search(payload: object) -> list[Candidate]:
    """Watchable equities in a Yahoo search answer, in its order."""
    out: list[Candidate] = []
    for row in seq(obj("yahoo-search", payload, "the answer").get("quotes") or []):
        if not isinstance(row, dict) or row.get("quoteType") != "EQUITY":
            continue
        symbol = str(row.get("symbol") or "").upper()
        name = str(row.get("shortname") or row.get("longname") or symbol).strip()
        found = _from_yahoo_symbol(symbol, str(row.get("exchange") or ""))
        if found is None:
            continue
        market, code, secid = found
        out.append(Candidate(code, name[:40], market, secid, symbol))
    return out


class InstrumentSearch:
    """Eastmoney's search, then Yahoo's: the candidates a trader's words name."""

    def __init__(
        self, session: aiohttp.ClientSession, settings: Settings, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        headers = {"User-Agent": "Mozilla/5.0 (divergence-bot)"}
        self.eastmoney = JsonClient.for_provider(
            session, "eastmoney-search", settings, headers, sleep
        )
        self.yahoo = JsonClient.for_provider(session, "yahoo-search", settings, headers, sleep)
        self.eastmoney_url = join(settings.eastmoney_search_base, "/api/suggest/get")
        self.yahoo_url = join(settings.yahoo_search_base, "/v1/finance/search")

    async def find(self, words: str) -> list[Candidate]:
        """Candidates for `words`, best first; SourceError only when both searches failed."""
        failure: SourceError | None = None
        try:
            found = parse_eastmoney_suggest(
                await self.eastmoney.get(
                    self.eastmoney_url,
                    {"input": words, "type": "14", "token": EASTMONEY_TOKEN, "count": "10"},
                )
            )
            if found:
                return found[:MAX_CANDIDATES]
        except SourceError as exc:
            failure = exc
        try:
            answer = await self.yahoo.get(
                self.yahoo_url, {"q": words, "quotesCount": "10", "newsCount": "0"}
            )
            return parse_yahoo_search(answer)[:MAX_CANDIDATES]
        except SourceError:
            if failure is not None:
                raise failure from None
            raise
