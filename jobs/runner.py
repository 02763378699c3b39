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
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock, SimClock
from bot.market.sessions import Market
from bot.rules.backlog import UNREACHABLE

log = logging.getLogger(__name__)
REDIS_BACKOFF_S = (0.25, 5.0)  # first and longest pause after Redis was unreachable
BUG_BACKOFF_S = (1.0, 30.0)  # ... after any other failure


class Job(Protocol):
    name: str

    def next_run(self, now: datetime) -> datetime | None:
        """When to run next (strictly after `now`), or None for never."""
        ...

    async def run_once(self, now: datetime) -> None: ...


def after_closes(markets: Iterable[Market], now: datetime, delay: timedelta) -> list[datetime]:
    """For a job that runs `delay` after each close of these markets: the latest close's
    instant while it is still ahead, and the current or next session's."""
    out = []
    for market in markets:
        done = market.last_session_before(now)
        if done is not None and done.close + delay > now:
            out.append(done.close + delay)
        upcoming = market.session_at(now) or market.next_session(now)
        if upcoming is not None:
            out.append(upcoming.close + delay)
    return out


def earliest_after(now: datetime, candidates: Iterable[datetime]) -> datetime | None:
    """The earliest of the candidates strictly after `now` (a job's next run), or None."""
    later = [c for c in candidates if c > now]
    return min(later) if later else None


def error_backoff_s(failures: int, redis_unreachable: bool) -> float:
    """The pause after the `failures`-th failed step in a row: Redis being unreachable
    costs one short step (0.25 s, doubling to 5 s), so a job is back within a step of Redis
    answering; our own bug backs off further (1 s, doubling to 30 s)."""
    first, longest = REDIS_BACKOFF_S if redis_unreachable else BUG_BACKOFF_S
    return float(min(longest, first * 2 ** max(0, failures - 1)))


async def run_forever(job: Job, clock: Clock) -> None:
    """Run a job on its schedule until cancelled; one failing step never stops it."""
    failures = 0
    while True:
        now = clock.now()
        try:
            await job.run_once(now)
        except asyncio.CancelledError:
            raise
        except UNREACHABLE as exc:
            failures += 1
            pause = error_backoff_s(failures, redis_unreachable=True)
            log.warning(
                "job %s: Redis unreachable (%s); again in %.2fs",
                job.name,
                type(exc).__name__,
                pause,
            )
            await clock.sleep_until(clock.now() + timedelta(seconds=pause))
            continue
        except Exception:
            failures += 1
            pause = error_backoff_s(failures, redis_unreachable=False)
            log.exception("job %s failed; retrying in %.0fs", job.name, pause)
            await clock.sleep_until(clock.now() + timedelta(seconds=pause))
            continue
        failures = 0
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
