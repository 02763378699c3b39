"""Two and three replicas delivering with one bot token stay inside the token's limits
together (issue 15 item 4): a 2,000-chat fan-out at Telegram's real published limits,
policed by the fake Bot API (30 messages a second for the token, 1 a second per chat),
draws no 429 and reaches every chat exactly once.

Each replica is the live bot's delivery half built as bot.app builds it: its own Redis
connection and outbox consumer, its own python-telegram-bot Bot, its own per-process
limiter, and the token's windows shared in Redis (`TelegramPlugin.limit_scope`). The
fan-out (one alert to 2,000 private chats) is SYNTHETIC.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from redis.asyncio import Redis

from bot.clock import WallClock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.delivery.shared_limits import SharedLimiter
from bot.models import Alert, Family, Message
from bot.transports.telegram import TelegramPlugin, TelegramSender, build_application
from bot.wiring import build_core
from tests.conftest import RedisServer
from tests.fakes.telegram_api import FakeTelegram, FloodLimits

CHATS = list(range(20_000_001, 20_002_001))  # 2,000 synthetic private chats


async def replica(
    name: str, settings: Settings, redis_server: RedisServer
) -> tuple[Deliverer, list[object]]:
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    core = await build_core(settings, redis, WallClock(), consumer=name)
    application = build_application(settings, webhook=True)
    await application.initialize()
    sender = TelegramSender(application.bot, core.store, settings.timezone)
    plugin = TelegramPlugin(settings)
    deliverer = Deliverer(
        core.outbox,
        {"telegram": sender},
        {"telegram": ratelimit.RateLimiter(plugin.limits)},
        shared={"telegram": SharedLimiter(redis, plugin.limit_scope, plugin.limits)},
    )
    return deliverer, [application, redis]


@pytest.mark.slow
@pytest.mark.timeout(400)
@pytest.mark.parametrize("replicas", [2, 3])
async def test_replicas_on_one_token_fan_out_without_a_429(
    replicas: int,
    fake_tg: FakeTelegram,
    settings: Settings,
    redis_server: RedisServer,
    redis_client: Redis,  # a flushed Redis
) -> None:
    fake_tg.enforce(FloodLimits())  # Telegram's published limits, unscaled
    built = [await replica(f"r{n}", settings, redis_server) for n in range(replicas)]
    first = built[0][0]
    alert = Alert("shared-token", Family.MOVES, Message("NDX above 26,000"), WallClock().now())
    tasks = [asyncio.create_task(d.run(idle_block_ms=50)) for d, _ in built]
    try:
        # Queued while the replicas run, as the engine queues a crossing's fan-out.
        for chat in CHATS:
            assert await first.outbox.enqueue(alert, f"telegram:{chat}")
        async with asyncio.timeout(330):
            while len(fake_tg.accepted) < len(CHATS):  # noqa: ASYNC110 - the fake's log
                await asyncio.sleep(0.2)
    finally:
        for deliverer, _ in built:
            deliverer.stop()
        async with asyncio.timeout(30):
            await asyncio.gather(*tasks)
        for _, (application, redis) in built:
            await application.shutdown()  # type: ignore[attr-defined]
            await redis.aclose()  # type: ignore[attr-defined]
    assert fake_tg.limit_429s == 0, f"{fake_tg.limit_429s} × 429: {fake_tg.limit_breaks[:3]}"
    per_chat = Counter(c.chat_id for c in fake_tg.accepted)
    assert set(per_chat) == set(CHATS)
    assert set(per_chat.values()) == {1}
    # Every replica took part: the token's windows were shared, not one replica's alone.
    assert all(d.sent > 0 for d, _ in built), [d.sent for d, _ in built]
