"""A bot token's send limits shared by every replica: the sliding windows kept in Redis.

Replicas that send with one token share that token's limits at the platform (Telegram
counts 30 messages a second per bot, not per process), so its windows live in Redis and
each send takes its slot there in one atomic Lua script, on Redis's clock:

- one sorted set per window (overall, per chat, per group): a send is a member whose score
  is when it stops counting — while in flight, a window and ``IN_FLIGHT_CAP_S`` after its
  start (a replica that died mid-send frees its slot then); once answered, a full window (plus the
  headroom of bot.delivery.ratelimit) after its answer, exactly as the per-process limiter
  counts it;
- the overall sends spaced evenly (a virtual schedule, ``due``), with the same catch-up;
- a 429's ``retry_after`` pauses its scope (one chat, or the whole token) for every replica;
- command replies ask with ``priority``: while one waits for the overall window, bulk
  (alert) sends are refused, and while one waits for its chat, alerts to that chat are, so
  a reply never queues behind a fan-out. A reservation lapses on its own
  (``RESERVE_S``) if its replica goes away.

Keys are named by a scope (the platform and a hash of its token, never the token) and
expire once their windows are empty. ``SharedLimiter.acquire`` answers with a slot to
``finish`` once the platform answered; ``slot`` wraps the pair; ``send_reply_part`` is
one part of a command reply, with priority, sent again after a 429 (never a part that
went out), and sent unpaced if Redis cannot be reached (an answer beats a perfect pace).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.delivery.ratelimit import Limits, RateWindow
from bot.state import keys

log = logging.getLogger(__name__)
T = TypeVar("T")
IN_FLIGHT_CAP_S = 30.0  # a send not answered within this stops counting as in flight
RESERVE_S = 1.0  # a waiting reply's hold on its chat and on the overall window
POLL_S = 0.01  # look again this soon when a send in flight or a reply holds the slot
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local id, prio = ARGV[1], ARGV[2] == '1'
local cap, poll, reserve = tonumber(ARGV[11]), tonumber(ARGV[13]), tonumber(ARGV[12])
local function ready_of(key, n, ms)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local c = redis.call('ZCARD', key)
  if c < n then return now end
  local s = tonumber(redis.call('ZRANGE', key, c - n, c - n, 'WITHSCORES')[2])
  if s > now + ms then return now + poll end
  return s
end
local function paused(key)
  local p = redis.call('PTTL', key)
  if p > 0 then return now + p end
  return now
end
local chat = math.max(ready_of(KEYS[2], tonumber(ARGV[5]), tonumber(ARGV[6])), paused(KEYS[6]))
local gn = tonumber(ARGV[7])
if gn > 0 then chat = math.max(chat, ready_of(KEYS[3], gn, tonumber(ARGV[8]))) end
local spacing = tonumber(ARGV[9])
local due = tonumber(redis.call('GET', KEYS[4]) or '0')
local overall = math.max(ready_of(KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4])), paused(KEYS[5]))
overall = math.max(overall, due - math.max(spacing, tonumber(ARGV[10])))
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)
if not prio then
  if redis.call('ZCARD', KEYS[7]) > 0 then overall = math.max(overall, now + poll) end
  if redis.call('EXISTS', KEYS[8]) == 1 then chat = math.max(chat, now + poll) end
end
if chat > now or overall > now then
  if prio then
    redis.call('SET', KEYS[8], id, 'PX', math.ceil(reserve + chat - now))
    if chat <= now then
      redis.call('ZADD', KEYS[7], now + reserve, id)
      redis.call('PEXPIRE', KEYS[7], math.ceil(reserve))
    end
  end
  if chat > now then return {'chat', tostring(chat - now)} end
  return {'overall', tostring(overall - now)}
end
local windows = {{KEYS[1], ARGV[4]}, {KEYS[2], ARGV[6]}}
if gn > 0 then windows[3] = {KEYS[3], ARGV[8]} end
for _, w in ipairs(windows) do
  redis.call('ZADD', w[1], now + tonumber(w[2]) + cap, id)
  local last = tonumber(redis.call('ZRANGE', w[1], -1, -1, 'WITHSCORES')[2])
  redis.call('PEXPIRE', w[1], math.ceil(last - now + tonumber(w[2])) + 1000)
end
redis.call('SET', KEYS[4], tostring(math.max(due, now) + spacing), 'PX', math.ceil(cap))
if prio then
  redis.call('ZREM', KEYS[7], id)
  if redis.call('GET', KEYS[8]) == id then redis.call('DEL', KEYS[8]) end
end
return {'go', '0'}
"""
_FINISH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
for i, key in ipairs(KEYS) do
  local ms = tonumber(ARGV[i + 1])
  redis.call('ZADD', key, now + ms, ARGV[1])
  local last = tonumber(redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
  redis.call('PEXPIRE', key, math.ceil(last - now) + 1000)
end
return 1
"""
_PAUSE = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
"""


def token_scope(platform: str, secret: str) -> str:
    """'telegram:3f2a…': a platform and a short hash of its token (the token never appears)."""
    digest = hashlib.sha256(f"divbot rate scope {secret}".encode()).hexdigest()[:16]
    return f"{platform}:{digest}"


@dataclass(frozen=True, slots=True)
class Refused:
    """Not now: `scope` ('chat' or 'overall') holds the send for `wait_s` more seconds."""

    scope: str
    wait_s: float


class SharedLimiter:
    """One token's windows in Redis, for every replica that sends with it."""

    def __init__(self, redis: Redis, scope: str, limits: Limits) -> None:
        self.redis = redis
        self.scope = scope
        self.limits = limits
        self._acquire = redis.register_script(_ACQUIRE)
        self._finish = redis.register_script(_FINISH)
        self._pause = redis.register_script(_PAUSE)
        self._ids = itertools.count()
        self._prefix = f"{os.getpid()}-{id(self):x}"
        # Within this replica one bulk waiter at a time polls for the overall window (the
        # others queue here), so a fan-out costs about one script call per slot, not one per
        # waiter. Replies (priority) poll on their own: they must not queue behind bulk.
        self._overall_turn = asyncio.Lock()
        self.refusals = 0  # asks answered "not now" (diagnostics)

    def _ms(self, window: RateWindow) -> float:
        limits = self.limits
        extra = max(window.seconds * limits.headroom, limits.min_headroom_s)
        return (window.seconds + extra) * 1000

    def _keys(self, chat: str) -> list[str]:
        return keys.rate_keys(self.scope, chat)

    def _windows(self, chat: str, is_group: bool) -> list[tuple[str, float]]:
        k = self._keys(chat)
        out = [(k[0], self._ms(self.limits.overall)), (k[1], self._ms(self.limits.per_chat))]
        if is_group and self.limits.per_group is not None:
            out.append((k[2], self._ms(self.limits.per_group)))
        return out

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._ids)}"

    async def try_acquire(
        self, send_id: str, chat: str, is_group: bool, *, priority: bool = False
    ) -> Refused | None:
        """Take a slot for one send to `chat` now (None), or say what holds it (Refused)."""
        limits = self.limits
        group = limits.per_group if is_group else None
        overall_ms = self._ms(limits.overall)
        args: list[str | int | float] = [
            send_id,
            1 if priority else 0,
            limits.overall.count,
            overall_ms,
            limits.per_chat.count,
            self._ms(limits.per_chat),
            group.count if group else 0,
            self._ms(group) if group else 0,
            overall_ms / limits.overall.count,
            limits.catch_up_s * 1000,
            IN_FLIGHT_CAP_S * 1000,
            RESERVE_S * 1000,
            POLL_S * 1000,
        ]
        scope, wait_ms = await self._acquire(keys=self._keys(chat), args=args)
        if scope == "go":
            return None
        self.refusals += 1
        return Refused(str(scope), max(0.0, float(wait_ms)) / 1000)

    async def acquire(
        self,
        chat: str,
        is_group: bool,
        *,
        priority: bool = False,
        give_up: asyncio.Event | None = None,
    ) -> str | None:
        """Wait for a slot; its id (for `finish`), or None if `give_up` was set first."""
        send_id = self.new_id()
        while give_up is None or not give_up.is_set():
            refused = await self.try_acquire(send_id, chat, is_group, priority=priority)
            if refused is None:
                return send_id
            if refused.scope == "chat" or priority:
                # A reply never queues behind this replica's bulk sends for its turn.
                await asyncio.sleep(min(refused.wait_s, 1.0))
                continue
            async with self._overall_turn:
                while refused is not None and refused.scope == "overall":
                    if give_up is not None and give_up.is_set():
                        return None
                    await asyncio.sleep(min(refused.wait_s, 1.0))
                    refused = await self.try_acquire(send_id, chat, is_group, priority=priority)
                if refused is None:
                    return send_id
        return None

    async def finish(self, send_id: str, chat: str, is_group: bool) -> None:
        """The send was answered (or failed): it counts until a window from now."""
        windows = self._windows(chat, is_group)
        await self._finish(keys=[k for k, _ in windows], args=[send_id, *(ms for _, ms in windows)])

    async def pause(self, chat: str | None, seconds: float) -> None:
        """A 429: hold one chat (or the whole token, chat=None) for every replica."""
        key = keys.rate_pause(self.scope, chat)
        await self._pause(keys=[key], args=[max(1, int(seconds * 1000))])

    @contextlib.asynccontextmanager
    async def slot(
        self, chat: str, is_group: bool, *, priority: bool = False
    ) -> AsyncIterator[None]:
        """One send inside the token's limits: wait for a slot, send, count it as answered."""
        send_id = await self.acquire(chat, is_group, priority=priority)
        assert send_id is not None
        try:
            yield
        finally:
            await self.finish(send_id, chat, is_group)


async def send_reply_part(
    limiter: SharedLimiter,
    chat: str,
    is_group: bool,
    request: Callable[[], Awaitable[T]],
    refused: Callable[[Exception], float | None],
    tries: int,
) -> T:
    """Send one part of a command reply inside the token's limits, ahead of alerts.

    `refused(exc)` says how long a failure asks to wait (a 429's retry_after) or None (not
    a rate limit: raised). A 429 pauses the chat for every replica and the same part goes
    again once it passed, up to `tries` times. Without Redis the part goes unpaced.
    """
    for attempt in range(1, tries + 1):
        slot: str | None = None
        try:
            slot = await limiter.acquire(chat, is_group, priority=True)
        except RedisError as exc:
            log.warning("reply in %s: Redis failed (%s); sent unpaced", chat, type(exc).__name__)
        wait: float | None = None
        try:
            return await request()
        except Exception as exc:
            wait = refused(exc)
            if wait is None or attempt >= tries:
                raise
        finally:
            if slot is not None:
                with contextlib.suppress(RedisError):
                    await limiter.finish(slot, chat, is_group)
        log.info("reply in %s: 429, this part again in %.1fs", chat, wait)
        try:
            await limiter.pause(chat, wait)
        except RedisError:
            await asyncio.sleep(wait)
    raise AssertionError("unreachable: the last try returns or raises")
