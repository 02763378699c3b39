"""Eastmoney: latest quotes for many instruments in one call, and daily closes (klines).

Owns Eastmoney's wire format: `ulist.np` rows keyed by market (f13) and code (f12), "-"
for missing numbers, `data: null` for unknown ids, and kline rows whose close comes
*before* high and low. Prices are requested with fltt=2 (floats, not x100 integers).
Every watched instrument goes in one `ulist.np` call (`BATCH` secids a call: a longer
query string risks the 8 KB request-line limit of common servers; beyond it the calls
run side by side).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date

import aiohttp

from bot.config import Settings
from bot.models import Instrument
from bot.sources.base import RawQuote, SourceError
from bot.sources.http import JsonClient, Sleep, join
from bot.sources.parse import epoch, num, obj, seq

NAME = "eastmoney"
QUOTE_FIELDS = "f2,f3,f4,f12,f13,f14,f15,f16,f17,f18,f124"
BATCH = 500  # secids per ulist.np call (about 5 KB of query string)
# Browsers send these; Eastmoney answers bare clients too, but this keeps us unremarkable.
HEADERS = {"User-Agent": "Mozilla/5.0 (divergence-bot)", "Referer": "https://quote.eastmoney.com/"}


def _data(payload: object) -> dict[str, object]:
    body = obj(NAME, payload, "the answer")
    rc = body.get("rc", 0)
    if rc not in (0, None):
        raise SourceError(NAME, f"rc {str(rc)[:12]}")
    if body.get("data") is None:
        raise SourceError(NAME, "data: null (unknown id or no data)")
    return obj(NAME, body["data"], "data")


def parse_ulist(payload: object, key_by_secid: Mapping[str, str]) -> dict[str, RawQuote]:
    """Quotes by instrument key from a `ulist.np/get` answer (fltt=2)."""
    diff = _data(payload).get("diff")
    rows = list(diff.values()) if isinstance(diff, dict) else seq(diff)
    wanted = {secid.upper(): key for secid, key in key_by_secid.items()}
    quotes: dict[str, RawQuote] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        key = wanted.get(f"{row.get('f13')}.{row.get('f12')}".upper())
        if key is None:
            continue
        quotes[key] = RawQuote(
            instrument=key,
            price=num(row.get("f2")),
            at=epoch(row.get("f124")),
            source=NAME,
            open=num(row.get("f17")),
            prev_close=num(row.get("f18")),
        )
    return quotes


def parse_klines(payload: object) -> list[tuple[date, float]]:
    """(date, close) pairs from a kline answer: "date,open,close,high,low,volume,amount"."""
    closes: dict[date, float] = {}
    for i, row in enumerate(seq(_data(payload).get("klines"))):
        parts = row.split(",") if isinstance(row, str) else []
        close = num(parts[2]) if len(parts) >= 3 else None
        try:
            day = date.fromisoformat(parts[0]) if parts else None
        except ValueError:
            day = None
        if day is None or close is None or not 0 < close < float("inf"):
            raise SourceError(NAME, f"kline row {i} malformed")
        closes[day] = close
    return sorted(closes.items())


class EastmoneySource:
    """QuoteSource for every instrument with an Eastmoney secid."""

    name = NAME

    def __init__(
        self, session: aiohttp.ClientSession, settings: Settings, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.http = JsonClient.for_provider(session, NAME, settings, HEADERS, sleep)
        self.quote_url = join(settings.eastmoney_quote_base, "/api/qt/ulist.np/get")
        self.kline_url = join(settings.eastmoney_history_base, "/api/qt/stock/kline/get")

    def covers(self, instrument: Instrument) -> bool:
        return instrument.eastmoney is not None

    async def fetch_quotes(self, instruments: list[Instrument]) -> dict[str, RawQuote]:
        key_by_secid = {i.eastmoney: i.key for i in instruments if i.eastmoney}
        secids = list(key_by_secid)
        chunks = [secids[s : s + BATCH] for s in range(0, len(secids), BATCH)]
        answers = await asyncio.gather(*(self._ulist(c, key_by_secid) for c in chunks))
        return {key: raw for answer in answers for key, raw in answer.items()}

    async def _ulist(
        self, secids: list[str], key_by_secid: Mapping[str, str]
    ) -> dict[str, RawQuote]:
        params = {"fltt": "2", "invt": "2", "fields": QUOTE_FIELDS, "secids": ",".join(secids)}
        return parse_ulist(await self.http.get(self.quote_url, params), key_by_secid)

    async def fetch_caps(self, instruments: list[Instrument]) -> dict[str, float]:
        """Free-float market capitalisation (`f21`, in the listing's currency) by key;
        instruments without a positive figure are left out."""
        key_by_secid = {i.eastmoney.upper(): i.key for i in instruments if i.eastmoney}
        params = {
            "fltt": "2",
            "invt": "2",
            "fields": "f12,f13,f21",
            "secids": ",".join(key_by_secid),
        }
        diff = _data(await self.http.get(self.quote_url, params)).get("diff")
        rows = list(diff.values()) if isinstance(diff, dict) else seq(diff)
        caps: dict[str, float] = {}
        for row in rows:
            if isinstance(row, dict):
                key = key_by_secid.get(f"{row.get('f13')}.{row.get('f12')}".upper())
                cap = num(row.get("f21"))
                if key is not None and cap is not None and 0 < cap < float("inf"):
                    caps[key] = cap
        return caps

    async def fetch_daily(
        self, instrument: Instrument, start: date, end: date
    ) -> list[tuple[date, float]]:
        if not instrument.eastmoney:
            raise SourceError(NAME, f"no Eastmoney id for {instrument.key}")
        params = {
            "secid": instrument.eastmoney,
            "fields1": "f1,f2,f3,f4,f5,f6",
            "fields2": "f51,f52,f53,f54,f55,f56,f57",
            "klt": "101",
            "fqt": "0",
            "beg": start.strftime("%Y%m%d"),
            "end": end.strftime("%Y%m%d"),
        }
        rows = parse_klines(await self.http.get(self.kline_url, params))
        return [(day, close) for day, close in rows if start <= day <= end]
