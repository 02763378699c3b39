"""The rule grammar: good specs parse, bad ones get one readable line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import REPO_ROOT
from bot.market.watchlist import Watchlist
from bot.models import Direction, RuleKind, Window
from bot.rules.grammar import RuleSpecError, parse_duration, parse_rule

WATCHLIST = Watchlist.load(REPO_ROOT / "seeds" / "watchlist.toml")


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_rule(text.split(), WATCHLIST)


def test_move_spread_and_level() -> None:
    move = parse("star50 1d up 3%")
    assert (move.kind, move.instrument, move.window, move.direction, move.threshold) == (
        RuleKind.MOVE,
        "STAR50",
        Window.D1,
        Direction.UP,
        3.0,
    )
    spread = parse("KC50 vs NDX mtd up 10pp")
    assert (spread.kind, spread.instrument, spread.other, spread.threshold) == (
        RuleKind.SPREAD,
        "STAR50",
        "NDX",
        10.0,
    )
    assert parse("spread STAR50 NDX mtd either 5").other == "NDX"
    level = parse("NDX above 26,000")
    assert (level.kind, level.direction, level.threshold) == (RuleKind.LEVEL, Direction.UP, 26000)
    opts = parse("HSTECH ytd down 5 cooldown=30m hyst=1")
    assert (opts.cooldown_s, opts.hysteresis) == (1800, 1.0)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "usage"),
        ("FOO 1d up 3", "unknown instrument 'FOO'"),
        ("STAR50 2w up 3", "unknown window '2w'"),
        ("STAR50 1d sideways 3", "direction must be up, down or either"),
        ("STAR50 1d up abc", "threshold must be a number"),
        ("STAR50 1d up nan", "finite"),
        ("STAR50 1d up 0", "between 0 and 100%"),
        ("STAR50 1d up 500", "between 0 and 100%"),
        ("STAR50 vs STAR50 mtd up 10", "two different instruments"),
        ("STAR50 vs NDX mtd up 900", "between 0 and 200pp"),
        ("NDX above -5", "above zero"),
        ("STAR50 1d up 3 cooldown=forever", "bad duration"),
        ("STAR50 1d up 3 color=red", "unknown option 'color'"),
    ],
)
def test_bad_specs_say_what_was_wrong(text: str, fragment: str) -> None:
    with pytest.raises(RuleSpecError) as err:
        parse(text)
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message


@given(st.lists(st.text(max_size=12), max_size=8))
def test_random_words_parse_or_raise_one_line(words: list[str]) -> None:
    message = None
    try:
        parse_rule(words, WATCHLIST)
    except RuleSpecError as exc:
        message = str(exc)
    if message is not None:
        assert message
        assert "\n" not in message


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("2h") == 7200
    with pytest.raises(RuleSpecError):
        parse_duration("0m")
    with pytest.raises(RuleSpecError):
        parse_duration("99d")
