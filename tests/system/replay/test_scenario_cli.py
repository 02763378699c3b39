"""`divbot replay --scenario FILE`: 0 when the replay delivers what the file expects, 1
with the differences named when it does not, 2 for a file that does not validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import REPO_ROOT

MORNING = REPO_ROOT / "tests" / "scenarios" / "morning_close_bar.toml"


@pytest.mark.slow
def test_a_matching_scenario_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--scenario", str(MORNING)]) == 0
    assert "morning_close_bar.toml: ok (1 expected alert, all delivered)" in capsys.readouterr().out


@pytest.mark.slow
def test_a_wrong_expectation_exits_1_naming_the_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "wrong.toml"
    # the same day, expecting the alert a quarter of an hour late
    wrong.write_text(
        MORNING.read_text().replace("at = 2026-01-21T11:30:00", "at = 2026-01-21T11:45:00")
    )
    assert main(["replay", "--scenario", str(wrong)]) == 1
    out = capsys.readouterr().out
    assert "wrong.toml: DIFFERS from its expectations" in out
    assert "missing:    Wed 21 Jan 11:45  'STAR 50 +2.0% on the day'" in out
    assert "unexpected: Wed 21 Jan 11:30 console:desk 'STAR 50 +2.0% on the day'" in out


def test_a_bad_scenario_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nsynthetic = true\nfrom = 2026-01-21\nto = 2026-01-20\nexpect = []\n'
    )
    assert main(["replay", "--scenario", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("scenario error: bad.toml: ")
    assert "\n" not in err
