"""MARGIN's levels in the rule grammar: T and B (trillion, billion yuan) on a balance kept
in billions; other instruments' levels stay plain numbers."""

from __future__ import annotations

import pytest

from bot.config import REPO_ROOT
from bot.market.watchlist import Watchlist
from bot.models import Direction, RuleKind, Window
from bot.rules.grammar import RuleSpecError, parse_rule

WATCHLIST = Watchlist.load(REPO_ROOT / "seeds" / "watchlist.toml")


@pytest.mark.parametrize(
    ("text", "level", "direction"),
    [
        ("MARGIN above 2.7T", 2700.0, Direction.UP),
        ("margin below 2.65t", 2650.0, Direction.DOWN),
        ("MARGIN above 2650B", 2650.0, Direction.UP),
        ("MARGIN above 2,700", 2700.0, Direction.UP),  # plain: billions already
    ],
)
def test_margin_levels(text: str, level: float, direction: Direction) -> None:
    spec = parse_rule(text.split(), WATCHLIST)
    assert (spec.kind, spec.instrument, spec.threshold, spec.direction) == (
        RuleKind.LEVEL,
        "MARGIN",
        level,
        direction,
    )


def test_margin_moves_are_ordinary_moves() -> None:
    spec = parse_rule(["MARGIN", "5d", "up", "3"], WATCHLIST)
    assert (spec.kind, spec.window, spec.threshold) == (RuleKind.MOVE, Window.D5, 3.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NDX above 2.7T", r"T and B \(trillion, billion yuan\) are for MARGIN"),
        ("MARGIN above 2.7X", "level must be a number"),
        ("MARGIN above T", "level must be a number"),
        ("MARGIN above -1T", "level must be above zero"),
    ],
)
def test_bad_levels_are_one_line(text: str, message: str) -> None:
    with pytest.raises(RuleSpecError, match=message):
        parse_rule(text.split(), WATCHLIST)
