"""Every command end to end: an update into the fake Bot API, polled by the real PTB
Application, through handlers.dispatch.handle, and the reply as it reached the wire."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.models import Family, Quote
from bot.state import keys
from bot.transports.telegram import TelegramTransport
from bot.wiring import Core
from handlers.dispatch import REFUSAL
from tests.conftest import RedisServer
from tests.fakes.telegram_api import Call, FakeTelegram, too_many_requests
from tests.wire.transports.telegram.conftest import tg_settings

GROUP = -100500
ADMIN, MEMBER = 7, 8
PRIVATE = 42


async def ask(fake: FakeTelegram, text: str, **kwargs: object) -> Call:
    """Send one message as a user; return the bot's reply as it reached the wire."""
    seen = len(fake.requests("sendMessage"))
    fake.send_text(text, **kwargs)  # type: ignore[arg-type]
    return (await fake.wait_for("sendMessage", count=seen + 1))[seen]


def text_of(call: Call) -> str:
    return str(call.params["text"])


async def test_start_help_and_menu(fake_tg: FakeTelegram, transport: TelegramTransport) -> None:
    [menu] = fake_tg.requests("setMyCommands")
    names = [c["command"] for c in menu.params["commands"]]
    assert names[:3] == ["start", "help", "quote"]
    assert "status" in names
    start = await ask(fake_tg, "/start")
    assert start.params["parse_mode"] == "HTML"
    assert text_of(start).startswith("<b>Divergence Bot</b>")
    assert "This chat gets: moves, spreads, headlines, macro" in text_of(start)
    help_all = await ask(fake_tg, "/help")
    assert "/alert add|rm|pause|resume|mute …" in text_of(help_all)
    help_one = text_of(await ask(fake_tg, "/help alert"))
    assert help_one.startswith("<b>/alert: manage this chat's alert rules</b>\nusage: /alert")


async def test_quote_and_status(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    at = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
    await core.service.on_quotes([Quote("STAR50", 1506.86, at, date(2026, 1, 12), "test")], at)
    quote = text_of(await ask(fake_tg, "/quote STAR50"))
    assert "<pre>" in quote
    assert "STAR 50" in quote
    assert "1,506.86" in quote
    status = text_of(await ask(fake_tg, "/status"))
    assert status.startswith("<b>Status</b>")
    assert "deliveries: 0 sent, 0 pending (0 retrying), 0 failed" in status


async def test_alert_lifecycle_in_a_group_by_an_admin(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    fake_tg.set_member(GROUP, ADMIN, "administrator")
    chat = f"telegram:{GROUP}"
    group = {"chat_id": GROUP, "user_id": ADMIN}
    added = await ask(fake_tg, "/alert@DivergenceTestBot add STAR50 1d up 3", **group)
    assert text_of(added).startswith("<b>Added rule r1: STAR 50 1d up 3%</b>")
    assert added.chat_id == GROUP
    assert [r.id for r in await core.store.rules_of(chat)] == ["r1"]
    listed = text_of(await ask(fake_tg, "/alerts", **group))
    assert "r1    STAR 50 1d up 3% · waiting for a first quote" in listed
    assert text_of(await ask(fake_tg, "/alert pause r1", **group)).startswith("<b>Rule r1 paused")
    assert text_of(await ask(fake_tg, "/alert resume r1", **group)).startswith(
        "<b>Rule r1 waiting for a first quote"
    )
    muted = text_of(await ask(fake_tg, "/alert mute r1 2h", **group))
    assert muted.startswith("<b>Rule r1 muted here for 2h")
    assert await core.store.rule_muted_until(chat, "r1") is not None
    assert text_of(await ask(fake_tg, "/alert rm r1", **group)).startswith("<b>Removed rule r1")
    assert await core.store.rules_of(chat) == []
    # the admin check was asked once and then cached for the following commands
    assert len(fake_tg.requests("getChatMember")) == 1
    assert await core.redis.get(keys.telegram_admin(chat, ADMIN)) == "1"


async def test_subscriptions_and_mutes(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    chat = f"telegram:{PRIVATE}"
    sub = text_of(await ask(fake_tg, "/subscribe digest macro"))
    assert sub.startswith("<b>Subscribed: digest, macro</b>")
    unsub = text_of(await ask(fake_tg, "/unsubscribe macro"))
    assert "This chat gets: digest" in unsub
    assert await core.store.subscriptions(chat) == [Family.DIGEST]
    assert text_of(await ask(fake_tg, "/mute 2h")).startswith("<b>Muted for 2h</b>")
    assert await core.store.muted_until(chat) is not None
    assert text_of(await ask(fake_tg, "/unmute")).startswith("<b>Unmuted</b>")
    assert await core.store.muted_until(chat) is None


async def test_unknown_command_points_to_help_and_other_bots_are_ignored(
    fake_tg: FakeTelegram, transport: TelegramTransport
) -> None:
    unknown = text_of(await ask(fake_tg, "/frobnicate"))
    assert unknown == "<b>Unknown command /frobnicate</b>\nTry /help for the list."
    fake_tg.send_text("/help@SomeOtherBot")
    fake_tg.send_text("just chatting, not a command")
    # updates run in order: once /status is answered, the two above were handled
    status = await ask(fake_tg, "/status")
    assert len(fake_tg.requests("sendMessage")) == 2
    assert text_of(status).startswith("<b>Status</b>")


async def test_non_admin_in_a_group_is_refused_and_nothing_changes(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core, redis_client: Redis
) -> None:
    before = sorted(await redis_client.keys("*"))
    member = {"chat_id": GROUP, "user_id": MEMBER}
    refused = await ask(fake_tg, "/alert add STAR50 1d up 3", **member)
    assert text_of(refused) == f"<b>{REFUSAL}</b>"
    assert refused.params["reply_parameters"]["message_id"] > 0  # answers the asker
    for text in ("/subscribe moves", "/mute 1h", "/unsubscribe all"):
        assert text_of(await ask(fake_tg, text, **member)) == f"<b>{REFUSAL}</b>"
    after = set(await redis_client.keys("*")) - {keys.telegram_admin(f"telegram:{GROUP}", MEMBER)}
    after = {k for k in after if not k.startswith("divbot:rate:")}  # the replies' send slots
    assert sorted(after) == before
    # reading is for everyone
    assert "No alert rules" in text_of(await ask(fake_tg, "/alerts", **member))


async def test_edited_command_is_never_run(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    fake_tg.push(fake_tg.message_update("/alert add STAR50 1d up 3", edited=True))
    listed = await ask(fake_tg, "/alerts")
    assert len(fake_tg.requests("sendMessage")) == 1
    assert "No alert rules" in text_of(listed)
    assert await core.store.all_rules() == []


async def test_user_text_in_replies_is_escaped(
    fake_tg: FakeTelegram, transport: TelegramTransport
) -> None:
    reply = text_of(await ask(fake_tg, "/subscribe <b>&amp;"))
    assert (
        reply == "<b>unknown family '&lt;b&gt;&amp;amp;'; families: moves spreads headlines macro "
        "digest, or all</b>"
    )


async def test_button_mutes_a_rule_for_an_hour(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    fake_tg.set_member(GROUP, ADMIN, "creator")
    chat = f"telegram:{GROUP}"
    await ask(fake_tg, "/alert add STAR50 1d up 3", chat_id=GROUP, user_id=ADMIN)
    fake_tg.push(fake_tg.callback_update("mute:r1:3600", chat_id=GROUP, user_id=ADMIN))
    [answer] = await fake_tg.wait_for("answerCallbackQuery")
    assert answer.params["text"].startswith("Rule r1 muted here for 1h")
    until = await core.store.rule_muted_until(chat, "r1")
    assert until == core.clock.now().timestamp() + 3600
    [edit] = await fake_tg.wait_for("editMessageText")
    assert edit.params["text"].endswith("<i>Rule r1 muted here for 1h by Test</i>")
    assert "reply_markup" in edit.params  # still removable after a mute


async def test_button_from_a_non_admin_changes_nothing(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    fake_tg.set_member(GROUP, ADMIN, "administrator")
    chat = f"telegram:{GROUP}"
    await ask(fake_tg, "/alert add STAR50 1d up 3", chat_id=GROUP, user_id=ADMIN)
    fake_tg.push(fake_tg.callback_update("rm:r1", chat_id=GROUP, user_id=MEMBER))
    [answer] = await fake_tg.wait_for("answerCallbackQuery")
    assert answer.params["text"] == REFUSAL
    assert answer.params["show_alert"] is True
    assert [r.id for r in await core.store.rules_of(chat)] == ["r1"]
    assert fake_tg.requests("editMessageText") == []
    fake_tg.push(fake_tg.callback_update("drop:everything", chat_id=GROUP, user_id=ADMIN))
    [_, stale] = await fake_tg.wait_for("answerCallbackQuery", count=2)
    assert stale.params["text"] == "This button no longer works."


@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=st.lists(st.text(st.characters(codec="utf-8"), max_size=12), max_size=6))
async def test_random_alert_add_arguments(
    fake_tg: FakeTelegram,
    transport: TelegramTransport,
    redis_client: Redis,
    words: list[str],
) -> None:
    reply = text_of(await ask(fake_tg, " ".join(["/alert", "add", *words])))
    assert "Sorry" not in reply  # never a crash
    if not reply.startswith("<b>Added"):
        assert "\n" not in reply
        assert reply.startswith("<b>")
        assert reply.endswith("</b>")
        assert await redis_client.hlen(keys.RULES) == 0
    await redis_client.delete(keys.RULES, keys.RULE_SEQ, keys.chat_rules(f"telegram:{PRIVATE}"))
    # Each example is a chat of its own: not held by the last one's reply (1 a second).
    await redis_client.delete(*[k async for k in redis_client.scan_iter("divbot:rate:*")])


async def test_only_allowed_chats_are_served(
    fake_tg: FakeTelegram, core: Core, redis_server: RedisServer
) -> None:
    settings = tg_settings(redis_server, fake_tg, allowed_chats="telegram:42, telegram:-1009")
    transport = TelegramTransport(settings, core)
    await transport.start()
    try:
        fake_tg.send_text("/help", chat_id=43, user_id=43)
        await ask(fake_tg, "/help", chat_id=42)
    finally:
        await transport.stop()
    assert [c.chat_id for c in fake_tg.requests("sendMessage")] == [42]


async def test_anonymous_group_admin_may_change_rules(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    group = fake_tg.chat(GROUP)
    reply = await ask(
        fake_tg,
        "/subscribe moves",
        chat_id=GROUP,
        user_id=1087968824,  # Telegram's GroupAnonymousBot
        first_name="Group",
        sender_chat=group,
    )
    assert text_of(reply).startswith("<b>Subscribed: moves</b>")
    assert fake_tg.requests("getChatMember") == []


async def test_group_upgrade_notice_moves_the_rules(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    old, new = "telegram:-888", "telegram:-100888"
    fake_tg.set_member(-888, ADMIN, "creator")
    await ask(fake_tg, "/alert add STAR50 1d up 3", chat_id=-888, chat_type="group", user_id=ADMIN)
    fake_tg.send_text("", chat_id=-888, chat_type="group", migrate_to_chat_id=-100888)
    await ask(fake_tg, "/alerts", chat_id=-100888, user_id=ADMIN)  # handled after the notice
    assert [r.owner for r in await core.store.rules_of(new)] == [new]
    assert await core.store.rules_of(old) == []
    assert core.service.engine.rules["r1"].owner == new


async def test_a_reply_refused_with_429_is_sent_after_retry_after(
    fake_tg: FakeTelegram, transport: TelegramTransport
) -> None:
    fake_tg.fail("sendMessage", too_many_requests(1), chat_id=PRIVATE, times=1)
    seen = len(fake_tg.requests("sendMessage"))
    fake_tg.send_text("/status", chat_id=PRIVATE)
    refused, answered = await fake_tg.wait_for("sendMessage", count=seen + 2)
    assert refused.params["text"] == answered.params["text"]
    assert "Status" in text_of(answered)
    assert answered.at - refused.at >= 1.0  # not inside the retry_after window


async def test_a_4000_character_command_gets_one_short_reply_on_the_wire(
    fake_tg: FakeTelegram, transport: TelegramTransport
) -> None:
    """Issue 17.7 through the real transport: an error echoed what was typed, up to 4,084
    characters over five messages; now one message with at most a 40-character excerpt."""
    word = "z" * 4000
    for text in (
        f"/alert add STAR50 1d up {word}",
        f"/subscribe {word}",
        f"/timezone {word}",
        f"/calendar {'9' * 4000}",
        f"/help {word}",
    ):
        seen = len(fake_tg.requests("sendMessage"))
        fake_tg.send_text(text, chat_id=PRIVATE)
        calls = await fake_tg.wait_for("sendMessage", count=seen + 1)
        reply = text_of(calls[seen])
        assert "z" * 41 not in reply
        assert "9" * 41 not in reply
        assert len(reply) < 1000, reply
        assert "/divbot" not in reply
    # nothing more was sent: each reply was one message
    await transport.application.update_queue.join()
    assert len(fake_tg.requests("sendMessage")) == 5
