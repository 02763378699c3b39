"""Rule ids interned as rows: the small integers the compact rule layout is indexed by.

A million rules cannot afford a Python string and a dict entry each just to be found by
id. The store issues ids as ``r<n>`` (bot.state.store.new_rule_id), so such an id is kept
as its number: a dense array maps n to its row (4 bytes an id) and a row back to n
(8 bytes). Any other id (tests, hand-made rules) goes to a plain dict. Rows of removed
rules are reused.
"""

from __future__ import annotations

from array import array

_ABSENT = 0  # dense[n] holds row + 1; 0 = no such id


def _number(rule_id: str) -> int:
    """n for a canonical ``r<n>`` id (no sign, no leading zero); -1 for any other id."""
    if rule_id[:1] == "r":
        digits = rule_id[1:]
        if digits.isdigit() and digits.isascii() and (digits[0] != "0" or len(digits) == 1):
            return int(digits)
    return -1


class RuleIds:
    """id <-> row, for every rule the engine holds."""

    def __init__(self) -> None:
        self._dense = array("i")  # n -> row + 1
        self._named: dict[str, int] = {}  # other ids -> row
        self._num = array("q")  # row -> n, or -1 when the id is in _named
        self._names: dict[int, str] = {}  # row -> id, for the ids in _named
        self._live = bytearray()  # row -> 1 while it holds a rule
        self._free: list[int] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        """Rows allocated (live or free): per-row columns are at least this long."""
        return len(self._num)

    def row(self, rule_id: str) -> int | None:
        n = _number(rule_id)
        if n >= 0 and n < len(self._dense):
            found = self._dense[n]
            return found - 1 if found != _ABSENT else None
        return self._named.get(rule_id)

    def add(self, rule_id: str) -> tuple[int, bool]:
        """The row of `rule_id`, allocating one if it is new: (row, new)."""
        found = self.row(rule_id)
        if found is not None:
            return found, False
        return self.add_new(rule_id), True

    def add_new(self, rule_id: str) -> int:
        """A row for an id known not to be held yet."""
        if self._free:
            row = self._free.pop()
        else:
            row = len(self._num)
            self._num.append(-1)
            self._live.append(0)
        n = _number(rule_id)
        # Dense only while it stays in proportion to the rules held: a stray huge number
        # must not allocate gigabytes.
        if 0 <= n < 4 * (self._count + 1) + (1 << 20):
            if n >= len(self._dense):
                grow = max(n + 1, 2 * len(self._dense)) - len(self._dense)
                self._dense.frombytes(bytes(4 * grow))
            self._dense[n] = row + 1
            self._num[row] = n
        else:
            self._named[rule_id] = row
            self._names[row] = rule_id
            self._num[row] = -1
        self._live[row] = 1
        self._count += 1
        return row

    def discard(self, rule_id: str) -> int | None:
        """Forget `rule_id`; its row (now free) or None."""
        row = self.row(rule_id)
        if row is None:
            return None
        n = self._num[row]
        if n >= 0:
            self._dense[n] = _ABSENT
        else:
            del self._named[rule_id]
            del self._names[row]
        self._num[row] = -1
        self._live[row] = 0
        self._free.append(row)
        self._count -= 1
        return row

    def id_of(self, row: int) -> str:
        n = self._num[row]
        return f"r{n}" if n >= 0 else self._names[row]

    def is_live(self, row: int) -> bool:
        return row < len(self._live) and self._live[row] == 1

    def rows(self) -> list[int]:
        """Every live row, in row order."""
        live = self._live
        return [row for row in range(len(live)) if live[row]]
