"""Quote validation: turns a provider's RawQuote into a Quote, or says why it is bad.

Owns the sanity rules every observation passes before the engine sees it: a real
positive price, a fresh timestamp while the market trades, the instrument's price band,
no unconfirmed jump within a session, and a previous close that matches ours (which is
how the `100.NDX` wrong-index trap shows up). Also owns the session a quote belongs to.

`BadQuote` is a ValueError, deliberately not a SourceError: a bad *observation* marks one
instrument at one source unhealthy, while a SourceError marks the whole source down.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.config import Settings
from bot.market.sessions import Market, Session
from bot.models import Instrument, Quote
from bot.sources.base import RawQuote

FUTURE_SLACK = timedelta(minutes=2)
CONFIRM_WITHIN_PCT = 1.0


class BadQuote(ValueError):
    """An observation failed validation; `reason` is shown in /status."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _pct(value: float) -> str:
    # A real minus sign: these reasons are read by people, in /status.
    return f"{value:+.1f}%".replace("-", "\u2212")


def _finite_positive(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and value > 0 else None


class QuoteValidator:
    """Checks quotes against settings and market hours; remembers one unconfirmed jump each."""

    def __init__(self, market_for: Callable[[str], Market], settings: Settings) -> None:
        self.market_for = market_for
        self.stale_after = timedelta(seconds=settings.stale_after_s)
        self.max_jump_pct = settings.max_tick_jump_pct
        self.prev_close_tolerance_pct = settings.prev_close_tolerance_pct
        self._pending: dict[str, Quote] = {}  # by instrument: a jumped quote awaiting a second

    def check(
        self,
        raw: RawQuote,
        instrument: Instrument,
        now: datetime,
        last: Quote | None,
        cached_prev_close: float | None,
    ) -> Quote:
        """The validated Quote for `raw`, or BadQuote with a readable reason."""
        if raw.error:
            raise BadQuote(raw.error)
        price = raw.price
        if price is None:
            raise BadQuote("no price")
        if not math.isfinite(price) or price <= 0:
            raise BadQuote(f"price {price} is not a positive number")
        quote = self._dated(raw, price, instrument, now)
        lo, hi = instrument.band
        if not lo <= price <= hi:
            raise BadQuote(
                f"price {price:,.2f} outside band {lo:,.0f}\u2013{hi:,.0f}: x100 price or wrong id?"
            )
        self._check_prev_close(quote.prev_close, cached_prev_close)
        self._check_jump(quote, last)
        return quote

    def _dated(self, raw: RawQuote, price: float, inst: Instrument, now: datetime) -> Quote:
        at = raw.at
        if at is None:
            raise BadQuote("no timestamp")
        if at - now > FUTURE_SLACK:
            raise BadQuote(f"timestamped {(at - now).total_seconds() / 60:.0f} min in the future")
        market = self.market_for(inst.calendar)
        trading = market.is_trading(now)
        session = market.session_at(at)
        closing = session is None
        if session is None:
            session = market.last_session_before(at)
        if session is not None and _in_break(session, at):
            raise BadQuote(
                f"stamped {at.astimezone(market.tz):%H:%M} inside {market.code}'s midday break: "
                "no trade happens then"
            )
        if trading and now - at > self.stale_after:
            age_min = (now - at).total_seconds() / 60
            raise BadQuote(f"stale: {age_min:.0f} min old while {market.code} is trading")
        if session is None:
            raise BadQuote(f"no {market.code} session at or before {at.isoformat()}")
        return Quote(
            instrument=inst.key,
            price=price,
            at=at,
            session=session.day,
            source=raw.source,
            open=_finite_positive(raw.open),
            prev_close=_finite_positive(raw.prev_close),
            closing=closing,
        )

    def _check_prev_close(self, prev_close: float | None, cached: float | None) -> None:
        if prev_close is None or cached is None or not cached > 0:
            return
        diff = (prev_close / cached - 1) * 100
        if abs(diff) > self.prev_close_tolerance_pct:
            raise BadQuote(
                f"prev close {prev_close:,.1f} vs cached {cached:,.1f} ({_pct(diff)}): "
                "wrong instrument id?"
            )

    def _check_jump(self, quote: Quote, last: Quote | None) -> None:
        pending = self._pending.pop(quote.instrument, None)
        if last is None or last.session != quote.session or last.price <= 0:
            return
        jump = (quote.price / last.price - 1) * 100
        if abs(jump) <= self.max_jump_pct:
            return
        if (
            pending is not None
            and pending.session == quote.session
            and abs(quote.price / pending.price - 1) * 100 <= CONFIRM_WITHIN_PCT
        ):
            return  # two consecutive quotes agree: the move is real
        self._pending[quote.instrument] = quote
        raise BadQuote(
            f"jump {_pct(jump)} vs last {last.price:,.2f}: waiting for a second quote to confirm"
        )


def _in_break(session: Session, at: datetime) -> bool:
    """Strictly inside the lunch break: the 11:30 morning close and the 13:00 reopen are
    real prints, anything stamped between them is not a trade."""
    return (
        session.break_start is not None
        and session.break_end is not None
        and session.break_start < at < session.break_end
    )
