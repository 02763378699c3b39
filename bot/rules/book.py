"""The rule index: which rules a new signal value crosses, without scanning every rule.

Each rule contributes one entry per side it watches (+1 up, -1 down; `either` gives
both) to a book keyed by its signal (a move of an instrument over a window, a spread,
or a price level) and side.

Semantics ("fire on the cross, not on the level"):
- up side, trigger t, hysteresis h: fires when armed and value >= t; then disarmed;
  re-armed once value <= t - h.
- down side mirrors it: fires when armed and value <= t; re-arms once value >= t + h.
- a side created (or loaded) before its signal had any value is *pending*: the first
  value only decides its state (armed if not yet past the trigger, else disarmed) and
  fires nothing. A rule created past its trigger fires on the next cross, never on the
  level it was created at, whether or not a quote had arrived yet.
- both the firing and the re-arming of one value are decided on the state before it:
  no entry fires and re-arms on the same value.

Layout (compact: a million rules in tens of megabytes). Entries are rows (bot.rules.ids);
each row's trigger, hysteresis and state live in typed arrays, one slot per row. A book
keeps its rows in two static sorted numpy arrays, by trigger and by re-arm boundary,
plus a short list of rows added since they were sorted. After a value v is applied,
every entry agrees with v (none armed past its trigger, none disarmed past its re-arm
boundary), except the few the book marks *dirty* (added, settled, or one that fired
and could re-arm at once with no hysteresis). So the next value w can only fire entries
whose trigger lies between v and w, and re-arm those whose boundary lies between them:
two binary searches, then a check of each of the k rows found: O(log n + k) per tick.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from bot.rules.ids import RuleIds

ABSENT, ARMED, DISARMED, PENDING = 0, 1, 2, 3
EXTRA_MAX = 32  # rows kept unsorted in a large book before it is sorted again
TINY = 64  # a book this small is sorted in plain Python
SMALL = 1024  # a book this small is sorted again on the first value after any change
SIDES = (1, -1)
INF, NAN = float("inf"), float("nan")

Floats = npt.NDArray[np.float64]
Rows = npt.NDArray[np.int32]
_NO_FLOATS: Floats = np.empty(0, dtype=np.float64)
_NO_ROWS: Rows = np.empty(0, dtype=np.int32)


class Signal(NamedTuple):
    """What a rule watches. `b` is the benchmark of a spread; `window` is "" for levels."""

    kind: str
    a: str
    b: str
    window: str


@dataclass(frozen=True, slots=True)
class BookEntry:
    """One side of one rule, as the index reports it (built only for what changed)."""

    rule_id: str
    side: int  # +1 up, -1 down
    trigger: float
    hysteresis: float

    @property
    def rearm(self) -> float:
        return self.trigger - self.side * self.hysteresis


class _Book:
    """The entries of one signal on one side."""

    __slots__ = (
        "by_trigger",
        "trigger_rows",
        "by_rearm",
        "rearm_rows",
        "extra",
        "dirty",
        "last",
        "live",
        "pending",
        "low",
        "high",
    )

    def __init__(self) -> None:
        self.by_trigger = _NO_FLOATS  # sorted
        self.trigger_rows = _NO_ROWS  # aligned with by_trigger
        self.by_rearm = _NO_FLOATS
        self.rearm_rows = _NO_ROWS
        self.extra = array("i")  # rows added since the arrays were sorted (checked each tick)
        self.dirty: set[int] = set()  # rows that may disagree with `last`
        self.last: float | None = None  # the last value crossed; None: never
        self.live = 0  # entries in this book
        self.pending = 0  # of which pending
        # The gap around `last` that holds no trigger and no re-arm boundary of the
        # sorted arrays (nan: unknown): a value moving inside it crosses nothing there.
        self.low = NAN
        self.high = NAN


class RuleBook:
    """Entries by (signal, side): armed, disarmed (waiting to re-arm) or pending.

    Rows come from `ids` (shared with the engine's rule table); the string-keyed methods
    (`add`, `remove`, `is_armed`, `cross`, ...) are the index's public face, the `*_row`
    ones the engine's fast path."""

    def __init__(self, ids: RuleIds | None = None) -> None:
        self.ids = ids if ids is not None else RuleIds()
        self._signals: list[Signal] = []
        self._sid: dict[Signal, int] = {}
        self._books: dict[tuple[int, int], _Book] = {}
        self._signal = array("i")  # row -> signal id (-1: none)
        self._state = {1: bytearray(), -1: bytearray()}  # row -> ABSENT/ARMED/...
        self._trigger = {1: array("d"), -1: array("d")}  # row -> trigger of that side
        self._hysteresis = array("d")
        self._count = 0
        # Per signal: the gap around its last value inside which neither side's book
        # holds a trigger, a boundary, a new, dirty or pending entry (nan: none known).
        # A value inside it changes nothing: most signals on most ticks.
        self.quiet_low = array("d")
        self.quiet_high = array("d")

    def __len__(self) -> int:
        return self._count

    # -- signals -----------------------------------------------------------------------
    def sid(self, signal: Signal) -> int:
        """The id of `signal` (one shared Signal object per distinct signal)."""
        found = self._sid.get(signal)
        if found is None:
            found = len(self._signals)
            self._signals.append(signal)
            self._sid[signal] = found
            self.quiet_low.append(NAN)
            self.quiet_high.append(NAN)
        return found

    def signal(self, sid: int) -> Signal:
        return self._signals[sid]

    def signals(self) -> set[Signal]:
        return {self._signals[sid] for sid, _ in self._books}

    # -- adding and removing --------------------------------------------------------------
    def add(self, signal: Signal, entry: BookEntry, armed: bool | None) -> None:
        """Index an entry armed, disarmed, or pending (None: its first value decides)."""
        row, _ = self.ids.add(entry.rule_id)
        self.add_row(self.sid(signal), row, entry.side, entry.trigger, entry.hysteresis, armed)

    def bulk_add(self, items: list[tuple[Signal, BookEntry, bool | None]]) -> None:
        for signal, entry, armed in items:
            self.add(signal, entry, armed)

    def add_row(
        self,
        sid: int,
        row: int,
        side: int,
        trigger: float,
        hysteresis: float,
        armed: bool | None,
        decided_at: float | None = None,
    ) -> None:
        """Index one entry. `decided_at`: the signal value its state was decided from
        (a load): when that is the book's last value, nothing needs a second look."""
        if row >= len(self._signal):
            self._grow(row + 1)
        elif self._state[side][row] != ABSENT:
            self.remove_row(row, side)
        self._signal[row] = sid
        self.quiet_low[sid] = self.quiet_high[sid] = NAN
        self._trigger[side][row] = trigger
        self._hysteresis[row] = hysteresis
        book = self._books.get((sid, side))
        if book is None:
            book = self._books[(sid, side)] = _Book()
        book.extra.append(row)
        book.live += 1
        self._count += 1
        if armed is None:
            self._state[side][row] = PENDING
            book.pending += 1
        else:
            self._state[side][row] = ARMED if armed else DISARMED
            if book.last is None and decided_at is not None:
                # Every entry before it is pending or dirty (checked on the next value
                # anyway): the value this one was decided at can stand as the book's.
                book.last = decided_at
            if decided_at is None or book.last != decided_at:
                book.dirty.add(row)
        # A start-up adds rows by the thousand: sort as they pile up (each sort at least
        # doubles the sorted part, so loading n rows sorts O(n log n) in all).
        if len(book.extra) > max(4096, len(book.trigger_rows)):
            self._sort(book, sid, side)

    def remove(self, rule_id: str, side: int) -> None:
        row = self.ids.row(rule_id)
        if row is not None:
            self.remove_row(row, side)

    def remove_row(self, row: int, side: int) -> None:
        if row >= len(self._signal):
            return
        state = self._state[side][row]
        if state == ABSENT:
            return
        book = self._books[(self._signal[row], side)]
        book.live -= 1
        if state == PENDING:
            book.pending -= 1
        book.dirty.discard(row)
        self._state[side][row] = ABSENT
        self._count -= 1
        # Its slot in the sorted arrays goes stale: skipped (its state is ABSENT or its
        # signal another), dropped at the next sort.

    # -- state -------------------------------------------------------------------------
    def state(self, row: int, side: int) -> int:
        return self._state[side][row] if row < len(self._signal) else ABSENT

    def is_armed(self, rule_id: str, side: int) -> bool | None:
        """True/False; None when the side is unknown or pending (no value seen yet)."""
        row = self.ids.row(rule_id)
        state = ABSENT if row is None else self.state(row, side)
        return True if state == ARMED else False if state == DISARMED else None

    def is_pending(self, rule_id: str, side: int) -> bool:
        row = self.ids.row(rule_id)
        return row is not None and self.state(row, side) == PENDING

    def entry(self, row: int, side: int) -> BookEntry:
        return BookEntry(self.ids.id_of(row), side, self._trigger[side][row], self._hysteresis[row])

    # -- values ------------------------------------------------------------------------
    def initialize(self, signal: Signal, value: float) -> list[tuple[BookEntry, bool]]:
        """A signal's value is known: settle its pending entries (armed unless already
        past the trigger). Nothing fires. Returns each entry with its new state."""
        sid = self._sid.get(signal)
        if sid is None:
            return []
        return [(self.entry(row, side), armed) for row, side, armed in self.settle(sid, value)]

    def settle(self, sid: int, value: float) -> list[tuple[int, int, bool]]:
        """`initialize` by rows: (row, side, armed) for each entry settled."""
        out: list[tuple[int, int, bool]] = []
        for side in SIDES:
            book = self._books.get((sid, side))
            if book is None or not book.pending:
                continue
            rows = self._rows_of(book, sid, side, PENDING)
            triggers = np.frombuffer(self._trigger[side], dtype=np.float64)[rows]
            past = triggers <= value if side == 1 else triggers >= value
            states = np.frombuffer(self._state[side], dtype=np.uint8)
            states[rows] = np.where(past, DISARMED, ARMED)
            del states
            book.pending = 0
            # Checked again on the value that settled them (one with no hysteresis, set
            # exactly at its trigger, re-arms at once, as a linear scan would).
            book.dirty.update(rows.tolist())
            out.extend(zip(rows.tolist(), [side] * len(rows), (~past).tolist(), strict=True))
        return out

    def cross(self, signal: Signal, value: float) -> tuple[list[BookEntry], list[BookEntry]]:
        """Apply a new value: return (entries that fired, entries that re-armed)."""
        sid = self._sid.get(signal)
        if sid is None:
            return [], []
        fired, rearmed = self.cross_rows(sid, value)
        return (
            [self.entry(row, side) for row, side in fired],
            [self.entry(row, side) for row, side in rearmed],
        )

    def cross_rows(
        self, sid: int, value: float
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """`cross` by rows: ((row, side) fired, (row, side) re-armed), each side's in
        trigger order (then rule id)."""
        fired: list[tuple[int, int]] = []
        rearmed: list[tuple[int, int]] = []
        if self.quiet_low[sid] < value < self.quiet_high[sid]:
            return fired, rearmed
        low, high = -INF, INF
        for side in SIDES:
            book = self._books.get((sid, side))
            if book is None:
                continue
            sorted_rows = len(book.trigger_rows)
            unsorted = len(book.extra) > (EXTRA_MAX if sorted_rows >= SMALL else 0)
            if unsorted or sorted_rows > 2 * book.live + 64:  # new rows, or many stale ones
                self._sort(book, sid, side)
            up, down = self._cross_book(book, sid, side, value)
            fired.extend((row, side) for row in up)
            rearmed.extend((row, side) for row in down)
            if book.extra or book.dirty or book.pending or book.low != book.low:
                low = high = NAN  # once nan, stays nan (low == low is false)
            elif low == low:
                low, high = max(low, book.low), min(high, book.high)
        self.quiet_low[sid], self.quiet_high[sid] = low, high
        return fired, rearmed

    def _cross_book(
        self, book: _Book, sid: int, side: int, value: float
    ) -> tuple[list[int], list[int]]:
        last, book.last = book.last, value
        candidates: set[int] = set()
        if book.extra or book.dirty:
            candidates.update(book.extra)
            candidates |= book.dirty
            book.dirty = set()
        if last is None:
            candidates.update(book.trigger_rows.tolist())
            self._gap(book, value)
        elif not book.low < value < book.high:
            # Fire: armed entries whose trigger the value went past since `last`.
            # Re-arm: disarmed entries whose boundary it went back past.
            rising = value >= last
            falling = value <= last
            lo, hi = (last, value) if rising else (value, last)
            if (side == 1 and rising) or (side == -1 and falling):
                a = book.by_trigger.searchsorted(lo, side="left")
                b = book.by_trigger.searchsorted(hi, side="right")
                candidates.update(book.trigger_rows[a:b].tolist())
            if (side == 1 and falling) or (side == -1 and rising):
                a = book.by_rearm.searchsorted(lo, side="left")
                b = book.by_rearm.searchsorted(hi, side="right")
                candidates.update(book.rearm_rows[a:b].tolist())
            self._gap(book, value)
        if not candidates:
            return [], []
        signal_of, states = self._signal, self._state[side]
        triggers, hysteresis = self._trigger[side], self._hysteresis
        fire: list[tuple[float, str, int]] = []
        rearm: list[tuple[float, str, int]] = []
        for row in candidates:
            state = states[row]
            if signal_of[row] != sid or state in (ABSENT, PENDING):
                continue
            trigger = triggers[row]
            if state == ARMED:
                if value >= trigger if side == 1 else value <= trigger:
                    fire.append((trigger, self.ids.id_of(row), row))
            else:
                boundary = trigger - side * hysteresis[row]
                if value <= boundary if side == 1 else value >= boundary:
                    rearm.append((boundary, self.ids.id_of(row), row))
        fire.sort()
        rearm.sort()
        for trigger, _, row in fire:
            states[row] = DISARMED
            boundary = trigger - side * hysteresis[row]
            if value <= boundary if side == 1 else value >= boundary:
                book.dirty.add(row)  # no hysteresis: re-arms on the next value at this level
        for _, _, row in rearm:
            states[row] = ARMED
            trigger = triggers[row]
            if value >= trigger if side == 1 else value <= trigger:
                book.dirty.add(row)
        return [row for _, _, row in fire], [row for _, _, row in rearm]

    # -- layout ------------------------------------------------------------------------
    @staticmethod
    def _gap(book: _Book, value: float) -> None:
        """Find the gap around `value` between the sorted triggers and boundaries (none
        when one equals it: an entry at the value itself needs a look on any move)."""
        low, high = -INF, INF
        for values in (book.by_trigger, book.by_rearm):
            i = int(values.searchsorted(value, side="left"))
            if i < len(values):
                above = float(values[i])
                if above == value:
                    book.low = book.high = NAN
                    return
                high = min(high, above)
            if i:
                low = max(low, float(values[i - 1]))
        book.low, book.high = low, high

    def _rows_of(self, book: _Book, sid: int, side: int, state: int | None = None) -> Rows:
        """The book's rows, once each: live ones, or those in `state`."""
        rows = np.unique(np.concatenate([book.trigger_rows, np.frombuffer(book.extra, np.int32)]))
        signals = np.frombuffer(self._signal, dtype=np.int32)[rows]
        states = np.frombuffer(self._state[side], dtype=np.uint8)[rows]
        keep = (signals == sid) & ((states != ABSENT) if state is None else (states == state))
        found: Rows = rows[keep]
        return found

    def sort_all(self) -> None:
        """Sort every book with unsorted rows (the end of a start-up's load)."""
        for (sid, side), book in self._books.items():
            if book.extra:
                self._sort(book, sid, side)
            if book.last is not None and not book.dirty and not book.pending:
                self._gap(book, book.last)
        # Signals whose books all agree with one last value start quiet (a restart's
        # first cycle then looks only at what moved, not at every rule once).
        for sid in range(len(self._signals)):
            books = [b for b in (self._books.get((sid, 1)), self._books.get((sid, -1))) if b]
            lasts = {b.last for b in books}
            if not books or len(lasts) != 1 or any(b.dirty or b.pending for b in books):
                continue
            if any(b.low != b.low or b.high != b.high for b in books):
                continue  # a book with no gap (nan): max/min would drop its nan
            self.quiet_low[sid] = max(b.low for b in books)
            self.quiet_high[sid] = min(b.high for b in books)

    def _sort(self, book: _Book, sid: int, side: int) -> None:
        if len(book.trigger_rows) + len(book.extra) <= TINY:
            self._sort_tiny(book, sid, side)
            return
        rows = self._rows_of(book, sid, side)
        triggers = np.frombuffer(self._trigger[side], dtype=np.float64)[rows]
        rearms = triggers - side * np.frombuffer(self._hysteresis, dtype=np.float64)[rows]
        order = np.argsort(triggers, kind="stable")
        book.by_trigger, book.trigger_rows = triggers[order], rows[order]
        order = np.argsort(rearms, kind="stable")
        book.by_rearm, book.rearm_rows = rearms[order], rows[order]
        book.extra = array("i")
        book.low = book.high = NAN

    def _sort_tiny(self, book: _Book, sid: int, side: int) -> None:
        """`_sort` for a book of a few rows: plain Python beats numpy's per-call cost."""
        signal_of, states = self._signal, self._state[side]
        triggers, hysteresis = self._trigger[side], self._hysteresis
        rows = {
            row
            for row in (*book.trigger_rows.tolist(), *book.extra)
            if signal_of[row] == sid and states[row] != ABSENT
        }
        by_trigger = sorted((triggers[row], row) for row in rows)
        by_rearm = sorted((triggers[row] - side * hysteresis[row], row) for row in rows)
        book.by_trigger = np.array([t for t, _ in by_trigger], dtype=np.float64)
        book.trigger_rows = np.array([r for _, r in by_trigger], dtype=np.int32)
        book.by_rearm = np.array([t for t, _ in by_rearm], dtype=np.float64)
        book.rearm_rows = np.array([r for _, r in by_rearm], dtype=np.int32)
        book.extra = array("i")
        book.low = book.high = NAN

    def _grow(self, size: int) -> None:
        missing = size - len(self._signal)
        if missing <= 0:
            return
        self._signal.frombytes(b"\xff" * (4 * missing))
        for side in SIDES:
            self._state[side].extend(bytes(missing))
            self._trigger[side].frombytes(bytes(8 * missing))
        self._hysteresis.frombytes(bytes(8 * missing))


def entries_for(
    rule_id: str, trigger: float, direction: str, hysteresis: float, signed: bool
) -> list[BookEntry]:
    """A rule's index entries. `signed` thresholds (moves, spreads) mirror for `down`."""
    out = []
    if direction in ("up", "either"):
        out.append(BookEntry(rule_id, 1, trigger, hysteresis))
    if direction in ("down", "either"):
        out.append(BookEntry(rule_id, -1, -trigger if signed else trigger, hysteresis))
    return out
