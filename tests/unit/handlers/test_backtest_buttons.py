"""The *Backtest* button's action: `bt:<rule>` names /backtest; /alert's actions keep
their meaning; anything else is not ours."""

from __future__ import annotations

import pytest

from handlers import buttons


def test_backtest_action_round_trip() -> None:
    assert buttons.backtest("r12") == "bt:r12"
    assert buttons.command("bt:r12") == ("backtest", ("r12",))
    assert buttons.decode("bt:r12") is None  # not an /alert action


def test_alert_actions_still_name_alert() -> None:
    assert buttons.command("mute:r3:3600") == ("alert", ("mute", "r3", "1h"))
    assert buttons.command("rm:r3") == ("alert", ("rm", "r3"))


@pytest.mark.parametrize("action", ["bt:", "bt:12", "bt:r1:3y", "bt:r1\n", "bt:r١", None, ""])
def test_other_actions_are_not_ours(action: str | None) -> None:
    assert buttons.command(action) is None


def test_a_bad_rule_id_is_refused() -> None:
    with pytest.raises(ValueError, match="not a rule id"):
        buttons.backtest("12; drop")
