"""The alert buttons' one codec (handlers.buttons): what each action means as /alert
arguments, the same on Telegram (callback_data) and Slack (the button's value), with one
cap on mutes, and the actions the alert builders put on buttons decode to what they say."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.config import REPO_ROOT
from bot.market.watchlist import Watchlist
from bot.models import Direction, Quote, Rule, RuleKind
from bot.rules.crossing_alerts import build_alert
from bot.rules.engine import Crossing, Leg
from bot.transports.slack import button_command
from bot.transports.telegram import button_args
from handlers import buttons

GOOD = {
    "mute:r12:3600": ("mute", "r12", "1h"),
    "mute:r12:90": ("mute", "r12", "90s"),
    "mute:r1:1": ("mute", "r1", "1s"),
    "mute:r1:604800": ("mute", "r1", "7d"),  # the cap itself
    "mute:r999999999999:86400": ("mute", "r999999999999", "1d"),
    "rm:r3": ("rm", "r3"),
    "resume:r7": ("resume", "r7"),
}
BAD = [
    None,
    "",
    "rm:x",
    "mute:r1",
    "mute:r1:1h",
    "drop:r1",
    "rm:r1:extra",
    "rm:r1;x",
    "nuke:r1",
    "mute:abc:3600",
    "mute:r1:0",  # Telegram used to pass these on as /alert mute r1 0d …
    "mute:r1:604801",  # … and 604801s, a second over the week /alert mute allows
    "mute:r1:9999999",
    "mute:r1:99999999",  # Slack already refused these
    "mute:r1:³600",  # a digit to str.isdigit(), not to int()
    "rm:r1\n",  # `$` would have matched before the newline
    "rm:r1234567890123",  # rule ids have at most 12 digits
    "RM:r1",
]


@pytest.mark.parametrize(("action", "args"), GOOD.items())
def test_both_platforms_decode_an_action_alike(action: str, args: tuple[str, ...]) -> None:
    assert buttons.decode(action) == args
    assert button_args(action) == args  # Telegram's callback_data
    assert button_command(action) == args  # Slack's button value


@pytest.mark.parametrize("action", BAD)
def test_both_platforms_refuse_the_same_things(action: str | None) -> None:
    assert buttons.decode(action) is None
    assert button_args(action) is None
    assert button_command(action or "") is None


def test_encoders_round_trip_and_refuse_what_would_not_decode() -> None:
    assert buttons.mute("r12", 3600) == "mute:r12:3600"
    assert buttons.remove("r12") == "rm:r12"
    assert buttons.resume("r12") == "resume:r12"
    for action in (buttons.mute("r5", 600), buttons.remove("r5"), buttons.resume("r5")):
        assert buttons.decode(action) is not None
    with pytest.raises(ValueError, match="1s to 7d"):
        buttons.mute("r1", buttons.MAX_MUTE_S + 1)
    with pytest.raises(ValueError, match="1s to 7d"):
        buttons.mute("r1", 0)
    with pytest.raises(ValueError, match="not a button action"):
        buttons.remove("rule-1")


def test_a_crossing_alerts_buttons_decode_to_mute_an_hour_and_remove() -> None:
    watchlist = Watchlist.load(REPO_ROOT / "seeds" / "watchlist.toml")
    at = datetime(2026, 1, 13, 2, 45, tzinfo=UTC)
    rule = Rule("r12", "telegram:42", RuleKind.LEVEL, "NDX", 21000.0, Direction.UP)
    quote = Quote("NDX", 21010.0, at, date(2026, 1, 12), "test")
    crossing = Crossing(rule, 1, 21010.0, (Leg("NDX", 21010.0, None, None),), quote, False)
    alert = build_alert(crossing, watchlist)
    decoded = [buttons.decode(b.action) for b in alert.message.buttons]
    assert decoded == [("mute", "r12", "1h"), ("rm", "r12")]
