"""/status stays responsive during a 10,000-delivery fan-out (issue 8, "commands stay
responsive"), proved structurally rather than with a stopwatch.

10,000 deliveries (SYNTHETIC: 2 alerts x 5,000 chats) sit in the outbox on a real
redis-server while the production Deliverer drains them to the fake Bot API at Telegram's
limits scaled 20x (600 messages/s: the whole backlog would take about 17 s). A /status
typed in a private chat goes the real command path — an update polled by the PTB
Application in bot.transports.telegram, handlers.dispatch.handle, the reply sent
straight to the chat — and its reply must reach the fake while most of the backlog is
still queued (it did not wait behind the fan-out) and must report the queued depth as it
was (between what was settled before the command and what had been sent by the reply).

The latency itself (median / p99 / max, idle vs during the fan-out) is measured in
bench/status_latency.py, not asserted here.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.models import Alert, Family, Message
from bot.transports.telegram import TelegramTransport
from bot.wiring import Core
from tests.fakes.telegram_api import FakeTelegram

SCALE = 20
LIMITS = ratelimit.Limits(
    overall=ratelimit.RateWindow(30, 1.0 / SCALE),
    per_chat=ratelimit.RateWindow(1, 1.0 / SCALE),
    per_group=ratelimit.RateWindow(20, 60.0 / SCALE),
)
PRIVATE = list(range(10_000_001, 10_004_001))  # 4,000 synthetic private chats
GROUPS = list(range(-1_000_000_001, -1_000_001_001, -1))  # 1,000 synthetic groups
ALERTS = 2
QUEUED = ALERTS * (len(PRIVATE) + len(GROUPS))
ASKER = 42  # a private chat outside the fan-out
PENDING = re.compile(r"deliveries: \d+ sent, (\d+) pending")


@pytest.mark.slow
async def test_status_answers_with_the_queue_depth_while_10000_deliveries_are_queued(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    at = core.clock.now()
    for n in range(ALERTS):  # alert by alert, as AlertService.dispatch queues them
        alert = Alert(f"fanout-{n}", Family.MOVES, Message(f"STAR 50 +{3 + n}.0% on the day"), at)
        for chat in [*PRIVATE, *GROUPS]:
            assert await core.outbox.enqueue(alert, f"telegram:{chat}")
    assert await core.outbox.pending() == QUEUED
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
        settled_before = deliverer.sent  # entries already acknowledged and deleted
        fake_tg.send_text("/status", chat_id=ASKER, user_id=ASKER)
        [reply] = await fake_tg.wait_for("sendMessage", chat_id=ASKER, within_s=20)
    finally:
        deliverer.stop()
        async with asyncio.timeout(20):
            await task

    sends = fake_tg.requests("sendMessage")
    fan_out_before_reply = sum(1 for c in sends if c.chat_id != ASKER and c.at < reply.at)
    # The reply did not wait behind the fan-out: most of the backlog was still queued.
    assert settled_before >= 1
    assert fan_out_before_reply < QUEUED // 2, f"{fan_out_before_reply} fan-out sends came first"
    text = str(reply.params["text"])
    assert text.startswith("<b>Status</b>")
    found = PENDING.search(text)
    assert found is not None, text
    pending = int(found.group(1))
    # What /status counted: nothing settled after the reply arrived, all settled before
    # the command was sent are gone.
    assert QUEUED - fan_out_before_reply <= pending <= QUEUED - settled_before
    assert pending > QUEUED // 2
