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
from tests.wire.transports.telegram.conftest import tg_settings

CHATS = list(range(20_000_001, 20_002_001))  # 2,000 synthetic private chats


async def replica(name: str, settings: Settings) -> tuple[Deliverer, list[object]]:
    assert settings.redis_url is not None
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
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


async def fan_out(replicas: int, redis_server: RedisServer, db: int) -> None:
    """One token's fan-out: its own fake Bot API and Redis database, `replicas` replicas."""
    fake = FakeTelegram()
    await fake.start()
    fake.enforce(FloodLimits())  # Telegram's published limits, unscaled
    settings = tg_settings(redis_server, fake).model_copy(
        update={"redis_url": f"{redis_server.url}?db={db}"}
    )
    built = [await replica(f"r{n}", settings) for n in range(replicas)]
    first = built[0][0]
    alert = Alert("shared-token", Family.MOVES, Message("NDX above 26,000"), WallClock().now())
    tasks = [asyncio.create_task(d.run(idle_block_ms=50)) for d, _ in built]
    try:
        # Queued while the replicas run, as the engine queues a crossing's fan-out.
        for chat in CHATS:
            assert await first.outbox.enqueue(alert, f"telegram:{chat}")
        async with asyncio.timeout(330):
            while len(fake.accepted) < len(CHATS):  # noqa: ASYNC110 - the fake's log
                await asyncio.sleep(0.2)
    finally:
        for deliverer, _ in built:
            deliverer.stop()
        async with asyncio.timeout(30):
            await asyncio.gather(*tasks)
        for _, (application, redis) in built:
            await application.shutdown()  # type: ignore[attr-defined]
            await redis.aclose()  # type: ignore[attr-defined]
        await fake.close()
    label = f"{replicas} replicas"
    assert fake.limit_429s == 0, f"{label}: {fake.limit_429s} × 429: {fake.limit_breaks[:3]}"
    per_chat = Counter(c.chat_id for c in fake.accepted)
    assert set(per_chat) == set(CHATS), label
    assert set(per_chat.values()) == {1}, label
    # Every replica took part: the token's windows were shared, not one replica's alone.
    assert all(d.sent > 0 for d, _ in built), (label, [d.sent for d, _ in built])


@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_two_and_three_replicas_on_one_token_fan_out_without_a_429(
    redis_server: RedisServer,
    redis_client: Redis,  # a flushed Redis (every database)
) -> None:
    """Two tokens at once, each in its own Redis database with its own fake Bot API: two
    replicas share one, three the other (side by side, so the suite waits ~70 s, not 140)."""
    await asyncio.gather(fan_out(2, redis_server, db=1), fan_out(3, redis_server, db=2))
