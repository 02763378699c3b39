"""Margin financing: the Shanghai + Shenzhen balance from Eastmoney's datacenter.

Owns the wire format of report ``RPTA_RZRQ_LSHJ`` (../shared/DATA.md): ``GET
/api/data/v1/get?reportName=RPTA_RZRQ_LSHJ&columns=ALL&sortColumns=DIM_DATE&sortTypes=-1
&pageSize=N`` answers ``{"result":{"data":[{"DIM_DATE":"2026-08-13 00:00:00",
"RZYE":2649740550850.0,"RQYE":…,"RZRQYE":…,"RZMRE":…,"RZYEZB":2.63679},…]}}``, newest
first: ``RZYE`` the financing balance in **yuan**, ``RZYEZB`` that balance as a
**percentage of free-float market cap** (DATA.md: "RZYEZB the financing balance as % of
free-float market cap"; 2.63679 means 2.64%). An empty answer is ``{"result":null,…}``.

Paging: ``pageNumber`` (from 1) and ``pageSize`` (at most 800 rows, DATA.md) pick a page;
``result.pages`` is how many pages the report has at that size and ``result.count`` its
rows; a page past the last answers ``result: null`` (code 9201). `fetch_page` returns one
page with its ``pages``; a page without a sane ``pages`` is refused like a bad row.

The balance is kept in **billions of yuan** (``BILLION``): the MARGIN instrument's price,
so ``/quote MARGIN`` reads 2,649.74 and ``/alert add MARGIN above 2.7T`` is 2,700.

Row checks (a bad row refuses the whole answer; SourceError, nothing stored): a date that
is not ``YYYY-MM-DD 00:00:00``, a date twice, a balance missing, zero, negative or not
finite, a share missing or outside 0-100%. Checks against the stored history (a gap, a
jump) are the margin job's (bot.market.margin).
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from datetime import date

import aiohttp

from bot.config import Settings
from bot.sources.base import SourceError
from bot.sources.http import JsonClient, Sleep, join
from bot.sources.parse import num, obj

NAME = "eastmoney-margin"
REPORT = "RPTA_RZRQ_LSHJ"
PATH = "/api/data/v1/get"
HEADERS = {"User-Agent": "Mozilla/5.0 (divergence-bot)", "Referer": "https://data.eastmoney.com/"}
BILLION = 1e9
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$")


@dataclass(frozen=True, slots=True)
class MarginDay:
    """One trading day's figures: the financing balance (¥bn) and its share of free float."""

    day: date
    balance_bn: float
    share_pct: float


def _day(value: object, i: int) -> date:
    found = _DATE.match(value) if isinstance(value, str) else None
    if found is None:
        raise SourceError(NAME, f"row {i}: DIM_DATE is not 'YYYY-MM-DD 00:00:00'")
    try:
        return date.fromisoformat(found[1])
    except ValueError:
        raise SourceError(NAME, f"row {i}: DIM_DATE {found[1]} is not a date") from None


@dataclass(frozen=True, slots=True)
class MarginPage:
    """One page of the report (newest first on the wire): its days oldest first and how
    many pages the report has at this page size."""

    number: int
    days: list[MarginDay]
    pages: int


def parse_page(payload: object, number: int) -> MarginPage:
    """One page; SourceError on any bad row or a missing or bad page count."""
    days = parse_margin(payload)
    result = obj(NAME, obj(NAME, payload, "the answer")["result"], "result")
    pages = result.get("pages")
    if not isinstance(pages, int) or isinstance(pages, bool) or not 1 <= pages <= 10_000:
        raise SourceError(NAME, f"page {number}: result.pages missing or bad")
    if number > pages:
        raise SourceError(NAME, f"page {number} answered, but the report has {pages} pages")
    return MarginPage(number, days, pages)


def parse_margin(payload: object) -> list[MarginDay]:
    """The days of one answer, oldest first; SourceError on any bad row."""
    body = obj(NAME, payload, "the answer")
    if body.get("result") is None:
        raise SourceError(NAME, f"no data (result null, code {str(body.get('code', '?'))[:8]})")
    data = obj(NAME, body["result"], "result").get("data")
    if not isinstance(data, list) or not data:
        raise SourceError(NAME, "result.data is empty or not a list")
    days: dict[date, MarginDay] = {}
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise SourceError(NAME, f"row {i} is not an object")
        day = _day(row.get("DIM_DATE"), i)
        if day in days:
            raise SourceError(NAME, f"row {i}: {day} appears twice")
        balance = num(row.get("RZYE"))
        if balance is None or not math.isfinite(balance) or balance <= 0:
            raise SourceError(NAME, f"row {i}: RZYE (financing balance) missing, zero or bad")
        share = num(row.get("RZYEZB"))
        if share is None or not math.isfinite(share) or not 0 < share < 100:
            raise SourceError(NAME, f"row {i}: RZYEZB (share of free float) missing or bad")
        days[day] = MarginDay(day, balance / BILLION, share)
    return [days[d] for d in sorted(days)]


class EastmoneyMarginSource:
    """The margin report over Eastmoney's datacenter (settings.eastmoney_datacenter_base)."""

    name = NAME

    def __init__(
        self, session: aiohttp.ClientSession, settings: Settings, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.http = JsonClient.for_provider(session, NAME, settings, HEADERS, sleep)
        self.url = join(settings.eastmoney_datacenter_base, PATH)

    async def fetch(self, page_size: int = 30) -> list[MarginDay]:
        """The newest `page_size` days, oldest first."""
        return parse_margin(await self.http.get(self.url, self._params(1, page_size)))

    async def fetch_page(self, number: int, page_size: int) -> MarginPage:
        """Page `number` (from 1) of `page_size` rows, newest first on the wire."""
        return parse_page(await self.http.get(self.url, self._params(number, page_size)), number)

    def _params(self, number: int, page_size: int) -> dict[str, str]:
        return {
            "reportName": REPORT,
            "columns": "ALL",
            "pageNumber": str(number),
            "pageSize": str(page_size),
            "sortColumns": "DIM_DATE",
            "sortTypes": "-1",
            "source": "WEB",
            "client": "WEB",
        }
