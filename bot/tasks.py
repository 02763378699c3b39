"""Stopping background tasks for sure: cancel, wait a bounded time, cancel again.

A library that swallows a cancel (redis-py's send under Python 3.11's `wait_for` did, see
bot.state.connect) must not hang a shutdown or a leader stepping down: a task still
running after the grace period is named in a warning and cancelled again until it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

log = logging.getLogger(__name__)

GRACE_S = 5.0


async def stop_tasks(tasks: Sequence[asyncio.Task[None]], grace_s: float = GRACE_S) -> None:
    """Cancel `tasks` and return once every one has ended (their errors are logged)."""
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    while pending:
        _, pending = await asyncio.wait(pending, timeout=grace_s)
        for task in pending:
            log.warning("task %s ignored a cancel; cancelling again", task.get_name())
            task.cancel()
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed: %r", task.get_name(), task.exception())
