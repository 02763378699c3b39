"""From a trader's words to a validated instrument: /watch 寒武纪, 688256, 9988, NVDA.

Owns the decision of which instrument words name and whether it may be stored:

1. Words the watchlist knows (a key, a name, an alias: seed or already added) are that
   instrument, with no provider asked.
2. Otherwise the search (bot.sources.search: Eastmoney, then Yahoo) gives candidates.
   One candidate, or one whose code, name or Yahoo symbol is exactly the words (`9988`
   for 09988), is the answer; several are handed back for the trader to choose (the
   handler shows them as buttons carrying the secid, which `find` takes as words).
3. `admit` validates the chosen candidate before anything is stored: its market's
   calendar must be one the bot runs (XSHG for Shanghai, Shenzhen and Beijing, XHKG,
   XNYS), and a first quote must come from a provider, with a positive price, traded
   within `RECENT_TRADE_DAYS` on a day that calendar calls a session. A delisted,
   long-suspended or unknown code is refused in one line (`Refused`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Protocol

from bot.fmt import excerpt
from bot.market.sessions import Market
from bot.market.watchlist import UnknownInstrument, Watchlist
from bot.models import INSTRUMENT_KEY, Instrument
from bot.sources.base import QuoteSource, RawQuote, SourceError
from bot.sources.search import SECID, Candidate

log = logging.getLogger(__name__)
RECENT_TRADE_DAYS = 14  # a last trade older than this: delisted or suspended, not watched
BAND_FACTOR = 20.0  # the sanity band of an added instrument: first price / 20 .. x 20
MAX_WORDS = 40


class Refused(ValueError):
    """Why the words name nothing the bot can watch: the whole one-line reply."""


class Search(Protocol):
    async def find(self, words: str) -> list[Candidate]: ...


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def _exact(words: str, cand: Candidate) -> bool:
    w = _fold(words)
    names = {_fold(cand.code), _fold(cand.name), _fold(cand.yahoo or "")}
    if cand.code.isdigit() and w.isdigit():
        return int(w) == int(cand.code) and (len(w) >= 4 or cand.market == "HK")
    return w in names or (cand.eastmoney or "").upper() == w


def instrument_key(cand: Candidate, taken: Watchlist) -> str:
    """Our key for a candidate: the code for A-shares (688256), HK + code for Hong Kong
    (HK09988), the ticker for US stocks (NVDA); the market's prefix if that is taken."""
    code = re.sub(r"[^A-Z0-9]", "", cand.code.upper())
    key = code if cand.market in ("SH", "SZ", "BJ", "US") else f"HK{code}"
    if not INSTRUMENT_KEY.match(key) or key in taken:
        key = f"{cand.market}{code}"[:12]
    if not INSTRUMENT_KEY.match(key) or key in taken:
        raise Refused(f"{cand.code} {cand.name}: no free key for it; nothing stored")
    return key


class Finder:
    def __init__(
        self,
        search: Search,
        sources: list[QuoteSource],
        markets: Mapping[str, Market],
        watchlist: Watchlist,
    ) -> None:
        self.search = search
        self.sources = sources
        self.markets = markets
        self.watchlist = watchlist

    def known(self, words: str) -> Instrument | None:
        try:
            return self.watchlist.resolve(_fold(words))
        except UnknownInstrument:
            pass
        for inst in self.watchlist:  # a secid or Yahoo symbol (a button's, or typed)
            if _fold(words) in {(inst.eastmoney or "").upper(), (inst.yahoo or "").upper()}:
                return inst
        return None

    async def find(self, words: str) -> Instrument | Candidate | list[Candidate]:
        """The instrument already known, the one candidate meant, or the choices."""
        words = words.strip()[:MAX_WORDS]
        if not words:
            raise Refused("name an instrument: a code or a name, e.g. 688256 or 寒武纪")
        inst = self.known(words)
        if inst is not None:
            return inst
        secid = words.upper() if SECID.match(words.upper()) else None
        query = secid.split(".", 1)[1].replace("_", "-") if secid else words
        try:
            found = await self.search.find(query)
        except SourceError as exc:
            raise Refused(
                f"could not search for {excerpt(words)} now ({exc.reason}); try again"
            ) from None
        if secid is not None:
            found = [c for c in found if c.eastmoney == secid]
        exact = [c for c in found if _exact(words, c)]
        if len(exact) == 1:
            found = exact
        if not found:
            raise Refused(
                f"no A-share, Hong Kong or US stock found for {excerpt(words)}; nothing stored"
            )
        if len(found) == 1:
            known = self._known_candidate(found[0])
            return known or found[0]
        return found

    def _known_candidate(self, cand: Candidate) -> Instrument | None:
        for inst in self.watchlist:
            if cand.eastmoney and inst.eastmoney == cand.eastmoney:
                return inst
            if cand.yahoo and inst.yahoo and inst.yahoo.upper() == cand.yahoo.upper():
                return inst
        return None

    async def admit(self, cand: Candidate, now: datetime) -> Instrument:
        """The candidate as an instrument, validated by its calendar and a first quote."""
        label = f"{cand.code} {cand.name}"
        market = self.markets.get(cand.calendar)
        if market is None:
            raise Refused(f"{label}: its market ({cand.calendar}) is not one the bot runs")
        key = instrument_key(cand, self.watchlist)
        aliases = tuple(
            dict.fromkeys(
                a
                for a in (cand.code, cand.yahoo or "", cand.code.lstrip("0"))
                if a and a.upper() != key
            )
        )
        draft = Instrument(
            key, cand.name, cand.calendar, "stock", cand.eastmoney, cand.yahoo, aliases=aliases
        )
        raw = await self._first_quote(draft)
        if raw is None or raw.price is None or raw.at is None or not raw.price > 0:
            raise Refused(
                f"{label}: no price from the providers (delisted or unknown); nothing stored"
            )
        if now - raw.at > timedelta(days=RECENT_TRADE_DAYS):
            raise Refused(
                f"{label}: last traded {raw.at:%d %b %Y} (delisted or suspended); nothing stored"
            )
        day = raw.at.astimezone(market.tz).date()
        if market.session_on(day) is None:
            raise Refused(
                f"{label}: traded on {day:%d %b %Y}, a day its calendar ({cand.calendar}) "
                "calls closed; nothing stored"
            )
        band = (raw.price / BAND_FACTOR, raw.price * BAND_FACTOR)
        assert math.isfinite(band[1])
        return Instrument(
            key, cand.name, cand.calendar, "stock", cand.eastmoney, cand.yahoo, band, aliases
        )

    async def caps(self, instruments: list[Instrument]) -> dict[str, float]:
        """Free-float market caps by key from the first source that offers them."""
        for source in self.sources:
            fetch = getattr(source, "fetch_caps", None)
            if fetch is None:
                continue
            try:
                found: dict[str, float] = await fetch(instruments)
            except SourceError as exc:
                log.info("caps: %s did not answer (%s)", source.name, exc.reason)
                continue
            return found
        return {}

    async def _first_quote(self, inst: Instrument) -> RawQuote | None:
        for source in self.sources:
            if not source.covers(inst):
                continue
            try:
                raws = await source.fetch_quotes([inst])
            except SourceError as exc:
                log.info(
                    "first quote of %s: %s did not answer (%s)", inst.key, source.name, exc.reason
                )
                continue
            raw = raws.get(inst.key)
            if raw is not None and raw.price and raw.at is not None:
                return raw
        return None
