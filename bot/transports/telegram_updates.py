"""Telegram updates handled concurrently, each chat's in order.

python-telegram-bot hands each update to an update processor
(`ApplicationBuilder().concurrent_updates(processor)`); by default it runs them one at a
time, so one chat's slow command (a reply waiting out a 429, a chart being drawn) held
every other chat's. `PerChatUpdateProcessor` runs up to `max_concurrent_updates` at once
and gives each chat its turn (bot.transports.chat_order): a chat's updates run one after
another in the order they came, other chats' run meanwhile. Updates without a chat run
at once. A chat with `MAX_QUEUED_PER_CHAT` updates already waiting (it sends commands
faster than its replies may go: 20 a minute in a group) has the excess dropped with a log
line, so one chat can never fill the processor's slots and hold the others.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.transports.chat_order import ChatOrder

log = logging.getLogger(__name__)
MAX_CONCURRENT_UPDATES = 256
MAX_QUEUED_PER_CHAT = 20


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self.order = ChatOrder()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        if self.order.queued(chat.id) >= MAX_QUEUED_PER_CHAT:
            log.warning(
                "telegram: chat %s has %d commands waiting; one dropped",
                chat.id,
                MAX_QUEUED_PER_CHAT,
            )
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # never run: no "never awaited" warning
            return
        async with self.order.turn(chat.id):
            await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
