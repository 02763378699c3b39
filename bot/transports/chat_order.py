"""Each chat's commands one after another, in the order they came; chats side by side.

`ChatOrder.turn(chat)` is a FIFO turn per chat key (an asyncio.Lock, which wakes its
waiters first come, first served): a chat's second command waits for its first, another
chat's does not. A chat's lock is dropped once nobody holds or waits for it, so idle
chats cost nothing. Used by the Telegram update processor and the Slack listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class ChatOrder:
    def __init__(self) -> None:
        self._chats: dict[Hashable, tuple[asyncio.Lock, int]] = {}  # chat -> lock, users

    def __len__(self) -> int:
        return len(self._chats)

    def queued(self, chat: Hashable) -> int:
        """How many commands of `chat` hold or wait for its turn."""
        return self._chats.get(chat, (None, 0))[1]

    @contextlib.asynccontextmanager
    async def turn(self, chat: Hashable) -> AsyncIterator[None]:
        lock, users = self._chats.get(chat, (asyncio.Lock(), 0))
        self._chats[chat] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._chats[chat]
            if users <= 1:
                del self._chats[chat]
            else:
                self._chats[chat] = (lock, users - 1)
