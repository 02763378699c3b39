"""Leader election: one replica runs the watchers; any replica can deliver.

A Redis key holds the leader's token ``{replica}:{fence}``; the fence is a counter that
only grows, so a token is never reused. The leader renews the key's lease three times per
lease; followers look for a free lease every `poll_s` (at most 0.5 s), and the lease is
LEADER_TTL_S minus that, so a leader that dies or stalls (kill -9, GC pause, SIGSTOP) is
replaced within LEADER_TTL_S. A graceful stop releases the key at once.
A stale leader that wakes up cannot do harm: writes it makes on the watchers' behalf go
through `fenced`, a compare-and-act script that refuses them unless the key still holds
its token.

Which writes are fenced: those made inside the watcher tasks `lead` starts (they run in
a context that knows the leadership term: `watcher_fence`). Commands run on every replica
and are never fenced: `/macro set` on a follower must still publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from bot.state import keys
from bot.tasks import stop_tasks

log = logging.getLogger(__name__)
LEADER = keys.LEADER
FENCE = keys.LEADER_FENCE
# Never a real token (those are "{replica}:{n}"): a fenced write with it is always refused.
NOT_LEADER = "-"

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leadership:
    def __init__(self, redis: Any, replica: str, ttl_s: float = 15.0) -> None:
        self.redis = redis
        self.replica = replica
        # A follower looks for a free lease this often; the lease itself is that much
        # shorter than LEADER_TTL_S, so a dead leader is replaced within LEADER_TTL_S.
        self.poll_s = min(0.5, ttl_s / 10)
        self.ttl_ms = int((ttl_s - self.poll_s) * 1000)
        self.token: str | None = None

    async def try_acquire(self) -> bool:
        if self.token is not None:
            return await self.renew()
        fence = await self.redis.incr(FENCE)
        token = f"{self.replica}:{fence}"
        if await self.redis.set(LEADER, token, nx=True, px=self.ttl_ms):
            self.token = token
            log.info("replica %s is the leader (fence %s)", self.replica, fence)
            return True
        return False

    async def renew(self) -> bool:
        if self.token is None:
            return False
        ok = await self.redis.eval(_RENEW, 1, LEADER, self.token, self.ttl_ms)
        if not ok:
            log.warning("replica %s lost the leadership", self.replica)
            self.token = None
        return bool(ok)

    async def release(self) -> None:
        if self.token is not None:
            await self.redis.eval(_RELEASE, 1, LEADER, self.token)
            self.token = None

    async def is_leader(self) -> bool:
        return self.token is not None and await self.redis.get(LEADER) == self.token


_TERM: ContextVar[Leadership | None] = ContextVar("leadership_term", default=None)


def watcher_fence() -> str | None:
    """The token a write must be fenced with: inside a watcher started by `lead`, the
    leader's current token (NOT_LEADER once lost); anywhere else (commands) None."""
    leadership = _TERM.get()
    if leadership is None:
        return None
    return leadership.token or NOT_LEADER


async def lead(
    leadership: Leadership,
    start: Callable[[], list[asyncio.Task[None]]],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], float] = time.monotonic,
) -> None:
    """Campaign forever: run the watcher tasks from `start` while leader, stop them when not.

    Tasks created by `start` inherit this task's context, so their writes are fenced with
    this term's token (`watcher_fence`). When Redis cannot be reached the leader keeps its
    watchers until its lease would have run out, then stops them: by then another replica
    may lead."""
    _TERM.set(leadership)
    tasks: list[asyncio.Task[None]] = []
    renew_every = leadership.ttl_ms / 3000  # the leader: three chances per lease
    renewed_at = now()
    try:
        while True:
            try:
                leading = await leadership.try_acquire()
                if leading:
                    renewed_at = now()
            except Exception as exc:  # Redis unreachable: no answer is not a "no" yet
                log.warning("leader election: Redis did not answer (%s)", type(exc).__name__)
                leading = bool(tasks) and now() - renewed_at < leadership.ttl_ms / 1000
                if not leading:
                    leadership.token = None
            if leading and not tasks:
                tasks = start()
            elif not leading and tasks:
                log.info("replica %s stops its watchers", leadership.replica)
                await stop_tasks(tasks)
                tasks = []
            await sleep(renew_every if tasks else leadership.poll_s)
    finally:
        await stop_tasks(tasks)
        with contextlib.suppress(Exception):
            await leadership.release()
