"""Command replies on Telegram go through the token's limits and never wait on another
chat (issue 17 items 2 and 3), against the fake Bot API policing Telegram's real limits.

- A five-part reply under a 429 storm (every part refused once, on top of the per-chat
  window): all five parts arrive, in order, each exactly once.
- A busy group sending quick commands does not hold a private /status: its reply comes
  after a bounded count of the group's replies (counted at the fake, not timed).
- A fan-out on the same token does not hold it either: a bounded count of alert sends.
Texts are SYNTHETIC.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.models import Alert, Family, Message
from bot.transports.telegram import TelegramTransport
from bot.transports.telegram_render import render_html
from bot.wiring import Core
from tests.fakes.telegram_api import FakeTelegram, FloodLimits, too_many_requests

CHAT = 77  # a private chat
GROUP = -100_900
ASKER = 42


def five_parts() -> Message:
    lines = [f"line {n:03d} " + "synthetic reply text " * 4 for n in range(190)]
    return Message(title="Synthetic long answer", lines=lines)


@pytest.fixture
async def storm(fake_tg: FakeTelegram) -> AsyncIterator[None]:
    """Refuse the first try of every part sent to CHAT with a 429 (retry after 1 s)."""

    async def refuse_each_part() -> None:
        seen = -1
        while True:
            accepted = fake_tg.delivered(CHAT)
            if accepted != seen:
                seen = accepted
                fake_tg.fail("sendMessage", too_many_requests(1), chat_id=CHAT, times=1)
            await asyncio.sleep(0.005)

    task = asyncio.create_task(refuse_each_part())
    yield
    task.cancel()


async def test_a_five_part_reply_arrives_whole_in_order_once_through_429s(
    fake_tg: FakeTelegram, transport: TelegramTransport, storm: None
) -> None:
    fake_tg.enforce(FloodLimits())
    answer = five_parts()
    parts = render_html(answer, "Asia/Shanghai")
    assert len(parts) == 5
    await transport.reply(CHAT, answer)
    sent = [str(c.params["text"]) for c in fake_tg.accepted if c.chat_id == CHAT]
    assert sent == parts  # whole, in order, each part once
    refused = [f for c, f in fake_tg.refused if c.chat_id == CHAT and f.status == 429]
    assert len(refused) >= 5  # the storm: every part was refused at least once


async def test_a_busy_group_does_not_hold_status_in_another_chat(
    fake_tg: FakeTelegram, transport: TelegramTransport
) -> None:
    fake_tg.enforce(FloodLimits())
    for _ in range(12):
        fake_tg.send_text("/help", chat_id=GROUP, user_id=7)
    [first] = await fake_tg.wait_for("sendMessage", chat_id=GROUP, within_s=10)
    fake_tg.send_text("/status", chat_id=ASKER, user_id=ASKER)
    [status] = await fake_tg.wait_for("sendMessage", chat_id=ASKER, within_s=30)
    assert str(status.params["text"]).startswith("<b>Status</b>")
    group_before = [c for c in fake_tg.accepted if c.chat_id == GROUP and c.at < status.at]
    # The group's own replies go at its pace (one a second); /status did not queue behind
    # them: at most the one under way when it came, and the first one.
    assert len(group_before) <= 2, f"{len(group_before)} group replies came first"
    assert fake_tg.limit_429s == 0
    # And the group still gets every answer, in order of asking, in the end.
    await fake_tg.wait_for("sendMessage", count=12, chat_id=GROUP, within_s=30)
    assert first.at <= status.at


async def test_a_reply_goes_ahead_of_a_fan_out_on_the_same_token(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    """Alerts to 300 chats (SYNTHETIC) draining at the real limits through the token's
    shared windows; a /status typed meanwhile is answered after a handful of alert sends,
    not behind the backlog nor behind the bulk sends waiting for their turn."""
    fake_tg.enforce(FloodLimits())
    alert = Alert("fan-out", Family.MOVES, Message("STAR 50 +3.0% on the day"), core.clock.now())
    for chat in range(30_000_001, 30_000_301):
        assert await core.outbox.enqueue(alert, f"telegram:{chat}")
    # The very limiter the replies use (one process, one limiter: the harder case).
    shared = transport.limiter
    deliverer = Deliverer(
        core.outbox,
        {"telegram": transport.sender()},
        {"telegram": ratelimit.RateLimiter(ratelimit.TELEGRAM)},
        shared={"telegram": shared},
    )
    task = asyncio.create_task(deliverer.run(idle_block_ms=50))
    try:
        await fake_tg.wait_for("sendMessage", count=40, within_s=20)  # under way, full pace
        asked = len(fake_tg.accepted)
        fake_tg.send_text("/status", chat_id=ASKER, user_id=ASKER)
        [reply] = await fake_tg.wait_for("sendMessage", chat_id=ASKER, within_s=20)
    finally:
        deliverer.stop()
        async with asyncio.timeout(20):
            await task
    alerts_between = sum(
        1 for c in fake_tg.accepted[asked:] if c.chat_id != ASKER and c.at < reply.at
    )
    # Getting the update (a long poll) and answering take a few of the token's slots'
    # worth of time; the backlog (over 200 still queued) is not waited for.
    assert alerts_between <= 10, f"{alerts_between} alerts went out before the reply"
    assert fake_tg.limit_429s == 0
