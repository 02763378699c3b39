"""Each chat's updates in the order they came, chats side by side, and a flooding chat's
excess dropped (bot.transports.chat_order, bot.transports.telegram_updates), through
python-telegram-bot's own update processor entry point (`process_update`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.transports.telegram_updates import MAX_QUEUED_PER_CHAT, PerChatUpdateProcessor

DATE = datetime.fromtimestamp(1582324717, UTC)  # synthetic


def update(n: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE if chat_id > 0 else Chat.SUPERGROUP)
    return Update(n, message=Message(n, date=DATE, chat=chat, text=f"/help {n}"))


async def test_one_chat_in_order_while_another_chat_is_not_held() -> None:
    processor = PerChatUpdateProcessor()
    done: list[str] = []
    release = asyncio.Event()

    async def slow(name: str) -> None:
        await release.wait()
        done.append(name)

    async def quick(name: str) -> None:
        done.append(name)

    tasks = [
        asyncio.create_task(processor.process_update(update(1, -5), slow("group 1"))),
        asyncio.create_task(processor.process_update(update(2, -5), quick("group 2"))),
        asyncio.create_task(processor.process_update(update(3, 42), quick("private"))),
    ]
    await asyncio.sleep(0.05)
    assert done == ["private"]  # the group's slow command held only the group
    release.set()
    await asyncio.gather(*tasks)
    assert done == ["private", "group 1", "group 2"]  # the group's own order kept
    assert len(processor.order) == 0  # idle chats cost nothing


async def test_a_flooding_chat_has_its_excess_dropped() -> None:
    processor = PerChatUpdateProcessor()
    ran: list[int] = []
    release = asyncio.Event()

    async def command(n: int) -> None:
        await release.wait()
        ran.append(n)

    flood = MAX_QUEUED_PER_CHAT + 5
    tasks = [
        asyncio.create_task(processor.process_update(update(n, -7), command(n)))
        for n in range(flood)
    ]
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(*tasks)
    assert ran == list(range(MAX_QUEUED_PER_CHAT))
