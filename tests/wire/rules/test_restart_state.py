"""A restart keeps every rule's state: an engine rebuilt from Redis (rules page by page,
saved armed states, cooldown clocks, closes in pipelined chunks) fires exactly what the
engine that ran before it would have fired, though its rows are in another order."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from redis.asyncio import Redis

from bot.models import DailyCloses, Direction, Quote, Rule, RuleKind, Window
from bot.rules.engine import Engine
from bot.state.store import Store

SESSION = date(2026, 1, 14)
T0 = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)
INSTRUMENTS = ["STAR50", "HSTECH", "NDX"]
CLOSES = [(SESSION - timedelta(days=d), 100.0 + d / 10) for d in range(20, 0, -1)]


def synthetic_rules(rng: random.Random, n: int) -> list[Rule]:
    """SYNTHETIC rules of every kind, some paused, some with a cooldown."""
    out = []
    for i in range(1, n + 1):
        kind = (RuleKind.MOVE, RuleKind.SPREAD, RuleKind.LEVEL)[i % 3]
        level = kind is RuleKind.LEVEL
        out.append(
            Rule(
                f"r{i}",
                f"telegram:{i % 7}",
                kind,
                rng.choice(INSTRUMENTS[:2]),
                round(rng.uniform(95, 105) if level else rng.uniform(0.2, 3.0), 2),
                rng.choice(list(Direction)),
                None if level else rng.choice([Window.D1, Window.INTRADAY, Window.MTD]),
                other="NDX" if kind is RuleKind.SPREAD else None,
                cooldown_s=rng.choice([0, 3600]),
                hysteresis=rng.choice([0.0, 0.2, 0.5]),
                paused=i % 13 == 0,
            )
        )
    return out


def walk(rng: random.Random, steps: int, start: int) -> list[Quote]:
    prices = dict.fromkeys(INSTRUMENTS, 100.0)
    quotes = []
    for step in range(steps):
        inst = rng.choice(INSTRUMENTS)
        prices[inst] = round(prices[inst] * (1 + rng.gauss(0, 0.01)), 2)
        at = T0 + timedelta(minutes=start + step)
        quotes.append(Quote(inst, prices[inst], at, SESSION, "test", open=100.0))
    return quotes


def fired(engine: Engine, quote: Quote) -> list[str]:
    return [
        f"{c.rule.id}{c.side:+d}{'s' if c.suppressed else ''}"
        for c in engine.on_quote(quote, quote.at).crossings
    ]


async def restarted(store: Store) -> Engine:
    """What bot.rules.live does at start-up."""
    engine = Engine()
    for inst, closes in (await store.load_closes_of(INSTRUMENTS, chunk=2)).items():
        engine.set_closes(inst, closes)
    engine.latest.update(await store.load_quotes(INSTRUMENTS))
    engine.last_fired.update(await store.load_fired())
    async for rules, states in store.rule_batches(batch=100):
        engine.load_rules(rules, states)
    engine.index.sort_all()
    return engine


async def test_an_engine_rebuilt_from_redis_fires_as_the_one_before_it(redis_client: Redis) -> None:
    rng = random.Random(41)
    store = Store(redis_client)
    rules = synthetic_rules(rng, 900)
    for inst in INSTRUMENTS:
        await store.put_closes(inst, CLOSES)
    running = Engine()
    for inst in INSTRUMENTS:
        running.set_closes(inst, DailyCloses.from_pairs(CLOSES))
    for rule in reversed(rules):  # rows in another order than the reload's
        await store.save_rule(rule)
        running.add_rule(rule)
    fired_before = 0
    for quote in walk(rng, 150, 0):  # what the service persists after each quote
        result = running.on_quote(quote, quote.at)
        fired_before += len(result.crossings)
        await store.save_states(result.state)
        await store.save_quote(quote)
        for crossing in result.crossings:
            if not crossing.suppressed:
                await store.set_fired(crossing.rule.id, quote.at.timestamp())
    assert fired_before > 20  # the state being carried over is not trivial

    after = await restarted(store)
    assert dict(after.rules.items()) == dict(running.rules.items())
    for rule in rules:
        for side in (1, -1):
            assert after.index.is_armed(rule.id, side) == running.index.is_armed(rule.id, side)
    later = walk(rng, 150, 150)
    # The same crossings on each quote (their order across signals follows load order).
    got = [sorted(fired(after, q)) for q in later]
    assert got == [sorted(fired(running, q)) for q in later]
    assert any(c.endswith("s") for quote in got for c in quote)  # cooldowns carried over
