"""bot.tasks.stop_tasks: a background task that swallows a cancel still ends."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bot.tasks import stop_tasks


async def _stubborn() -> None:
    with contextlib.suppress(asyncio.CancelledError):  # as redis-py's send under 3.11 did
        await asyncio.sleep(60)
    await asyncio.sleep(60)


async def _failing() -> None:
    raise RuntimeError("feed parser broke")


async def test_a_task_that_swallows_a_cancel_is_cancelled_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubborn = asyncio.create_task(_stubborn(), name="stubborn")
    failing = asyncio.create_task(_failing(), name="failing")
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_tasks([stubborn, failing], grace_s=0.05), timeout=5)
    assert stubborn.cancelled()
    assert "task stubborn ignored a cancel; cancelling again" in caplog.text
    assert "task failing failed: RuntimeError('feed parser broke')" in caplog.text
