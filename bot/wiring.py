"""The core, wired: store, outbox, engine service, watchlist, markets and health.

Built the same way by the live app, by `divbot replay` and by the tests, so all three run
the same code; only the clock, the Redis client and the sources differ.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis

from bot.chat.alert_history import AlertHistory
from bot.chat.gate import Gate
from bot.chat.prefs import Prefs, ZoneCache
from bot.chat.routing import SendRouting
from bot.clock import Clock
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.divergence.snapshot import DivergenceCache
from bot.headlines.store import HeadlineStore
from bot.macro.calendar import ReleaseCalendar, seed_calendar
from bot.market.days import MarketDays
from bot.market.sessions import Market, market
from bot.market.watchlist import Watchlist
from bot.models import HOUSE
from bot.ops.health import HealthBoard
from bot.ops.metrics import Metrics
from bot.ops.operators import Operators
from bot.rules.grammar import parse_rule
from bot.rules.live import LiveRules
from bot.rules.service import AlertService
from bot.state.rule_changes import RuleChanges
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
    rules: LiveRules  # the engine and the rule book, kept in step
    watchlist: Watchlist
    markets: dict[str, Market]
    health: HealthBoard
    metrics: Metrics
    days: MarketDays  # days declared open/closed against the calendar (operators, provider)
    operators: Operators
    noise: Gate  # quiet hours, levels, grouping, topics, flaps, history
    headlines: HeadlineStore  # stories seen, latest matches, feed validators, chat filters
    releases: ReleaseCalendar  # the macro release calendar (seed + /calendar add)
    divergence: DivergenceCache = field(default_factory=DivergenceCache)  # /divergence


async def build_core(
    settings: Settings,
    redis: Redis,
    clock: Clock,
    consumer: str = "main",
    fence: Callable[[], str | None] = lambda: None,
    leading: Callable[[], bool] = lambda: False,
) -> Core:
    """Build every component, each handed what it uses. The one way an alert travels:
    quotes -> AlertService (engine) -> Gate (noise) -> Outbox (Redis stream) -> delivery
    loop -> SendRouting (zone, topic, reply; history) -> transport. `fence` and `leading`
    come from leader election (bot.state.leader) in the live app; replay and tests lead
    alone."""
    watchlist = Watchlist.load(settings.seeds_dir / "watchlist.toml")
    markets = {code: market(code, settings.seeds_dir) for code in {i.calendar for i in watchlist}}
    days = MarketDays(redis, markets)
    await days.load()
    store = Store(redis)
    metrics = Metrics()
    rules = LiveRules(store, RuleChanges(redis, consumer), watchlist, settings, leading)
    prefs = Prefs(redis, settings.noise_group_window_s)
    history = AlertHistory(redis, settings.history_cap)
    zones = ZoneCache(redis, clock)
    routing = SendRouting(redis, prefs, history, zones, on_moved=rules.move_chat)
    outbox = Outbox(redis, clock, consumer=consumer, metrics=metrics, routing=routing)
    await outbox.ensure_group()
    gate = Gate(redis, outbox, clock, settings, prefs, history, zones, rules.pause_by_id)
    service = AlertService(store, outbox, gate, rules, watchlist, settings, clock, fence)
    await rules.load()
    return Core(
        settings,
        clock,
        redis,
        store,
        outbox,
        service,
        rules,
        watchlist,
        markets,
        HealthBoard(),
        metrics,
        days,
        Operators(settings, redis, clock, service.admit),
        gate,
        HeadlineStore(redis, settings.headline_seen_ttl_s),
        ReleaseCalendar(redis, seed_calendar(settings.seeds_dir)),
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
