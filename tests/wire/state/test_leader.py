"""Leader election on a real Redis: one leader, hand-over after the TTL, stale writes refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.delivery.outbox import Outbox
from bot.models import Alert, Family, Message
from bot.state.atomic import StaleLeader
from bot.state.leader import LEADER, Leadership, lead


def alert(alert_id: str) -> Alert:
    at = datetime(2026, 1, 13, 2, 45, tzinfo=UTC)
    return Alert(alert_id, Family.MOVES, Message("STAR 50 +10.1% month-to-date"), at)


async def test_only_one_replica_leads(redis_client: Redis) -> None:
    a, b = Leadership(redis_client, "a", ttl_s=5), Leadership(redis_client, "b", ttl_s=5)
    assert await a.try_acquire()
    assert not await b.try_acquire()
    assert await a.try_acquire()  # renewal
    assert await a.is_leader()
    assert not await b.is_leader()


async def test_a_stalled_leader_is_replaced_and_its_writes_refused(redis_client: Redis) -> None:
    a, b = Leadership(redis_client, "a", ttl_s=0.2), Leadership(redis_client, "b", ttl_s=5)
    assert await a.try_acquire()
    stale_token = a.token
    await asyncio.sleep(0.35)  # a "stalls" past its TTL without renewing
    assert await b.try_acquire()
    outbox = Outbox(redis_client, SimClock(datetime(2026, 1, 13, tzinfo=UTC)))
    await outbox.ensure_group()
    with pytest.raises(StaleLeader):
        await outbox.enqueue(alert("a1"), "telegram:1", fence=stale_token)
    assert await redis_client.xlen("divbot:outbox") == 0
    assert await outbox.enqueue(alert("a1"), "telegram:1", fence=b.token)
    assert not await a.renew()  # a wakes up and finds it has lost
    assert a.token is None


async def test_enqueue_is_idempotent_per_alert_and_chat(redis_client: Redis) -> None:
    outbox = Outbox(redis_client, SimClock(datetime(2026, 1, 13, tzinfo=UTC)))
    await outbox.ensure_group()
    assert await outbox.enqueue(alert("a1"), "telegram:1")
    assert not await outbox.enqueue(alert("a1"), "telegram:1")
    assert await outbox.enqueue(alert("a1"), "slack:C1")
    assert await redis_client.xlen("divbot:outbox") == 2


async def test_lead_starts_and_stops_the_watchers(redis_client: Redis) -> None:
    started: list[int] = []

    async def watcher() -> None:
        await asyncio.Event().wait()

    def start() -> list[asyncio.Task[None]]:
        started.append(1)
        return [asyncio.create_task(watcher())]

    leadership = Leadership(redis_client, "a", ttl_s=0.3)
    campaign = asyncio.create_task(lead(leadership, start))
    for _ in range(100):
        if started:
            break
        await asyncio.sleep(0.01)
    assert started == [1]
    campaign.cancel()
    with pytest.raises(asyncio.CancelledError):
        await campaign
    assert await redis_client.get("divbot:leader") is None  # released on the way out


async def test_a_leader_that_dies_is_replaced_within_the_ttl(redis_client: Redis) -> None:
    """kill -9 of the leader right after it took the lease: the lease is LEADER_TTL_S minus
    a follower's look interval, so the follower that looks every poll_s takes over within
    LEADER_TTL_S (it was 15.6-18.0 s with a 15 s TTL: lease = TTL, looks every TTL/3)."""
    ttl = 1.0
    dead = Leadership(redis_client, "a", ttl_s=ttl)
    assert await dead.try_acquire()  # and never renews: killed
    assert 0 < await redis_client.pttl(LEADER) <= (ttl - dead.poll_s) * 1000
    follower = Leadership(redis_client, "b", ttl_s=ttl)
    naps: list[float] = []
    took_over = asyncio.Event()

    async def nap(seconds: float) -> None:
        if follower.token is None:  # still following
            naps.append(seconds)
        await asyncio.sleep(seconds)

    def start() -> list[asyncio.Task[None]]:
        async def watchers() -> None:
            took_over.set()
            await asyncio.Event().wait()

        return [asyncio.create_task(watchers())]

    campaign = asyncio.create_task(lead(follower, start, sleep=nap))
    await asyncio.wait_for(took_over.wait(), 10)
    campaign.cancel()
    with pytest.raises(asyncio.CancelledError):
        await campaign
    # Each nap lasted at least what it asked, so the naps before the take-over add up to
    # no more than the time it took: within the TTL.
    assert naps
    assert set(naps) == {follower.poll_s}
    assert sum(naps) <= ttl + 1e-9
