"""The core, wired: store, outbox, engine service, watchlist, markets and health.

Built the same way by the live app, by `divbot replay` and by the tests, so all three run
the same code; only the clock, the Redis client and the sources differ.

Also owns seeds/default_rules.toml (the house rules, `HouseRulesFile`) and `check_seeds`,
which validates every seed file before start-up so a bad one stops the bot in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from redis.asyncio import Redis

from bot.backtest.history import DeepHistory
from bot.backtest.margin_history import MarginDeepSource, MarginPages
from bot.chat.alert_history import AlertHistory
from bot.chat.gate import Gate
from bot.chat.prefs import Prefs, ZoneCache
from bot.chat.routing import SendRouting
from bot.clock import Clock
from bot.config import Settings
from bot.delivery.fanout import FanOut
from bot.delivery.outbox import Outbox
from bot.divergence.snapshot import DivergenceCache, session_lag
from bot.headlines.classifier import load_rules
from bot.headlines.store import HeadlineStore
from bot.macro.calendar import ReleaseCalendar, seed_calendar
from bot.market import margin
from bot.market.baskets import ILLUSTRATION, Basket, establish
from bot.market.catalogue import CALENDARS as CATALOGUE_CALENDARS
from bot.market.catalogue import Catalogue
from bot.market.closures import seed_tables
from bot.market.daily_fetch import DailySource
from bot.market.days import MarketDays
from bot.market.finder import Finder
from bot.market.sessions import Market, market
from bot.market.watchlist import Watchlist
from bot.models import HOUSE
from bot.ops.health import HealthBoard
from bot.ops.metrics import Metrics
from bot.ops.operators import Operators
from bot.rules.engine import Lag
from bot.rules.grammar import RuleSpec, RuleSpecError, parse_rule
from bot.rules.live import LiveRules
from bot.rules.service import AlertService
from bot.seedfiles import load_seed_file
from bot.sources.base import QuoteSource
from bot.sources.headline_feeds import load_feeds
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
    catalogue: Catalogue  # instruments chats added (/watch), loaded into `watchlist`
    backtest: DeepHistory  # /backtest's closes: ten years, fetched once (bot.backtest.history)
    divergence: DivergenceCache = field(default_factory=DivergenceCache)  # /divergence
    # /watch's search and first quote (set by the live app, which owns the HTTP session)
    finder: Finder | None = None


async def seed_basket(core: Core) -> None:
    """The seed basket (bot.market.baskets.ILLUSTRATION), once: an illustration."""
    key, members = ILLUSTRATION
    if key in core.watchlist or not all(m in core.watchlist for m in members):
        return
    calendar = core.watchlist[members[0]].calendar
    made = Basket(
        key,
        members,
        tuple(1 / len(members) for _ in members),
        "equal",
        "",
        calendar,
        illustration=True,
    )
    last = core.markets[calendar].last_session_before(core.clock.now())
    if last is not None and await core.catalogue.add_basket(made):
        core.service.set_closes(key, await establish(made, core.store, last.day))
    await core.catalogue.sync(core.watchlist)


def spread_lag(watchlist: Watchlist, markets: dict[str, Market], clock: Clock) -> Lag:
    """Which sessions pair in a spread, from the two instruments' calendars (1: Shanghai or
    Hong Kong against New York; bot.divergence.metrics.paired_index), once per pair."""
    known: dict[tuple[str, str], int] = {}

    def lag(x: str, b: str) -> int:
        if x not in watchlist or b not in watchlist:
            return 0
        pair = (watchlist[x].calendar, watchlist[b].calendar)
        if pair not in known:
            today = clock.now().date()
            known[pair] = session_lag(markets[pair[0]], markets[pair[1]], today)
        return known[pair]

    return lag


async def build_core(
    settings: Settings,
    redis: Redis,
    clock: Clock,
    consumer: str = "main",
    fence: Callable[[], str | None] = lambda: None,
    leading: Callable[[], bool] = lambda: False,
    daily_sources: Sequence[QuoteSource] = (),
    margin_pages: MarginPages | None = None,
) -> Core:
    """Build every component, each handed what it uses. The one way an alert travels:
    quotes -> AlertService (engine; the state change and the alert's record in one atomic
    write) -> FanOut (record -> chats, resumable) -> Gate (noise) -> Outbox (Redis stream)
    -> delivery loop -> SendRouting (zone, topic, reply; history) -> transport. `fence`
    and `leading` come from leader election (bot.state.leader) in the live app; replay and
    tests lead alone. `daily_sources`: the providers' daily history /backtest deepens
    Redis from (none: it reads what Redis holds); `margin_pages`: MARGIN's report, paged
    back ten years the same way."""
    watchlist = Watchlist.load(settings.seeds_dir / "watchlist.toml")
    catalogue = Catalogue(redis)
    # Instruments chats added come back at a restart, before the rules that name them.
    await catalogue.sync(watchlist)
    calendars = {i.calendar for i in watchlist} | CATALOGUE_CALENDARS
    markets = {code: market(code, settings.seeds_dir) for code in calendars}
    days = MarketDays(redis, markets)
    await days.load()
    store = Store(redis)
    metrics = Metrics()
    rules = LiveRules(
        store,
        RuleChanges(redis, consumer),
        watchlist,
        settings,
        leading,
        spread_lag(watchlist, markets, clock),
    )
    prefs = Prefs(redis, settings.noise_group_window_s)
    history = AlertHistory(redis, settings.history_cap)
    zones = ZoneCache(redis, clock)
    routing = SendRouting(
        redis, prefs, history, zones, on_moved=rules.move_chat, on_gone=store.deactivate
    )
    outbox = Outbox(redis, clock, consumer=consumer, metrics=metrics, routing=routing)
    await outbox.ensure_group()
    gate = Gate(redis, outbox, clock, settings, prefs, history, zones, rules.pause_by_id)
    fanout = FanOut(redis, store, gate, history, clock, consumer)
    service = AlertService(store, outbox, gate, fanout, rules, watchlist, settings, clock, fence)
    await rules.load()
    health = HealthBoard()
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
        health,
        metrics,
        days,
        Operators(settings, redis, clock, service.raise_alert),
        gate,
        HeadlineStore(redis, settings.headline_seen_ttl_s),
        ReleaseCalendar(redis, seed_calendar(settings.seeds_dir)),
        catalogue,
        DeepHistory(store, health, deep_sources(daily_sources, margin_pages, watchlist, markets)),
    )


def deep_sources(
    daily: Sequence[QuoteSource],
    margin_pages: MarginPages | None,
    watchlist: Watchlist,
    markets: dict[str, Market],
) -> list[DailySource]:
    out: list[DailySource] = list(daily)
    if margin_pages is not None:
        calendar = watchlist[margin.KEY].calendar
        out.append(MarginDeepSource(margin_pages, markets[calendar]))
    return out


class HouseRuleRow(BaseModel):
    """One ``[[rule]]`` of seeds/default_rules.toml: a spec in the /alert add grammar.

    The spec is parsed against the watchlist given as validation context
    (``{"watchlist": …}``); without one only its type is checked.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str
    why: str = ""

    @field_validator("spec")
    @classmethod
    def _parses(cls, spec: str, info: ValidationInfo) -> str:
        watchlist = (info.context or {}).get("watchlist")
        if watchlist is not None:
            try:
                parse_rule(spec.split(), watchlist)
            except RuleSpecError as exc:
                raise ValueError(f"{spec!r} does not parse: {exc}") from None
        return spec


class HouseRulesFile(BaseModel):
    """seeds/default_rules.toml: the house rules every subscribed chat hears."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: list[HouseRuleRow] = []


def load_house_rules(path: Path, watchlist: Watchlist) -> list[RuleSpec]:
    """seeds/default_rules.toml, each spec parsed; SeedFileError names rule.N.spec."""
    doc = load_seed_file(path, HouseRulesFile, context={"watchlist": watchlist})
    return [parse_rule(row.spec.split(), watchlist) for row in doc.rule]


def check_seeds(settings: Settings) -> None:
    """Read and validate every seed file the bot runs on, or raise SeedFileError naming the
    file and the field. Start-up calls it first, so a bad seed stops the bot before anything
    is opened rather than whenever the watcher that reads it first starts."""
    seeds = settings.seeds_dir
    watchlist = Watchlist.load(seeds / "watchlist.toml")
    seed_tables(seeds)  # closures.toml (absent: no table)
    load_feeds(seeds / "feeds.toml", settings.feed_base_overrides)
    load_rules(seeds / "headline_rules.toml")
    seed_calendar(seeds)
    load_house_rules(seeds / "default_rules.toml", watchlist)


async def seed_house_rules(core: Core, now: datetime) -> int:
    """Install seeds/default_rules.toml as house rules, once (an empty house only). The file
    is validated every time, so a bad one is never left to the next empty house."""
    specs = load_house_rules(core.settings.seeds_dir / "default_rules.toml", core.watchlist)
    if await core.store.rules_of(HOUSE):
        return 0
    for spec in specs:
        await core.service.add_rule(HOUSE, spec, now)
    log.info("installed %d house rules", len(specs))
    return len(specs)
