"""Delivery guarantees end to end: the real outbox and Deliverer on a real redis-server,
python-telegram-bot's bot sending to the fake Bot API, which polices Telegram's send
limits (scaled 20x so the tests stay short) and records when each request arrived.

- a 429 for one chat holds that chat only; the others keep flowing;
- a 429 storm, then a 5xx window: everything arrives once, no chat is asked again inside
  its retry_after, and the recovery makes no burst above the limits;
- a request Telegram accepted but never answered: the client times out and, as the README
  documents, retries: the chat gets it twice, it is counted `uncertain`, nothing is lost;
- redis-server (AOF, appendfsync always) killed -9 and restarted mid-fan-out: no rule
  lost, every acknowledged delivery made, and the Deliverer backs off meanwhile.

Every test runs under tests/telegram's log guard: DEBUG logs free of the token.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.clock import SimClock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import Outbox
from bot.models import Alert, Family, Message
from bot.ops.metrics import Metrics
from bot.rules.grammar import parse_rule
from bot.state.connect import open_redis
from bot.state.store import Store
from bot.transports.telegram import TelegramSender, build_application
from bot.wiring import build_core
from tests.conftest import RedisServer
from tests.fakes.telegram_api import (
    TOKEN,
    FakeTelegram,
    FloodLimits,
    server_error,
    too_many_requests,
)
from tests.support.delivering import deliver_until
from tests.wire.transports.telegram.conftest import tg_settings

AT = datetime(2026, 1, 13, 2, 45, tzinfo=UTC)
SCALE = 20  # every window 20x shorter than Telegram's; the counts are Telegram's
LIMITS = ratelimit.Limits(
    overall=ratelimit.RateWindow(30, 1.0 / SCALE),
    per_chat=ratelimit.RateWindow(1, 1.0 / SCALE),
    per_group=ratelimit.RateWindow(20, 60.0 / SCALE),
)
# The fake polices the same scaled limits, forgiving 3 ms of loopback jitter.
POLICED = FloodLimits().scaled(SCALE, slack_s=0.003)
MAX_IN_FLIGHT = 16


def alert(n: int = 1) -> Alert:
    return Alert(f"a{n}", Family.MOVES, Message(f"STAR 50 +3.{n}% on the day"), AT)


@pytest.fixture
async def bot(fake_tg: FakeTelegram, settings: Settings) -> AsyncIterator[Bot]:
    """The production bot object (bot.transports.telegram.build_application)."""
    application = build_application(settings, webhook=True)
    await application.initialize()
    yield application.bot
    await application.shutdown()


async def queue_fan_out(outbox: Outbox, chat_ids: list[int], n: int = 1) -> None:
    for chat_id in chat_ids:
        assert await outbox.enqueue(alert(n), f"telegram:{chat_id}")


def sends_by_chat(fake: FakeTelegram) -> dict[int, list[float]]:
    out: dict[int, list[float]] = defaultdict(list)
    for call in fake.requests("sendMessage"):
        assert call.chat_id is not None
        out[call.chat_id].append(call.at)
    return out


async def make_deliverer(
    redis: Redis, bot: Bot, metrics: Metrics | None = None, consumer: str = "c1"
) -> tuple[Outbox, Deliverer]:
    outbox = Outbox(redis, SimClock(AT), consumer=consumer, metrics=metrics)
    await outbox.ensure_group()
    sender = TelegramSender(bot, Store(redis), "Asia/Shanghai")
    deliverer = Deliverer(
        outbox,
        {"telegram": sender},
        {"telegram": ratelimit.RateLimiter(LIMITS)},
        max_in_flight=MAX_IN_FLIGHT,
    )
    return outbox, deliverer


async def test_a_429_for_one_chat_holds_only_that_chat(
    fake_tg: FakeTelegram, redis_client: Redis, bot: Bot
) -> None:
    fake_tg.enforce(POLICED)
    chats = [7, *range(100, 180)]  # the others take well under chat 7's 1 s hold
    fake_tg.fail("sendMessage", too_many_requests(1), chat_id=7, times=1)
    outbox, deliverer = await make_deliverer(redis_client, bot)
    await queue_fan_out(outbox, chats)
    await deliver_until(deliverer, lambda: len(fake_tg.accepted) == len(chats))
    by_chat = sends_by_chat(fake_tg)
    refused, retried = by_chat[7]
    assert retried - refused >= 1.0  # it waited out its retry_after
    others_done = max(times[-1] for chat, times in by_chat.items() if chat != 7)
    assert others_done < retried  # everyone else went while chat 7 was held
    assert all(len(times) == 1 for chat, times in by_chat.items() if chat != 7)
    assert fake_tg.limit_429s == 0
    assert await outbox.pending() == 0


@pytest.mark.slow
async def test_a_429_storm_and_a_5xx_window_deliver_everything_within_the_limits(
    fake_tg: FakeTelegram, redis_client: Redis, bot: Bot
) -> None:
    fake_tg.enforce(POLICED)
    chats = [*range(1, 201), *range(-1001, -1101, -1)]  # private chats and groups
    # The first 100 sends are refused with 429 (retry after 1 s), the next 150 with 502.
    fake_tg.fail("sendMessage", too_many_requests(1), times=100)
    fake_tg.fail("sendMessage", server_error(502), times=150)
    metrics = Metrics()
    outbox, deliverer = await make_deliverer(redis_client, bot, metrics)
    await queue_fan_out(outbox, chats)
    await deliver_until(deliverer, lambda: len(fake_tg.accepted) == len(chats))
    assert sorted(c.chat_id or 0 for c in fake_tg.accepted) == sorted(chats)  # once each
    # No chat was asked again inside the retry_after window its 429 named.
    windows = [
        (call.chat_id, call.at, failure.parameters["retry_after"])
        for call, failure in fake_tg.refused
        if failure.status == 429
    ]
    assert len(windows) == 100
    for chat, at, retry_after in windows:
        later = [c.at for c in fake_tg.requests("sendMessage", chat) if c.at > at]
        assert later, f"chat {chat} never retried"
        assert min(later) - at >= retry_after, f"chat {chat} asked again inside retry_after"
    assert fake_tg.limit_429s == 0  # the recovery made no burst above the limits
    assert await outbox.pending() == 0
    assert await outbox.dead() == 0
    sample = metrics.render().decode()
    assert 'divbot_deliveries_total{outcome="retry",platform="telegram"} 250.0' in sample


async def test_an_accepted_but_unanswered_send_is_retried_as_documented(
    fake_tg: FakeTelegram, redis_client: Redis
) -> None:
    """Policy (README, Delivery guarantees): a timed-out send counts as RETRY and may
    arrive twice; it is never dropped and never dead-lettered for being uncertain."""
    fake_tg.stall("sendMessage", chat_id=5, times=1)
    # The production sender with a short read timeout (PTB's default is 5 s).
    request = HTTPXRequest(read_timeout=0.5, connection_pool_size=32)
    bot = Bot(TOKEN, base_url=f"{fake_tg.url}/bot", request=request)
    await bot.initialize()
    metrics = Metrics()
    try:
        outbox, deliverer = await make_deliverer(redis_client, bot, metrics)
        chats = list(range(1, 21))
        await queue_fan_out(outbox, chats)
        await deliver_until(deliverer, lambda: fake_tg.delivered(5) == 2)
        await deliver_until(deliverer, lambda: deliverer.held == 0, limit_s=5)
    finally:
        await bot.shutdown()
    assert fake_tg.delivered(5) == 2  # the stalled one reached the chat, and the retry
    assert all(fake_tg.delivered(c) == 1 for c in chats if c != 5)
    assert await outbox.pending() == 0
    assert await outbox.dead() == 0
    sample = metrics.render().decode()
    assert 'divbot_deliveries_total{outcome="uncertain",platform="telegram"} 1.0' in sample


@pytest.mark.slow
async def test_redis_killed_and_restarted_with_aof_loses_nothing(
    fake_tg: FakeTelegram, tmp_path: Path, bot: Bot
) -> None:
    fake_tg.enforce(POLICED)
    server = RedisServer(tmp_path, appendonly=True)
    server.start()
    settings = tg_settings(server, fake_tg)
    redis = open_redis(settings)  # the production client: 5 s socket timeout, retries
    try:
        core = await build_core(settings, redis, SimClock(AT), consumer="c1")
        owners = [f"telegram:{i}" for i in range(1, 21)]
        for owner in owners:
            await core.service.add_rule(
                owner, parse_rule(["STAR50", "1d", "up", "3"], core.watchlist), AT
            )
        rules_before = {r.id for r in await core.store.all_rules()}
        outbox, deliverer = await make_deliverer(redis, bot)
        first = list(range(1, 601))
        await queue_fan_out(outbox, first)  # acknowledged: enqueue returned True
        task = asyncio.create_task(deliverer.run(idle_block_ms=50))
        async with asyncio.timeout(20):
            while len(fake_tg.accepted) < 150:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        server.stop(kill=True)
        await asyncio.sleep(1.5)  # Redis is gone; the Deliverer must back off, not spin
        errors_while_down = deliverer.redis_errors
        server.start()  # same folder: the AOF is replayed
        second = list(range(601, 801))
        await queue_fan_out(outbox, second, n=2)  # acknowledged after the restart
        async with asyncio.timeout(30):
            while {c.chat_id for c in fake_tg.accepted} != {*first, *second}:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            while await outbox.pending():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        deliverer.stop()
        await asyncio.wait_for(task, 10)
        assert {r.id for r in await core.store.all_rules()} == rules_before  # no rule lost
        assert len(rules_before) >= len(owners)
        duplicates = len(fake_tg.accepted) - len(first) - len(second)
        assert 0 <= duplicates <= MAX_IN_FLIGHT  # the documented bound
        assert 0 < errors_while_down <= MAX_IN_FLIGHT + 20  # backed off: no hot loop
        assert fake_tg.limit_429s == 0
    finally:
        await redis.aclose()
        server.stop()
