"""Macro actuals: China's prints from Eastmoney's datacenter, and the source protocol.

Owns the datacenter wire format: ``GET /api/data/v1/get?reportName=RPT_ECONOMY_PPI&
columns=ALL&pageSize=…&sortColumns=REPORT_DATE&sortTypes=-1`` answers
``{"code":0,"success":true,"result":{"count":N,"pages":P,"data":[{"REPORT_DATE":
"2025-12-01 00:00:00","TIME":"2025年12月份","BASE_SAME":-1.9,…},…]}}``, newest first; an
empty answer is ``{"result":null,"success":false,"code":9201,…}``. The value column per
report: PPI ``BASE_SAME``, CPI ``NATIONAL_SAME``, PMI ``MAKE_INDEX``, industrial output
``RPT_ECONOMY_INDUS_GROW.BASE_SAME``, retail sales ``RPT_ECONOMY_TOTAL_RETAIL.
RETAIL_TOTAL_SAME``, GDP ``SUM_SAME``.

The GDP trap: ``SUM_SAME`` is *year-to-date* growth (``TIME`` "2025年第1-4季度" is the
whole of 2025, +5.0%), dated by the quarter's last month. Only a first-quarter row is
also that quarter's own y/y; later rows come back flagged ``ytd`` and the watcher stores
them as GDP_YTD, never as the quarterly GDP series.

Every answer is validated whole: a missing envelope, a row without a date, a null, NaN or
out-of-range value raises SourceError (the source goes unhealthy, no alert is raised).
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import aiohttp

from bot.config import Settings
from bot.sources.base import SourceError
from bot.sources.http import JsonClient, Sleep, join
from bot.sources.parse import num, obj

NAME = "eastmoney-macro"
PATH = "/api/data/v1/get"
HEADERS = {"User-Agent": "Mozilla/5.0 (divergence-bot)", "Referer": "https://data.eastmoney.com/"}
# indicator -> (report, value column, sane range)
REPORTS: dict[str, tuple[str, str, tuple[float, float]]] = {
    "PPI": ("RPT_ECONOMY_PPI", "BASE_SAME", (-30.0, 40.0)),
    "CPI": ("RPT_ECONOMY_CPI", "NATIONAL_SAME", (-10.0, 30.0)),
    "PMI": ("RPT_ECONOMY_PMI", "MAKE_INDEX", (25.0, 75.0)),
    "GDP": ("RPT_ECONOMY_GDP", "SUM_SAME", (-20.0, 30.0)),
    "IP": ("RPT_ECONOMY_INDUS_GROW", "BASE_SAME", (-40.0, 60.0)),
    "RETAIL": ("RPT_ECONOMY_TOTAL_RETAIL", "RETAIL_TOTAL_SAME", (-40.0, 60.0)),
}
GDP_TIME = re.compile(r"第1(?:-([2-4]))?季度")


@dataclass(frozen=True, slots=True)
class MacroPrint:
    """One published figure: `period` is the first day of its month or quarter."""

    indicator: str
    period: date
    value: float
    ytd: bool = False  # GDP only: growth of the year so far, not of the quarter alone


class MacroSource(Protocol):
    name: str

    def covers(self, indicator: str) -> bool: ...

    async def fetch(self, indicator: str) -> list[MacroPrint]:
        """The latest prints, newest first; SourceError on a bad answer."""
        ...


def _report_date(value: object, i: int) -> date:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise SourceError(NAME, f"row {i}: REPORT_DATE missing or malformed")


def parse_report(indicator: str, payload: object) -> list[MacroPrint]:
    """Prints from one datacenter answer for `indicator`, newest first."""
    _, column, (low, high) = REPORTS[indicator]
    body = obj(NAME, payload, "the answer")
    if body.get("result") is None:
        code = str(body.get("code", ""))[:8]
        raise SourceError(NAME, f"no data (result null, code {code or '?'})")
    data = obj(NAME, body["result"], "result").get("data")
    if not isinstance(data, list) or not data:
        raise SourceError(NAME, "result.data is empty or not a list")
    prints: list[MacroPrint] = []
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise SourceError(NAME, f"row {i} is not an object")
        day = _report_date(row.get("REPORT_DATE"), i)
        value = num(row.get(column))
        if value is None or not math.isfinite(value):
            raise SourceError(NAME, f"row {i}: {column} missing or not a number")
        if not low <= value <= high:
            raise SourceError(NAME, f"row {i}: {column} {value:g} outside {low:g}..{high:g}")
        ytd = False
        if indicator == "GDP":
            if day.month not in (3, 6, 9, 12):
                raise SourceError(NAME, f"row {i}: GDP REPORT_DATE is not a quarter's end")
            span = GDP_TIME.search(str(row.get("TIME", "")))
            if span is None:
                raise SourceError(NAME, f"row {i}: GDP TIME does not name its quarters")
            ytd = span[1] is not None
            day = day.replace(month=day.month - 2)
        prints.append(MacroPrint(indicator, day.replace(day=1), round(value, 2), ytd))
    return sorted(prints, key=lambda p: p.period, reverse=True)


class EastmoneyMacroSource:
    """MacroSource over Eastmoney's datacenter (base URL: settings.eastmoney_datacenter_base)."""

    name = NAME

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        page_size: int = 12,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.http = JsonClient.for_provider(session, NAME, settings, HEADERS, sleep)
        self.url = join(settings.eastmoney_datacenter_base, PATH)
        self.page_size = page_size

    def covers(self, indicator: str) -> bool:
        return indicator in REPORTS

    async def fetch(self, indicator: str) -> list[MacroPrint]:
        if indicator not in REPORTS:
            raise SourceError(NAME, f"no datacenter report for {indicator}")
        params = {
            "reportName": REPORTS[indicator][0],
            "columns": "ALL",
            "pageNumber": "1",
            "pageSize": str(self.page_size),
            "sortColumns": "REPORT_DATE",
            "sortTypes": "-1",
            "source": "WEB",
            "client": "WEB",
        }
        return parse_report(indicator, await self.http.get(self.url, params))
