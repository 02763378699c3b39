"""A restart's rule load, page by page (Store.rule_batches): the same engine as loading
every rule at once, armed states included, and a rule the scan repeats indexed once."""

from __future__ import annotations

import random

from redis.asyncio import Redis

from bot.models import Direction, Rule, RuleKind, Window
from bot.rules.book import Signal
from bot.rules.engine import Engine
from bot.state.store import Store

N = 700  # more than Redis keeps as a listpack, so HSCAN really pages


def rules() -> list[Rule]:
    rng = random.Random(5)
    out = []
    for i in range(1, N + 1):
        kind = (RuleKind.MOVE, RuleKind.SPREAD, RuleKind.LEVEL)[i % 3]
        out.append(
            Rule(
                f"r{i}",
                f"telegram:{i % 40}",
                kind,
                rng.choice(["STAR50", "HSTECH", "CSI300"]),
                round(rng.uniform(1.0, 9.0), 2) * (100 if kind is RuleKind.LEVEL else 1),
                rng.choice(list(Direction)),
                None if kind is RuleKind.LEVEL else Window.D1,
                other="NDX" if kind is RuleKind.SPREAD else None,
                paused=i % 17 == 0,
            )
        )
    return out


async def test_paged_load_matches_loading_everything_at_once(redis_client: Redis) -> None:
    store = Store(redis_client)
    saved = rules()
    for rule in saved:
        await store.save_rule(rule)
    # Saved states for some sides (what fired before the restart), none for the others.
    changes = [(r.id, side, i % 3 == 0) for i, r in enumerate(saved) for side in (1, -1)]
    await store.save_states(changes[::5])

    pages = [page async for page in store.rule_batches(batch=50)]
    assert len(pages) > 1
    seen = [r for page, _ in pages for r in page]
    assert {r.id for r in seen} == {r.id for r in saved}
    assert {r.id: r for r in seen} == {r.id: r for r in saved}  # same fields, every rule
    paged_states: dict[str, dict[int, bool]] = {}
    for _, states in pages:
        paged_states.update(states)
    assert paged_states == await store.load_states()

    paged = Engine()
    for page, states in pages:
        paged.load_rules(page, states)
    at_once = Engine()
    at_once.load_rules(await store.all_rules(), await store.load_states())
    assert paged.rules == at_once.rules
    assert len(paged.index) == len(at_once.index) > 0
    for rule in saved:
        for side in (1, -1):
            assert paged.index.is_armed(rule.id, side) == at_once.index.is_armed(rule.id, side)
    # Owners and instruments read back are shared strings, not one copy per rule.
    owners = {id(r.owner) for r in paged.rules.values()}
    assert len(owners) == len({r.owner for r in saved})


def test_a_repeated_rule_is_indexed_once() -> None:
    rule = Rule("r1", "telegram:1", RuleKind.MOVE, "STAR50", 2.0, Direction.UP, Window.D1)
    engine = Engine()
    engine.load_rules([rule], {})
    engine.load_rules([rule], {})  # the scan returned it again
    assert len(engine.index) == 1
    signal = Signal("move", "STAR50", "", "1d")
    engine.index.initialize(signal, 0.5)  # the first value arms it
    fired, _ = engine.index.cross(signal, 2.5)
    assert [e.rule_id for e in fired] == ["r1"]
