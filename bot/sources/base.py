"""What every quote provider offers, and the error a bad response becomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.models import Instrument


class SourceError(Exception):
    """A provider answered badly (or not at all). `reason` is shown in /status."""

    def __init__(self, source: str, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        # How long the provider asked us to stay away (its Retry-After), if it said.
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class RawQuote:
    """A provider's observation before validation (bot.market.validate makes it a Quote)."""

    instrument: str
    price: float | None
    at: datetime | None
    source: str
    open: float | None = None
    prev_close: float | None = None
    # Why this instrument has no observation when the rest of the answer was fine (e.g.
    # one of several per-symbol calls failed); the validator rejects it with this reason.
    error: str | None = None


class QuoteSource(Protocol):
    name: str

    def covers(self, instrument: Instrument) -> bool: ...

    async def fetch_quotes(self, instruments: list[Instrument]) -> dict[str, RawQuote]:
        """Latest quotes for the covered instruments; raise SourceError on a bad response."""
        ...

    async def fetch_daily(
        self, instrument: Instrument, start: date, end: date
    ) -> list[tuple[date, float]]:
        """Daily closes between start and end (inclusive), oldest first."""
        ...
