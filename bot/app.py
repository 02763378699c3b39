"""The live bot: one aiohttp application that owns every lifecycle.

Cleanup contexts open and close, in order: Redis, the shared HTTP client session, the
core (store, engine, outbox), and the background tasks (watchers and the delivery
loop). Chat transports plug in between the core and the tasks (bot.transports.plugins):
one line each in `build_app`. `divbot run` serves `$PORT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from bot.clock import Clock, WallClock
from bot.config import Settings
from bot.delivery.deliverer import Deliverer
from bot.delivery.sending import Sender
from bot.divergence.snapshot import refresh_pulse
from bot.macro import history as macro_history
from bot.macro.calendar import scheduled_releases
from bot.market.finder import Finder
from bot.market.quote_feed import QuoteFeed
from bot.market.validate import QuoteValidator
from bot.rules.sync import follow
from bot.sources.base import QuoteSource
from bot.sources.eastmoney import EastmoneySource
from bot.sources.margin import EastmoneyMarginSource
from bot.sources.search import InstrumentSearch
from bot.sources.yahoo import YahooSource
from bot.state.connect import open_redis
from bot.state.leader import Leadership, lead, watcher_fence
from bot.tasks import stop_tasks
from bot.transports.console import ConsoleSender
from bot.transports.plugins import plug_in
from bot.transports.slack import SlackPlugin
from bot.transports.telegram import TelegramPlugin, TelegramStartupError, check_token
from bot.transports.webhook.transport import WebhookTransport
from bot.wiring import Core, build_core, seed_basket, seed_house_rules
from jobs.calendars import CalendarsJob
from jobs.digest import DigestJob
from jobs.headlines import build_live_job
from jobs.history import HistoryJob
from jobs.macro import live_macro_job
from jobs.margin import MarginJob
from jobs.noise import NoiseJob
from jobs.quotes import QuotesJob
from jobs.runner import Job, run_forever
from jobs.trading_day import TradingDayCheck

log = logging.getLogger(__name__)
CORE = web.AppKey("core", Core)
HTTP = web.AppKey("http", aiohttp.ClientSession)
SENDERS = web.AppKey("senders", dict[str, Sender])
# Chat platforms register a reachability check here (e.g. Telegram getMe, Slack auth.test).
READY_CHECKS = web.AppKey("ready_checks", dict[str, Callable[[], Awaitable[bool]]])
LEADERSHIP = web.AppKey("leadership", Leadership)


def build_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    app = web.Application()
    clock = clock or WallClock()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        # A rejected token stops the bot before it writes anything (house rules, the
        # outbox group, macro history) to Redis.
        await check_token(settings)
        redis = open_redis(settings)
        timeout = aiohttp.ClientTimeout(total=settings.http_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            # Only the leader runs the watchers; their enqueues are fenced with its token.
            leadership = Leadership(redis, settings.replica_id, settings.leader_ttl_s)
            app[LEADERSHIP] = leadership
            # Each replica reads the outbox as its own consumer (REPLICA_ID).
            core = await build_core(
                settings,
                redis,
                clock,
                consumer=settings.replica_id,
                fence=watcher_fence,
                leading=lambda: leadership.token is not None,
                daily_sources=[EastmoneySource(http, settings), YahooSource(http, settings)],
                margin_pages=EastmoneyMarginSource(http, settings),
            )
            await seed_house_rules(core, clock.now())
            await seed_basket(core)  # the articles' names, an illustration (/baskets)
            await macro_history.seed_if_empty(
                redis,
                settings.seeds_dir / "macro_history.csv",
                scheduled=scheduled_releases(core.releases.seed),
            )
            await refresh_pulse(core)  # divergence rules need the economy pulse
            app[CORE], app[HTTP] = core, http
            senders: dict[str, Sender] = {"console": ConsoleSender()}
            app[SENDERS] = senders
            yield
        await redis.aclose()

    # Each configured chat platform: routes now, started between the core and the tasks.
    transports = [
        TelegramPlugin.configured(settings),  # /telegram/webhook or long polling
        SlackPlugin.configured(settings),  # /slack/events and/or Socket Mode
        WebhookTransport.configured(settings),  # outgoing webhooks (WEBHOOKS)
    ]
    plugged = plug_in(
        app, transports, lambda a: a[CORE], lambda a: a[SENDERS], lambda a: a[READY_CHECKS]
    )

    async def tasks(app: web.Application) -> AsyncIterator[None]:
        core, http = app[CORE], app[HTTP]
        sources: list[QuoteSource] = [EastmoneySource(http, settings), YahooSource(http, settings)]
        feed = QuoteFeed(
            sources, QuoteValidator(core.markets.__getitem__, settings), core.health, core.watchlist
        )
        day_check = TradingDayCheck(
            core.markets,
            list(core.watchlist),
            core.days,
            core.health,
            core.redis,
            feed.trade_times,
            core.operators,
        )
        # /watch: search, then a first quote from the same sources the watcher polls.
        core.finder = Finder(
            InstrumentSearch(http, settings), sources, core.markets, core.watchlist
        )
        job = QuotesJob(
            core.watchlist,  # live: instruments added with /watch are polled next cycle
            feed,
            core.service,
            core.markets,
            core.health,
            settings.poll_interval_s,
            close_settle_s=11 * 60,
            day_check=day_check,
            operators=core.operators,
            baskets=lambda: core.catalogue.baskets,
        )
        macro_job = await live_macro_job(core, http)
        limiters = plugged.limiters()
        watchers: list[Job] = [
            job,
            CalendarsJob(core.markets, core.days, core.operators),
            HistoryJob(core, sources),
            MarginJob(core, EastmoneyMarginSource(http, settings)),
            DigestJob(core),
            build_live_job(core, http),
            macro_job,
        ]

        async def watch() -> None:
            # First catch up: what an earlier term left waiting, another leader's state.
            while True:
                try:
                    await core.service.take_over()
                    break
                except Exception as exc:
                    log.warning("taking over the watchers: %s; again in 1s", type(exc).__name__)
                    await asyncio.sleep(1)
            async with asyncio.TaskGroup() as group:
                for w in watchers:
                    group.create_task(run_forever(w, clock), name=w.name)

        def start_watchers() -> list[asyncio.Task[None]]:
            # Only the leader polls; created inside lead(), so their alerts are fenced.
            return [asyncio.create_task(watch(), name="watchers")]

        leadership = app[LEADERSHIP]
        # Every replica delivers.
        # Replicas on one token share its windows (Redis): together within its limits.
        shared = plugged.shared(core.redis)
        deliverer = Deliverer(core.outbox, app[SENDERS], limiters, plugged.is_group, shared=shared)
        delivery = asyncio.create_task(deliverer.run(), name="delivery")
        running = [
            asyncio.create_task(lead(leadership, start_watchers), name="leader"),
            delivery,
            # Every replica: rules changed by commands on other replicas reach this engine.
            asyncio.create_task(follow(core.rules, core.rules.changes), name="rules"),
            # Every replica: what waited for Redis (bot.rules.backlog) is written when it answers.
            asyncio.create_task(core.service.keep_writing(), name="backlog"),
            # Every replica: fan-outs a dead replica started are finished (bot.delivery.fanout).
            asyncio.create_task(core.service.fanout.keep_recovering(), name="fanout"),
            # Every replica: instruments another replica's /watch added (bot.market.catalogue).
            asyncio.create_task(core.catalogue.keep_synced(core.watchlist), name="catalogue"),
        ]
        # Every replica releases held alerts (a lock per chat).
        running.append(asyncio.create_task(run_forever(NoiseJob(core.noise), clock), name="noise"))
        yield
        deliverer.stop()  # SIGTERM: sends in flight settle; the rest stay queued in Redis
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(15):
                await delivery
        await stop_tasks(running)

    app[READY_CHECKS] = {}
    app.cleanup_ctx.extend([resources, plugged.lifecycle, tasks])
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    return app


async def healthz(_: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"ok": True})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: Redis answers, and at least one configured chat platform does."""
    core = request.app[CORE]
    checks: dict[str, bool] = {}
    try:
        checks["redis"] = bool(await core.redis.ping())
    except Exception:  # any failure to answer means not ready
        checks["redis"] = False
    for name, check in request.app[READY_CHECKS].items():
        try:
            checks[name] = await check()
        except Exception:
            checks[name] = False
    platforms = [ok for name, ok in checks.items() if name != "redis"]
    ready = checks["redis"] and (any(platforms) or not platforms)
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    core = request.app[CORE]
    m = core.metrics
    try:
        m.outbox_depth.set(await core.outbox.pending())
        m.dead_letters.set(await core.outbox.dead())
        m.alerts_owed.set(await core.service.fanout.owed())
    except Exception:
        log.warning("metrics: Redis did not answer for the outbox gauges")
    leadership = request.app.get(LEADERSHIP)
    m.leader.set(1 if leadership is not None and leadership.token is not None else 0)
    for h in core.health.all():
        m.source_healthy.labels(h.name).set(1 if h.ok else 0)
    return web.Response(body=m.render(), content_type="text/plain")


def run_app(settings: Settings) -> int:
    try:
        web.run_app(build_app(settings), port=settings.port, print=None)
    except TelegramStartupError as exc:
        log.error("cannot start: %s", exc)
        print(f"divbot: {exc}", file=sys.stderr)
        return 1
    return 0
