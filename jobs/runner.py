"""Running jobs: forever on the wall clock, or in time order over a simulated clock.

A job is two things: a pure schedule (`next_run(now)`) and a step (`run_once(now)`).
Live, each job is its own asyncio task sleeping until its next run (drift-free: the
schedule is computed from the clock, not accumulated). In replay, one loop merges all
jobs' schedules on a heap and runs each step at its simulated time, so a replay is
deterministic and takes no wall time.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock, SimClock

log = logging.getLogger(__name__)


class Job(Protocol):
    name: str

    def next_run(self, now: datetime) -> datetime | None:
        """When to run next (strictly after `now`), or None for never."""
        ...

    async def run_once(self, now: datetime) -> None: ...


async def run_forever(job: Job, clock: Clock, error_backoff_s: float = 30.0) -> None:
    """Run a job on its schedule until cancelled; one failing step never stops it."""
    while True:
        now = clock.now()
        try:
            await job.run_once(now)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed; retrying in %.0fs", job.name, error_backoff_s)
            await clock.sleep_until(clock.now() + timedelta(seconds=error_backoff_s))
            continue
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # A library swallowed our cancellation mid-step (redis-py can, inside a
            # command): honour it here, or a short-period job would never stop.
            raise asyncio.CancelledError
        nxt = job.next_run(clock.now())
        if nxt is None:
            return
        await clock.sleep_until(nxt)


async def run_replay(
    jobs: Sequence[Job],
    clock: SimClock,
    until: datetime,
    after_step: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Run every job at its scheduled simulated times up to `until`. Returns steps run."""
    heap: list[tuple[datetime, int]] = []
    for i, job in enumerate(jobs):
        first = job.next_run(clock.now())
        if first is not None:
            heapq.heappush(heap, (first, i))
    steps = 0
    while heap:
        when, i = heapq.heappop(heap)
        if when > until:
            break
        clock.set(when)
        await jobs[i].run_once(when)
        steps += 1
        if after_step is not None:
            await after_step()
        nxt = jobs[i].next_run(when)
        if nxt is not None:
            heapq.heappush(heap, (nxt, i))
    return steps
