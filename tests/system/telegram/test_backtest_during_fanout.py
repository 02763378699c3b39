"""/backtest over ten years is answered while a 10,000-delivery fan-out runs (issue 20:
"without blocking other commands"), proved structurally rather than with a stopwatch.

10,000 SYNTHETIC deliveries sit in the outbox while the production Deliverer drains them
to the fake Bot API at Telegram's limits scaled 20x. A /backtest typed in a private chat
goes the real command path (PTB polling, handlers.dispatch.handle, the replay and the
chart in worker threads); its chart must reach the fake while most of the backlog is
still queued (it did not wait behind the fan-out), and fan-out sends must have gone out
between the command and its reply (the backtest did not stop the event loop).

The latency is measured in bench/backtest_latency.py, not asserted here.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.models import Alert, Family, Message
from bot.state import keys
from bot.transports.telegram import TelegramTransport
from bot.wiring import Core
from tests.fakes.telegram_api import FakeTelegram
from tests.support.backtest_data import random_walk

SCALE = 20
LIMITS = ratelimit.Limits(
    overall=ratelimit.RateWindow(30, 1.0 / SCALE),
    per_chat=ratelimit.RateWindow(1, 1.0 / SCALE),
    per_group=ratelimit.RateWindow(20, 60.0 / SCALE),
)
CHATS = list(range(10_000_001, 10_005_001))  # 5,000 synthetic private chats
ALERTS = 2
QUEUED = ALERTS * len(CHATS)
ASKER = 42


@pytest.mark.slow
async def test_backtest_is_answered_mid_fanout(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core, redis_client: Redis
) -> None:
    today = core.clock.now().date()
    days = [today - timedelta(days=n) for n in range(3700, 0, -1)]
    walk = random_walk([d for d in days if d.weekday() < 5])  # SYNTHETIC, ten years
    mapping = {d.isoformat(): repr(c) for d, c in zip(walk.dates, walk.closes, strict=True)}
    await redis_client.hset(keys.daily("STAR50"), mapping=mapping)
    at = core.clock.now()
    for n in range(ALERTS):
        alert = Alert(f"fanout-{n}", Family.MOVES, Message(f"STAR 50 +{3 + n}.0% on the day"), at)
        for chat in CHATS:
            assert await core.outbox.enqueue(alert, f"telegram:{chat}")
    deliverer = Deliverer(
        core.outbox,
        {"telegram": transport.sender()},
        {"telegram": ratelimit.RateLimiter(LIMITS)},
    )
    task = asyncio.create_task(deliverer.run(idle_block_ms=50))
    try:
        async with asyncio.timeout(30):
            while len(fake_tg.requests("sendMessage")) < 100:  # noqa: ASYNC110 - under way
                await asyncio.sleep(0.005)
        asked_after = len(fake_tg.requests("sendMessage"))
        fake_tg.send_text("/backtest STAR50 1d down 3 10y", chat_id=ASKER, user_id=ASKER)
        [photo] = await fake_tg.wait_for("sendPhoto", chat_id=ASKER, within_s=20)
    finally:
        deliverer.stop()
        async with asyncio.timeout(20):
            await task

    sends = [c for c in fake_tg.requests("sendMessage") if c.chat_id != ASKER]
    before_reply = [c for c in sends if c.at < photo.at]
    assert len(before_reply) < QUEUED // 2, f"{len(before_reply)} fan-out sends came first"
    assert len(before_reply) > asked_after  # the fan-out went on while the backtest ran
    replies = fake_tg.requests("sendMessage", chat_id=ASKER)
    text = " ".join(
        [str(photo.params.get("caption") or "")] + [str(r.params["text"]) for r in replies]
    )
    assert "Backtest: STAR 50 1d down 3%" in text
