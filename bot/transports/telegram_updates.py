"""Telegram updates handled concurrently, each chat's in order.

python-telegram-bot hands each update to an update processor
(`ApplicationBuilder().concurrent_updates(processor)`); by default it runs them one at a
time, so one chat's slow command (a reply waiting out a 429, a chart being drawn) held
every other chat's. `PerChatUpdateProcessor` runs up to `max_concurrent_updates` at once
and gives each chat its turn (bot.transports.chat_order): a chat's updates run one after
another in the order they came, other chats' run meanwhile. Updates without a chat run
at once.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.transports.chat_order import ChatOrder

MAX_CONCURRENT_UPDATES = 256


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
        async with self.order.turn(chat.id):
            await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
