"""Alerts from the outbox to Telegram: rendering on the wire, and every failure class
(403, migration, 429, 5xx, 400, an entity-parse error) acted on as it should be."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.clock import SimClock
from bot.delivery.outbox import RETRY_DUE
from bot.delivery.sending import Outcome, Sender
from bot.models import Alert, Button, ChatRef, Family, Message
from bot.state import keys
from bot.transports.telegram import TelegramTransport
from bot.transports.telegram_render import MESSAGE_LIMIT
from bot.wiring import Core
from handlers.base import Command
from handlers.dispatch import handle
from tests.fakes.telegram_api import (
    FakeTelegram,
    bad_request,
    forbidden,
    migrated,
    server_error,
    too_many_requests,
)
from tests.support.delivering import deliver_now

AT = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
HEADLINE = Message(
    title="CSRC: <b>servers</b> for HFT & co > 300 orders/s must go",
    fields=[("STAR 50", "1,479.20"), ("1D", "−0.2%")],
    lines=["<script>alert(1)</script> & <a href='x'>more</a>"],
    source="csrc.gov.cn <rss>",
    at=AT,
    buttons=[Button("Mute 1h", "mute:r1:3600"), Button("Remove rule", "rm:r1")],
)


def alert(message: Message, alert_id: str = "a1", owner: str | None = None) -> Alert:
    return Alert(alert_id, Family.HEADLINES, message, AT, rule_id="r1", owner=owner)


def senders(transport: TelegramTransport) -> dict[str, Sender]:
    return {"telegram": transport.sender()}


async def test_headline_text_is_rendered_safely_with_buttons(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    await core.outbox.enqueue(alert(HEADLINE), "telegram:42")
    assert await deliver_now(core.outbox, senders(transport)) == 1
    [sent] = fake_tg.requests("sendMessage", chat_id=42)
    text = sent.params["text"]
    assert text.startswith(
        "<b>CSRC: &lt;b&gt;servers&lt;/b&gt; for HFT &amp; co &gt; 300 orders/s must go</b>"
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;a href='x'&gt;more&lt;/a&gt;" in text
    assert text.endswith("<i>csrc.gov.cn &lt;rss&gt; · Thu 15 Jan 14:00 CST</i>")
    assert set(re.findall(r"</?([a-z]+)", text)) == {"b", "code", "i"}
    assert sent.params["parse_mode"] == "HTML"
    buttons = sent.params["reply_markup"]["inline_keyboard"]
    assert [b["callback_data"] for b in buttons[0]] == ["mute:r1:3600", "rm:r1"]


async def test_a_5000_character_message_is_split(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    lines = [f"{i:03d} " + "é" * 46 for i in range(100)]  # 5,000 characters
    message = Message("Long table", lines=lines, preformatted=True, buttons=HEADLINE.buttons)
    await core.outbox.enqueue(alert(message), "telegram:42")
    assert await deliver_now(core.outbox, senders(transport)) == 1
    parts = fake_tg.requests("sendMessage", chat_id=42)
    assert len(parts) == 2
    texts = [p.params["text"] for p in parts]
    assert all(len(t) <= MESSAGE_LIMIT for t in texts)
    assert texts[0].endswith("</pre>")
    assert texts[1].startswith("<pre>")
    assert "reply_markup" not in parts[0].params  # the buttons go under the last part
    assert "reply_markup" in parts[1].params
    received = "\n".join(re.sub(r"</?\w+>", "", t) for t in texts).splitlines()
    assert received == ["Long table", *lines]


async def test_blocked_chat_is_deactivated_until_start(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    blocked, other = "telegram:555", "telegram:556"
    for chat in (blocked, other):
        await core.store.subscribe(chat, Family.HEADLINES)
        await core.store.subscribe(chat, Family.MACRO)
    fake_tg.fail("sendMessage", forbidden(), chat_id=555, times=-1)
    queued = await core.service.dispatch(alert(HEADLINE))
    assert queued == [blocked, other]
    assert await deliver_now(core.outbox, senders(transport)) == 1  # the other chat still got it
    assert len(fake_tg.requests("sendMessage", chat_id=556)) == 1
    assert await core.outbox.dead() == 1
    [(_, dead)] = await core.redis.xrange(keys.OUTBOX_DEAD)
    assert dead["reason"] == "Forbidden: bot was blocked by the user"
    assert await core.store.subscriptions(blocked) == []
    assert await core.store.subscriptions(other) == [Family.HEADLINES, Family.MACRO]
    # its own rules' alerts are not even queued while it is away
    assert await core.service.dispatch(alert(HEADLINE, "a2", owner=blocked)) == []
    # the user unblocks the bot and says /start: everything comes back as it was
    fake_tg.clear_failures()
    fake_tg.send_text("/start", chat_id=555, user_id=555)
    [welcome] = (await fake_tg.wait_for("sendMessage", chat_id=555, count=2))[1:]
    assert "Welcome back" in welcome.params["text"]
    assert await core.store.subscriptions(blocked) == [Family.HEADLINES, Family.MACRO]
    assert not await core.store.is_dormant(blocked)


async def test_migrated_group_moves_rules_and_gets_the_alert(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    old, new = "telegram:-777", "telegram:-100777"
    await handle(
        core, Command("telegram", old, "7", "alert", ("add", "STAR50", "1d", "up", "3"), True)
    )
    await core.store.subscribe(old, Family.MOVES)
    until = core.clock.now().timestamp() + 600
    await core.store.mute(old, until, 600)
    fake_tg.fail("sendMessage", migrated(-100777), chat_id=-777)
    await core.outbox.enqueue(alert(HEADLINE, owner=old), old)
    await deliver_now(core.outbox, senders(transport))
    await deliver_now(core.outbox, senders(transport))
    assert len(fake_tg.requests("sendMessage", chat_id=-100777)) == 1
    assert await core.outbox.dead() == 0
    assert [r.id for r in await core.store.rules_of(new)] == ["r1"]
    assert await core.store.rules_of(old) == []
    assert core.service.engine.rules["r1"].owner == new
    assert await core.store.subscriptions(new) == [Family.MOVES]
    assert await core.store.subscriptions(old) == []
    assert await core.store.muted_until(new) == until


async def test_flood_control_waits_retry_after(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core, clock: SimClock
) -> None:
    fake_tg.fail("sendMessage", too_many_requests(7), chat_id=42)
    await core.outbox.enqueue(alert(HEADLINE), "telegram:42")
    assert await deliver_now(core.outbox, senders(transport)) == 0
    [(entry, due)] = await core.redis.zrange(RETRY_DUE, 0, -1, withscores=True)
    assert due == clock.now().timestamp() + 7
    clock.set(clock.now() + timedelta(seconds=6))
    assert await deliver_now(core.outbox, senders(transport)) == 0  # not yet
    clock.set(clock.now() + timedelta(seconds=1))
    assert await deliver_now(core.outbox, senders(transport)) == 1
    assert len(fake_tg.requests("sendMessage", chat_id=42)) == 2


async def test_server_errors_are_retried_and_bad_requests_are_not(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    sender = transport.sender()
    fake_tg.fail("sendMessage", server_error(502), chat_id=42)
    result = await sender.send(_ref("telegram:42"), HEADLINE)
    assert result.outcome is Outcome.RETRY
    assert result.reason == "network: Bad Gateway"
    fake_tg.fail("sendMessage", server_error(500), chat_id=42)
    assert (await sender.send(_ref("telegram:42"), HEADLINE)).outcome is Outcome.RETRY
    fake_tg.fail("sendMessage", bad_request("chat not found"), chat_id=43)
    gone = await sender.send(_ref("telegram:43"), HEADLINE)
    assert gone.outcome is Outcome.GONE
    assert gone.reason == "bad request: Chat not found"
    assert len(fake_tg.requests("sendMessage", chat_id=43)) == 1  # never retried blindly
    assert (await sender.send(_ref("telegram:42"), HEADLINE)).outcome is Outcome.SENT


async def test_entity_parse_error_is_resent_once_as_plain_text(
    fake_tg: FakeTelegram, transport: TelegramTransport
) -> None:
    fake_tg.fail(
        "sendMessage", bad_request("can't parse entities: Unsupported start tag"), chat_id=42
    )
    result = await transport.sender().send(_ref("telegram:42"), HEADLINE)
    assert result.outcome is Outcome.SENT
    first, second = fake_tg.requests("sendMessage", chat_id=42)
    assert first.params["parse_mode"] == "HTML"
    assert "parse_mode" not in second.params
    assert second.params["text"].startswith("CSRC: <b>servers</b> for HFT & co")
    # a second parse error is not retried again
    fake_tg.fail("sendMessage", bad_request("can't parse entities: again"), chat_id=42, times=2)
    again = await transport.sender().send(_ref("telegram:42"), HEADLINE)
    assert again.outcome is Outcome.GONE
    assert len(fake_tg.requests("sendMessage", chat_id=42)) == 4


async def test_images_go_with_send_photo(
    fake_tg: FakeTelegram, transport: TelegramTransport
) -> None:
    png = b"\x89PNG\r\n\x1a\n synthetic"
    short = Message("Divergence", lines=["STAR 50 vs NDX +11.6pp mtd"], image=png)
    assert (await transport.sender().send(_ref("telegram:42"), short)).outcome is Outcome.SENT
    [photo] = fake_tg.requests("sendPhoto")
    assert photo.files == ("photo",)
    assert photo.params["caption"].startswith("<b>Divergence</b>")
    long = Message("Divergence", lines=["x" * 60] * 30, image=png)
    await transport.sender().send(_ref("telegram:42"), long)
    second = fake_tg.requests("sendPhoto")[1]
    assert "caption" not in second.params
    assert (
        fake_tg.requests("sendMessage", chat_id=42)[-1]
        .params["text"]
        .startswith("<b>Divergence</b>")
    )


def _ref(key: str) -> ChatRef:
    return ChatRef.parse(key)
