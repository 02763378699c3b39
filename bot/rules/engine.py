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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.divergence.metrics import ReturnSums, paired_index, session_return_zscore
from bot.market.windows import Base, pct_change, window_base
from bot.models import DailyCloses, Quote, Rule, RuleKind, Window
from bot.rules.book import BookEntry, RuleBook, Signal, entries_for


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


VALUE_DIGITS = 2  # a move or spread in hundredths of a point; a level in cents
PAIRED = (Window.INTRADAY, Window.D1, Window.D5)  # spread windows whose sessions pair

Lag = Callable[[str, str], int]


def same_region(a: str, b: str) -> int:
    """The default pairing: B's session of a date pairs with X's of the same date."""
    return 0


class Engine:
    """Rules, their index and the market state they are evaluated against.

    `lag(x, b)`: 1 when b's session on a shared date opens after x's has closed (see the
    module docstring); the wiring derives it from the market calendars."""

    def __init__(self, lag: Lag = same_region) -> None:
        self.lag = lag
        self.index = RuleBook()
        self.rules: dict[str, Rule] = {}
        self.closes: dict[str, DailyCloses] = {}
        self.latest: dict[str, Quote] = {}
        self.last_fired: dict[str, float] = {}
        self._by_instrument: dict[str, dict[Signal, int]] = {}
        # One Signal object per distinct signal, shared by all its rules' index entries
        # (a few hundred signals for 100,000 rules, rather than one tuple per rule).
        self._signals: dict[Signal, Signal] = {}
        # The economy pulse (bot.divergence.metrics) behind divergence rules; None = no signal.
        self.pulse: float | None = None
        # Exact running sums of each instrument's returns for divergence scores, remade
        # when its closes change (set_closes, put_close).
        self._sums: dict[str, ReturnSums] = {}

    # -- rules -----------------------------------------------------------------
    def add_rule(self, rule: Rule, armed: dict[int, bool] | None = None) -> dict[int, bool | None]:
        """Index a rule. Without a saved state, a side already past its trigger starts
        disarmed: it fires on the next cross, not on the level it was created at; with
        no value yet, the side is pending (None) and the first value decides."""
        self.remove_rule(rule.id)
        self.rules[rule.id] = rule
        if rule.paused:
            return {}
        signal = self._signal(rule)
        signed = rule.kind is not RuleKind.LEVEL
        current = self.value(signal)
        states: dict[int, bool | None] = {}
        for entry in entries_for(
            rule.id, rule.threshold, rule.direction.value, rule.hysteresis, signed
        ):
            is_armed: bool | None
            if armed is not None and entry.side in armed:
                is_armed = armed[entry.side]
            else:
                is_armed = None if current is None else not _past(entry, current)
            self.index.add(signal, entry, is_armed)
            states[entry.side] = is_armed
        for inst in {signal.a, signal.b} - {""}:
            counts = self._by_instrument.setdefault(inst, {})
            counts[signal] = counts.get(signal, 0) + 1
        return states

    def load_rules(self, rules: list[Rule], states: dict[str, dict[int, bool]]) -> None:
        """Index many new rules at once (start-up, batch by batch), with their saved armed
        states. A rule already loaded is skipped: a scan of the store may repeat one."""
        current: dict[Signal, float | None] = {}
        items = []
        for rule in rules:
            if rule.id in self.rules:
                continue
            self.rules[rule.id] = rule
            if rule.paused:
                continue
            signal = self._signal(rule)
            if signal not in current:
                current[signal] = self.value(signal)
            saved = states.get(rule.id, {})
            signed = rule.kind is not RuleKind.LEVEL
            for entry in entries_for(
                rule.id, rule.threshold, rule.direction.value, rule.hysteresis, signed
            ):
                value = current[signal]
                armed: bool | None = saved.get(entry.side)
                if armed is None and value is not None:
                    armed = not _past(entry, value)
                items.append((signal, entry, armed))  # None: pending, the first value decides
            for inst in {signal.a, signal.b} - {""}:
                counts = self._by_instrument.setdefault(inst, {})
                counts[signal] = counts.get(signal, 0) + 1
        self.index.bulk_add(items)

    def _signal(self, rule: Rule) -> Signal:
        signal = signal_of(rule)
        return self._signals.setdefault(signal, signal)

    def remove_rule(self, rule_id: str) -> Rule | None:
        rule = self.rules.pop(rule_id, None)
        if rule is None:
            return None
        for side in (1, -1):
            self.index.remove(rule_id, side)
        if not rule.paused:
            signal = signal_of(rule)
            for inst in {signal.a, signal.b} - {""}:
                counts = self._by_instrument[inst]
                counts[signal] -= 1
                if counts[signal] == 0:
                    del counts[signal]
        return rule

    # -- market state ----------------------------------------------------------
    def set_closes(self, instrument: str, closes: DailyCloses) -> None:
        self.closes[instrument] = closes
        self._sums.pop(instrument, None)

    def put_close(self, instrument: str, session: date, close: float) -> None:
        self.closes.setdefault(instrument, DailyCloses()).put(session, close)
        self._sums.pop(instrument, None)

    def leg(self, instrument: str, window: Window | None) -> Leg | None:
        quote = self.latest.get(instrument)
        return None if quote is None else self.leg_of(quote, window)

    def leg_of(self, quote: Quote, window: Window | None, period: date | None = None) -> Leg:
        """`quote`'s move over `window` from its exact base (no base: change None).

        `period`: measure a month- or year-to-date window in the month or year of this
        session date rather than the quote's own (the legs of a spread share one period)."""
        instrument = quote.instrument
        if window is None:
            return Leg(instrument, quote.price, None, None)
        closes = self.closes.get(instrument, DailyCloses())
        session = quote.session
        if period is not None and window in (Window.MTD, Window.YTD):
            session = max(session, period)
        base = window_base(closes, window, session, quote.open)
        change = pct_change(quote.price, base.value) if base else None
        return Leg(instrument, quote.price, base, change)

    def legs(self, signal: Signal) -> tuple[Leg, ...] | None:
        window = Window(signal.window) if signal.window else None
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
                x = Leg(
                    a.instrument, a.price, Base(a.price, f"no session since {a.session:%d %b}"), 0.0
                )
                base_day = a.session
            elif j < 0:
                return None
            else:
                base = Base(xc.closes[j], f"{xc.dates[j]:%d %b} close")
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
            none = Base(b.price, f"no session since {bc.dates[k]:%d %b}")
            return x, Leg(b.instrument, b.price, none, 0.0)
        if k < 0:
            return x, Leg(b.instrument, b.price, None, None)
        base = Base(bc.closes[k], f"{bc.dates[k]:%d %b} close")
        return x, Leg(b.instrument, b.price, base, pct_change(b.price, base.value))

    def value(self, signal: Signal) -> float | None:
        legs = self.legs(signal)
        return None if legs is None else self._signal_value(signal, legs)

    # -- ticks -----------------------------------------------------------------
    def on_quote(self, quote: Quote, now: datetime) -> TickResult:
        """Take a quote; return the crossings it causes and the state that changed."""
        self.latest[quote.instrument] = quote
        result = TickResult([], [])
        for signal in list(self._by_instrument.get(quote.instrument, {})):
            legs = self.legs(signal)
            if legs is None:
                continue
            value = self._signal_value(signal, legs)
            if value is None:
                continue
            for entry, armed in self.index.initialize(signal, value):
                result.state.append((entry.rule_id, entry.side, armed))
            fired, rearmed = self.index.cross(signal, value)
            for entry in rearmed:
                result.state.append((entry.rule_id, entry.side, True))
            for entry in fired:
                result.state.append((entry.rule_id, entry.side, False))
                result.crossings.append(self._crossing(entry, value, legs, quote, now))
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
        self, entry: BookEntry, value: float, legs: tuple[Leg, ...], quote: Quote, now: datetime
    ) -> Crossing:
        rule = self.rules[entry.rule_id]
        last = self.last_fired.get(rule.id)
        stamp = now.timestamp()
        suppressed = last is not None and stamp - last < rule.cooldown_s
        if not suppressed:
            self.last_fired[rule.id] = stamp
        return Crossing(rule, entry.side, value, legs, quote, suppressed)


def _past(entry: BookEntry, value: float) -> bool:
    return value >= entry.trigger if entry.side == 1 else value <= entry.trigger


def _value(signal: Signal, legs: tuple[Leg, ...]) -> float | None:
    if signal.kind == "level":
        return legs[0].price
    if signal.kind == "move":
        return legs[0].change_pct
    a, b = legs
    if a.change_pct is None or b.change_pct is None:
        return None
    return a.change_pct - b.change_pct
