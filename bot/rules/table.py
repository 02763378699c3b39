"""The engine's rules, stored by column: a million rules in tens of megabytes, not gigabytes.

A `Rule` object is ~200 bytes plus its strings; a million of them, with the dicts that
find them, took most of the 829 MB issue 19 measured. Here each field is one typed
array (floats in ``array('d')``, small enums in a ``bytearray``, owners and instruments
as indices into a table of distinct strings), a row per rule, found by id through
bot.rules.ids. A `Rule` is built only when something asks for one (a rule that fired,
a /alerts listing): the table reads like a ``dict[str, Rule]``.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Mapping

from bot.models import Direction, Rule, RuleKind, Window
from bot.rules.ids import RuleIds

KINDS = tuple(RuleKind)
DIRECTIONS = tuple(Direction)
WINDOWS: tuple[Window | None, ...] = (None, *Window)
_KIND = {k: i for i, k in enumerate(KINDS)}
_DIRECTION = {d: i for i, d in enumerate(DIRECTIONS)}
_WINDOW = {w: i for i, w in enumerate(WINDOWS)}


class Strings:
    """Distinct strings (owners, instruments), each stored once and named by an index."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._index: dict[str, int] = {}

    def code(self, text: str) -> int:
        found = self._index.get(text)
        if found is None:
            found = len(self._items)
            self._items.append(sys.intern(text))
            self._index[self._items[found]] = found
        return found

    def __getitem__(self, code: int) -> str:
        return self._items[code]


class RuleTable(Mapping[str, Rule]):
    """Every rule the engine holds, a row each (rows shared with the rule index)."""

    def __init__(self, ids: RuleIds) -> None:
        self.ids = ids
        self.strings = Strings()
        self._owner = array("i")
        self._instrument = array("i")
        self._other = array("i")  # -1: none
        self._kind = bytearray()
        self._direction = bytearray()
        self._window = bytearray()
        self._paused = bytearray()
        self._threshold = array("d")
        self._hysteresis = array("d")
        self._cooldown = array("q")
        self._created = array("d")

    # -- Mapping ---------------------------------------------------------------------
    def __getitem__(self, rule_id: str) -> Rule:
        row = self.ids.row(rule_id)
        if row is None:
            raise KeyError(rule_id)
        return self.at(row)

    def __contains__(self, rule_id: object) -> bool:
        return isinstance(rule_id, str) and self.ids.row(rule_id) is not None

    def __iter__(self) -> Iterator[str]:
        return (self.ids.id_of(row) for row in self.ids.rows())

    def __len__(self) -> int:
        return len(self.ids)

    # -- rows ------------------------------------------------------------------------
    def at(self, row: int) -> Rule:
        """The rule in `row`, built now (nothing keeps it)."""
        other = self._other[row]
        return Rule(
            id=self.ids.id_of(row),
            owner=self.strings[self._owner[row]],
            kind=KINDS[self._kind[row]],
            instrument=self.strings[self._instrument[row]],
            threshold=self._threshold[row],
            direction=DIRECTIONS[self._direction[row]],
            window=WINDOWS[self._window[row]],
            other=self.strings[other] if other >= 0 else None,
            cooldown_s=self._cooldown[row],
            hysteresis=self._hysteresis[row],
            paused=bool(self._paused[row]),
            created_at=self._created[row],
        )

    def put(self, rule: Rule) -> int:
        """Store `rule` (a new row, or over the row of the same id); its row."""
        row, _ = self.ids.add(rule.id)
        self._grow(row + 1)
        code = self.strings.code
        self._owner[row] = code(rule.owner)
        self._instrument[row] = code(rule.instrument)
        self._other[row] = code(rule.other) if rule.other else -1
        self._kind[row] = _KIND[rule.kind]
        self._direction[row] = _DIRECTION[rule.direction]
        self._window[row] = _WINDOW[rule.window]
        self._paused[row] = rule.paused
        self._threshold[row] = rule.threshold
        self._hysteresis[row] = rule.hysteresis
        self._cooldown[row] = rule.cooldown_s
        self._created[row] = rule.created_at
        return row

    def put_new(self, rules: list[Rule]) -> list[int]:
        """Store many rules not held yet, ids distinct (a start-up's page): their rows.
        Column by column when their rows are fresh ones at the end, as at start-up."""
        add = self.ids.add_new
        rows = [add(rule.id) for rule in rules]
        start = rows[0] if rows else 0
        if rows != list(range(start, start + len(rows))) or start != len(self._kind):
            for rule in rules:
                self.put(rule)
            return rows
        code = self.strings.code
        self._owner.extend([code(r.owner) for r in rules])
        self._instrument.extend([code(r.instrument) for r in rules])
        self._other.extend([code(r.other) if r.other else -1 for r in rules])
        self._kind.extend([_KIND[r.kind] for r in rules])
        self._direction.extend([_DIRECTION[r.direction] for r in rules])
        self._window.extend([_WINDOW[r.window] for r in rules])
        self._paused.extend([r.paused for r in rules])
        self._threshold.extend([r.threshold for r in rules])
        self._hysteresis.extend([r.hysteresis for r in rules])
        self._cooldown.extend([r.cooldown_s for r in rules])
        self._created.extend([r.created_at for r in rules])
        return rows

    def __setitem__(self, rule_id: str, rule: Rule) -> None:
        if rule.id != rule_id:
            raise ValueError(f"rule {rule.id} stored as {rule_id}")
        self.put(rule)

    def pop_row(self, rule_id: str) -> tuple[int, Rule] | None:
        """Remove a rule: its (now free) row and what it was, or None."""
        row = self.ids.row(rule_id)
        if row is None:
            return None
        rule = self.at(row)
        self.ids.discard(rule_id)
        return row, rule

    def _grow(self, size: int) -> None:
        missing = size - len(self._kind)
        if missing <= 0:
            return
        for ints in (self._owner, self._instrument, self._other):
            ints.frombytes(bytes(4 * missing))
        for flags in (self._kind, self._direction, self._window, self._paused):
            flags.extend(bytes(missing))
        for floats in (self._threshold, self._hysteresis, self._created):
            floats.frombytes(bytes(8 * missing))
        self._cooldown.frombytes(bytes(8 * missing))
