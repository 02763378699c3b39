"""The compact rule index (bot.rules.book) against a plain linear scan, with everything
that touches its layout interleaved: adds with and without a saved state, pending entries
settled by the first value, removals (whose rows are reused), values exactly at a
trigger, no hysteresis, and books large enough to be sorted (more than EXTRA_MAX rows)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.book import EXTRA_MAX, BookEntry, RuleBook, Signal, entries_for

SIGNALS = [Signal("move", "STAR50", "", "1d"), Signal("spread", "STAR50", "NDX", "mtd")]
TRIGGERS = [-3.0, -1.5, -0.5, 0.0, 0.5, 1.0, 2.0, 2.5, 4.0]  # values land on them exactly


class Linear:
    """Every entry visited on every value: the semantics, with nothing clever."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, int], tuple[Signal, float, float, str]] = {}

    def add(self, signal: Signal, entry: BookEntry, armed: bool | None) -> None:
        state = "pending" if armed is None else "armed" if armed else "disarmed"
        self.entries[(entry.rule_id, entry.side)] = (signal, entry.trigger, entry.hysteresis, state)

    def remove(self, rule_id: str) -> None:
        for side in (1, -1):
            self.entries.pop((rule_id, side), None)

    def value(self, signal: Signal, v: float) -> tuple[list[str], list[str], list[str]]:
        settled, fired, rearmed = [], [], []
        mine = {k: e for k, e in self.entries.items() if e[0] == signal}
        for (rid, side), (sig, trig, hyst, state) in mine.items():
            if state == "pending":
                past = v >= trig if side == 1 else v <= trig
                state = "disarmed" if past else "armed"
                self.entries[(rid, side)] = (sig, trig, hyst, state)
                settled.append(f"{rid}{side:+d}{state[0]}")
        for (rid, side), (sig, trig, hyst, _) in mine.items():
            state = self.entries[(rid, side)][3]
            if state == "armed" and (v >= trig if side == 1 else v <= trig):
                self.entries[(rid, side)] = (sig, trig, hyst, "disarmed")
                fired.append(f"{rid}{side:+d}")
            elif state == "disarmed" and (v <= trig - hyst if side == 1 else v >= trig + hyst):
                self.entries[(rid, side)] = (sig, trig, hyst, "armed")
                rearmed.append(f"{rid}{side:+d}")
        return sorted(settled), sorted(fired), sorted(rearmed)


def apply(book: RuleBook, signal: Signal, v: float) -> tuple[list[str], list[str], list[str]]:
    settled = [
        f"{e.rule_id}{e.side:+d}{'a' if armed else 'd'}" for e, armed in book.initialize(signal, v)
    ]
    fired, rearmed = book.cross(signal, v)
    return (
        sorted(settled),
        sorted(f"{e.rule_id}{e.side:+d}" for e in fired),
        sorted(f"{e.rule_id}{e.side:+d}" for e in rearmed),
    )


def check_states(book: RuleBook, model: Linear) -> None:
    assert len(book) == len(model.entries)
    for (rid, side), (_, _, _, state) in model.entries.items():
        assert book.is_pending(rid, side) == (state == "pending")
        expected = None if state == "pending" else state == "armed"
        assert book.is_armed(rid, side) is expected


threshold = st.one_of(st.sampled_from([abs(t) for t in TRIGGERS]), st.floats(0.1, 5))
value = st.one_of(st.sampled_from(TRIGGERS), st.floats(-6, 6, allow_nan=False))
add_op = st.tuples(
    st.just("add"),
    st.integers(0, 80),  # rule number: a repeated one replaces the rule
    st.sampled_from(SIGNALS),
    threshold,
    st.sampled_from(["up", "down", "either"]),
    st.sampled_from([0.0, 0.5, 1.0]) | st.floats(0, 3),
    st.sampled_from([None, True, False, "decided"]),  # decided: from the last value, as a load
)
ops = st.lists(
    st.one_of(
        add_op,
        st.tuples(st.just("remove"), st.integers(0, 80)),
        st.tuples(st.just("value"), st.sampled_from(SIGNALS), value),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(seed_rules=st.integers(0, 3 * EXTRA_MAX), steps=ops, seed=st.integers(0, 2**16))
def test_the_compact_index_matches_a_linear_scan_through_any_history(
    seed_rules: int, steps: list[tuple[object, ...]], seed: int
) -> None:
    rng = random.Random(seed)
    book, model = RuleBook(), Linear()
    # Enough rules first that the books get sorted, not only scanned.
    warm = [
        (
            "add",
            100 + i,
            rng.choice(SIGNALS),
            rng.choice([0.5, 1.0, 2.0, 2.5, rng.uniform(0.1, 5)]),
            rng.choice(["up", "down", "either"]),
            rng.choice([0.0, 0.5, rng.uniform(0, 3)]),
            rng.choice([None, True, False, "decided"]),
        )
        for i in range(seed_rules)
    ]
    last: dict[object, float] = {}  # each signal's last value
    for op in [*warm, *steps]:
        if op[0] == "add":
            _, n, signal, thr, direction, hyst, armed = op
            rid = f"r{n}"
            book.remove(rid, 1)
            book.remove(rid, -1)
            model.remove(rid)
            for entry in entries_for(rid, float(thr), str(direction), float(hyst), signed=True):  # type: ignore[arg-type]
                if armed == "decided" and signal in last:
                    # At the last value (a load), or at another (closes changed since).
                    v = last[signal] + (0.0 if n % 3 else 1.5)  # type: ignore[operator]
                    state = not (v >= entry.trigger if entry.side == 1 else v <= entry.trigger)
                    row, _ = book.ids.add(rid)
                    sid = book.sid(signal)  # type: ignore[arg-type]
                    book.add_row(sid, row, entry.side, entry.trigger, entry.hysteresis, state, v)
                    model.add(signal, entry, state)  # type: ignore[arg-type]
                else:
                    given_state = None if armed == "decided" else armed
                    book.add(signal, entry, given_state)  # type: ignore[arg-type]
                    model.add(signal, entry, given_state)  # type: ignore[arg-type]
            if n % 4 == 0:  # type: ignore[operator]
                book.sort_all()  # what the end of a start-up's load does
        elif op[0] == "remove":
            rid = f"r{op[1]}"
            book.remove(rid, 1)
            book.remove(rid, -1)
            book.ids.discard(rid)  # its row is free for the next rule
            model.remove(rid)
        else:
            _, signal, v = op
            last[signal] = float(v)  # type: ignore[arg-type]
            assert apply(book, signal, float(v)) == model.value(signal, float(v))  # type: ignore[arg-type]
            if seed % 2:
                book.sort_all()  # each signal's gap found again from its books' last values
        check_states(book, model)


def test_a_large_book_matches_a_linear_scan_on_a_random_walk() -> None:
    """Synthetic: 3,000 rules on one signal (books sorted, ranges searched), 400 values."""
    rng = random.Random(19)
    book, model = RuleBook(), Linear()
    signal = SIGNALS[0]
    for i in range(3000):
        direction = rng.choice(["up", "down", "either"])
        thr = round(rng.uniform(0.1, 6), 2)
        for entry in entries_for(f"r{i}", thr, direction, rng.choice([0.0, 0.25, 0.5]), True):
            book.add(signal, entry, None)
            model.add(signal, entry, None)
    v = 0.0
    for step in range(400):
        v = round(v + rng.gauss(0, 0.6), 2)
        if step % 50 == 49:  # a rule edited mid-stream goes unsorted, then sorted again
            for i in rng.sample(range(3000), 40):
                rid = f"r{i}"
                book.remove(rid, 1)
                book.remove(rid, -1)
                model.remove(rid)
                for entry in entries_for(rid, round(rng.uniform(0.1, 6), 2), "either", 0.5, True):
                    book.add(signal, entry, True)
                    model.add(signal, entry, True)
        assert apply(book, signal, v) == model.value(signal, v)
    check_states(book, model)


def test_a_signal_whose_one_book_sits_on_a_boundary_is_not_taken_for_quiet() -> None:
    """Found by bench/scale.py (1M rules): loaded at 0.0, `down 0.5` re-arms at exactly 0.0,
    so its book has no gap there; the signal must not take the up book's gap for its own,
    or the fall to -0.51 passes the down trigger unseen."""
    book = RuleBook()
    signal = SIGNALS[0]
    sid = book.sid(signal)
    for n, (direction, threshold) in enumerate([("down", 0.5), ("down", 1.44), ("up", 2.32)]):
        row, _ = book.ids.add(f"r{n}")
        for entry in entries_for(f"r{n}", threshold, direction, 0.5, signed=True):
            armed = not (entry.trigger <= 0.0 if entry.side == 1 else entry.trigger >= 0.0)
            book.add_row(sid, row, entry.side, entry.trigger, 0.5, armed, decided_at=0.0)
    book.sort_all()  # the end of a load
    fired = [apply(book, signal, v)[1] for v in (-0.05, -0.23, -0.27, -0.45, -0.51)]
    assert fired == [[], [], [], [], ["r0-1"]]
