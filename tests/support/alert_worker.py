"""A whole-pipeline replica in its own process (crash-point tests):
`python -m tests.support.alert_worker [--raise-crossing]`.

Built from the production parts on the settings in the environment (REDIS_URL,
REPLICA_ID, TELEGRAM_TOKEN + TELEGRAM_API_BASE): bot.wiring's core (alerting service,
fan-out, noise gate, outbox), python-telegram-bot's bot through bot.transports.telegram,
the Deliverer with Telegram's limits scaled 20x (the fake platform is local), the noise
job (grouping windows) and the fan-out recovery, as `divbot run` runs them.

With ``--raise-crossing`` it first raises one crossing through the alerting service: the
house rule ``NDX above 26000`` (armed by a first quote at 25,900), then NDX at 26,100.
``DIVBOT_CRASH_AT`` (bot.ops.crashpoint) kills it at a named point of that alert's way.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta

from bot.clock import WallClock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.logs import setup_logging
from bot.models import HOUSE, Quote
from bot.rules.grammar import parse_rule
from bot.state.connect import open_redis
from bot.transports.telegram import TelegramSender, build_application
from bot.wiring import Core, build_core
from jobs.noise import NoiseJob
from jobs.runner import run_forever
from tests.support.delivery_worker import SCALED


async def raise_crossing(core: Core) -> None:
    now = core.clock.now()
    session = now.date()
    await core.service.add_rule(HOUSE, parse_rule(["NDX", "above", "26000"], core.watchlist), now)
    first = Quote("NDX", 25_900.0, now - timedelta(seconds=1), session, "test")
    await core.service.on_quotes([first], now)
    print("rule armed", flush=True)
    await core.service.on_quotes([Quote("NDX", 26_100.0, now, session, "test")], now)
    print("crossing raised", flush=True)


async def main(raise_it: bool) -> None:
    settings = Settings()
    setup_logging(settings.log_level)
    redis = open_redis(settings)
    clock = WallClock()
    core = await build_core(settings, redis, clock, consumer=settings.replica_id)
    application = build_application(settings, webhook=True)
    await application.initialize()
    sender = TelegramSender(application.bot, core.store, settings.timezone)
    deliverer = Deliverer(
        core.outbox,
        {"telegram": sender},
        {"telegram": ratelimit.RateLimiter(SCALED["telegram"])},
        max_in_flight=32,
        abandoned_after_s=5.0,
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, deliverer.stop)
    tasks = [
        asyncio.create_task(core.service.fanout.keep_recovering()),
        asyncio.create_task(run_forever(NoiseJob(core.noise), clock)),
    ]
    delivery = asyncio.create_task(deliverer.run(idle_block_ms=100))
    print("worker ready", flush=True)
    try:
        if raise_it:
            await raise_crossing(core)
        await delivery
    finally:
        for task in tasks:
            task.cancel()
        await application.shutdown()
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--raise-crossing", action="store_true")
    asyncio.run(main(parser.parse_args().raise_crossing))
