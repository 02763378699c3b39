"""Telegram updates handled concurrently, each chat's in order.

python-telegram-bot hands each update to an update processor
(`ApplicationBuilder().concurrent_updates(processor)`); by default it runs them one at a
time, so one chat's slow command (a reply waiting out a 429, a chart being drawn) held
every other chat's. `PerChatUpdateProcessor` runs up to `max_concurrent_updates` at once
and keeps one queue per chat: a chat's updates run one after another in the order they
came (a FIFO lock per chat, taken in arrival order), while other chats' run meanwhile.
Updates without a chat run at once. A chat's lock is dropped when no update holds or
waits for it, so idle chats cost nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 256


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within a chat."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}  # chat id -> lock, users

    def __len__(self) -> int:
        return len(self._chats)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock, users = self._chats.get(chat.id, (asyncio.Lock(), 0))
        self._chats[chat.id] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock wakes its waiters first come, first served
                await coroutine
        finally:
            lock, users = self._chats[chat.id]
            if users <= 1:
                del self._chats[chat.id]
            else:
                self._chats[chat.id] = (lock, users - 1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
