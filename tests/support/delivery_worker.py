"""A delivery replica in its own process (crash tests): `python -m tests.support.delivery_worker`.

It is the live bot's delivery half for one platform, built from the production parts —
settings from the environment (REDIS_URL, REPLICA_ID, and TELEGRAM_TOKEN +
TELEGRAM_API_BASE or SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET + SLACK_API_BASE), bot.wiring's
outbox, python-telegram-bot's bot via bot.transports.telegram or slack-sdk's client via
bot.transports.slack.SlackBot, bot.delivery.Deliverer — with the send limits scaled up
(the test's fake platform is local) so a fan-out to thousands of chats takes seconds, not
a minute. SIGTERM stops it gracefully; tests also SIGKILL it.

Arguments: --platform telegram|slack --max-in-flight N --claim-after SECONDS.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from bot.clock import WallClock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.delivery.sending import Sender
from bot.logs import setup_logging
from bot.state.connect import open_redis
from bot.transports.slack import SlackBot
from bot.transports.telegram import TelegramSender, build_application
from bot.wiring import build_core

# Each platform's shape with every window scaled down: Telegram's (overall, per chat, per
# group) 20x, Slack's (per channel, overall) 10x.
SCALED = {
    "telegram": ratelimit.Limits(
        overall=ratelimit.RateWindow(30, 0.05),
        per_chat=ratelimit.RateWindow(1, 0.05),
        per_group=ratelimit.RateWindow(20, 3.0),
    ),
    "slack": ratelimit.Limits(
        overall=ratelimit.RateWindow(ratelimit.SLACK.overall.count, 0.1),
        per_chat=ratelimit.RateWindow(1, 0.1),
    ),
}


async def main(platform: str, max_in_flight: int, claim_after_s: float) -> None:
    settings = Settings()
    setup_logging(settings.log_level)
    redis = open_redis(settings)
    core = await build_core(settings, redis, WallClock(), consumer=settings.replica_id)
    application = None
    sender: Sender
    if platform == "telegram":
        application = build_application(settings, webhook=True)
        await application.initialize()
        sender = TelegramSender(application.bot, core.store, settings.timezone)
    else:
        sender = SlackBot(settings, core).sender
    deliverer = Deliverer(
        core.outbox,
        {platform: sender},
        {platform: ratelimit.RateLimiter(SCALED[platform])},
        max_in_flight=max_in_flight,
        abandoned_after_s=claim_after_s,
    )
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, deliverer.stop)
    print("worker ready", flush=True)
    try:
        await deliverer.run(idle_block_ms=100)
    finally:
        if application is not None:
            await application.shutdown()
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--platform", choices=sorted(SCALED), default="telegram")
    parser.add_argument("--max-in-flight", type=int, default=32)
    parser.add_argument("--claim-after", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(main(args.platform, args.max_in_flight, args.claim_after))
