"""Command replies on Telegram go through the token's limits and never wait on another
chat (issue 17 items 2 and 3), against the fake Bot API policing Telegram's real limits.

- A five-part reply under a 429 storm (every part refused once, on top of the per-chat
  window): all five parts arrive, in order, each exactly once.
- A busy group sending quick commands does not hold a private /status: its reply comes
  after a bounded count of the group's replies (counted at the fake, not timed).
Texts are SYNTHETIC.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.models import Message
from bot.transports.telegram import TelegramTransport
from bot.transports.telegram_render import render_html
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
