"""Running the real Deliverer in a test until a condition holds, then stopping it cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.delivery.deliverer import Deliverer


async def deliver_until(
    deliverer: Deliverer, done: Callable[[], bool], limit_s: float = 20.0
) -> None:
    task = asyncio.create_task(deliverer.run(idle_block_ms=50))
    try:
        async with asyncio.timeout(limit_s):
            while not done():  # noqa: ASYNC110 - polling the fake's log, test only
                await asyncio.sleep(0.01)
    finally:
        deliverer.stop()
        async with asyncio.timeout(10):
            await task
