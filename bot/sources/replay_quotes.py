"""Bundled history as a quote source: what `divbot replay` and the demo poll.

Reads ``daily/{KEY}.csv`` (date,close) and ``bars/{KEY}.csv`` (at,price; UTC) from a data
folder and answers like a live provider would at the simulated time: the latest bar of
the session in progress (or just closed), with that session's open and previous close.
"""

from __future__ import annotations

import bisect
import csv
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from bot.clock import Clock
from bot.models import Instrument
from bot.sources.base import RawQuote, SourceError


def read_daily(path: Path) -> list[tuple[date, float]]:
    with path.open(newline="") as fh:
        return [(date.fromisoformat(r["date"]), float(r["close"])) for r in csv.DictReader(fh)]


def read_bars(path: Path) -> list[tuple[datetime, float]]:
    with path.open(newline="") as fh:
        rows = [
            (datetime.fromisoformat(r["at"].replace("Z", "+00:00")), float(r["price"]))
            for r in csv.DictReader(fh)
        ]
    return sorted(rows)


class Session(Protocol):
    @property
    def day(self) -> date: ...
    @property
    def open(self) -> datetime: ...
    @property
    def close(self) -> datetime: ...


class SessionLookup(Protocol):
    """What the replay needs of a market calendar (bot.market.sessions.Market)."""

    def session_at(self, at: datetime) -> Session | None: ...

    def last_session_before(self, at: datetime) -> Session | None: ...


class ReplaySource:
    """A QuoteSource over files, answering at the clock's time."""

    name = "replay"

    def __init__(
        self, data_dir: Path, clock: Clock, market_for: Mapping[str, SessionLookup]
    ) -> None:
        self.clock = clock
        self.market_for = market_for
        self.daily: dict[str, list[tuple[date, float]]] = {}
        self.bars: dict[str, list[tuple[datetime, float]]] = {}
        for path in sorted((data_dir / "daily").glob("*.csv")):
            self.daily[path.stem] = read_daily(path)
        for path in sorted((data_dir / "bars").glob("*.csv")):
            self.bars[path.stem] = read_bars(path)
        self._bar_times = {k: [t for t, _ in v] for k, v in self.bars.items()}

    def covers(self, instrument: Instrument) -> bool:
        return instrument.key in self.bars

    async def fetch_quotes(self, instruments: list[Instrument]) -> dict[str, RawQuote]:
        now = self.clock.now()
        out: dict[str, RawQuote] = {}
        for inst in instruments:
            if inst.key not in self.bars:
                continue
            market = self.market_for[inst.calendar]
            session = market.session_at(now) or market.last_session_before(now)
            if session is None:
                continue
            times, bars = self._bar_times[inst.key], self.bars[inst.key]
            lo = bisect.bisect_left(times, session.open)
            hi = bisect.bisect_right(times, min(now, session.close))
            if hi <= lo:
                continue  # no bar yet in this session
            at, price = bars[hi - 1]
            prev = [c for d, c in self.daily.get(inst.key, []) if d < session.day]
            out[inst.key] = RawQuote(
                inst.key,
                price,
                at,
                self.name,
                open=bars[lo][1],
                prev_close=prev[-1] if prev else None,
            )
        return out

    async def fetch_daily(
        self, instrument: Instrument, start: date, end: date
    ) -> list[tuple[date, float]]:
        if instrument.key not in self.daily:
            raise SourceError(self.name, f"no bundled history for {instrument.key}")
        return [(d, c) for d, c in self.daily[instrument.key] if start <= d <= end]
