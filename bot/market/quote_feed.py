"""The quote feed: asks sources in priority order, validates, fails over, records health.

Owns failover: the first source (Eastmoney) is asked for everything it covers; each later
source (Yahoo) only for what no earlier source delivered validly. Provider trouble never
raises out of `poll`: it becomes a health entry (`eastmoney`, or `eastmoney:NDX` for one
bad observation) with a reason /status can show.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from bot.market.pacing import Pacing
from bot.market.validate import BadQuote, QuoteValidator
from bot.market.watchlist import Watchlist
from bot.models import Instrument, Quote
from bot.ops.health import HealthBoard
from bot.sources.base import QuoteSource, RawQuote, SourceError

log = logging.getLogger(__name__)


class QuoteFeed:
    """Validated quotes from several sources, best source first."""

    def __init__(
        self,
        sources: list[QuoteSource],
        validator: QuoteValidator,
        health: HealthBoard,
        watchlist: Watchlist,
    ) -> None:
        self.sources = sources
        self.validator = validator
        self.health = health
        self.watchlist = watchlist
        # When each instrument last traded as the providers said in the latest poll,
        # validated or not: what tells a closed day from an open one (jobs.trading_day).
        self.last_trade_at: dict[str, datetime] = {}
        self.pacing = Pacing()

    async def poll(
        self,
        instruments: Iterable[Instrument | str],
        now: datetime,
        last: Mapping[str, Quote],
        cached_prev_close: Mapping[str, float],
    ) -> list[Quote]:
        """One validated quote per instrument that some source delivered well."""
        missing = {i.key: i for i in map(self._instrument, instruments)}
        self.last_trade_at = {}
        quotes: list[Quote] = []
        for source in self.sources:
            wanted = [i for i in missing.values() if source.covers(i)]
            if not wanted or self.pacing.resting(source.name, now) is not None:
                continue
            raws = await self._fetch(source, wanted, now)
            if raws is None:
                continue
            for inst in wanted:
                quote = self._validate(source.name, raws, inst, now, last, cached_prev_close)
                if quote is not None:
                    quotes.append(quote)
                    del missing[inst.key]
        return quotes

    async def trade_times(
        self, instruments: Iterable[Instrument], now: datetime
    ) -> dict[str, datetime]:
        """When each instrument last traded, as the first source that answers says.

        Unvalidated and quiet (no health marks): the check of a day the calendar calls
        closed only asks whether the market traded, and must not look like an outage."""
        missing = {i.key: i for i in instruments}
        out: dict[str, datetime] = {}
        for source in self.sources:
            wanted = [i for i in missing.values() if source.covers(i)]
            if not wanted:
                continue
            try:
                raws = await source.fetch_quotes(wanted)
            except Exception as exc:
                log.info("trade-time check: %s did not answer (%s)", source.name, exc)
                continue
            for key, raw in raws.items():
                if key in missing and raw.at is not None and raw.price:
                    out[key] = raw.at
                    del missing[key]
        return out

    def _instrument(self, item: Instrument | str) -> Instrument:
        return item if isinstance(item, Instrument) else self.watchlist[item]

    async def _fetch(
        self, source: QuoteSource, wanted: list[Instrument], now: datetime
    ) -> dict[str, RawQuote] | None:
        try:
            raws = await source.fetch_quotes(wanted)
        except SourceError as exc:
            self._failed(source.name, exc.reason, now, exc.retry_after_s)
            return None
        except Exception as exc:
            # A parser bug must not stop the other sources; the traceback goes to the log.
            log.exception("quote source %s failed unexpectedly", source.name)
            self._failed(source.name, f"internal error ({type(exc).__name__})", now, None)
            return None
        self.pacing.succeeded(source.name)
        self.health.ok(source.name, now)
        return raws

    def _failed(self, name: str, reason: str, now: datetime, retry_after: float | None) -> None:
        rest = self.pacing.failed(name, now, retry_after)
        if rest > 0:
            reason = f"{reason}; resting {rest:.0f}s"
        self.health.bad(name, reason, now)

    def _validate(
        self,
        source: str,
        raws: Mapping[str, RawQuote],
        inst: Instrument,
        now: datetime,
        last: Mapping[str, Quote],
        cached_prev_close: Mapping[str, float],
    ) -> Quote | None:
        tag = f"{source}:{inst.key}"
        raw = raws.get(inst.key)
        if raw is None:
            self.health.bad(tag, "not in the answer", now)
            return None
        if raw.at is not None and raw.price:
            seen = self.last_trade_at.get(inst.key)
            self.last_trade_at[inst.key] = raw.at if seen is None else max(seen, raw.at)
        try:
            quote = self.validator.check(
                raw, inst, now, last.get(inst.key), cached_prev_close.get(inst.key)
            )
        except BadQuote as exc:
            self.health.bad(tag, exc.reason, now)
            return None
        except Exception as exc:
            log.exception("validating %s failed unexpectedly", tag)
            self.health.bad(tag, f"internal error ({type(exc).__name__})", now)
            return None
        self.health.ok(tag, now)
        return quote
