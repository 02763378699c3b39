"""Running the real Deliverer in a test: one pass (`deliver_now`), or until a condition
holds, then stopping it cleanly (`deliver_until`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import Outbox
from bot.delivery.sending import Sender


async def deliver_now(outbox: Outbox, senders: Mapping[str, Sender]) -> int:
    """One pass of the live delivery loop on the outbox's clock, as `divbot replay` runs
    it: what is queued and due goes out, one send at a time. Returns sends made."""
    loop = Deliverer(
        outbox, dict(senders), {}, max_in_flight=1, now=lambda: outbox.clock.now().timestamp()
    )
    return await loop.drain()


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
