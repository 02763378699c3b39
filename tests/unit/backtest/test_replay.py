"""The backtest replay, hand-computed over a SYNTHETIC series (tests/support/backtest_data:
made-up closes on real Shanghai trading dates around National Day 2025), and its summaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from bot.backtest import stats
from bot.backtest.replay import Fire, replay
from bot.models import DailyCloses, Direction, Rule, RuleKind, Window
from tests.support.backtest_data import EXPECTED as HAND
from tests.support.backtest_data import FIRST, moves_series

CLOSE = time(7, 0, tzinfo=UTC)  # Shanghai's 15:00 close


def series() -> DailyCloses:
    return moves_series()


def rule(**kw: object) -> Rule:
    base: dict[str, object] = {
        "id": "r1",
        "owner": "telegram:1",
        "kind": RuleKind.MOVE,
        "instrument": "STAR50",
        "threshold": 2.0,
        "direction": Direction.UP,
        "window": Window.D1,
        "cooldown_s": 7 * 86400,
        "hysteresis": 1.0,
    }
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


def at(_: str, day: date) -> datetime:
    return datetime.combine(day, CLOSE)


# By hand, from the comments in tests/support/backtest_data.py.
EXPECTED = [Fire(day, value, 1, suppressed) for day, value, suppressed in HAND]


def test_hand_computed_fires_with_holidays_hysteresis_and_cooldown() -> None:
    assert replay(rule(), {"STAR50": series()}, FIRST, at) == EXPECTED


def test_a_rule_past_its_trigger_when_the_period_starts_waits_for_the_next_cross() -> None:
    # From 24 Sep the first value is +2.50%: past the trigger, so it only settles the rule;
    # 29 Sep is then the first fire, and no earlier one puts it inside the cooldown.
    fires = replay(rule(), {"STAR50": series()}, date(2025, 9, 24), at)
    assert fires == [
        Fire(date(2025, 9, 29), 3.0, 1, False),
        Fire(date(2025, 10, 9), 2.0, 1, False),
        Fire(date(2025, 10, 16), 2.0, 1, False),
    ]


def test_down_side_and_either() -> None:
    down = replay(rule(direction=Direction.DOWN, threshold=1.0), {"STAR50": series()}, FIRST, at)
    assert down == [Fire(date(2025, 9, 30), -1.0, -1, False)]
    either = replay(
        rule(direction=Direction.EITHER, threshold=1.0, hysteresis=0.5, cooldown_s=60),
        {"STAR50": series()},
        FIRST,
        at,
    )
    assert [(f.day, f.side) for f in either] == [
        (date(2025, 9, 24), 1),
        (date(2025, 9, 29), 1),
        (date(2025, 9, 30), -1),
        (date(2025, 10, 9), 1),
    ]  # 16 Oct: the up side needs +0.50 or below to re-arm; 15 Oct's +1.00 is not


def test_level_rule_on_closes() -> None:
    # SYNTHETIC closes around a level of 100, hysteresis 0.5 (re-arms at 99.50 or below)
    days = [date(2025, 9, d) for d in (22, 23, 24, 25, 26, 29)]
    closes = DailyCloses.from_pairs(
        list(zip(days, [100.0, 99.0, 101.0, 100.5, 99.4, 101.2], strict=True))
    )
    fires = replay(
        rule(kind=RuleKind.LEVEL, window=None, threshold=100.0, hysteresis=0.5),
        {"STAR50": closes},
        days[1],
        at,
    )
    assert fires == [
        Fire(days[2], 101.0, 1, False),
        Fire(days[5], 101.2, 1, True),  # re-armed on 26 Sep; 5 days later, inside 7d
    ]


def test_moves_after_and_their_summary() -> None:
    closes = series()
    fired = [f for f in EXPECTED if not f.suppressed]
    afters = stats.moves_after(fired, closes)
    c = dict(zip(closes.dates, closes.closes, strict=True))
    first = afters[0].moves
    assert first[1] == (c[date(2025, 9, 25)] / c[date(2025, 9, 24)] - 1) * 100
    # 5 sessions after 24 Sep: 25, 26, 29, 30 Sep and 9 Oct (the holiday is not counted)
    assert first[5] == (c[date(2025, 10, 9)] / c[date(2025, 9, 24)] - 1) * 100
    assert first[20] is None  # not that many sessions in the series yet
    one = stats.summarise(afters)[0]
    ones = sorted(a.moves[1] for a in afters if a.moves[1] is not None)
    assert one.count == 3
    assert one.median == ones[1]
    assert one.worst == ones[0]
    assert stats.summarise(afters)[2].median is None


def test_fires_per_year_keep_empty_years_and_skip_suppressed() -> None:
    assert stats.per_year(EXPECTED, 2024, 2025) == {2024: 0, 2025: 3}
