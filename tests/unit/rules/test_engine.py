"""The engine: fire on the cross, re-arm after hysteresis, cooldown, index == linear scan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.market.windows import pct_change
from bot.models import DailyCloses, Direction, Quote, Rule, RuleKind, Window
from bot.rules.book import RuleBook, Signal, entries_for
from bot.rules.engine import Engine

T0 = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
SESSION = date(2026, 1, 12)


def move_rule(
    rule_id: str,
    threshold: float,
    direction: Direction = Direction.UP,
    cooldown_s: int = 0,
    hysteresis: float = 0.5,
) -> Rule:
    return Rule(
        rule_id,
        "telegram:1",
        RuleKind.MOVE,
        "STAR50",
        threshold,
        direction,
        Window.D1,
        cooldown_s=cooldown_s,
        hysteresis=hysteresis,
    )


def engine_with(*rules: Rule, prev_close: float = 100.0) -> Engine:
    """An engine that has seen STAR 50 flat on the day, so its rules start armed (a rule
    with no value yet is pending: its first value decides, and fires nothing)."""
    engine = Engine()
    engine.set_closes("STAR50", DailyCloses.from_pairs([(date(2026, 1, 9), prev_close)]))
    flat = T0 - timedelta(minutes=1)
    engine.on_quote(Quote("STAR50", prev_close, flat, SESSION, "test", open=100.0), flat)
    for rule in rules:
        engine.add_rule(rule)
    return engine


def tick(engine: Engine, price: float, minutes: int = 0) -> list[str]:
    at = T0 + timedelta(minutes=minutes)
    quote = Quote("STAR50", price, at, SESSION, "test", open=100.0)
    return [
        f"{c.rule.id}{'+' if c.side == 1 else '-'}{'s' if c.suppressed else ''}"
        for c in engine.on_quote(quote, at).crossings
    ]


def test_fires_once_on_the_cross_and_not_while_above() -> None:
    engine = engine_with(move_rule("r1", 3.0))
    assert tick(engine, 102.0, 0) == []
    assert tick(engine, 103.1, 1) == ["r1+"]
    assert tick(engine, 104.0, 2) == []  # still above: a level is not a cross
    assert tick(engine, 103.5, 3) == []


def test_rearms_only_after_falling_back_past_the_hysteresis_band() -> None:
    engine = engine_with(move_rule("r1", 3.0, hysteresis=0.5))
    assert tick(engine, 103.0, 0) == ["r1+"]
    assert tick(engine, 102.6, 1) == []  # inside the band: still disarmed
    assert tick(engine, 103.2, 2) == []
    assert tick(engine, 102.5, 3) == []  # exactly t - h re-arms
    assert tick(engine, 103.0, 4) == ["r1+"]


def test_cooldown_suppresses_a_second_cross() -> None:
    engine = engine_with(move_rule("r1", 3.0, cooldown_s=3600))
    assert tick(engine, 103.0, 0) == ["r1+"]
    assert tick(engine, 101.0, 10) == []
    assert tick(engine, 103.5, 20) == ["r1+s"]  # crossed, but inside the cooldown
    assert tick(engine, 101.0, 61) == []
    assert tick(engine, 103.5, 70) == ["r1+"]


def test_down_and_either_directions() -> None:
    engine = engine_with(move_rule("d", 2.0, Direction.DOWN), move_rule("e", 2.0, Direction.EITHER))
    assert sorted(tick(engine, 97.9, 0)) == ["d-", "e-"]
    assert tick(engine, 101.0, 1) == []
    assert tick(engine, 102.0, 2) == ["e+"]


def test_a_rule_created_past_its_trigger_waits_for_the_next_cross() -> None:
    engine = engine_with()
    tick(engine, 105.0)
    states = engine.add_rule(move_rule("r1", 3.0))
    assert states == {1: False}
    assert tick(engine, 106.0, 1) == []
    assert tick(engine, 102.0, 2) == []  # re-armed
    assert tick(engine, 103.0, 3) == ["r1+"]


def test_paused_and_removed_rules_never_fire() -> None:
    paused = Rule(
        "r2", "telegram:1", RuleKind.MOVE, "STAR50", 1.0, Direction.UP, Window.D1, paused=True
    )
    engine = engine_with(move_rule("r1", 1.0), paused)
    engine.remove_rule("r1")
    assert tick(engine, 110.0) == []
    assert len(engine.index) == 0


def test_spread_uses_each_legs_own_window_base() -> None:
    engine = Engine()
    engine.set_closes("STAR50", DailyCloses.from_pairs([(date(2025, 12, 31), 100.0)]))
    engine.set_closes("NDX", DailyCloses.from_pairs([(date(2025, 12, 31), 200.0)]))
    rule = Rule(
        "r1", "telegram:1", RuleKind.SPREAD, "STAR50", 10.0, Direction.UP, Window.MTD, other="NDX"
    )
    engine.add_rule(rule)
    ndx = Quote("NDX", 202.0, T0 - timedelta(hours=10), date(2026, 1, 9), "test")
    assert engine.on_quote(ndx, T0).crossings == []  # STAR50 leg unknown yet
    first = Quote("STAR50", 105.0, T0 - timedelta(minutes=5), SESSION, "test")
    assert engine.on_quote(first, T0).crossings == []  # +4pp: the first value arms it
    star = Quote("STAR50", 111.5, T0, SESSION, "test")
    crossings = engine.on_quote(star, T0).crossings
    assert [c.rule.id for c in crossings] == ["r1"]
    assert abs(crossings[0].value - 10.5) < 1e-9  # +11.5% vs +1.0%


def test_level_rule_crosses_price() -> None:
    engine = engine_with(
        Rule(
            "r1",
            "telegram:1",
            RuleKind.LEVEL,
            "STAR50",
            105.0,
            Direction.UP,
            hysteresis=1.0,
            cooldown_s=0,
        )
    )
    assert tick(engine, 104.0) == []
    assert tick(engine, 105.5, 1) == ["r1+"]
    assert tick(engine, 104.5, 2) == []
    assert tick(engine, 103.9, 3) == []
    assert tick(engine, 105.0, 4) == ["r1+"]


# -- the index against a plain linear scan ------------------------------------


def linear(entries: list[tuple[str, int, float, float]], values: list[float]) -> list[list[str]]:
    armed = {(rid, side): True for rid, side, _, _ in entries}
    out = []
    for v in values:
        fired = []
        for rid, side, trig, hyst in entries:
            if armed[(rid, side)]:
                if (side == 1 and v >= trig) or (side == -1 and v <= trig):
                    armed[(rid, side)] = False
                    fired.append(f"{rid}{side}")
            elif (side == 1 and v <= trig - hyst) or (side == -1 and v >= trig + hyst):
                armed[(rid, side)] = True
        out.append(sorted(fired))
    return out


@settings(max_examples=150, deadline=None)
@given(
    rules=st.lists(
        st.tuples(
            st.floats(0.1, 15, allow_nan=False),
            st.sampled_from(["up", "down", "either"]),
            st.floats(0, 3, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    ),
    values=st.lists(st.floats(-20, 20, allow_nan=False), min_size=1, max_size=60),
)
def test_index_matches_a_linear_scan(
    rules: list[tuple[float, str, float]], values: list[float]
) -> None:
    index = RuleBook()
    signal = Signal("move", "STAR50", "", "1d")
    flat = []
    for i, (threshold, direction, hyst) in enumerate(rules):
        for entry in entries_for(f"r{i}", threshold, direction, hyst, signed=True):
            index.add(signal, entry, armed=True)
            flat.append((entry.rule_id, entry.side, entry.trigger, hyst))
    got = []
    for v in values:
        fired, _ = index.cross(signal, v)
        got.append(sorted(f"{e.rule_id}{e.side}" for e in fired))
    assert got == linear(flat, values)


def test_bulk_load_matches_one_by_one() -> None:
    rules = [
        move_rule(f"r{i}", 1.0 + i * 0.5, d)
        for i, d in enumerate([Direction.UP, Direction.DOWN, Direction.EITHER] * 3)
    ]
    one, bulk = engine_with(*rules), engine_with()
    tick(one, 102.2)
    tick(bulk, 102.2)
    bulk.load_rules(rules, {"r0": {1: False}})
    one.add_rule(rules[0], {1: False})
    for step, price in enumerate([103.0, 97.0, 101.0, 105.5, 99.0, 96.0]):
        assert sorted(tick(one, price, step + 1)) == sorted(tick(bulk, price, step + 1))


@settings(max_examples=150, deadline=None)
@given(
    rules=st.lists(
        st.tuples(
            st.floats(0.1, 6, allow_nan=False),
            st.sampled_from(["up", "down", "either"]),
            st.sampled_from([0.0, 0.5, 1.0]),
            st.sampled_from([None, True, False]),  # saved state of its sides (None: none)
        ),
        min_size=1,
        max_size=30,
    ),
    prices=st.lists(st.floats(90, 110, allow_nan=False), min_size=1, max_size=30),
)
def test_a_restart_with_any_saved_states_fires_as_a_linear_scan(
    rules: list[tuple[float, str, float, bool | None]], prices: list[float]
) -> None:
    """A restart loads saved states that may disagree with the last stored quote (a crash
    between the two writes): the index must still check each of those on the next value,
    while one that agrees is only looked at when a value crosses it."""
    loaded = [
        move_rule(f"r{i}", threshold, Direction(direction), hysteresis=hyst)
        for i, (threshold, direction, hyst, _) in enumerate(rules)
    ]
    saved = {
        f"r{i}": {1: state, -1: state}
        for i, (_, _, _, state) in enumerate(rules)
        if state is not None
    }
    engine = engine_with()
    tick(engine, 101.3)  # the last quote before the restart: STAR 50 +1.3% on the day
    engine.load_rules(loaded, saved)
    engine.index.sort_all()
    # The reference: every side checked on every value, from the state it was loaded in.
    entries, armed = [], {}
    for rule in loaded:
        for entry in entries_for(rule.id, rule.threshold, rule.direction.value, 0, signed=True):
            key = (rule.id, entry.side)
            state = saved.get(rule.id, {}).get(entry.side)
            armed[key] = (
                state
                if state is not None
                else not (entry.trigger <= 1.3 if entry.side == 1 else entry.trigger >= 1.3)
            )
            entries.append((rule.id, entry.side, entry.trigger, rule.hysteresis))
    for step, price in enumerate(prices):
        value = round(pct_change(round(price, 2), 100.0), 2)  # the move, as the engine rounds it
        expected = []
        for rid, side, trig, hyst in entries:
            if armed[(rid, side)]:
                if (side == 1 and value >= trig) or (side == -1 and value <= trig):
                    armed[(rid, side)] = False
                    expected.append(f"{rid}{'+' if side == 1 else '-'}")
            elif (side == 1 and value <= trig - hyst) or (side == -1 and value >= trig + hyst):
                armed[(rid, side)] = True
        assert sorted(tick(engine, round(price, 2), step + 1)) == sorted(expected), value
