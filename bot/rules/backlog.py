"""Work that could not be written while Redis was unreachable: kept in memory, in
order, and written (alerts queued) as soon as Redis answers again.

The engine evaluates a quote in memory first; the step's writes (armed states, the
quote, cooldown clocks, closes) and its alerts then go to Redis. When Redis is
unreachable (a restart, a failover, a network cut) the step waits here instead of being
lost with the exception, and later work queues behind it, so writes land in the order
they happened. Headline and macro alerts whose story or release was already claimed
(`SET NX`) when their dispatch failed wait here too. A flusher retries with capped
exponential backoff (never a hot loop).

Bounded: once `limit` items wait, the quotes watcher stops evaluating (`OutageFull`), so
no crossing is consumed without being kept; the engine's rules stay armed and fire when
evaluation resumes.

An item carries the leader's token of the term that made it. If leadership was lost
meanwhile, its write is refused (bot.state.leader) and the term's items are dropped with a
warning naming their alerts. Each write is one atomic batch fenced inside Redis
(bot.state.atomic), so nothing of a refused step landed: the next leader starts from the
state in Redis, where those rules are still armed (a replica whose engine evaluated a
dropped step reloads it from Redis when it leads again: `take_diverged`), and raises the
same crossings itself if they still hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.models import Alert, Quote
from bot.state.atomic import StaleLeader

log = logging.getLogger(__name__)
BACKOFF_S = (0.1, 5.0)  # first and longest pause between flush attempts
# Errors that mean "Redis is not reachable right now", not "this write is wrong": a
# dropped connection, a timeout, a server still loading its AOF (BusyLoadingError is a
# ConnectionError), a replica not yet promoted.
UNREACHABLE: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    OSError,
)


class OutageFull(RuntimeError):
    """The backlog is at its bound: quotes are not evaluated until Redis answers."""


@dataclass(slots=True)
class Step:
    """One evaluated quote: what must be written, and the alerts it raised."""

    quote: Quote
    states: list[tuple[str, int, bool]]
    fired: list[tuple[str, float]]  # (rule id, epoch) for cooldown clocks
    alerts: list[Alert]
    close: tuple[str, date, float] | None = None  # (instrument, session, close)
    fence: str | None = None  # the leader's token when it was evaluated


@dataclass(slots=True)
class Waiting:
    """Work that could not be written: a quote step, or an alert whose dispatch failed
    after its story or release was claimed (headlines, macro prints)."""

    what: str  # for the logs: "STAR50 quote", "headline h-…"
    alerts: list[Alert]
    write: Callable[[], Awaitable[object]]  # idempotent: safe to repeat after a partial write
    fence: str | None = None


class Backlog:
    def __init__(self, limit: int = 2000) -> None:
        self.limit = limit
        self.steps: deque[Waiting] = deque()
        self.failures = 0
        self.dropped_alerts = 0  # refused after a lost leadership (see the docstring)
        # A step was dropped: the engine evaluated it in memory, Redis never got it.
        self._diverged = False
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()  # one flush at a time: the watcher's and the flusher's

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def alerts(self) -> int:
        return sum(len(s.alerts) for s in self.steps)

    def check_room(self) -> None:
        """Raise OutageFull when no more steps may wait (before evaluating anything)."""
        if len(self.steps) >= self.limit:
            raise OutageFull(
                f"Redis unreachable and {self.limit} quote steps waiting: not evaluating more"
            )

    def add(self, item: Waiting) -> None:
        self.check_room()
        self.steps.append(item)
        self._changed.set()

    def drop_term(self, fence: str | None) -> list[Alert]:
        """Forget every waiting step of a leadership term that ended; their alerts."""
        kept: deque[Waiting] = deque()
        dropped: list[Alert] = []
        for step in self.steps:
            if step.fence == fence:
                dropped += step.alerts
            else:
                kept.append(step)
        self.steps = kept
        self.dropped_alerts += len(dropped)
        self._diverged = True
        return dropped

    def take_diverged(self) -> bool:
        """True once after a step was dropped (the engine must reload from Redis)."""
        diverged, self._diverged = self._diverged, False
        return diverged

    @property
    def backoff_s(self) -> float:
        first, longest = BACKOFF_S
        return float(min(longest, first * 2 ** max(0, self.failures - 1)))

    async def flush(self) -> bool:
        """Write waiting steps in order; True when none is left. Redis being unreachable
        stops the flush (the step stays first); any other error propagates, and the step
        that raised it is dropped (logged) so one bad write cannot block every later one.
        Writes are idempotent (plain sets; alerts queue once per chat), so a step retried
        after a partial write is safe."""
        async with self._lock:
            return await self._flush()

    async def _flush(self) -> bool:
        while self.steps:
            step = self.steps[0]
            try:
                await step.write()
            except StaleLeader:
                dropped = self.drop_term(step.fence)
                log.warning(
                    "leadership lost while Redis was unreachable: %d waiting alerts dropped "
                    "(%s); the next leader re-evaluates those rules from Redis",
                    len(dropped),
                    ", ".join(a.id for a in dropped) or "none",
                )
                continue
            except UNREACHABLE as exc:
                self.failures += 1
                if self.failures == 1:
                    log.warning(
                        "Redis unreachable (%s): %d quote steps, %d alerts kept in memory",
                        type(exc).__name__,
                        len(self.steps),
                        self.alerts,
                    )
                return False
            except Exception:
                self.steps.popleft()
                self._diverged = True
                log.exception(
                    "writing the %s failed; its alerts %s are not sent",
                    step.what,
                    [a.id for a in step.alerts],
                )
                raise
            self.steps.popleft()
            if self.failures:
                log.info("Redis answers again: wrote a waiting step (%d left)", len(self.steps))
        self.failures = 0
        return True

    async def keep_flushing(self) -> None:
        """Run beside the watchers: flush whenever steps wait, backing off while Redis
        is unreachable."""
        while True:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError  # redis-py can swallow one mid-command
            if not self.steps:
                self._changed.clear()
                await self._changed.wait()
                continue
            # Another error is logged by flush, which dropped that step: go on with the rest.
            with contextlib.suppress(Exception):
                if await self.flush():
                    continue
            await asyncio.sleep(self.backoff_s)
