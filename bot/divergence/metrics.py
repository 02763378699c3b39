"""Divergence metrics: how far China tech has run from the economy and from US tech.

Pure functions over daily closes (bot.market.windows.DailyCloses) and macro prints; no I/O, no
clock, no calendar objects. The snapshot layer (bot.divergence.snapshot) loads the data, decides the
as-of instant and the session alignment, and renders what these functions return.

Market leg (tech index X against benchmark B over a window):

- Windows: ``1d 5d mtd ytd`` have the foundation's exact bases (bot.market.windows): previous
  close, five sessions back, last close of the previous month, of the previous year.
  ``1m 3m 6m 1y`` measure from the last close on or before the same calendar day N
  months earlier (clamped to the month's end: 31 Mar - 1m -> 28/29 Feb).
- The *anchor* is X's latest close. Both legs end at their last close on or before the
  anchor date and start at their own base, each on its own market's trading dates, so a
  US holiday or Chinese New Year simply means fewer sessions in that leg.
- Session-counted windows (``1d 5d``) of a spread *pair sessions* (the alignment below):
  B's leg runs from B's close paired with X's base session to B's close paired with X's
  end session. After a US holiday (Tue 20 Jan 2026, NDX shut on Mon 19 Jan) both of X's
  sessions pair with the same B close (Fri 16 Jan), so B's 1d leg is 0%: its 16 Jan move
  belonged to 19 Jan's pairing and is not counted again. Calendar windows (``mtd ytd``,
  ``1m``…) measure each leg in the period on its own dates, up to the anchor.
  The live engine (bot.rules.engine) uses this same pairing for its spreads.
- Spread = r_X - r_B in percentage points.
- z-scores compare the window's value with the *trailing one-year distribution of
  same-length rolling values*: for every X session j in the 365 days before the anchor
  (the anchor itself excluded) the n-session value ending at j, n being the number of X
  sessions in the window. The spread's distribution uses B aligned to X's dates (below).
  Sample standard deviation; fewer than MIN_Z_SAMPLES samples gives no z-score.
- Session alignment: B is sampled on X's dates. With ``lag=1`` (B's session on a date
  opens after X's session on that date has closed: a Shanghai or Hong Kong day against
  New York) an X day is paired with B's last close on an *earlier* date, i.e. the US
  session that closed before the Asian day began; with ``lag=0`` (same region, or B
  trading before X) with B's last close on or before the same date. B's return on an X
  day is the move between its aligned closes, so a B holiday gives 0 and several B
  sessions inside an X holiday are summed into X's next day: nothing is counted twice.
- corr20 = Pearson correlation of the last 20 aligned daily returns (X's, B's).

Economy leg ("pulse"): for GDP y/y (vs target), PPI y/y (vs 0), CPI y/y (vs 2%) and the
official manufacturing PMI (vs 50), the latest print public at the as-of instant (its real
publication time, `public_at`), its
deviation from neutral divided by the standard deviation of that indicator's prints up
to then; the pulse is the mean over indicators with at least MIN_PRINTS prints whose latest
print is not stale (`stale_since`). Streaks count consecutive latest periods on the same
side of neutral (PPI's months below zero) and stop at a missing period.

Decoupling score = X's window-return z-score minus the pulse; the regime comes from
REGIME_TABLE.
"""

from __future__ import annotations

import bisect
import calendar
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.divergence import sample_sd
from bot.models import DailyCloses

WINDOWS = ("1d", "5d", "mtd", "ytd", "1m", "3m", "6m", "1y")
MONTHS_BACK = {"1m": 1, "3m": 3, "6m": 6, "1y": 12}
ZSCORE_LOOKBACK_DAYS = 365
MIN_Z_SAMPLES = 60  # about three months of rolling values
CORR_DAYS = 20
MIN_PRINTS = 6  # prints an indicator needs before its deviation is standardised


# -- windows -------------------------------------------------------------------


def months_back(day: date, months: int) -> date:
    """The same calendar day `months` earlier, clamped to that month's last day."""
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True, slots=True)
class Span:
    """One leg over a window: base and end closes, their dates and indexes."""

    base_index: int
    end_index: int
    base_date: date
    end_date: date
    base: float
    end: float

    @property
    def change_pct(self) -> float:
        return (self.end / self.base - 1.0) * 100.0

    @property
    def sessions(self) -> int:
        """Trading sessions inside the window (base excluded, end included)."""
        return self.end_index - self.base_index


def _base_index(closes: DailyCloses, window: str, anchor: date, end_index: int) -> int:
    """Index of the base close, or -1 when the history does not reach it."""
    if window == "1d":
        return end_index - 1
    if window == "5d":
        return end_index - 5
    if window == "mtd":
        return closes.before(anchor.replace(day=1)) - 1
    if window == "ytd":
        return closes.before(date(anchor.year, 1, 1)) - 1
    if window in MONTHS_BACK:
        return closes.before(months_back(anchor, MONTHS_BACK[window]) + timedelta(days=1)) - 1
    raise ValueError(f"unknown window {window!r}")


def window_span(closes: DailyCloses, window: str, anchor: date) -> Span | None:
    """The leg's base and end for `window` as of `anchor` (end = last close <= anchor)."""
    end_index = closes.before(anchor + timedelta(days=1)) - 1
    if end_index < 0:
        return None
    base_index = _base_index(closes, window, anchor, end_index)
    if base_index < 0:
        return None
    return Span(
        base_index,
        end_index,
        closes.dates[base_index],
        closes.dates[end_index],
        closes.closes[base_index],
        closes.closes[end_index],
    )


# -- alignment, rolling values, statistics -----------------------------------------


def align(x_dates: Sequence[date], b: DailyCloses, lag: int) -> list[float | None]:
    """B's close paired with each X date (see the module docstring for `lag`)."""
    out: list[float | None] = []
    for day in x_dates:
        i = paired_index(day, b, lag)
        out.append(b.closes[i] if i >= 0 else None)
    return out


def paired_index(x_day: date, b: DailyCloses, lag: int) -> int:
    """Index of B's close paired with X's session on `x_day`, -1 if none: with lag 1 B's
    last close on an earlier date (the US session that closed before the Asian day began),
    with lag 0 on or before the same date. The one pairing rule of /divergence, the digest
    and the engine's spreads."""
    i = bisect.bisect_left(b.dates, x_day) if lag else bisect.bisect_right(b.dates, x_day)
    return i - 1


def zscore(value: float, sample: Sequence[float]) -> float | None:
    """(value - mean) / sample stdev, or None with too few samples or no dispersion."""
    if len(sample) < MIN_Z_SAMPLES:
        return None
    sd = sample_sd.stdev(sample)  # statistics.stdev's value, faster
    if not sd > 0:
        return None
    return (value - statistics.fmean(sample)) / sd


def _trailing_ends(dates: Sequence[date], anchor: date, stop: int, n: int) -> range:
    """X indexes j < stop whose n-session value belongs to the anchor's trailing year."""
    since = anchor - timedelta(days=ZSCORE_LOOKBACK_DAYS)
    first = max(bisect.bisect_left(dates, since, 0, stop), n)
    return range(first, stop)


def rolling_returns(closes: DailyCloses, end_index: int, n: int) -> list[float]:
    """n-session returns (%) ending at each session of the trailing year."""
    c = closes.closes
    ends = _trailing_ends(closes.dates, closes.dates[end_index], end_index, n)
    return [(c[j] / c[j - n] - 1.0) * 100.0 for j in ends]


def return_zscore(closes: DailyCloses, end_index: int, n: int, change_pct: float) -> float | None:
    """z of an n-session return against the trailing year of n-session returns."""
    if n < 1:
        return None
    return zscore(change_pct, rolling_returns(closes, end_index, n))


def session_return_zscore(
    closes: DailyCloses,
    session: date,
    window: str,
    change_pct: float,
    sums: ReturnSums | None = None,
) -> float | None:
    """z of the window return of `session` (usually in progress, so not in `closes`; only
    closes before it are used), as the engine needs for a divergence rule on a live quote.
    Equals MarketLeg.z_return once the session's close is the anchor. `sums`: the same
    z from `closes`' exact running sums (the engine keeps them per instrument)."""
    stop = closes.before(session)
    base = _base_index(closes, window, session, stop)
    if base < 0:
        return None
    n = stop - base
    if n < 1:
        return None
    c = closes.closes
    ends = _trailing_ends(closes.dates, session, stop, n)
    if sums is not None:
        z = sums.zscore(n, ends.start, ends.stop, change_pct)
        if z is not UNSUMMED:
            return z  # type: ignore[return-value]
    return zscore(change_pct, [(c[j] / c[j - n] - 1.0) * 100.0 for j in ends])


UNSUMMED = object()  # ReturnSums.zscore: no sums for that n (yet): compute it directly


class ReturnSums:
    """Exact running sums of one series' n-session returns (%), so the z-score of any
    trailing window of them costs a few integer operations instead of a pass over a year:
    equal bit for bit to `zscore` over the same sample (the sums are exact integers, the
    mean is `fsum`'s correctly rounded total over the count as `statistics.fmean` computes
    it, the stdev `sample_sd`'s). Sums for an n are built (one pass over the series) once
    it has been asked for often enough to repay that pass (a year-to-date window asks for
    each n only about once a year: those stay direct); the owner makes a new one when the
    closes change."""

    def __init__(self, closes: Sequence[float]) -> None:
        self.closes = closes
        self._by_n: dict[int, tuple[int, list[int], list[int]] | None] = {}
        self._asked: dict[int, int] = {}
        # a direct z costs about a hundredth of a pass over the series
        self._worth = len(closes) // 100

    def _sums(self, n: int) -> tuple[int, list[int], list[int]] | None:
        if n not in self._by_n:
            c = self.closes
            returns = [(c[j] / c[j - n] - 1.0) * 100.0 for j in range(n, len(c))]
            exponents = [math.frexp(r)[1] for r in returns if r]
            k = max(53 - min(exponents), 0) if exponents else 0
            if exponents and max(exponents) + k > 1023:
                self._by_n[n] = None
            else:
                p1, p2 = [0], [0]
                for r in returns:
                    i = int(math.ldexp(r, k))
                    p1.append(p1[-1] + i)
                    p2.append(p2[-1] + i * i)
                self._by_n[n] = (k, p1, p2)
        return self._by_n[n]

    def zscore(self, n: int, first: int, stop: int, value: float) -> float | None | object:
        """z of `value` against the n-session returns ending at sessions first..stop-1
        (`zscore`'s answer), or UNSUMMED: no sums for n yet, or values too far apart for
        its integers."""
        m = stop - first
        if m < MIN_Z_SAMPLES:
            return None
        if n not in self._by_n:
            self._asked[n] = self._asked.get(n, 0) + 1
            if self._asked[n] <= self._worth:
                return UNSUMMED
        found = self._sums(n)
        if found is None:
            return UNSUMMED
        k, p1, p2 = found
        s1 = p1[stop - n] - p1[first - n]
        s2 = p2[stop - n] - p2[first - n]
        num, den = m * s2 - s1 * s1, (m * (m - 1)) << (2 * k)
        if num and abs(num.bit_length() - den.bit_length()) > 1000:
            return UNSUMMED
        sd = sample_sd.sqrt_of_ratio(num, den)
        if not sd > 0:
            return None
        return (value - (s1 / (1 << k)) / m) / sd


def rolling_spreads(
    x: DailyCloses, b_aligned: Sequence[float | None], end_index: int, n: int
) -> list[float]:
    """n-session spreads (pp) of X over aligned B, ending at each session of the year."""
    c = x.closes
    out = []
    for j in _trailing_ends(x.dates, x.dates[end_index], end_index, n):
        b_now, b_then = b_aligned[j], b_aligned[j - n]
        if b_now is None or b_then is None:
            continue
        out.append((c[j] / c[j - n] - b_now / b_then) * 100.0)
    return out


def correlation(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Pearson correlation; None when either side has no dispersion."""
    if len(a) != len(b) or len(a) < 3:
        return None
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    da = [v - ma for v in a]
    db = [v - mb for v in b]
    sa = math.sqrt(sum(v * v for v in da))
    sb = math.sqrt(sum(v * v for v in db))
    if not (sa > 0 and sb > 0):
        return None
    r = sum(p * q for p, q in zip(da, db, strict=True)) / (sa * sb)
    return max(-1.0, min(1.0, r))


def aligned_correlation(
    x: DailyCloses, b_aligned: Sequence[float | None], end_index: int, days: int = CORR_DAYS
) -> float | None:
    """Correlation of the last `days` daily returns of X and of B aligned to X's dates."""
    first = end_index - days
    if first < 0:
        return None
    xs, bs = [], []
    for j in range(first + 1, end_index + 1):
        b_now, b_then = b_aligned[j], b_aligned[j - 1]
        if b_now is None or b_then is None:
            return None
        xs.append(x.closes[j] / x.closes[j - 1] - 1.0)
        bs.append(b_now / b_then - 1.0)
    return correlation(xs, bs)


# -- the market leg -------------------------------------------------------------

PAIRED_WINDOWS = ("1d", "5d")  # counted in X's sessions: B's move is over the paired ones


def paired_span(xs: Span, b: DailyCloses, window: str, lag: int) -> Span | None:
    """B over the sessions paired with X's window `xs` (1d, 5d): from B's close paired with
    X's base session to B's close paired with X's end session. A B holiday, or no new B
    session since the previous pairing (a US holiday: 20 Jan 2026 pairs with 16 Jan's
    close, as 19 Jan did), gives a 0% leg; nothing is counted twice."""
    if window not in PAIRED_WINDOWS:
        raise ValueError(f"{window!r} is not a session-counted window")
    base, end = paired_index(xs.base_date, b, lag), paired_index(xs.end_date, b, lag)
    if base < 0 or end < 0:
        return None
    return Span(base, end, b.dates[base], b.dates[end], b.closes[base], b.closes[end])


@dataclass(frozen=True, slots=True)
class MarketLeg:
    """X against B over a window. `missing` names what the history could not give."""

    window: str
    anchor: date
    x: Span
    b: Span
    spread_pp: float
    z_spread: float | None
    z_return: float | None
    corr20: float | None

    @property
    def sessions(self) -> int:
        return self.x.sessions


class TooLittleHistory(ValueError):
    """A leg's closes do not reach the window's base (or hold no close at all)."""


def market_leg(x: DailyCloses, b: DailyCloses, window: str, lag: int) -> MarketLeg:
    """X vs B over `window`, anchored at X's latest close. Raises TooLittleHistory with
    the leg that lacks history ("x" or "b") as its message."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}")
    if not x.dates:
        raise TooLittleHistory("x")
    anchor = x.dates[-1]
    xs = window_span(x, window, anchor)
    if xs is None:
        raise TooLittleHistory("x")
    if window in PAIRED_WINDOWS:
        bs = paired_span(xs, b, window, lag)
    else:
        bs = window_span(b, window, anchor)
    if bs is None:
        raise TooLittleHistory("b")
    spread = xs.change_pct - bs.change_pct
    b_aligned = align(x.dates, b, lag)
    n = xs.sessions
    return MarketLeg(
        window=window,
        anchor=anchor,
        x=xs,
        b=bs,
        spread_pp=spread,
        z_spread=zscore(spread, rolling_spreads(x, b_aligned, xs.end_index, n)) if n else None,
        z_return=return_zscore(x, xs.end_index, n, xs.change_pct),
        corr20=aligned_correlation(x, b_aligned, xs.end_index),
    )


# -- the economy leg ------------------------------------------------------------

# A print counts from its real publication time (bot.macro.history keeps it: the release
# calendar's time, or when the bot recorded the print). Only a print stored without one
# (an old history row) falls back to the day it can be assumed public (NBS 2026 calendar,
# DATA.md), chosen late enough never to use a print before its release: CPI/PPI by the
# 15th of the next month (released 9th-14th), the PMI by the 5th of the next month (last
# day of the month, February's on 4 March), GDP by the 20th of the month after the
# quarter; from 00:00 Beijing that day.
# Industrial output and retail sales come out mid-month with GDP's quarter (by the 20th).
_PUBLISHED = {
    "CPI": (1, 15),
    "PPI": (1, 15),
    "PMI": (1, 5),
    "GDP": (3, 20),
    "GDP_YTD": (3, 20),
    "IP": (1, 20),
    "RETAIL": (1, 20),
}
_STEP_MONTHS = {"CPI": 1, "PPI": 1, "PMI": 1, "GDP": 3, "GDP_YTD": 3, "IP": 1, "RETAIL": 1}
BEIJING = ZoneInfo("Asia/Shanghai")
# A latest print is *stale* once the next period's print is this many days past the day
# it can be assumed public (above): NBS has missed its own calendar, or the feed has.
STALE_GRACE_DAYS = 10


def published_by(indicator: str, period: date) -> date:
    """The fallback: the first day a print for `period` is assumed known."""
    months, day = _PUBLISHED[indicator]
    return months_back(period, -months).replace(day=day)


def public_at(
    indicator: str, period: date, published: Mapping[date, datetime] | None = None
) -> datetime:
    """When the print for `period` was public: its recorded time, else the fallback day."""
    known = (published or {}).get(period)
    if known is not None:
        return known
    return datetime.combine(published_by(indicator, period), time(0), BEIJING)


def stale_since(indicator: str, period: date) -> date:
    """The day a print for `period` stops being the latest one can expect (the next
    period's print is STALE_GRACE_DAYS overdue)."""
    step = _STEP_MONTHS.get(indicator, 1)
    return published_by(indicator, months_back(period, -step)) + timedelta(STALE_GRACE_DAYS)


@dataclass(frozen=True, slots=True)
class Reading:
    """One indicator's latest print against its neutral level."""

    indicator: str
    period: date
    value: float
    neutral: float
    prints: int  # published prints of history behind the standardisation
    z: float | None  # (value - neutral) / stdev of the prints; None if history is short
    streak: int  # consecutive latest periods on the same side of neutral
    streak_side: int  # -1 below neutral, +1 above, 0 at neutral
    streak_is_floor: bool  # the streak reaches the start of the known history
    gap: date | None = None  # the missing period the streak stopped at, if it did
    stale: bool = False  # older than the series' cadence allows (stale_since)

    @property
    def deviation(self) -> float:
        return self.value - self.neutral


@dataclass(frozen=True, slots=True)
class Pulse:
    """The economy leg: the mean standardised deviation, and what it was built from."""

    value: float | None
    readings: dict[str, Reading] = field(default_factory=dict)
    short: tuple[str, ...] = ()  # indicators with a print but too little history
    missing: tuple[str, ...] = ()  # indicators with no published print at all
    stale: tuple[str, ...] = ()  # latest print older than its cadence: left out of the value


def streak(prints: Sequence[tuple[date, float]], neutral: float, step_months: int) -> Reading:
    """Side and length of the run of latest prints on one side of neutral (helper for
    economy_pulse; the z and counts are filled by the caller)."""
    period, value = prints[-1]
    side = (value > neutral) - (value < neutral)
    count = 0
    floor = True
    gap = None
    expected = period
    for p, v in reversed(prints):
        if p != expected:  # a gap in the history: the run stops here and says so
            gap = expected
            floor = False
            break
        if side == 0 or (v > neutral) - (v < neutral) != side:
            floor = False
            break
        count += 1
        expected = months_back(p, step_months)
    return Reading("", period, value, neutral, len(prints), None, count, side, floor, gap)


def economy_pulse(
    history: dict[str, list[tuple[date, float]]],
    neutral: dict[str, float],
    as_of: datetime,
    published: Mapping[str, Mapping[date, datetime]] | None = None,
    min_prints: int = MIN_PRINTS,
) -> Pulse:
    """The pulse at the instant `as_of` from each indicator's (period start, value) history:
    only prints public by then (`public_at`, from `published`: indicator -> period ->
    publication time). A stale latest print (`stale_since`) is shown but left out."""
    return PulseTimeline(history, neutral, published, min_prints).at(as_of)


class PulseTimeline:
    """The economy pulse as it stood at each of a series of instants, oldest first: what a
    backtest of a divergence rule needs for every session of ten years.

    Built once from the whole macro history; each indicator's prints are ordered by the
    instant they became public (`public_at`), and `at(t)` adds only those published since
    the previous call, recomputing an indicator's reading only when it gained a print (its
    staleness is a date comparison). `economy_pulse` is one call of it, so a backtest and
    the live pulse agree by construction."""

    def __init__(
        self,
        history: Mapping[str, Sequence[tuple[date, float]]],
        neutral: Mapping[str, float],
        published: Mapping[str, Mapping[date, datetime]] | None = None,
        min_prints: int = MIN_PRINTS,
    ) -> None:
        self.neutral = dict(neutral)
        self.min_prints = min_prints
        self.last: datetime | None = None
        self._queue: dict[str, list[tuple[datetime, date, float]]] = {}
        self._next: dict[str, int] = {}
        self._known: dict[str, list[tuple[date, float]]] = {}
        self._reading: dict[str, tuple[Reading, date] | None] = {}
        self._pulse: tuple[tuple[bool, ...], Pulse] | None = None
        for indicator in self.neutral:
            times = (published or {}).get(indicator)
            self._queue[indicator] = sorted(
                (public_at(indicator, p, times), p, v)
                for p, v in history.get(indicator, [])
                if math.isfinite(v)
            )
            self._next[indicator] = 0
            self._known[indicator] = []
            self._reading[indicator] = None

    def at(self, as_of: datetime) -> Pulse:
        """The pulse at `as_of` (not earlier than the previous call's instant)."""
        if self.last is not None and as_of < self.last:
            raise ValueError(f"pulse asked for {as_of} after {self.last}")
        self.last = as_of
        changed = False
        for indicator, level in self.neutral.items():
            queue, i, known = self._queue[indicator], self._next[indicator], self._known[indicator]
            if i < len(queue) and queue[i][0] <= as_of:
                while i < len(queue) and queue[i][0] <= as_of:
                    bisect.insort(known, queue[i][1:])
                    i += 1
                self._next[indicator] = i
                reading = self._standing(indicator, level, known)
                self._reading[indicator] = (reading, stale_since(indicator, reading.period))
                changed = True
        today = as_of.astimezone(BEIJING).date()
        flags = tuple(r is not None and today >= r[1] for r in self._reading.values())
        if changed or self._pulse is None or self._pulse[0] != flags:
            self._pulse = (flags, self._combine(flags))
        return self._pulse[1]

    def _standing(self, indicator: str, level: float, known: list[tuple[date, float]]) -> Reading:
        """An indicator's reading from its public prints (oldest first), not yet stale."""
        run = streak(known, level, _STEP_MONTHS[indicator])
        z = None
        if len(known) >= self.min_prints:
            sd = statistics.stdev(v for _, v in known)
            if sd > 0:
                z = (run.value - level) / sd
        return Reading(
            indicator,
            run.period,
            run.value,
            level,
            len(known),
            z,
            run.streak,
            run.streak_side,
            run.streak_is_floor,
            run.gap,
        )

    def _combine(self, flags: tuple[bool, ...]) -> Pulse:
        readings: dict[str, Reading] = {}
        short: list[str] = []
        missing: list[str] = []
        stale: list[str] = []
        zs: list[float] = []
        for (indicator, standing), old in zip(self._reading.items(), flags, strict=True):
            if standing is None:
                missing.append(indicator)
                continue
            reading = replace(standing[0], stale=True) if old else standing[0]
            if old:
                stale.append(indicator)
            elif reading.z is None:
                short.append(indicator)
            else:
                zs.append(reading.z)
            readings[indicator] = reading
        value = statistics.fmean(zs) if zs else None
        return Pulse(value, readings, tuple(short), tuple(missing), tuple(stale))


# -- score and regime -------------------------------------------------------------


class Regime(StrEnum):
    DECOUPLED = "decoupled"
    BROAD_STRENGTH = "broad strength"
    BROAD_WEAKNESS = "broad weakness"
    TECH_LAGGING = "tech lagging"
    IN_LINE = "in line"


STRONG_TECH_Z = 1.0  # tech window return at least one sigma above its usual
WEAK_TECH_Z = -1.0
STRONG_PULSE = 0.5
WEAK_PULSE = -0.5
SCORE_GAP = 2.0  # tech and economy two sigmas apart

# Read top to bottom; the first row that matches names the regime.
REGIME_TABLE: tuple[tuple[Regime, str, str], ...] = (
    (Regime.DECOUPLED, "score >= +2 and tech z >= +1", "tech running ahead of the economy"),
    (Regime.TECH_LAGGING, "score <= -2", "tech behind the economy"),
    (Regime.BROAD_STRENGTH, "tech z >= +1 and pulse >= +0.5", "tech and the economy both strong"),
    (Regime.BROAD_WEAKNESS, "tech z <= -1 and pulse <= -0.5", "tech and the economy both weak"),
    (Regime.IN_LINE, "otherwise", "tech moving with the economy"),
)


def decoupling_score(z_return: float | None, pulse: float | None) -> float | None:
    """Tech's window-return z-score minus the economy pulse."""
    if z_return is None or pulse is None:
        return None
    return z_return - pulse


def regime(z_return: float, pulse: float) -> Regime:
    """The first row of REGIME_TABLE that matches."""
    score = z_return - pulse
    if score >= SCORE_GAP and z_return >= STRONG_TECH_Z:
        return Regime.DECOUPLED
    if score <= -SCORE_GAP:
        return Regime.TECH_LAGGING
    if z_return >= STRONG_TECH_Z and pulse >= STRONG_PULSE:
        return Regime.BROAD_STRENGTH
    if z_return <= WEAK_TECH_Z and pulse <= WEAK_PULSE:
        return Regime.BROAD_WEAKNESS
    return Regime.IN_LINE


def regime_text(r: Regime, pulse: float) -> str:
    """The regime's phrase; 'a weak economy' when the pulse is below zero."""
    text = next(t for reg, _, t in REGIME_TABLE if reg is r)
    if r is Regime.DECOUPLED and pulse < 0:
        return "tech running ahead of a weak economy"
    return text
