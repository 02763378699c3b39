"""Leader election: one replica runs the watchers; any replica can deliver.

A Redis key holds the leader's token ``{replica}:{fence}``; the fence is a counter that
only grows, so a token is never reused. The leader renews the key's TTL; a leader that
dies or stalls (GC pause, SIGSTOP) past the TTL loses it and another replica takes over.
A stale leader that wakes up cannot do harm: writes it makes on the watchers' behalf go
through `fenced`, a compare-and-act script that refuses them unless the key still holds
its token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot import keys

log = logging.getLogger(__name__)
LEADER = f"{keys.NS}:leader"
FENCE = f"{keys.NS}:leader:fence"

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
        self.ttl_ms = int(ttl_s * 1000)
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


async def lead(
    leadership: Leadership,
    start: Callable[[], list[asyncio.Task[None]]],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Campaign forever: run the watcher tasks from `start` while leader, stop them when not."""
    tasks: list[asyncio.Task[None]] = []
    interval = leadership.ttl_ms / 3000
    try:
        while True:
            leading = await leadership.try_acquire()
            if leading and not tasks:
                tasks = start()
            elif not leading and tasks:
                await _stop(tasks)
                tasks = []
            await sleep(interval)
    finally:
        await _stop(tasks)
        with contextlib.suppress(Exception):
            await leadership.release()


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
