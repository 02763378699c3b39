"""The engine's rule table (bot.rules.table) and row ids (bot.rules.ids): every field of a
rule reads back as stored, whatever its id, and a removed rule's row serves the next."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Direction, Rule, RuleKind, Window
from bot.rules.ids import RuleIds
from bot.rules.table import RuleTable

ids = st.one_of(
    st.integers(0, 10**12).map(lambda n: f"r{n}"),
    st.sampled_from(["s1", "r007", "r", "rx", "r-1", "house1"]),
)
rules = st.builds(
    Rule,
    id=ids,
    owner=st.sampled_from(["telegram:1", "slack:C1", "house", "webhook:desk"]),
    kind=st.sampled_from(list(RuleKind)),
    instrument=st.sampled_from(["STAR50", "HSTECH", "NDX", "688256"]),
    threshold=st.floats(-1e6, 1e6, allow_nan=False),
    direction=st.sampled_from(list(Direction)),
    window=st.sampled_from([None, *Window]),
    other=st.sampled_from([None, "NDX", "CSI300"]),
    cooldown_s=st.integers(0, 10**9),
    hysteresis=st.floats(0, 100, allow_nan=False),
    paused=st.booleans(),
    created_at=st.floats(0, 2e9, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(rules, max_size=30), st.data())
def test_rules_read_back_as_stored_through_removals(batch: list[Rule], data: st.DataObject) -> None:
    table = RuleTable(RuleIds())
    expected: dict[str, Rule] = {}
    for rule in batch:
        table.put(rule)
        expected[rule.id] = rule
        if expected and data.draw(st.booleans()):
            gone = data.draw(st.sampled_from(sorted(expected)))
            found = table.pop_row(gone)
            assert found is not None
            assert found[1] == expected.pop(gone)
    assert dict(table.items()) == expected
    assert len(table) == len(expected)
    for rule_id, rule in expected.items():
        assert rule_id in table
        assert table[rule_id] == rule
    assert "r999999999999999" not in table


def test_a_freed_row_is_reused_and_owners_are_one_string() -> None:
    table = RuleTable(RuleIds())
    a = Rule("r1", "telegram:" + "1", RuleKind.MOVE, "STAR50", 2.0, Direction.UP, Window.D1)
    b = Rule("r2", "telegram:" + str(1), RuleKind.MOVE, "STAR50", 3.0, Direction.UP, Window.D1)
    row_a, row_b = table.put(a), table.put(b)
    assert table["r1"].owner is table["r2"].owner
    table.pop_row("r1")
    assert "r1" not in table
    assert table.put(Rule("s9", "telegram:2", RuleKind.LEVEL, "NDX", 1.0, Direction.DOWN)) == row_a
    assert table["r2"] == b
    assert table.ids.row("r2") == row_b
