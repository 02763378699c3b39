"""The engine: turns each accepted quote into the rule crossings it causes.

Pure and synchronous (no I/O): it holds the rule index, each instrument's daily closes
and latest quote, and each rule's cooldown clock. The caller (bot.rules.service) loads it from
the store, feeds it quotes and persists the state changes it reports.

A quote updates every signal that involves its instrument: its move over each window
that has rules, every spread it is a leg of, its price level. Spreads compare each leg's
own window return on its own trading dates, using each leg's latest quote (during Asian
hours the Nasdaq-100 leg is its last US close).

Which sessions pair in a spread (``intraday 1d 5d``): the rule of /divergence
(bot.divergence.metrics.paired_index): a session of the first leg (X) pairs with the
second leg's (B's) last session that closed before it opened (`lag` 1: Shanghai or Hong
Kong against New York) or on the same date (`lag` 0). B's leg runs from its close paired
with X's base session to its latest price. When B has traded since X's latest session
closed (US hours), that B session belongs to X's *next* session, which has not begun: X
contributes nothing (0%) until it opens. A leg with no new session since the previous
pairing (NDX on Tue 20 Jan 2026, after Martin Luther King Day) contributes 0%, never its
old move again. ``mtd ytd`` spreads use one period for both legs, that of the newer
session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.divergence.metrics import ReturnSums, paired_index, session_return_zscore
from bot.market.windows import Base, pct_change, window_base
from bot.models import DailyCloses, Direction, Quote, Rule, RuleKind, Window
from bot.rules.book import RuleBook, Signal
from bot.rules.ids import RuleIds
from bot.rules.table import RuleTable


@dataclass(frozen=True, slots=True)
class Leg:
    """One instrument's part in a signal value: its price, base and return."""

    instrument: str
    price: float
    base: Base | None
    change_pct: float | None


@dataclass(frozen=True, slots=True)
class Crossing:
    """A rule's entry crossed its trigger on this quote."""

    rule: Rule
    side: int
    value: float
    legs: tuple[Leg, ...]
    quote: Quote
    suppressed: bool  # inside the rule's cooldown: recorded, not alerted


@dataclass(slots=True)
class TickResult:
    crossings: list[Crossing]
    state: list[tuple[str, int, bool]]  # (rule id, side, armed) that changed


def signal_of(rule: Rule) -> Signal:
    if rule.kind is RuleKind.LEVEL:
        return Signal("level", rule.instrument, "", "")
    window = rule.window.value if rule.window else ""
    if rule.kind is RuleKind.SPREAD:
        return Signal("spread", rule.instrument, rule.other or "", window)
    if rule.kind is RuleKind.DIVERGENCE:
        return Signal("divergence", rule.instrument, "", window)
    return Signal("move", rule.instrument, "", window)


BASES_KEPT = 64  # window bases remembered per instrument (a few per session)
VALUE_DIGITS = 2  # a move or spread in hundredths of a point; a level in cents
PAIRED = (Window.INTRADAY, Window.D1, Window.D5)  # spread windows whose sessions pair
_WINDOWS: dict[str, Window | None] = {"": None, **{w.value: w for w in Window}}
OWN = ("move", "level")  # signals of one instrument: their value comes from its quote alone

Lag = Callable[[str, str], int]


def same_region(a: str, b: str) -> int:
    """The default pairing: B's session of a date pairs with X's of the same date."""
    return 0


class Engine:
    """Rules, their index and the market state they are evaluated against.

    `lag(x, b)`: 1 when b's session on a shared date opens after x's has closed (see the
    module docstring); the wiring derives it from the market calendars.

    Rules are held by column (bot.rules.table) and indexed by row (bot.rules.book): a
    `Rule` object exists only while something uses it (a crossing, a listing)."""

    def __init__(self, lag: Lag = same_region) -> None:
        self.lag = lag
        ids = RuleIds()
        self.rules = RuleTable(ids)
        self.index = RuleBook(ids)
        self.closes: dict[str, DailyCloses] = {}
        self.latest: dict[str, Quote] = {}
        self.last_fired: dict[str, float] = {}
        # Signal ids by instrument, each with how many indexed rules use it.
        self._by_instrument: dict[str, dict[int, int]] = {}
        # The economy pulse (bot.divergence.metrics) behind divergence rules; None = no signal.
        self._pulse: float | None = None
        # Signal values as of now, for a load's pages (a signal's rules come in many):
        # forgotten whenever a quote, a close or the pulse changes.
        self._values: dict[int, float | None] = {}
        # Window bases by instrument, (window, session): forgotten when its closes change.
        self._bases: dict[str, dict[tuple[Window, date], Base | None]] = {}
        # Exact running sums of each instrument's returns for divergence scores, remade
        # when its closes change (set_closes, put_close).
        self._sums: dict[str, ReturnSums] = {}

    @property
    def pulse(self) -> float | None:
        return self._pulse

    @pulse.setter
    def pulse(self, value: float | None) -> None:
        self._pulse = value
        self._values.clear()

    # -- rules -----------------------------------------------------------------
    def add_rule(self, rule: Rule, armed: dict[int, bool] | None = None) -> dict[int, bool | None]:
        """Index a rule. Without a saved state, a side already past its trigger starts
        disarmed: it fires on the next cross, not on the level it was created at; with
        no value yet, the side is pending (None) and the first value decides."""
        self.remove_rule(rule.id)
        row = self.rules.put(rule)
        if rule.paused:
            return {}
        signal = signal_of(rule)
        sid = self.index.sid(signal)
        current = self.value(signal)
        states: dict[int, bool | None] = {}
        for side, trigger in _triggers(rule):
            is_armed: bool | None
            if armed is not None and side in armed:
                is_armed = armed[side]
            else:
                is_armed = None if current is None else not _past(side, trigger, current)
            self.index.add_row(sid, row, side, trigger, rule.hysteresis, is_armed)
            states[side] = is_armed
        self._count(signal, sid, 1)
        return states

    def load_rules(self, rules: list[Rule], states: dict[str, dict[int, bool]]) -> None:
        """Index many new rules at once (start-up, batch by batch), with their saved armed
        states. A rule already loaded is skipped: a scan of the store may repeat one."""
        held = self.rules
        first: dict[str, Rule] = {}
        for rule in rules:
            if rule.id not in held:
                first.setdefault(rule.id, rule)
        fresh = list(first.values())
        rows = held.put_new(fresh)
        index = self.index
        current = self._values
        sids: dict[tuple[RuleKind, str, str | None, Window | None], int] = {}
        for rule, row in zip(fresh, rows, strict=True):
            if rule.paused:
                continue
            key = (rule.kind, rule.instrument, rule.other, rule.window)
            sid = sids.get(key)
            if sid is None:
                signal = signal_of(rule)
                sid = sids[key] = index.sid(signal)
                if sid not in current:
                    current[sid] = self.value(signal)
                self._count(signal, sid, 0)
            value = current[sid]
            saved = states.get(rule.id)
            for side, trigger in _triggers(rule):
                armed = None if saved is None else saved.get(side)
                if armed is not None:  # saved: it may disagree with the value now
                    agrees = value is not None and not _due(
                        side, trigger, rule.hysteresis, armed, value
                    )
                    decided = value if agrees else None  # else checked on the next value
                    index.add_row(sid, row, side, trigger, rule.hysteresis, armed, decided)
                elif value is not None:
                    armed = not _past(side, trigger, value)
                    index.add_row(sid, row, side, trigger, rule.hysteresis, armed, value)
                else:  # pending: the first value decides
                    index.add_row(sid, row, side, trigger, rule.hysteresis, None)
            for inst in (rule.instrument, rule.other):
                if inst:
                    counts = self._by_instrument[inst]
                    counts[sid] += 1

    def _signal(self, rule: Rule) -> Signal:
        return self.index.signal(self.index.sid(signal_of(rule)))

    def _count(self, signal: Signal, sid: int, by: int) -> None:
        """`by` more indexed rules on `signal` (0: make sure it is counted)."""
        for inst in {signal.a, signal.b} - {""}:
            counts = self._by_instrument.setdefault(inst, {})
            counts[sid] = counts.get(sid, 0) + by
            if counts[sid] == 0 and by:
                del counts[sid]

    def remove_rule(self, rule_id: str) -> Rule | None:
        row = self.rules.ids.row(rule_id)
        if row is None:
            return None
        indexed = any(self.index.state(row, side) for side in (1, -1))
        for side in (1, -1):
            self.index.remove_row(row, side)
        found = self.rules.pop_row(rule_id)
        assert found is not None
        rule = found[1]
        if indexed:
            signal = signal_of(rule)
            self._count(signal, self.index.sid(signal), -1)
        return rule

    # -- market state ----------------------------------------------------------
    def set_closes(self, instrument: str, closes: DailyCloses) -> None:
        self.closes[instrument] = closes
        self._bases.pop(instrument, None)
        self._sums.pop(instrument, None)
        self._values.clear()

    def put_close(self, instrument: str, session: date, close: float) -> None:
        self.closes.setdefault(instrument, DailyCloses()).put(session, close)
        self._bases.pop(instrument, None)
        self._sums.pop(instrument, None)
        self._values.clear()

    def _base(
        self,
        instrument: str,
        closes: DailyCloses,
        window: Window,
        session: date,
        day_open: float | None,
    ) -> Base | None:
        """window_base, remembered per instrument until its closes change: a poll cycle
        asks for the same few bases of each instrument once per signal."""
        if window is Window.INTRADAY:
            return window_base(closes, window, session, day_open)
        known = self._bases.get(instrument)
        if known is None or len(known) > BASES_KEPT:
            known = self._bases[instrument] = {}
        key = (window, session)
        if key not in known:
            known[key] = window_base(closes, window, session, day_open)
        return known[key]

    def leg(self, instrument: str, window: Window | None) -> Leg | None:
        quote = self.latest.get(instrument)
        return None if quote is None else self.leg_of(quote, window)

    def leg_of(self, quote: Quote, window: Window | None, period: date | None = None) -> Leg:
        """`quote`'s move over `window` from its exact base (no base: change None).

        `period`: measure a month- or year-to-date window in the month or year of this
        session date rather than the quote's own (the legs of a spread share one period)."""
        if window is None:
            return Leg(quote.instrument, quote.price, None, None)
        base = self._quote_base(quote, window, period)
        change = pct_change(quote.price, base.value) if base else None
        return Leg(quote.instrument, quote.price, base, change)

    def _quote_base(self, quote: Quote, window: Window, period: date | None = None) -> Base | None:
        instrument = quote.instrument
        closes = self.closes.get(instrument, DailyCloses())
        session = quote.session
        if period is not None and window in (Window.MTD, Window.YTD):
            session = max(session, period)
        return self._base(instrument, closes, window, session, quote.open)

    def _own_value(self, quote: Quote, signal: Signal) -> float | None:
        """A move's or a level's value straight from `quote` (its instrument's signal),
        as `_signal_value(signal, legs(signal))` computes it, without building legs: a
        poll cycle asks this of every signal of every instrument."""
        if signal.kind == "level":
            return round(quote.price, VALUE_DIGITS)
        window = _WINDOWS[signal.window]
        base = None if window is None else self._quote_base(quote, window)
        return round(pct_change(quote.price, base.value), VALUE_DIGITS) if base else None

    def legs(self, signal: Signal) -> tuple[Leg, ...] | None:
        window = _WINDOWS[signal.window]
        a = self.latest.get(signal.a)
        if a is None:
            return None
        if signal.kind != "spread":
            return (self.leg_of(a, window),)
        b = self.latest.get(signal.b)
        if b is None:
            return None
        if window in PAIRED:
            return self._paired_legs(a, b, window)
        # One period for both legs of a month- or year-to-date spread: that of the newer
        # session. A leg with no session in it yet has moved 0% in it; it does not bring
        # last month's move (2 Feb: STAR 50's February against the Nasdaq-100's February).
        period = max(a.session, b.session)
        return (self.leg_of(a, window, period), self.leg_of(b, window, period))

    def _paired_legs(self, a: Quote, b: Quote, window: Window) -> tuple[Leg, Leg] | None:
        """X (`a`) and B (`b`) over the pairing in progress (module docstring)."""
        lag = self.lag(a.instrument, b.instrument)
        xc = self.closes.get(a.instrument, DailyCloses())
        bc = self.closes.get(b.instrument, DailyCloses())
        i = xc.before(a.session)  # X's closes before its latest session
        ahead = b.session >= a.session if lag else b.session > a.session
        back = {Window.INTRADAY: 0, Window.D1: 1, Window.D5: 5}[window]
        if ahead:
            # B's session belongs to X's next session, not begun: X adds nothing new.
            j = i + 1 - back  # X's base for that next session (its latest session is i)
            if window is Window.INTRADAY or j == i:
                x = Leg(a.instrument, a.price, Base(a.price, _since_label(a.session)), 0.0)
                base_day = a.session
            elif j < 0:
                return None
            else:
                base = Base(xc.closes[j], _close_label(xc.dates[j]))
                x = Leg(a.instrument, a.price, base, pct_change(a.price, base.value))
                base_day = xc.dates[j]
        else:
            x = self.leg_of(a, window)
            j = i - max(back, 1)
            if j < 0:
                return Leg(a.instrument, a.price, None, None), Leg(
                    b.instrument, b.price, None, None
                )
            base_day = xc.dates[j] if back else xc.dates[i - 1]
        k = paired_index(base_day, bc, lag)  # B's close of the previous pairing
        if window is Window.INTRADAY:
            fresh = k < 0 or b.session > bc.dates[k]
            if fresh:
                return x, self.leg_of(b, window)
            none = Base(b.price, _since_label(bc.dates[k]))
            return x, Leg(b.instrument, b.price, none, 0.0)
        if k < 0:
            return x, Leg(b.instrument, b.price, None, None)
        base = Base(bc.closes[k], _close_label(bc.dates[k]))
        return x, Leg(b.instrument, b.price, base, pct_change(b.price, base.value))

    def value(self, signal: Signal) -> float | None:
        legs = self.legs(signal)
        return None if legs is None else self._signal_value(signal, legs)

    # -- ticks -----------------------------------------------------------------
    def on_quote(self, quote: Quote, now: datetime) -> TickResult:
        """Take a quote; return the crossings it causes and the state that changed."""
        self.latest[quote.instrument] = quote
        self._values.clear()
        result = TickResult([], [])
        index, id_of = self.index, self.rules.ids.id_of
        quiet_low, quiet_high = index.quiet_low, index.quiet_high
        for sid in list(self._by_instrument.get(quote.instrument, {})):
            signal = index.signal(sid)
            legs: tuple[Leg, ...] | None = None
            if signal.kind in OWN:
                value = self._own_value(quote, signal)
            else:
                legs = self.legs(signal)
                if legs is None:
                    continue
                value = self._signal_value(signal, legs)
            if value is None or quiet_low[sid] < value < quiet_high[sid]:
                continue  # nothing of this signal's can change at this value
            for row, side, armed in index.settle(sid, value):
                result.state.append((id_of(row), side, armed))
            fired, rearmed = index.cross_rows(sid, value)
            for row, side in rearmed:
                result.state.append((id_of(row), side, True))
            if not fired:
                continue
            shown = legs if legs is not None else self.legs(signal)  # built for alerts only
            assert shown is not None  # `quote` is its instrument's latest
            for row, side in fired:
                result.state.append((id_of(row), side, False))
                result.crossings.append(self._crossing(row, side, value, shown, quote, now))
        return result

    def _signal_value(self, signal: Signal, legs: tuple[Leg, ...]) -> float | None:
        if signal.kind != "divergence":
            value = _value(signal, legs)
            # Compared as shown: moves and spreads to a hundredth of a percent (point),
            # levels to the cent. Floating point must not hide an exact touch: +2.00% from
            # 4,022.00 to 4,102.44 is 1.9999999999999796 in binary and must fire `up 2`.
            return None if value is None else round(value, VALUE_DIGITS)
        # Decoupling score: the window return's z against its trailing year, minus pulse.
        leg, quote = legs[0], self.latest.get(signal.a)
        if leg.change_pct is None or quote is None or self.pulse is None:
            return None
        closes = self.closes.get(signal.a, DailyCloses())
        sums = self._sums.get(signal.a)
        if sums is None:
            sums = self._sums[signal.a] = ReturnSums(closes.closes)
        z = session_return_zscore(closes, quote.session, signal.window, leg.change_pct, sums)
        return None if z is None else z - self.pulse

    def _crossing(
        self, row: int, side: int, value: float, legs: tuple[Leg, ...], quote: Quote, now: datetime
    ) -> Crossing:
        rule = self.rules.at(row)
        last = self.last_fired.get(rule.id)
        stamp = now.timestamp()
        suppressed = last is not None and stamp - last < rule.cooldown_s
        if not suppressed:
            self.last_fired[rule.id] = stamp
        return Crossing(rule, side, value, legs, quote, suppressed)


def _triggers(rule: Rule) -> tuple[tuple[int, float], ...]:
    """(side, trigger) of each side a rule watches; moves and spreads mirror for `down`
    (the entries of bot.rules.book.entries_for)."""
    direction, threshold = rule.direction, rule.threshold
    if direction is Direction.UP:
        return ((1, threshold),)
    down = threshold if rule.kind is RuleKind.LEVEL else -threshold
    if direction is Direction.DOWN:
        return ((-1, down),)
    return ((1, threshold), (-1, down))


@functools.lru_cache(maxsize=4096)
def _close_label(day: date) -> str:
    return f"{day:%d %b} close"


@functools.lru_cache(maxsize=4096)
def _since_label(day: date) -> str:
    return f"no session since {day:%d %b}"


def _past(side: int, trigger: float, value: float) -> bool:
    return value >= trigger if side == 1 else value <= trigger


def _due(side: int, trigger: float, hysteresis: float, armed: bool, value: float) -> bool:
    """Would `value` change a side in this state (fire it, or re-arm it)? The tests of
    bot.rules.book's `_cross_book`."""
    if armed:
        return _past(side, trigger, value)
    boundary = trigger - side * hysteresis
    return value <= boundary if side == 1 else value >= boundary


def _value(signal: Signal, legs: tuple[Leg, ...]) -> float | None:
    if signal.kind == "level":
        return legs[0].price
    if signal.kind == "move":
        return legs[0].change_pct
    a, b = legs
    if a.change_pct is None or b.change_pct is None:
        return None
    return a.change_pct - b.change_pct
