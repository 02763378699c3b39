"""Yahoo Finance: the fallback quote source, many symbols per call, charts for history.

Latest quotes come from the v7 quote endpoint, many symbols in one call
(`/v7/finance/quote?symbols=A,B,…`, up to `BATCH` a call: `quoteResponse.result[]` with
`symbol`, `regularMarketPrice`, `regularMarketTime`, `regularMarketOpen`,
`regularMarketPreviousClose`). Yahoo sometimes refuses that endpoint to clients without
its cookie (401) or drops a symbol from the answer: then the symbols not answered are
asked one v8 chart call each, as before, and the batch endpoint is left alone for
`BATCH_PAUSE_S`. Owns Yahoo's chart wire format: the
`{"chart":{"result":null,"error":{…}}}` error body, results without `timestamp` and
with `quote:[{}]` (weekends), arrays holding null or shorter than `timestamp`, and bar
dates that are the exchange's local dates.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import quote as urlquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

from bot.config import Settings
from bot.models import Instrument
from bot.sources.base import RawQuote, SourceError
from bot.sources.http import JsonClient, Sleep, join
from bot.sources.parse import epoch, num, obj, seq

NAME = "yahoo"
# Yahoo answers 429 far more often to clients without a browser-like User-Agent.
HEADERS = {"User-Agent": "Mozilla/5.0 (divergence-bot)"}
MAX_PARALLEL = 4
BATCH = 200  # symbols per v7 quote call
BATCH_PAUSE_S = 3600.0  # after the batch endpoint refused us, charts only for this long


def _result(payload: object) -> dict[str, Any]:
    chart = obj(NAME, obj(NAME, payload, "the answer").get("chart"), "chart")
    error = chart.get("error")
    if error:
        err = error if isinstance(error, dict) else {}
        code = str(err.get("code") or "error")[:40]
        desc = str(err.get("description") or "")[:80]
        raise SourceError(NAME, f"{code}: {desc}" if desc else code)
    results = seq(chart.get("result"))
    if not results:
        raise SourceError(NAME, "chart.result is empty")
    return obj(NAME, results[0], "chart.result[0]")


def _zone(meta: dict[str, Any]) -> tzinfo:
    name = meta.get("exchangeTimezoneName")
    if isinstance(name, str):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    offset = num(meta.get("gmtoffset"))
    if offset is not None and abs(offset) < 86_400:
        return timezone(timedelta(seconds=int(offset)))
    raise SourceError(NAME, "no usable exchange time zone in meta")


def _bars(result: dict[str, Any], zone: tzinfo) -> list[tuple[date, float | None, float | None]]:
    """(local date, open, close) per bar; zip stops at the shortest array on purpose."""
    quotes = seq(obj(NAME, result.get("indicators") or {}, "indicators").get("quote"))
    q = quotes[0] if quotes and isinstance(quotes[0], dict) else {}
    stamps = seq(result.get("timestamp"))
    bars = []
    for ts, open_, close in zip(stamps, seq(q.get("open")), seq(q.get("close")), strict=False):
        at = epoch(ts)
        if at is not None:
            bars.append((at.astimezone(zone).date(), num(open_), num(close)))
    return bars


def parse_chart_quote(payload: object, key: str) -> RawQuote:
    """The latest quote in a chart answer (range=5d, interval=1d)."""
    result = _result(payload)
    meta = obj(NAME, result.get("meta"), "chart meta")
    zone = _zone(meta)
    at = epoch(meta.get("regularMarketTime"))
    bars = _bars(result, zone)
    today = at.astimezone(zone).date() if at else None
    open_ = next((o for d, o, _ in reversed(bars) if d == today), None)
    # chartPreviousClose is the close before the chart's *range* (5 days back), so the
    # previous bar's close or meta.previousClose is yesterday's; it is only a last resort.
    earlier = [c for d, _, c in bars if today and d < today and c is not None]
    prev_close = num(meta.get("previousClose"))
    if prev_close is None:
        prev_close = earlier[-1] if earlier else num(meta.get("chartPreviousClose"))
    return RawQuote(
        instrument=key,
        price=num(meta.get("regularMarketPrice")),
        at=at,
        source=NAME,
        open=open_,
        prev_close=prev_close,
    )


def parse_chart_daily(payload: object) -> list[tuple[date, float]]:
    """(exchange-local date, close) pairs, oldest first, null closes skipped."""
    result = _result(payload)
    zone = _zone(obj(NAME, result.get("meta"), "chart meta"))
    closes = {d: c for d, _, c in _bars(result, zone) if c is not None and 0 < c < float("inf")}
    return sorted(closes.items())


def parse_batch_quotes(payload: object, key_by_symbol: dict[str, str]) -> dict[str, RawQuote]:
    """Quotes by instrument key from a v7 quote answer; symbols not asked are ignored."""
    body = obj(NAME, obj(NAME, payload, "the answer").get("quoteResponse"), "quoteResponse")
    error = body.get("error")
    if error:
        err = error if isinstance(error, dict) else {}
        raise SourceError(NAME, str(err.get("code") or "quoteResponse error")[:40])
    out: dict[str, RawQuote] = {}
    for row in seq(body.get("result")):
        if not isinstance(row, dict):
            continue
        key = key_by_symbol.get(str(row.get("symbol", "")).upper())
        if key is None:
            continue
        out[key] = RawQuote(
            instrument=key,
            price=num(row.get("regularMarketPrice")),
            at=epoch(row.get("regularMarketTime")),
            source=NAME,
            open=num(row.get("regularMarketOpen")),
            prev_close=num(row.get("regularMarketPreviousClose")),
        )
    return out


class YahooSource:
    """QuoteSource for every instrument with a Yahoo symbol."""

    name = NAME

    def __init__(
        self, session: aiohttp.ClientSession, settings: Settings, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.http = JsonClient.for_provider(session, NAME, settings, HEADERS, sleep)
        self.base = settings.yahoo_base
        self._gate = asyncio.Semaphore(MAX_PARALLEL)
        self.batch_url = join(self.base, "/v7/finance/quote")
        self._batch_off_until = 0.0  # loop time before which the batch endpoint is skipped

    def covers(self, instrument: Instrument) -> bool:
        return instrument.yahoo is not None

    def _url(self, symbol: str) -> str:
        return join(self.base, f"/v8/finance/chart/{urlquote(symbol, safe='')}")

    async def _chart(self, symbol: str, params: dict[str, str]) -> Any:
        async with self._gate:
            return await self.http.get(self._url(symbol), params)

    async def _one(self, inst: Instrument) -> RawQuote:
        assert inst.yahoo is not None
        try:
            payload = await self._chart(inst.yahoo, {"range": "5d", "interval": "1d"})
            return parse_chart_quote(payload, inst.key)
        except SourceError as exc:
            return RawQuote(inst.key, None, None, NAME, error=exc.reason)

    async def _batch(self, wanted: list[Instrument]) -> dict[str, RawQuote]:
        """What the v7 quote endpoint answers for `wanted`, BATCH symbols a call."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._batch_off_until:
            return {}
        out: dict[str, RawQuote] = {}
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            key_by_symbol = {i.yahoo.upper(): i.key for i in chunk if i.yahoo}
            params = {"symbols": ",".join(i.yahoo for i in chunk if i.yahoo)}
            try:
                out |= parse_batch_quotes(
                    await self.http.get(self.batch_url, params), key_by_symbol
                )
            except SourceError as exc:
                if exc.retry_after_s is not None:
                    raise  # the provider asked us to wait: no chart calls either
                self._batch_off_until = loop.time() + BATCH_PAUSE_S
                return out
        return out

    async def fetch_quotes(self, instruments: list[Instrument]) -> dict[str, RawQuote]:
        """The batch endpoint first; a chart call for each symbol it did not answer. If
        every call failed the source itself is down."""
        wanted = [i for i in instruments if i.yahoo]
        batched = await self._batch(wanted)
        rest = [i for i in wanted if i.key not in batched]
        got = await asyncio.gather(*(self._one(i) for i in rest))
        if not batched and got and all(q.error for q in got):
            raise SourceError(NAME, got[0].error or "no quote")
        return batched | {q.instrument: q for q in got}

    async def fetch_daily(
        self, instrument: Instrument, start: date, end: date
    ) -> list[tuple[date, float]]:
        if not instrument.yahoo:
            raise SourceError(NAME, f"no Yahoo symbol for {instrument.key}")
        # Local dates can sit a day either side of UTC midnight: ask wide, filter locally.
        first = datetime.combine(start - timedelta(days=1), datetime.min.time(), UTC)
        last = datetime.combine(end + timedelta(days=2), datetime.min.time(), UTC)
        params = {
            "period1": str(int(first.timestamp())),
            "period2": str(int(last.timestamp())),
            "interval": "1d",
        }
        rows = parse_chart_daily(await self._chart(instrument.yahoo, params))
        return [(day, close) for day, close in rows if start <= day <= end]
