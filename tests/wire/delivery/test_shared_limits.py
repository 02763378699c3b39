"""The token's windows in Redis (bot.delivery.shared_limits), on a real redis-server: two
limiters for one token (two replicas) share every window; a 429's pause holds every
replica; a waiting command reply goes before bulk sends; another token is not held."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.delivery.ratelimit import Limits, RateWindow
from bot.delivery.shared_limits import SharedLimiter, token_scope

LIMITS = Limits(
    overall=RateWindow(3, 1.0), per_chat=RateWindow(1, 1.0), per_group=RateWindow(2, 60.0)
)
SCOPE = token_scope("telegram", "123:synthetic-token")


def replicas(redis: Redis, n: int = 2, scope: str = SCOPE) -> list[SharedLimiter]:
    return [SharedLimiter(redis, scope, LIMITS) for _ in range(n)]


async def test_two_replicas_share_one_chats_window(redis_client: Redis) -> None:
    a, b = replicas(redis_client)
    assert await a.try_acquire(a.new_id(), "telegram:7", False) is None
    refused = await b.try_acquire(b.new_id(), "telegram:7", False)
    assert refused is not None
    assert refused.scope == "chat"
    assert refused.wait_s <= 0.011  # in flight: no answer yet, so looked at again soon


async def test_answered_send_counts_a_window_after_its_answer(redis_client: Redis) -> None:
    a, b = replicas(redis_client)
    sent = a.new_id()
    assert await a.try_acquire(sent, "telegram:8", False) is None
    await a.finish(sent, "telegram:8", False)
    refused = await b.try_acquire(b.new_id(), "telegram:8", False)
    assert refused is not None
    assert refused.scope == "chat"
    assert 0.9 < refused.wait_s <= 1.01


async def test_overall_window_is_the_tokens_not_the_replicas(redis_client: Redis) -> None:
    a, b = replicas(redis_client)
    granted = 0
    for n in range(6):
        limiter = (a, b)[n % 2]
        if await limiter.try_acquire(limiter.new_id(), f"telegram:{100 + n}", False) is None:
            granted += 1
    # 3 per second for the token; spacing lets at most the catch-up's worth go at once.
    assert 1 <= granted <= LIMITS.overall.count


async def test_group_window_is_shared(redis_client: Redis) -> None:
    a, b = replicas(redis_client)
    for limiter in (a, b):
        sid = await limiter.acquire("telegram:-5", True)
        assert sid is not None
        await limiter.finish(sid, "telegram:-5", True)
    # Third send to the group inside the minute: refused whoever asks.
    await asyncio.sleep(1.05)
    refused = await a.try_acquire(a.new_id(), "telegram:-5", True)
    assert refused is not None
    assert refused.scope == "chat"
    assert refused.wait_s > 50


async def test_a_429_pauses_the_chat_for_every_replica(redis_client: Redis) -> None:
    a, b = replicas(redis_client)
    await a.pause("telegram:9", 5.0)
    refused = await b.try_acquire(b.new_id(), "telegram:9", False)
    assert refused is not None
    assert refused.scope == "chat"
    assert refused.wait_s > 4
    assert await b.try_acquire(b.new_id(), "telegram:10", False) is None
    await a.pause(None, 2.0)
    refused = await b.try_acquire(b.new_id(), "telegram:11", False)
    assert refused is not None
    assert refused.scope == "overall"
    assert refused.wait_s > 1


async def test_a_waiting_reply_goes_before_bulk(redis_client: Redis) -> None:
    a, b = replicas(redis_client)
    assert await a.try_acquire(a.new_id(), "telegram:20", False) is None
    reply = b.new_id()
    held = await b.try_acquire(reply, "telegram:20", False, priority=True)
    assert held is not None
    assert held.scope == "chat"
    await asyncio.sleep(held.wait_s if held.wait_s < 0.5 else 0)
    # While the reply waits for chat 20, an alert to chat 20 from another replica waits too.
    bulk = await a.try_acquire(a.new_id(), "telegram:20", False)
    assert bulk is not None
    assert bulk.scope == "chat"


async def test_a_reply_waiting_for_the_overall_window_holds_bulk(redis_client: Redis) -> None:
    a, b = replicas(redis_client)
    await a.pause(None, 0.3)
    reply = b.new_id()
    held = await b.try_acquire(reply, "telegram:30", False, priority=True)
    assert held is not None
    assert held.scope == "overall"
    await asyncio.sleep(0.35)
    bulk = await a.try_acquire(a.new_id(), "telegram:31", False)
    assert bulk is not None
    assert bulk.scope == "overall"
    assert await b.try_acquire(reply, "telegram:30", False, priority=True) is None


async def test_another_token_is_not_held(redis_client: Redis) -> None:
    [a] = replicas(redis_client, 1)
    [other] = replicas(redis_client, 1, token_scope("telegram", "456:another-token"))
    assert await a.try_acquire(a.new_id(), "telegram:40", False) is None
    assert await other.try_acquire(other.new_id(), "telegram:40", False) is None
    keys = [k async for k in redis_client.scan_iter("divbot:rate:*")]
    assert keys
    assert not any("synthetic-token" in k or "another-token" in k for k in keys)
