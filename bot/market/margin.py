"""MARGIN, the market's margin financing balance, as an instrument: its history checks, its
storage and its line in /divergence.

The balance (¥bn, bot.sources.margin) is MARGIN's daily close in ``divbot:daily:MARGIN``,
so /quote, rules (``MARGIN 5d up 3``, ``MARGIN above 2.7T``) and /backtest treat it as any
instrument on Shanghai's trading dates; its share of free-float market cap is kept beside
it (``divbot:margin:share``).

A fetched page is refused whole (nothing stored, no alert, the source marked unhealthy in
/status) when, against the stored history:
- **a gap**: a Shanghai session between the last stored day (or the page's first day)
  and the page's newest day has no row;
- **a jump**: a day-on-day change larger in size than any in the stored history (with at
  least MIN_HISTORY changes to compare with);
- a balance outside MARGIN's sanity band (seeds/watchlist.toml);
- the row checks of bot.sources.margin (a zero, a bad date, a bad share).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot import fmt
from bot.market.sessions import Market
from bot.models import DailyCloses
from bot.sources.margin import MarginDay
from bot.state import keys
from bot.state.store import Store

KEY = "MARGIN"
MIN_HISTORY = 20  # day-on-day changes needed before a jump can be judged
LINE_SESSIONS = 20


def problem(
    days: list[MarginDay],
    have: DailyCloses,
    market: Market,
    band: tuple[float, float] = (0.0, float("inf")),
) -> str | None:
    """Why a fetched page (oldest first) must not be stored, or None. `band`: MARGIN's
    sane range in ¥bn (seeds/watchlist.toml)."""
    known = set(have.dates)
    new = [d for d in days if d.day not in known]
    if not new:
        return None
    lo, hi = band
    for d in days:
        if not lo <= d.balance_bn <= hi:
            return f"balance ¥{d.balance_bn:,.2f}bn on {d.day} outside its band {lo:g}-{hi:g}"
    first = have.dates[-1] if have.dates else days[0].day
    missing = first_gap({d.day for d in days} | known, market, first, new[-1].day)
    if missing is not None:
        return f"gap: no margin figure for the session of {missing}"
    changes = [abs(b / a - 1) for a, b in zip(have.closes, have.closes[1:], strict=False) if a > 0]
    if len(changes) >= MIN_HISTORY:
        largest = max(changes)
        merged = dict(zip(have.dates, have.closes, strict=True))
        merged.update({d.day: d.balance_bn for d in days})
        ordered = sorted(merged.items())
        for (_, a), (day, b) in zip(ordered, ordered[1:], strict=False):
            if day in {d.day for d in new} and abs(b / a - 1) > largest:
                return (
                    f"jump: {fmt.pct((b / a - 1) * 100)} on {day}, larger than any in "
                    f"its history ({fmt.pct(largest * 100)})"
                )
    return None


def first_gap(rows: set[date], market: Market, first: date, last: date) -> date | None:
    """The first session from `first` to `last` with no row, if any (only the sessions the
    market's calendar knows can be checked)."""
    for session in market.sessions_between(first, last):
        if session.day not in rows:
            return session.day
    return None


async def store_days(store: Store, days: list[MarginDay]) -> None:
    await store.put_closes(KEY, [(d.day, d.balance_bn) for d in days])
    await store.redis.hset(
        keys.MARGIN_SHARE, mapping={d.day.isoformat(): repr(d.share_pct) for d in days}
    )


@dataclass(frozen=True, slots=True)
class MarginLine:
    balance_bn: float
    share_pct: float | None
    change_pct: float | None  # over LINE_SESSIONS sessions


async def latest(store: Store) -> MarginLine | None:
    closes = await store.load_closes(KEY)
    if not closes.dates:
        return None
    share = await store.redis.hget(keys.MARGIN_SHARE, closes.dates[-1].isoformat())
    change = None
    if len(closes.closes) > LINE_SESSIONS:
        change = (closes.closes[-1] / closes.closes[-1 - LINE_SESSIONS] - 1) * 100
    return MarginLine(closes.closes[-1], float(share) if share else None, change)


def line_text(line: MarginLine) -> str:
    """'margin balance ¥2.65trn, 2.6% of free float, +4.1% in 20 sessions'."""
    parts = [f"margin balance ¥{line.balance_bn / 1000:.2f}trn"]
    if line.share_pct is not None:
        parts.append(f"{line.share_pct:.1f}% of free float")
    if line.change_pct is not None:
        parts.append(f"{fmt.pct(line.change_pct)} in {LINE_SESSIONS} sessions")
    return ", ".join(parts)
