"""The Redis client the bot opens, against a real redis-server: a task told to stop, stops.

redis-py bounds each send with `socket_timeout`; on Python 3.11 it did so with
`asyncio.wait_for`, which drops a cancel that lands just as the send finishes (CPython
gh-86296). A watcher told to stop then carried on, and the app's shutdown waited for it
for ever (CI on 2026-12-02: two app tests hung for 60 s each).
"""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.state.connect import open_redis


async def _commands_until_cancelled(redis: object) -> None:
    while True:
        await redis.get("divbot:test:cancel")  # type: ignore[attr-defined]


async def test_a_task_cancelled_mid_command_always_stops(settings: Settings) -> None:
    redis = open_redis(settings)
    swallowed: list[int] = []
    try:
        # Cancel after 0, 1, 2, ... turns of the loop: the sweep lands the cancel on every
        # step of a command (acquire, send, drain, read), the racy one included.
        for turns in range(200):
            task = asyncio.create_task(_commands_until_cancelled(redis))
            for _ in range(turns % 40):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=0.5)
            if not done:
                swallowed.append(turns)
                while not task.done():  # stop it for good before the next round
                    task.cancel()
                    await asyncio.wait([task], timeout=0.1)
            else:
                assert task.cancelled(), task
        assert swallowed == [], f"cancel swallowed after these loop turns: {swallowed[:10]}"
        assert await redis.ping()  # the cancels left the pool usable
    finally:
        await redis.aclose()
