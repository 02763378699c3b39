"""Fenced writes through the production wiring: the watchers `lead()` starts dispatch alerts
through AlertService with `watcher_fence`; a leader that stalled past its TTL (its lead
loop has not noticed yet) has every enqueue refused, while commands are never fenced."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.models import Alert, Family, Message
from bot.state.atomic import StaleLeader
from bot.state.leader import NOT_LEADER, Leadership, lead, watcher_fence
from bot.wiring import build_core

AT = datetime(2026, 1, 13, 2, 45, tzinfo=UTC)


def alert(alert_id: str) -> Alert:
    return Alert(alert_id, Family.MOVES, Message("STAR 50 +3.1% on the day"), AT)


async def test_a_stalled_leaders_watcher_is_refused_and_commands_are_not(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    core = await build_core(settings, redis_client, clock, fence=watcher_fence)
    for i in range(3):
        await core.store.subscribe(f"telegram:{i}", Family.MOVES)
    outcomes: asyncio.Queue[str] = asyncio.Queue()
    go = asyncio.Event()

    async def watcher() -> None:
        """Dispatch once as leader, then once more when told (after the stall)."""
        await core.service.dispatch(alert("first"))
        await outcomes.put("first queued")
        await go.wait()
        try:
            await core.service.dispatch(alert("stale"))
            await outcomes.put("stale queued")
        except StaleLeader:
            await outcomes.put("stale refused")
        await asyncio.Event().wait()

    stalled = asyncio.Event()

    async def stalling_sleep(_: float) -> None:
        await stalled.wait()  # the lead loop never renews: a GC pause or SIGSTOP

    a = Leadership(redis_client, "a", ttl_s=0.3)
    campaign = asyncio.create_task(
        lead(a, lambda: [asyncio.create_task(watcher())], sleep=stalling_sleep)
    )
    assert await asyncio.wait_for(outcomes.get(), 5) == "first queued"
    await asyncio.sleep(0.4)  # past the TTL
    b = Leadership(redis_client, "b", ttl_s=5)
    assert await b.try_acquire()
    go.set()
    assert await asyncio.wait_for(outcomes.get(), 5) == "stale refused"
    assert a.token is not None  # A still believes it leads: only the fence stopped it
    entries = await redis_client.xrange("divbot:outbox")
    assert len(entries) == 3  # "first" to three chats; nothing of "stale"
    # Outside the watchers (a command such as /macro set, on any replica): not fenced.
    assert watcher_fence() is None
    assert await core.service.dispatch(alert("by-command")) == [f"telegram:{i}" for i in range(3)]
    campaign.cancel()
    with pytest.raises(asyncio.CancelledError):
        await campaign


async def test_a_leader_that_lost_its_token_fences_with_a_token_that_never_matches(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    core = await build_core(settings, redis_client, clock, fence=watcher_fence)
    await core.store.subscribe("telegram:1", Family.MOVES)
    seen: list[str | None] = []
    go, done = asyncio.Event(), asyncio.Event()

    async def watcher() -> None:
        await go.wait()
        seen.append(watcher_fence())
        with pytest.raises(StaleLeader):
            await core.service.dispatch(alert("late"))
        done.set()
        await asyncio.Event().wait()

    a = Leadership(redis_client, "a", ttl_s=5)
    started = asyncio.Event()

    def start() -> list[asyncio.Task[None]]:
        started.set()
        return [asyncio.create_task(watcher())]

    campaign = asyncio.create_task(lead(a, start))
    await asyncio.wait_for(started.wait(), 5)
    await redis_client.delete("divbot:leader")  # the lease is gone (expired, taken, flushed)
    assert not await a.renew()  # the term is over; its watcher has not been stopped yet
    go.set()
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [NOT_LEADER]
    assert await redis_client.xlen("divbot:outbox") == 0
    campaign.cancel()
    with pytest.raises(asyncio.CancelledError):
        await campaign


async def test_lead_survives_redis_errors_and_gives_up_after_the_ttl(
    redis_client: Redis,
) -> None:
    """A Redis that stops answering: the leader keeps its watchers for at most one TTL."""
    calls = 0

    class Flaky(Leadership):
        async def try_acquire(self) -> bool:
            nonlocal calls
            calls += 1
            if calls == 1:
                return await super().try_acquire()
            raise ConnectionError("redis went away")

    now = [0.0]
    running: list[asyncio.Task[None]] = []

    async def idle() -> None:
        await asyncio.Event().wait()

    def start() -> list[asyncio.Task[None]]:
        running.append(asyncio.create_task(idle()))
        return running[-1:]

    async def tick(_: float) -> None:
        now[0] += 1.0
        # a real (tiny) sleep: with sleep(0) the campaign spins the loop flat out logging
        # warnings, and the test's own timers starve
        await asyncio.sleep(0.005)

    leadership = Flaky(redis_client, "a", ttl_s=3)
    campaign = asyncio.create_task(lead(leadership, start, sleep=tick, now=lambda: now[0]))
    async with asyncio.timeout(10):
        while not (running and running[0].done()):  # noqa: ASYNC110 - polling in a test
            await asyncio.sleep(0.01)
    assert running[0].cancelled()  # stopped once the lease would have lapsed
    assert leadership.token is None
    assert calls >= 4  # and it kept trying: the loop did not die on the error
    campaign.cancel()
    with pytest.raises(asyncio.CancelledError):
        await campaign
