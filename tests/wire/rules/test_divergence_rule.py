"""The divergence rule kind: grammar, the engine's decoupling score on live quotes (fires
on the cross like every rule), the alert text, and /alert add against a real Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import REPO_ROOT, Settings
from bot.divergence.metrics import session_return_zscore
from bot.market.watchlist import Watchlist
from bot.models import DailyCloses, Direction, Family, Quote, Rule, RuleKind, Window
from bot.rules.crossing_alerts import build_alert
from bot.rules.engine import Engine
from bot.rules.grammar import RuleSpecError, parse_rule
from bot.wiring import build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.support.divergence_data import seed_closes

WATCHLIST = Watchlist.load(REPO_ROOT / "seeds" / "watchlist.toml")
SESSION = date(2026, 1, 16)
T0 = datetime(2026, 1, 16, 2, 0, tzinfo=UTC)


def test_grammar() -> None:
    spec = parse_rule(["divergence", "STAR50", "score", "up", "3"], WATCHLIST)
    assert (spec.kind, spec.instrument, spec.window, spec.direction, spec.threshold) == (
        RuleKind.DIVERGENCE,
        "STAR50",
        Window.MTD,
        Direction.UP,
        3.0,
    )
    spec = parse_rule(
        ["divergence", "kc50", "ytd", "score", "either", "2.5", "cooldown=1h"], WATCHLIST
    )
    assert (spec.window, spec.direction, spec.threshold, spec.cooldown_s) == (
        Window.YTD,
        Direction.EITHER,
        2.5,
        3600,
    )
    for bad, why in (
        ("divergence STAR50 up 3", "usage"),
        ("divergence STAR50 intraday score up 3", "window"),
        ("divergence STAR50 score up 0", "between 0 and 20"),
        ("divergence STAR50 score up 25", "between 0 and 20"),
        ("divergence XYZ score up 3", "unknown instrument"),
        ("divergence STAR50 score sideways 3", "direction"),
    ):
        with pytest.raises(RuleSpecError, match=why):
            parse_rule(bad.split(), WATCHLIST)


def star_history() -> DailyCloses:
    return DailyCloses.from_pairs([p for p in seed_closes("STAR50") if p[0] < SESSION])


def divergence_rule(threshold: float = 3.0) -> Rule:
    return Rule(
        "r1",
        "telegram:1",
        RuleKind.DIVERGENCE,
        "STAR50",
        threshold,
        Direction.UP,
        Window.MTD,
        cooldown_s=0,
        hysteresis=0.5,
    )


def tick(engine: Engine, price: float, minutes: int) -> list[tuple[str, float]]:
    at = T0 + timedelta(minutes=minutes)
    quote = Quote("STAR50", price, at, SESSION, "test", open=1500.0)
    return [(c.rule.id, c.value) for c in engine.on_quote(quote, at).crossings]


def score_at(closes: DailyCloses, price: float, pulse: float) -> float:
    base = closes.closes[closes.before(date(2026, 1, 1)) - 1]  # 31 Dec close
    z = session_return_zscore(closes, SESSION, "mtd", (price / base - 1) * 100)
    assert z is not None
    return z - pulse


def test_engine_fires_on_the_cross_of_the_score() -> None:
    closes = star_history()
    engine = Engine()
    engine.set_closes("STAR50", closes)
    engine.pulse = -0.6
    engine.add_rule(divergence_rule(3.0))
    # find prices just under and over a score of 3 (the score rises with the price)
    prices = [1300.0 + 5 * i for i in range(200)]
    scores = [score_at(closes, p, -0.6) for p in prices]
    over = next(i for i, s in enumerate(scores) if s >= 3.0)
    assert scores[over - 1] < 3.0
    assert tick(engine, prices[over - 1], 0) == []
    fired = tick(engine, prices[over], 1)
    assert fired == [("r1", pytest.approx(scores[over]))]
    assert tick(engine, prices[over + 5], 2) == []  # above the level: not a new cross
    back = next(i for i, s in enumerate(scores) if s <= 2.5)  # below the hysteresis band
    assert tick(engine, prices[back], 3) == []
    assert tick(engine, prices[over], 4) == [("r1", pytest.approx(scores[over]))]


def test_no_pulse_no_signal() -> None:
    engine = Engine()
    engine.set_closes("STAR50", star_history())
    engine.add_rule(divergence_rule(0.5))
    assert engine.pulse is None
    assert tick(engine, 5000.0, 0) == []  # would be a huge score, but no economy leg


def test_alert_text() -> None:
    engine = Engine()
    engine.set_closes("STAR50", star_history())
    engine.pulse = 0.0
    engine.add_rule(divergence_rule(1.0))
    found = engine.closes["STAR50"].last_before(date(2026, 1, 1))
    assert found is not None
    flat_mtd = found[1]  # the month's base: a zero return, a score far below 1
    engine.on_quote(Quote("STAR50", flat_mtd, T0, SESSION, "test"), T0)  # arms it
    at = T0 + timedelta(minutes=5)
    crossings = engine.on_quote(Quote("STAR50", 1600.0, at, SESSION, "test"), at).crossings
    alert = build_alert(crossings[0], WATCHLIST)
    assert alert.message.title.startswith("STAR 50 decoupling score +")
    assert alert.message.title.endswith(" mtd")
    assert "Rule r1: STAR 50 decoupling score mtd up 1" in alert.message.lines
    assert alert.family is Family.SPREADS


async def test_alert_add_divergence(redis_client: Redis, settings: Settings) -> None:
    core = await build_core(settings, redis_client, SimClock(T0))
    add = Command(
        "telegram",
        "telegram:-1001",
        "u1",
        "alert",
        tuple(["add", "divergence", "STAR50", "score", "up", "3"]),
        can_admin=True,
    )
    answer = await handle(core, add)
    assert answer.title == "Added rule r1: STAR 50 decoupling score mtd up 3"
    [rule] = await core.store.rules_of("telegram:-1001")
    assert rule.kind is RuleKind.DIVERGENCE
    listed = await handle(core, Command("telegram", "telegram:-1001", "u1", "alerts"))
    assert listed.lines == ["r1    STAR 50 decoupling score mtd up 3 · waiting for a first quote"]
