"""/status accounts for every alert from the moment it is raised: fired, being handed to
chats, sent, pending (retrying), failed — macro prints included (they once skipped the
fired counter), on a real Redis."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.delivery.sending import Delivery, Outcome
from bot.models import Alert, ChatRef, Family, Message
from bot.wiring import build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.conftest import RedisServer
from tests.support.delivering import deliver_now

AT = datetime(2026, 1, 13, 2, 0, tzinfo=UTC)
CHATS = ["telegram:-1001", "telegram:-1002", "telegram:-1003", "telegram:-1004"]


class Sender:
    """Telegram as four chats see it: one removed the bot, one is flooded, two accept."""

    platform = "telegram"

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        if chat.key == CHATS[0]:
            return Delivery(Outcome.GONE, "bot was kicked")
        if chat.key == CHATS[1]:
            return Delivery(Outcome.RETRY, "flood control (429)", retry_after=30)
        return Delivery(Outcome.SENT)


async def status_lines(core: object) -> list[str]:
    answer = await handle(core, Command("telegram", CHATS[2], "u1", "status", ()))  # type: ignore[arg-type]
    return answer.lines


async def test_status_counts_fired_owed_sent_retrying_and_failed(
    redis_client: Redis, redis_server: RedisServer
) -> None:
    settings = Settings(_env_file=None, redis_url=redis_server.url, operators="telegram:900")  # type: ignore[call-arg]
    core = await build_core(settings, redis_client, SimClock(AT))
    for chat in CHATS:
        await core.store.subscribe(chat, Family.MOVES)
        await core.store.subscribe(chat, Family.MACRO)
    alert = Alert("synthetic-move-1", Family.MOVES, Message("STAR 50 +3.0% on the day"), AT)
    assert sorted(await core.service.raise_alert(alert) or []) == CHATS
    macro_set = ("set", "PPI", "-1.9", "2025-12")
    published = await handle(core, Command("telegram", "telegram:900", "900", "macro", macro_set))
    assert published.title.startswith("Published PPI"), published.title
    lines = await status_lines(core)
    assert "alerts: 2 fired, 0 being handed to chats, 0 muted" in lines
    assert "deliveries: 0 sent, 8 pending (0 retrying), 0 failed" in lines
    await deliver_now(core.outbox, {"telegram": Sender()})
    lines = await status_lines(core)
    assert "alerts: 2 fired, 0 being handed to chats, 0 muted" in lines
    # Of each alert: two chats accepted it, one is gone (dead-lettered), and the flooded
    # chat waits: its first alert retrying, its second queued behind it (a chat's alerts
    # go out in order).
    assert "deliveries: 4 sent, 2 pending (1 retrying), 2 failed" in lines
