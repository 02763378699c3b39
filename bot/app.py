"""The live bot: one aiohttp application that owns every lifecycle.

Cleanup contexts open and close, in order: Redis, the shared HTTP client session, the
core (store, engine, outbox), and the background tasks (watchers and the delivery
loop). Chat transports plug in here as their issues land. `divbot run` serves `$PORT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.clock import WallClock
from bot.config import Settings
from bot.connect import open_redis
from bot.core import Core, build_core, seed_house_rules
from bot.sources.base import QuoteSource
from bot.sources.eastmoney import EastmoneySource
from bot.sources.feed import QuoteFeed
from bot.sources.validate import QuoteValidator
from bot.sources.yahoo import YahooSource
from bot.transports.base import Sender
from bot.transports.console import ConsoleSender
from jobs.macro import live_macro_job
from jobs.quotes import QuotesJob
from jobs.runner import run_forever

log = logging.getLogger(__name__)
CORE = web.AppKey("core", Core)
HTTP = web.AppKey("http", aiohttp.ClientSession)
SENDERS = web.AppKey("senders", dict[str, Sender])


async def deliver_forever(core: Core, senders: dict[str, Sender], idle_s: float = 0.5) -> None:
    """Drain the outbox; sleep briefly only when there was nothing to send."""
    while True:
        try:
            sent = await core.outbox.deliver(senders)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("delivery pass failed")
            sent = 0
        if not sent:
            await asyncio.sleep(idle_s)


def build_app(settings: Settings) -> web.Application:
    app = web.Application()
    clock = WallClock()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        redis = open_redis(settings)
        timeout = aiohttp.ClientTimeout(total=settings.http_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            core = await build_core(settings, redis, clock)
            await seed_house_rules(core, clock.now())
            app[CORE], app[HTTP] = core, http
            senders: dict[str, Sender] = {"console": ConsoleSender()}
            app[SENDERS] = senders
            yield
        await redis.aclose()

    async def tasks(app: web.Application) -> AsyncIterator[None]:
        core, http = app[CORE], app[HTTP]
        sources: list[QuoteSource] = [EastmoneySource(http, settings), YahooSource(http, settings)]
        feed = QuoteFeed(
            sources, QuoteValidator(core.markets.__getitem__, settings), core.health, core.watchlist
        )
        job = QuotesJob(
            list(core.watchlist),
            feed,
            core.service,
            core.markets,
            core.health,
            settings.poll_interval_s,
            close_settle_s=11 * 60,
        )
        macro_job = await live_macro_job(core, http)
        running = [
            asyncio.create_task(run_forever(job, clock), name="quotes"),
            asyncio.create_task(run_forever(macro_job, clock), name="macro"),
            asyncio.create_task(deliver_forever(core, app[SENDERS]), name="delivery"),
        ]
        yield
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.cleanup_ctx.extend([resources, tasks])
    app.router.add_get("/healthz", healthz)
    return app


def run_app(settings: Settings) -> int:
    web.run_app(build_app(settings), port=settings.port, print=None)
    return 0
