"""The rule index: which rules a new signal value crosses, without scanning every rule.

Each rule contributes one entry per side it watches (+1 up, -1 down; `either` gives
both) to a book keyed by its signal (a move of an instrument over a window, a spread,
or a price level). A book keeps its armed entries sorted by trigger and its disarmed
entries sorted by re-arm boundary, so a new value finds what fires and what re-arms
with two range lookups: O(log n + k) per tick for k entries that change.

Semantics ("fire on the cross, not on the level"):
- up side, trigger t, hysteresis h: fires when armed and value >= t; then disarmed;
  re-armed once value <= t - h.
- down side mirrors it: fires when armed and value <= t; re-arms once value >= t + h.
- a side created (or loaded) before its signal had any value is *pending*: the first
  value only decides its state (armed if not yet past the trigger, else disarmed) and
  fires nothing. A rule created past its trigger fires on the next cross, never on the
  level it was created at, whether or not a quote had arrived yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sortedcontainers import SortedList


class Signal(NamedTuple):
    """What a rule watches. `b` is the benchmark of a spread; `window` is "" for levels."""

    kind: str
    a: str
    b: str
    window: str


@dataclass(slots=True)
class _Book:
    armed: SortedList = field(default_factory=SortedList)  # (trigger, rule_id)
    disarmed: SortedList = field(default_factory=SortedList)  # (rearm, rule_id)
    pending: dict[str, BookEntry] = field(default_factory=dict)  # rule_id -> entry


@dataclass(frozen=True, slots=True)
class BookEntry:
    rule_id: str
    side: int  # +1 up, -1 down
    trigger: float
    hysteresis: float

    @property
    def rearm(self) -> float:
        return self.trigger - self.side * self.hysteresis


class RuleBook:
    """Entries by (signal, side), each either armed or waiting to re-arm."""

    def __init__(self) -> None:
        self._books: dict[tuple[Signal, int], _Book] = {}
        self._where: dict[tuple[str, int], tuple[Signal, BookEntry, bool | None]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def add(self, signal: Signal, entry: BookEntry, armed: bool | None) -> None:
        """Index an entry armed, disarmed, or pending (None: its first value decides)."""
        self.remove(entry.rule_id, entry.side)
        book = self._books.setdefault((signal, entry.side), _Book())
        if armed is None:
            book.pending[entry.rule_id] = entry
        elif armed:
            book.armed.add((entry.trigger, entry.rule_id))
        else:
            book.disarmed.add((entry.rearm, entry.rule_id))
        self._where[(entry.rule_id, entry.side)] = (signal, entry, armed)

    def bulk_add(self, items: list[tuple[Signal, BookEntry, bool | None]]) -> None:
        """Load many entries at once (a start-up): one sorted merge per book, not n inserts.
        Entries must not be in the index already."""
        grouped: dict[tuple[Signal, int], tuple[list[tuple[float, str]], list[tuple[float, str]]]]
        grouped = {}
        for signal, entry, armed in items:
            arm, dis = grouped.setdefault((signal, entry.side), ([], []))
            if armed is None:
                self._books.setdefault((signal, entry.side), _Book()).pending[entry.rule_id] = entry
            elif armed:
                arm.append((entry.trigger, entry.rule_id))
            else:
                dis.append((entry.rearm, entry.rule_id))
            self._where[(entry.rule_id, entry.side)] = (signal, entry, armed)
        for key, (arm, dis) in grouped.items():
            book = self._books.setdefault(key, _Book())
            book.armed.update(arm)
            book.disarmed.update(dis)

    def remove(self, rule_id: str, side: int) -> None:
        found = self._where.pop((rule_id, side), None)
        if found is None:
            return
        signal, entry, armed = found
        book = self._books[(signal, side)]
        if armed is None:
            book.pending.pop(rule_id, None)
        elif armed:
            book.armed.discard((entry.trigger, rule_id))
        else:
            book.disarmed.discard((entry.rearm, rule_id))

    def is_armed(self, rule_id: str, side: int) -> bool | None:
        """True/False; None when the side is unknown or pending (no value seen yet)."""
        found = self._where.get((rule_id, side))
        return None if found is None else found[2]

    def is_pending(self, rule_id: str, side: int) -> bool:
        found = self._where.get((rule_id, side))
        return found is not None and found[2] is None

    def initialize(self, signal: Signal, value: float) -> list[tuple[BookEntry, bool]]:
        """A signal's value is known: settle its pending entries (armed unless already
        past the trigger). Nothing fires. Returns each entry with its new state."""
        settled: list[tuple[BookEntry, bool]] = []
        for side in (1, -1):
            book = self._books.get((signal, side))
            if book is None or not book.pending:
                continue
            for entry in book.pending.values():
                past = value >= entry.trigger if side == 1 else value <= entry.trigger
                armed = not past
                if armed:
                    book.armed.add((entry.trigger, entry.rule_id))
                else:
                    book.disarmed.add((entry.rearm, entry.rule_id))
                self._where[(entry.rule_id, side)] = (signal, entry, armed)
                settled.append((entry, armed))
            book.pending.clear()
        return settled

    def signals(self) -> set[Signal]:
        return {signal for signal, _ in self._books}

    def cross(self, signal: Signal, value: float) -> tuple[list[BookEntry], list[BookEntry]]:
        """Apply a new value: return (entries that fired, entries that re-armed)."""
        fired: list[BookEntry] = []
        rearmed: list[BookEntry] = []
        for side in (1, -1):
            book = self._books.get((signal, side))
            if book is None:
                continue
            if side == 1:
                to_fire = list(book.armed.irange(maximum=(value, "\uffff")))
                to_rearm = list(book.disarmed.irange(minimum=(value, "")))
            else:
                to_fire = list(book.armed.irange(minimum=(value, "")))
                to_rearm = list(book.disarmed.irange(maximum=(value, "\uffff")))
            # Both ranges are read before either changes, so no entry fires and re-arms
            # on the same value.
            for key in to_fire:
                book.armed.remove(key)
                _, entry, _ = self._where[(key[1], side)]
                book.disarmed.add((entry.rearm, entry.rule_id))
                self._where[(entry.rule_id, side)] = (signal, entry, False)
                fired.append(entry)
            for key in to_rearm:
                _, entry, _ = self._where[(key[1], side)]
                book.disarmed.remove(key)
                book.armed.add((entry.trigger, entry.rule_id))
                self._where[(entry.rule_id, side)] = (signal, entry, True)
                rearmed.append(entry)
        return fired, rearmed


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
