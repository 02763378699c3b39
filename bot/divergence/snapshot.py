"""The /divergence snapshot: data as of the clock, the metrics, the table, a short cache.

Owns the I/O and presentation around the pure metrics of bot.divergence.metrics:

- *As of*: every instrument's closes are cut to the sessions its own market had closed
  by the clock's instant (so a replay, a test or a live reply at 16:00 Shanghai time sees
  the same Nasdaq-100 close: the previous US session), and macro prints to those public at
  the clock's instant (each print's real publication time, bot.macro.history).
- *Session alignment* (bot.divergence.metrics `lag`) from the calendars: lag 1 when B's session
  on a shared date opens after X's has closed (Shanghai/Hong Kong against New York).
- *Cache*: closes and macro prints read from Redis are kept for CACHE_TTL_S of the
  injected clock; a computed snapshot (and its chart) is kept for the same time under
  (window, instruments, each instrument's last closed session, as-of date).
"""

from __future__ import annotations

import asyncio
import bisect
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot import fmt
from bot.clock import Clock
from bot.config import Settings
from bot.divergence import chart
from bot.divergence.metrics import (
    MIN_PRINTS,
    MIN_Z_SAMPLES,
    WINDOWS,
    MarketLeg,
    Pulse,
    Reading,
    Regime,
    TooLittleHistory,
    decoupling_score,
    economy_pulse,
    market_leg,
    regime,
    regime_text,
)
from bot.macro import history as macro_history
from bot.market.sessions import Market
from bot.market.watchlist import Watchlist
from bot.models import DailyCloses, Message
from bot.state.store import Store


class PulseHolder(Protocol):
    pulse: float | None  # the engine's economy pulse (bot.rules.engine.Engine)


class HasEngine(Protocol):
    @property
    def engine(self) -> PulseHolder: ...


class Sources(Protocol):
    """What the snapshot reads, as the wiring (bot.wiring.Sources) provides it."""

    @property
    def clock(self) -> Clock: ...
    @property
    def redis(self) -> Any: ...
    @property
    def store(self) -> Store: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def watchlist(self) -> Watchlist: ...
    @property
    def markets(self) -> dict[str, Market]: ...
    @property
    def divergence(self) -> DivergenceCache: ...
    @property
    def service(self) -> HasEngine: ...


@dataclass(frozen=True, slots=True)
class MacroData:
    """The macro history as /divergence reads it: prints, and their publication times."""

    prints: dict[str, list[tuple[date, float]]]
    published: dict[str, dict[date, datetime]]


CACHE_TTL_S = 60.0
MAX_ENTRIES = 64
DEFAULT_WINDOW = "mtd"
DEFAULT_TECH = ("STAR50", "HSTECH")
DEFAULT_BENCHMARK = "NDX"
TITLE = "China tech vs economy"
LABEL = 10  # width of the row labels ("Economy   ")


@dataclass(frozen=True, slots=True)
class Row:
    """One tech index against its benchmark; `problem` says why `leg` is missing."""

    x: str
    b: str
    leg: MarketLeg | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    window: str
    as_of: datetime
    rows: tuple[Row, ...]
    pulse: Pulse
    score: float | None  # decoupling score of the first row's tech index
    regime: Regime | None
    # closes from each leg's window base to its end, for the chart
    series: dict[str, tuple[tuple[date, ...], tuple[float, ...]]] = field(default_factory=dict)
    key: tuple[Any, ...] = ()  # the cache key, shared by its chart


# -- as of --------------------------------------------------------------------------


def closed_by(closes: DailyCloses, market: Market, at: datetime) -> DailyCloses:
    """Only the closes of sessions that had closed by `at` in the instrument's market."""
    done = market.last_session_before(at)
    last = done.day if done is not None else date.min
    i = bisect.bisect_right(closes.dates, last)
    if i == len(closes.dates):
        return closes
    return DailyCloses(closes.dates[:i], closes.closes[:i])


def session_lag(x: Market, b: Market, around: date) -> int:
    """1 when B's session on a shared date opens after X's session closed, else 0."""
    for back in range(0, 15):
        day = around - timedelta(days=back)
        xs, bs = x.session_on(day), b.session_on(day)
        if xs is not None and bs is not None:
            return 1 if bs.open >= xs.close else 0
    return 0


# -- the cache ----------------------------------------------------------------------


class DivergenceCache:
    """Closes, macro prints, snapshots and charts, each kept CACHE_TTL_S on the clock."""

    def __init__(self, ttl_s: float = CACHE_TTL_S) -> None:
        self.ttl = timedelta(seconds=ttl_s)
        self._closes: dict[str, tuple[datetime, DailyCloses]] = {}
        self._macro: tuple[datetime, MacroData] | None = None
        self._lags: dict[tuple[str, str], int] = {}
        self.snapshots: OrderedDict[tuple[Any, ...], tuple[datetime, Snapshot]] = OrderedDict()
        self.charts: OrderedDict[tuple[Any, ...], tuple[datetime, bytes]] = OrderedDict()
        self._rendering: dict[tuple[Any, ...], asyncio.Future[bytes]] = {}
        self._loading: dict[str, asyncio.Future[DailyCloses]] = {}

    def invalidate(self, instrument: str | None = None) -> None:
        """Forget cached closes (one instrument, or all) and every computed snapshot."""
        if instrument is None:
            self._closes.clear()
            self._macro = None
        else:
            self._closes.pop(instrument, None)
        self.snapshots.clear()
        self.charts.clear()

    def invalidate_macro(self) -> None:
        self._macro = None
        self.snapshots.clear()
        self.charts.clear()

    def _fresh(self, stamp: datetime, now: datetime) -> bool:
        return timedelta(0) <= now - stamp < self.ttl

    async def closes(self, core: Sources, instrument: str) -> DailyCloses:
        """An instrument's closes; concurrent misses share one Redis read."""
        now = core.clock.now()
        hit = self._closes.get(instrument)
        if hit is not None and self._fresh(hit[0], now):
            return hit[1]
        task = self._loading.get(instrument)
        if task is None:
            task = asyncio.ensure_future(core.store.load_closes(instrument))
            self._loading[instrument] = task
            task.add_done_callback(lambda _: self._loading.pop(instrument, None))
        closes = await asyncio.shield(task)
        self._closes[instrument] = (now, closes)
        return closes

    async def macro(self, core: Sources) -> MacroData:
        """Every indicator's prints, and when each was public (bot.macro.history)."""
        now = core.clock.now()
        if self._macro is not None and self._fresh(self._macro[0], now):
            return self._macro[1]
        data = MacroData(
            await macro_history.load_all(core.redis),
            await macro_history.load_all_published(core.redis),
        )
        self._macro = (now, data)
        return data

    def lag(self, core: Sources, x: str, b: str, around: date) -> int:
        xc, bc = core.watchlist[x].calendar, core.watchlist[b].calendar
        if (xc, bc) not in self._lags:
            self._lags[(xc, bc)] = session_lag(core.markets[xc], core.markets[bc], around)
        return self._lags[(xc, bc)]

    def _get(
        self,
        table: OrderedDict[tuple[Any, ...], tuple[datetime, Any]],
        key: tuple[Any, ...],
        now: datetime,
    ) -> Any:
        hit = table.get(key)
        if hit is None or not self._fresh(hit[0], now):
            return None
        table.move_to_end(key)
        return hit[1]

    def _put(
        self,
        table: OrderedDict[tuple[Any, ...], tuple[datetime, Any]],
        key: tuple[Any, ...],
        now: datetime,
        value: Any,
    ) -> None:
        table[key] = (now, value)
        table.move_to_end(key)
        while len(table) > MAX_ENTRIES:
            table.popitem(last=False)


# -- computing ----------------------------------------------------------------------


def as_of_date(core: Sources, at: datetime) -> date:
    return at.astimezone(ZoneInfo(core.settings.timezone)).date()


def neutral_levels() -> dict[str, float]:
    # Display order of the economy line: PPI, CPI, PMI, GDP.
    order = ("PPI", "CPI", "PMI", "GDP")
    return {k: macro_history.DEFINITIONS[k].neutral for k in order}


async def snapshot(core: Sources, window: str, pairs: list[tuple[str, str]]) -> Snapshot:
    """The divergence snapshot as of the clock (cached; see the module docstring)."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}")
    cache = core.divergence
    now = core.clock.now()
    instruments = sorted({k for pair in pairs for k in pair})
    sessions = []
    for inst in instruments:
        done = core.markets[core.watchlist[inst].calendar].last_session_before(now)
        sessions.append(done.day if done else None)
    key = ("snap", window, tuple(pairs), tuple(sessions), as_of_date(core, now))
    found: Snapshot | None = cache._get(cache.snapshots, key, now)
    if found is not None:
        return found
    closes = {}
    for inst in instruments:
        market = core.markets[core.watchlist[inst].calendar]
        closes[inst] = closed_by(await cache.closes(core, inst), market, now)
    macro = await cache.macro(core)
    result = replace(
        compute(core, window, pairs, closes, macro.prints, now, macro.published), key=key
    )
    cache._put(cache.snapshots, key, now, result)
    return result


def compute(
    core: Sources,
    window: str,
    pairs: list[tuple[str, str]],
    closes: dict[str, DailyCloses],
    history: dict[str, list[tuple[date, float]]],
    now: datetime,
    published: dict[str, dict[date, datetime]] | None = None,
) -> Snapshot:
    rows: list[Row] = []
    series: dict[str, tuple[tuple[date, ...], tuple[float, ...]]] = {}
    for x, b in pairs:
        cx, cb = closes[x], closes[b]
        around = cx.dates[-1] if cx.dates else as_of_date(core, now)
        try:
            leg = market_leg(cx, cb, window, core.divergence.lag(core, x, b, around))
        except TooLittleHistory as exc:
            short = x if str(exc) == "x" else b
            name = core.watchlist[short].name
            rows.append(Row(x, b, None, f"{name}: too little history for {window.upper()}"))
            continue
        rows.append(Row(x, b, leg))
        for inst, span, c in ((x, leg.x, cx), (b, leg.b, cb)):
            if inst not in series:
                lo, hi = span.base_index, span.end_index + 1
                series[inst] = (tuple(c.dates[lo:hi]), tuple(c.closes[lo:hi]))
    pulse = economy_pulse(history, neutral_levels(), now, published)
    first = rows[0].leg if rows else None
    z_ret = first.z_return if first else None
    score = decoupling_score(z_ret, pulse.value)
    reg = regime(z_ret, pulse.value) if z_ret is not None and pulse.value is not None else None
    return Snapshot(window, now, tuple(rows), pulse, score, reg, series)


# -- the table ----------------------------------------------------------------------


def corr_text(c: float | None) -> str:
    if c is None:
        return "n/a"
    return f"{fmt.MINUS if c < 0 and round(c, 2) != 0 else ''}{abs(c):.2f}"


def z_text(z: float | None) -> str:
    return "n/a" if z is None else fmt.signed(z, 1)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _streak(r: Reading, what: str) -> str:
    if r.streak_side == 0 or r.streak == 0:
        return ""
    sign = "<" if r.streak_side < 0 else ">"
    level = f"{r.neutral:g}{what}"
    if r.streak_is_floor:
        return f" ({r.streak}+ months {sign} {level})"
    if r.gap is not None:  # the run stops at a missing month: it may be longer
        months = f"{r.streak} month{'s' if r.streak != 1 else ''}"
        return f" ({months} {sign} {level} since {period_name('PPI', r.gap)}, missing)"
    return f" ({ordinal(r.streak)} month {sign} {level})"


def period_name(indicator: str, period: date) -> str:
    """'Dec 2025', or 'Q4 2025' for GDP: every figure shown names its period."""
    if indicator == "GDP":
        return f"Q{(period.month - 1) // 3 + 1} {period.year}"
    return f"{period:%b %Y}"


def _figure(indicator: str, r: Reading, text: str) -> str:
    return f"{indicator} {period_name(indicator, r.period)} {text}" + (
        " (stale)" if r.stale else ""
    )


def economy_line(pulse: Pulse) -> str:
    parts = []
    r = pulse.readings
    if "PPI" in r:
        parts.append(
            _figure("PPI", r["PPI"], f"{fmt.pct(r['PPI'].value)} y/y{_streak(r['PPI'], '')}")
        )
    if "CPI" in r:
        parts.append(_figure("CPI", r["CPI"], fmt.pct(r["CPI"].value)))
    if "PMI" in r:
        parts.append(_figure("PMI", r["PMI"], f"{r['PMI'].value:.1f}{_streak(r['PMI'], '')}"))
    if "GDP" in r:
        g = r["GDP"]
        parts.append(_figure("GDP", g, f"{fmt.pct(g.value)} vs ~{g.neutral:g}% target"))
    head = f"pulse {z_text(pulse.value)}"
    return f"{head}  " + " · ".join(parts) if parts else head


def history_note(pulse: Pulse) -> str | None:
    gaps = []
    if pulse.short:
        counts = ", ".join(f"{k} {pulse.readings[k].prints}" for k in pulse.short)
        gaps.append(f"too little macro history ({counts} prints; {MIN_PRINTS} needed)")
    if pulse.missing:
        gaps.append("no published print of " + ", ".join(pulse.missing))
    if pulse.stale:
        old = ", ".join(f"{k} {period_name(k, pulse.readings[k].period)}" for k in pulse.stale)
        gaps.append(f"stale, left out of the pulse: {old} (a newer print is overdue)")
    if not gaps:
        return None
    used = [k for k in pulse.readings if k not in pulse.short and k not in pulse.stale]
    tail = f"; pulse from {', '.join(used)}" if used and pulse.value is not None else ""
    return "; ".join(gaps) + tail


def render(core: Sources, snap: Snapshot, watch: str | None = None) -> Message:
    """The compact aligned table: one row per tech index, economy, regime, what to watch,
    notes."""
    names = core.watchlist
    legs = [row for row in snap.rows if row.leg is not None]
    head = legs[0].leg if legs else None
    if head is not None:
        n = head.sessions
        title = (
            f"{TITLE} — {snap.window.upper()} to {head.anchor:%d %b %Y} "
            f"({n} trading day{'s' if n != 1 else ''})"
        )
    else:
        title = f"{TITLE} — {snap.window.upper()}"
    width = max([LABEL - 1, *(len(names[r.x].name) for r in snap.rows)]) + 1
    bwidth = max([0, *(len(names[r.b].name) for r in snap.rows)])
    lines = []
    notes = []
    for row in snap.rows:
        leg = row.leg
        if leg is None:
            lines.append(f"{names[row.x].name:<{width}}n/a vs {names[row.b].name}")
            notes.append(row.problem or "")
            continue
        lines.append(
            f"{names[row.x].name:<{width}}{fmt.pct(leg.x.change_pct):>7}   "
            f"vs {names[row.b].name:<{bwidth}} {fmt.pct(leg.b.change_pct):>6}   "
            f"spread {fmt.pp(leg.spread_pp):>7}   z {z_text(leg.z_spread):>4}   "
            f"corr20 {corr_text(leg.corr20):>5}"
        )
        if leg.z_spread is None:
            notes.append(
                f"{names[row.x].name} z n/a: under {MIN_Z_SAMPLES} sessions of history "
                "in the year before"
            )
    lines.append(f"{'Economy':<{width}}{economy_line(snap.pulse)}")
    lines.append(f"{'Regime':<{width}}{regime_line(core, snap)}")
    if watch:
        lines.append(f"{'Watch':<{width}}{watch}")
    note = history_note(snap.pulse)
    if note:
        notes.append(note)
    lines.extend(f"{'Note':<{width}}{text}" for text in notes if text)
    return Message(
        title=title,
        lines=lines,
        preformatted=True,
        at=snap.as_of,
        source="daily closes; NBS prints",
    )


def regime_line(core: Sources, snap: Snapshot) -> str:
    first = snap.rows[0] if snap.rows else None
    name = core.watchlist[first.x].name if first else "tech"
    z_ret = first.leg.z_return if first is not None and first.leg is not None else None
    if z_ret is None:
        return f"n/a — {name} has too little history for a return z-score"
    if snap.regime is None or snap.score is None or snap.pulse.value is None:
        return "n/a — the economy pulse needs more macro history"
    return (
        f"{snap.regime.value.upper()} — {regime_text(snap.regime, snap.pulse.value)} "
        f"(score {fmt.signed(snap.score, 1)}: {name} return z {z_text(z_ret)}, "
        f"pulse {z_text(snap.pulse.value)})"
    )


# -- the chart ----------------------------------------------------------------------


async def chart_png(core: Sources, snap: Snapshot) -> bytes | None:
    """The snapshot's chart (cached with it); None when no row has data. Concurrent
    requests for the same snapshot share one render."""
    legs = [row for row in snap.rows if row.leg is not None]
    if not legs:
        return None
    cache = core.divergence
    now = core.clock.now()
    found: bytes | None = cache._get(cache.charts, snap.key, now) if snap.key else None
    if found is not None:
        return found
    task = cache._rendering.get(snap.key) if snap.key else None
    if task is None:
        names = core.watchlist
        head = legs[0]
        assert head.leg is not None
        tech = [(names[r.x].name, *snap.series[r.x]) for r in legs]
        bench = (names[head.b].name, *snap.series[head.b])
        devs = [(k, r.z) for k, r in snap.pulse.readings.items()]
        devs += [(k, None) for k in snap.pulse.missing]
        title = (
            f"{', '.join(names[r.x].name for r in legs)} vs {names[head.b].name} — "
            f"{snap.window.upper()} to {head.leg.anchor:%d %b %Y}"
        )
        task = asyncio.ensure_future(chart.render_png(title, tech, bench, devs))
        if snap.key:
            cache._rendering[snap.key] = task
    try:
        png = await asyncio.shield(task)
    finally:
        if snap.key and cache._rendering.get(snap.key) is task and task.done():
            del cache._rendering[snap.key]
    if snap.key:
        cache._put(cache.charts, snap.key, now, png)
    return png


async def refresh_pulse(core: Sources) -> Pulse:
    """Recompute the economy pulse as of the clock and hand it to the engine, whose
    divergence rules need it (at start-up, after each close, after a new macro print)."""
    core.divergence.invalidate_macro()
    now = core.clock.now()
    macro = await core.divergence.macro(core)
    pulse = economy_pulse(macro.prints, neutral_levels(), now, macro.published)
    core.service.engine.pulse = pulse.value
    return pulse
