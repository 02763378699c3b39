"""The core, wired: store, outbox, engine service, watchlist, markets and health.

Built the same way by the live app, by `divbot replay` and by the tests, so all three run
the same code; only the clock, the Redis client and the sources differ.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis

from bot.chat.gate import Gate
from bot.clock import Clock
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.divergence.snapshot import DivergenceCache
from bot.market.days import MarketDays
from bot.market.sessions import Market, market
from bot.market.watchlist import Watchlist
from bot.models import HOUSE
from bot.ops.health import HealthBoard
from bot.ops.metrics import Metrics
from bot.ops.operators import Operators
from bot.rules.grammar import parse_rule
from bot.rules.service import AlertService
from bot.state.store import Store

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: Settings
    clock: Clock
    redis: Redis
    store: Store
    outbox: Outbox
    service: AlertService
    watchlist: Watchlist
    markets: dict[str, Market]
    health: HealthBoard
    metrics: Metrics
    days: MarketDays  # days declared open/closed against the calendar (operators, provider)
    operators: Operators
    divergence: DivergenceCache = field(default_factory=DivergenceCache)  # /divergence
    noise: Gate | None = None  # quiet hours, levels, grouping, topics, flaps, history


async def build_core(
    settings: Settings, redis: Redis, clock: Clock, consumer: str = "main"
) -> Core:
    watchlist = Watchlist.load(settings.seeds_dir / "watchlist.toml")
    markets = {code: market(code, settings.seeds_dir) for code in {i.calendar for i in watchlist}}
    days = MarketDays(redis, markets)
    await days.load()
    store = Store(redis)
    metrics = Metrics()
    outbox = Outbox(redis, clock, consumer=consumer, metrics=metrics)
    await outbox.ensure_group()
    service = AlertService(store, outbox, watchlist, settings, clock)
    outbox.on_moved = service.move_chat
    gate = Gate(redis, outbox, clock, settings)
    service.gate = gate
    gate.pause_rule = service.pause_by_id
    outbox.prepare, outbox.on_finished = gate.prepare, gate.settled
    await service.load()
    return Core(
        settings,
        clock,
        redis,
        store,
        outbox,
        service,
        watchlist,
        markets,
        HealthBoard(),
        metrics,
        days,
        Operators(settings, redis, clock, service.admit),
        noise=gate,
    )


async def seed_house_rules(core: Core, now: datetime) -> int:
    """Install seeds/default_rules.toml as house rules, once (an empty house only)."""
    if await core.store.rules_of(HOUSE):
        return 0
    with (core.settings.seeds_dir / "default_rules.toml").open("rb") as fh:
        specs = tomllib.load(fh).get("rule", [])
    for item in specs:
        spec = parse_rule(item["spec"].split(), core.watchlist)
        await core.service.add_rule(HOUSE, spec, now)
    log.info("installed %d house rules", len(specs))
    return len(specs)
