"""The *Backtest* button under /alerts, end to end on Telegram: /alerts carries one per
rule, and pressing it (a member may: it only reads) posts the rule's backtest with its
chart to the chat, while alert buttons keep their /alert meaning."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.state import keys
from bot.transports.telegram import TelegramTransport
from bot.wiring import Core
from tests.fakes.telegram_api import FakeTelegram
from tests.support.backtest_data import moves_series
from tests.wire.transports.telegram.test_commands_tg import ask, text_of

GROUP = -100500
ADMIN, MEMBER = 7, 8


async def test_alerts_lists_a_backtest_button_per_rule_and_it_answers_with_a_chart(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core, redis_client: Redis
) -> None:
    series = moves_series()  # SYNTHETIC closes (tests/support/backtest_data.py)
    mapping = {d.isoformat(): repr(c) for d, c in zip(series.dates, series.closes, strict=True)}
    await redis_client.hset(keys.daily("STAR50"), mapping=mapping)
    fake_tg.set_member(GROUP, ADMIN, "creator")
    await ask(fake_tg, "/alert add STAR50 1d up 2 hyst=1 cooldown=7d", chat_id=GROUP, user_id=ADMIN)
    await ask(fake_tg, "/alert add NDX above 26000", chat_id=GROUP, user_id=ADMIN)
    listing = await ask(fake_tg, "/alerts", chat_id=GROUP, user_id=MEMBER)
    assert "r1" in text_of(listing)
    rows = listing.params["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["Backtest r1", "Backtest r2"]]
    assert [b["callback_data"] for b in rows[0]] == ["bt:r1", "bt:r2"]

    fake_tg.push(fake_tg.callback_update("bt:r1", chat_id=GROUP, user_id=MEMBER))
    [answer] = await fake_tg.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "/backtest r1"
    [photo] = await fake_tg.wait_for("sendPhoto", chat_id=GROUP)
    sent = fake_tg.requests("sendMessage", chat_id=GROUP)
    body = " ".join([str(photo.params.get("caption") or "")] + [text_of(c) for c in sent])
    assert "Backtest: STAR 50 1d up 2%" in body
    assert "2025-09-24 +2.50%, 2025-10-09 +2.00%, 2025-10-16 +2.00%" in body
    assert [r.id for r in await core.store.rules_of(f"telegram:{GROUP}")] == ["r1", "r2"]
