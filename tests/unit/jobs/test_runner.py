"""The job runner's error handling: a Redis outage costs a job one short backoff step (not
the 30 s an unexpected failure once cost), and a job's own bug backs off further."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.clock import SimClock
from jobs.runner import error_backoff_s, run_forever

START = datetime(2026, 1, 13, 2, 0, tzinfo=UTC)


class Flaky:
    """Fails with `error` on its first `failures` runs, then runs every minute."""

    name = "flaky"

    def __init__(self, error: Exception, failures: int) -> None:
        self.error = error
        self.failures = failures
        self.runs: list[datetime] = []

    def next_run(self, now: datetime) -> datetime | None:
        return now + timedelta(minutes=1)

    async def run_once(self, now: datetime) -> None:
        self.runs.append(now)
        if len(self.runs) <= self.failures:
            raise self.error


async def run_for(job: Flaky, runs: int) -> list[float]:
    clock = SimClock(START)
    task = asyncio.create_task(run_forever(job, clock))
    while len(job.runs) < runs:  # noqa: ASYNC110 - the simulated clock moves at once
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return [(b - a).total_seconds() for a, b in zip(job.runs, job.runs[1:], strict=False)]


async def test_a_redis_outage_costs_one_short_step_then_the_schedule_resumes() -> None:
    gaps = await run_for(Flaky(RedisConnectionError("down"), failures=3), runs=5)
    assert gaps == [0.25, 0.5, 1.0, 60.0]


async def test_our_own_bug_backs_off_further_and_resets_after_a_good_run() -> None:
    gaps = await run_for(Flaky(ValueError("bug"), failures=2), runs=4)
    assert gaps == [1.0, 2.0, 60.0]


def test_backoff_is_capped() -> None:
    assert error_backoff_s(20, redis_unreachable=True) == 5.0
    assert error_backoff_s(20, redis_unreachable=False) == 30.0
