"""Which sessions pair in a spread (issue 16.6): an Asian session pairs with the US
session that closed before it, and a leg with no new session since the previous pairing
contributes 0%, in /divergence (bot.divergence.metrics) and in the live engine alike.

The case of the issue: Martin Luther King Day, Mon 19 Jan 2026, the Nasdaq-100 shut.
Its Fri 16 Jan move pairs with STAR 50's Mon 19 Jan; on Tue 20 Jan NDX has no new
session, so its leg is 0% (the old code used the 16 Jan move a second time).
Figures are synthetic, round numbers worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.divergence import metrics as dv
from bot.models import DailyCloses, Direction, Quote, Rule, RuleKind, Window
from bot.rules.engine import Engine

D = date
# NDX: 15 Jan 25,000; 16 Jan 24,200 (-3.2%); 19 Jan shut; 20 Jan 23,716 (-2.0% on 16 Jan)
NDX = [(D(2026, 1, 14), 24900.0), (D(2026, 1, 15), 25000.0), (D(2026, 1, 16), 24200.0)]
# STAR 50: 16 Jan 1,400; 19 Jan 1,372 (-2.0%); 20 Jan 1,378.86 (+0.5%)
STAR = [(D(2026, 1, 15), 1390.0), (D(2026, 1, 16), 1400.0), (D(2026, 1, 19), 1372.0)]


def test_divergence_1d_after_a_us_holiday_counts_the_us_move_once() -> None:
    ndx = DailyCloses.from_pairs(NDX)
    # Digest of Mon 19 Jan: STAR's 19 Jan (-2.0%) against NDX's 16 Jan (-3.2%): +1.2pp
    monday = dv.market_leg(DailyCloses.from_pairs(STAR), ndx, "1d", lag=1)
    assert monday.b.change_pct == pytest.approx(-3.2)
    assert monday.spread_pp == pytest.approx(1.2)
    # Digest of Tue 20 Jan: STAR +0.5%; NDX has had no session since 16 Jan: 0%, +0.5pp
    tuesday = dv.market_leg(
        DailyCloses.from_pairs([*STAR, (D(2026, 1, 20), 1378.86)]), ndx, "1d", lag=1
    )
    assert tuesday.b.change_pct == 0.0
    assert tuesday.b.end_date == D(2026, 1, 16)
    assert tuesday.spread_pp == pytest.approx(0.5)
    # Wed 21 Jan: STAR +1.0% against NDX's 20 Jan session, -2.0% from its 16 Jan close
    wednesday = dv.market_leg(
        DailyCloses.from_pairs([*STAR, (D(2026, 1, 20), 1378.86), (D(2026, 1, 21), 1392.6486)]),
        DailyCloses.from_pairs([*NDX, (D(2026, 1, 20), 23716.0)]),
        "1d",
        lag=1,
    )
    assert wednesday.b.change_pct == pytest.approx(-2.0)
    assert wednesday.b.base_date == D(2026, 1, 16)
    assert wednesday.spread_pp == pytest.approx(3.0)


def test_5d_pairs_the_us_sessions_of_the_asian_window() -> None:
    # STAR's 5d to 20 Jan runs from 13 Jan's close; NDX's from its close paired with
    # 13 Jan (12 Jan) to the one paired with 20 Jan (16 Jan).
    star = DailyCloses.from_pairs(
        [(D(2026, 1, d), 100.0 + d) for d in (12, 13, 14, 15, 16, 19, 20)]
    )
    ndx = DailyCloses.from_pairs([(D(2026, 1, d), 200.0 + d) for d in (9, 12, 13, 14, 15, 16)])
    leg = dv.market_leg(star, ndx, "5d", lag=1)
    assert (leg.x.base_date, leg.b.base_date, leg.b.end_date) == (
        D(2026, 1, 13),
        D(2026, 1, 12),
        D(2026, 1, 16),
    )
    assert leg.b.change_pct == pytest.approx((216.0 / 212.0 - 1) * 100)


# -- the live engine ---------------------------------------------------------------------


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def _engine() -> Engine:
    engine = Engine(lag=lambda x, b: 1 if (x, b) == ("STAR50", "NDX") else 0)
    engine.set_closes("STAR50", DailyCloses.from_pairs(STAR[:2]))
    engine.set_closes("NDX", DailyCloses.from_pairs(NDX))
    engine.add_rule(
        Rule(
            "s1",
            "telegram:1",
            RuleKind.SPREAD,
            "STAR50",
            3.0,
            Direction.UP,
            Window.D1,
            other="NDX",
            cooldown_s=0,
            hysteresis=0.5,
        )
    )
    return engine


def _quote(engine: Engine, inst: str, price: float, day: int, hour: int) -> list[float]:
    session = D(2026, 1, day)
    result = engine.on_quote(Quote(inst, price, _at(day, hour), session, "test"), _at(day, hour))
    return [c.value for c in result.crossings]


def test_engine_1d_spread_after_mlk_day_does_not_reuse_the_16_jan_move() -> None:
    engine = _engine()
    assert _quote(engine, "NDX", 24200.0, 16, 21) == []  # NDX's 16 Jan close
    # Mon 19 Jan, 10:00 Shanghai: STAR 50 -2.0% against NDX's 16 Jan -3.2%: +1.2pp, armed
    assert _quote(engine, "STAR50", 1372.0, 19, 2) == []
    assert engine.value(engine._signal(engine.rules["s1"])) == 1.2
    engine.put_close("STAR50", D(2026, 1, 19), 1372.0)
    # Tue 20 Jan: STAR 50 +0.5%; NDX has no new session: +0.5pp, nothing fires
    # (the old engine said +3.7pp and fired)
    assert _quote(engine, "STAR50", 1378.86, 20, 2) == []
    assert engine.value(engine._signal(engine.rules["s1"])) == 0.5
    engine.put_close("STAR50", D(2026, 1, 20), 1378.86)
    # Tue 20 Jan, New York: NDX -2.0% from 16 Jan. That session pairs with STAR's 21 Jan,
    # not begun: STAR adds nothing, the spread is +2.0pp
    assert _quote(engine, "NDX", 23716.0, 20, 21) == []
    assert engine.value(engine._signal(engine.rules["s1"])) == 2.0
    engine.put_close("NDX", D(2026, 1, 20), 23716.0)
    # Wed 21 Jan: STAR 50 +1.0% -> +3.0pp: an exact touch of `up 3`, fires once
    assert _quote(engine, "STAR50", 1392.6486, 21, 2) == [3.0]
