"""Alerts true to the number and to the minute (issue 16): exact touches fire, a tick
stamped inside the midday break is no trade, a spread rule is never silently a move rule,
and a rule created before any quote fires only on a real cross."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import REPO_ROOT, Settings
from bot.market.sessions import market
from bot.market.validate import BadQuote, QuoteValidator
from bot.market.watchlist import Watchlist
from bot.models import DailyCloses, Direction, Quote, Rule, RuleKind, Window
from bot.rules.engine import Engine
from bot.rules.grammar import RuleSpecError, parse_rule
from bot.sources.base import RawQuote

WATCHLIST = Watchlist.load(REPO_ROOT / "seeds" / "watchlist.toml")
SESSION = date(2026, 1, 14)
T0 = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def move_rule(threshold: float, direction: Direction) -> Rule:
    return Rule(
        "r1",
        "telegram:1",
        RuleKind.MOVE,
        "STAR50",
        threshold,
        direction,
        Window.D1,
        cooldown_s=0,
        hysteresis=0.5,
    )


def _engine(rule: Rule, closes: dict[str, float], first: dict[str, float]) -> Engine:
    engine = Engine()
    for key, close in closes.items():
        engine.set_closes(key, DailyCloses.from_pairs([(date(2026, 1, 13), close)]))
    for key, price in first.items():  # a first look at the market: the rule arms on it
        at = T0 - timedelta(minutes=5)
        engine.on_quote(Quote(key, price, at, SESSION, "test"), at)
    engine.add_rule(rule)
    return engine


def _fires(engine: Engine, key: str, price: float) -> bool:
    return bool(engine.on_quote(Quote(key, price, T0, SESSION, "test"), T0).crossings)


# (previous close, price that is exactly the threshold away, threshold, direction)
MOVE_TOUCHES = [
    (4022.00, 4102.44, 2.0, Direction.UP),  # 1.9999999999999796 in binary
    (1002.50, 982.45, 2.0, Direction.DOWN),  # -1.9999999999999... in binary
    (1000.00, 1020.00, 2.0, Direction.UP),
    (25000.00, 25750.00, 3.0, Direction.UP),
    (1480.00, 1435.60, 3.0, Direction.DOWN),
    (3.30, 3.40, 3.03, Direction.UP),  # +3.0303…% shows as +3.03%
]


@pytest.mark.parametrize(("prev", "touch", "threshold", "direction"), MOVE_TOUCHES)
def test_an_exact_touch_of_a_move_threshold_fires(
    prev: float, touch: float, threshold: float, direction: Direction
) -> None:
    rule = move_rule(threshold, direction)
    engine = _engine(rule, {"STAR50": prev}, {"STAR50": prev})
    assert _fires(engine, "STAR50", touch)


@pytest.mark.parametrize(("prev", "touch", "threshold", "direction"), MOVE_TOUCHES)
def test_a_cent_short_of_the_touch_does_not_fire(
    prev: float, touch: float, threshold: float, direction: Direction
) -> None:
    short = touch - 0.01 * prev / 100 * (1 if direction is Direction.UP else -1) * 5
    rule = move_rule(threshold, direction)
    engine = _engine(rule, {"STAR50": prev}, {"STAR50": prev})
    assert not _fires(engine, "STAR50", short)


def test_an_exact_touch_of_a_spread_fires() -> None:
    # STAR 50 +12.00% (1,000 -> 1,120) vs NDX +2.00% (4,022 -> 4,102.44): exactly 10pp
    rule = Rule(
        "r1",
        "telegram:1",
        RuleKind.SPREAD,
        "STAR50",
        10.0,
        Direction.UP,
        Window.D1,
        other="NDX",
        cooldown_s=0,
        hysteresis=0.5,
    )
    engine = _engine(rule, {"STAR50": 1000.0, "NDX": 4022.0}, {"STAR50": 1000.0, "NDX": 4102.44})
    assert _fires(engine, "STAR50", 1120.0)


@pytest.mark.parametrize(
    ("level", "price", "direction"),
    [(26000.0, 26000.0, Direction.UP), (4500.1, 4500.1, Direction.UP), (0.3, 0.3, Direction.DOWN)],
)
def test_an_exact_touch_of_a_level_fires(level: float, price: float, direction: Direction) -> None:
    rule = Rule(
        "r1", "telegram:1", RuleKind.LEVEL, "NDX", level, direction, cooldown_s=0, hysteresis=0.001
    )
    start = level * (0.9 if direction is Direction.UP else 1.1)
    engine = _engine(rule, {"NDX": start}, {"NDX": start})
    assert _fires(engine, "NDX", price)


def test_a_rule_created_before_any_quote_fires_only_on_a_real_cross() -> None:
    engine = Engine()
    engine.set_closes("CSI300", DailyCloses.from_pairs([(date(2026, 1, 13), 4600.0)]))
    engine.add_rule(
        Rule(
            "r1",
            "house",
            RuleKind.LEVEL,
            "CSI300",
            4500.0,
            Direction.UP,
            cooldown_s=0,
            hysteresis=10.0,
        )
    )
    assert not _fires(engine, "CSI300", 4600.0)  # created past its trigger: no alert
    assert not _fires(engine, "CSI300", 4550.0)  # still above
    assert not _fires(engine, "CSI300", 4480.0)  # back below the band: re-armed
    assert _fires(engine, "CSI300", 4501.0)  # a real cross


def _raw(at: datetime, price: float = 1500.0) -> RawQuote:
    return RawQuote("STAR50", price, at, "test", open=1490.0, prev_close=1495.0)


@pytest.mark.parametrize(
    ("hh", "mm", "accepted"),
    [(11, 29, True), (11, 30, True), (11, 31, False), (12, 50, False), (13, 0, True)],
)
def test_a_tick_stamped_inside_the_midday_break_is_refused(
    hh: int, mm: int, accepted: bool
) -> None:
    validator = QuoteValidator(
        {"XSHG": market("XSHG")}.__getitem__,
        Settings(_env_file=None),  # type: ignore[call-arg]
    )
    at = datetime(2026, 1, 14, hh - 8, mm, tzinfo=UTC)
    now = at + timedelta(seconds=30)  # polled half a minute after the print
    if accepted:
        assert validator.check(_raw(at), WATCHLIST["STAR50"], now, None, None)
    else:
        with pytest.raises(BadQuote, match="midday break"):
            validator.check(_raw(at), WATCHLIST["STAR50"], now, None, None)


def test_a_spread_rule_missing_its_benchmark_is_refused_not_made_a_move() -> None:
    with pytest.raises(RuleSpecError, match="a spread needs two instruments"):
        parse_rule(["spread", "NDX", "mtd", "up", "12"], WATCHLIST)
    spec = parse_rule(["spread", "STAR50", "NDX", "mtd", "up", "10"], WATCHLIST)
    assert (spec.kind, spec.instrument, spec.other) == (RuleKind.SPREAD, "STAR50", "NDX")


def test_the_first_day_of_a_month_does_not_mix_months_in_a_spread() -> None:
    """2 Feb 09:30: STAR 50's February (+0.2%) against the Nasdaq-100's February (no
    session yet: 0%), not its January (-4%). SYNTHETIC prices."""
    engine = Engine()
    star = [(date(2025, 12, 31), 1000.0), (date(2026, 1, 30), 1200.0)]
    ndx = [(date(2025, 12, 31), 25000.0), (date(2026, 1, 30), 24000.0)]  # January: -4%
    engine.set_closes("STAR50", DailyCloses.from_pairs(star))
    engine.set_closes("NDX", DailyCloses.from_pairs(ndx))
    ndx_close = datetime(2026, 1, 30, 21, tzinfo=UTC)
    engine.on_quote(Quote("NDX", 24000.0, ndx_close, date(2026, 1, 30), "test"), ndx_close)
    rule = Rule(
        "r1",
        "house",
        RuleKind.SPREAD,
        "STAR50",
        4.0,
        Direction.UP,
        Window.MTD,
        other="NDX",
        cooldown_s=0,
        hysteresis=0.5,
    )
    engine.add_rule(rule)
    at = datetime(2026, 2, 2, 1, 30, tzinfo=UTC)
    result = engine.on_quote(Quote("STAR50", 1202.4, at, date(2026, 2, 2), "test"), at)
    assert result.crossings == []  # +0.2pp, not +4.2pp
    legs = engine.legs(engine._signal(rule))
    assert legs is not None
    assert [round(leg.change_pct or 0.0, 2) for leg in legs] == [0.2, 0.0]
