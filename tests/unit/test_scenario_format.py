"""The scenario file format (bot.scenario): a bad file is one line naming the field, bar
ranges expand on the quarter hours, and the comparison names what is missing and what
was not expected. No replay here (tests/system/replay/test_scenarios.py runs them)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.scenario import Delivered, ScenarioError, compare, describe, load

CST = ZoneInfo("Asia/Shanghai")
HEAD = """
name = "t"
synthetic = true
from = 2026-01-20
to = 2026-01-20
data = "own"
"""
SERIES = """
[[series]]
instrument = "STAR50"
daily = "2026-01-19 1000"
bars = "2026-01-20T09:30..10:15 1010  # four bars"
"""


def write(tmp_path: Path, tables: str, top: str = "expect = []\n") -> Path:
    path = tmp_path / "s.toml"
    path.write_text(HEAD + top + SERIES + tables, encoding="utf-8")
    return path


def test_bar_ranges_expand_every_15_minutes_in_the_scenarios_zone(tmp_path: Path) -> None:
    scenario = load(write(tmp_path, ""))
    times = [at for at, _ in scenario.bars["STAR50"]]
    assert times == [datetime(2026, 1, 20, 9, m, tzinfo=CST) for m in (30, 45)] + [
        datetime(2026, 1, 20, 10, m, tzinfo=CST) for m in (0, 15)
    ]
    assert scenario.chats == ["console:desk"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ('[[chat]]\nkey = "telegram:1"\n', "chat.0.key"),
        ('[[step]]\nat = 2026-01-20T10:00:00\ncommand = "x"\nchat = "console:zz"\n',
         "console:zz"),
        ('[[fault]]\nfrom = 2026-01-20T10:00:00\nto = 2026-01-20T09:00:00\n'
         'kind = "down"\n', "ends after it starts"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_the_field(tmp_path: Path, extra: str, needle: str) -> None:
    with pytest.raises(ScenarioError) as err:
        load(write(tmp_path, extra))
    assert needle in str(err.value)
    assert str(err.value).startswith("s.toml: ")
    assert "\n" not in str(err.value)


def test_a_scenario_must_say_what_it_expects(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="expect: Field required"):
        load(write(tmp_path, "", top=""))
    with pytest.raises(ScenarioError, match="needs a title or figures"):
        load(write(tmp_path, "[[expect]]\nat = 2026-01-20T10:00:00\n", top=""))


def test_a_bad_bar_line_names_the_series(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    path.write_text(path.read_text().replace("1010  # four bars", "ten"))
    with pytest.raises(ScenarioError, match=r"series\.0"):
        load(path)


def test_compare_names_what_is_missing_and_what_was_not_expected(tmp_path: Path) -> None:
    text = (
        '[[expect]]\nat = 2026-01-20T10:00:00\ntitle = "STAR 50 +1.0% on the day"\n'
        '[[expect]]\nat = 2026-01-20T10:15:00\ncontains = ["+2.0%"]\n'
    )
    scenario = load(write(tmp_path, text, top=""))
    got = [
        Delivered(datetime(2026, 1, 20, 10, 0, 40, tzinfo=CST), "console:desk",
                  "STAR 50 +1.0% on the day", "… +1.0% …"),
        Delivered(datetime(2026, 1, 20, 10, 30, tzinfo=CST), "console:desk",
                  "STAR 50 +2.0% on the day", "… +2.0% …"),
    ]  # fmt: skip
    diff = compare(scenario, got)
    assert [e.at.minute for e in diff.missing] == [15]  # the right figure, the wrong minute
    assert [g.title for g in diff.unexpected] == ["STAR 50 +2.0% on the day"]
    lines = describe(diff, "Asia/Shanghai")
    assert lines[0].startswith("missing:    Tue 20 Jan 10:15")
    assert lines[1].startswith("unexpected: Tue 20 Jan 10:30 console:desk")
    assert compare(
        scenario,
        got[:1]
        + [
            got[1].__class__(
                datetime(2026, 1, 20, 10, 15, tzinfo=CST), "console:desk", "x", "+2.0%"
            )
        ],
    ).empty
