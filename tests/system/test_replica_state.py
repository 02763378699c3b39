"""Engine state across replicas and Redis outages, on real redis-servers.

- A rule added, paused or removed through one replica reaches the leader's engine (the
  change stream, bot.rules.sync), and fires there.
- A replica that becomes leader after another one wrote engine state reloads first, so
  a rule the old leader fired does not fire again.
- Quotes evaluated while Redis is down are kept (bot.rules.backlog) and written, alerts queued,
  when it is back; past the bound no quote is evaluated; a term that ended meanwhile has
  its waiting alerts refused.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.models import Alert, DailyCloses, Family, Message, Quote, Rule
from bot.rules.backlog import OutageFull
from bot.rules.grammar import parse_rule
from bot.rules.sync import follow
from bot.state import keys
from bot.state.connect import open_redis
from bot.state.leader import LEADER
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.conftest import RedisServer

AT = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
SESSION = date(2026, 1, 12)
PREV = [(date(2026, 1, 9), 100.0)]
CHAT = "telegram:501"


def star50(price: float, minutes: int = 0) -> Quote:
    return Quote("STAR50", price, AT + timedelta(minutes=minutes), SESSION, "test")


async def with_close(core: Core) -> Core:
    """Closes, and a first flat quote: STAR 50 unchanged on the day, so a rule added next
    starts armed (a rule with no value yet is pending and its first value fires nothing)."""
    await core.store.put_closes("STAR50", PREV)
    core.service.engine.set_closes("STAR50", DailyCloses.from_pairs(PREV))
    flat = Quote("STAR50", PREV[-1][1], AT - timedelta(minutes=1), SESSION, "test")
    await core.store.save_quote(flat)
    core.service.engine.on_quote(flat, flat.at)
    return core


async def star50_up_3(core: Core, chat: str = CHAT) -> Rule:
    """The rule every test here watches: STAR 50 up 3% on the day."""
    rule, _ = await core.service.add_rule(
        chat, parse_rule(["STAR50", "1d", "up", "3"], core.watchlist), AT
    )
    return rule


async def queued_for(redis: Redis, chat: str) -> int:
    entries = await redis.xrange(keys.OUTBOX)
    return sum(1 for _id, fields in entries if fields["chat"] == chat)


async def wait_until(predicate: object, seconds: float = 10.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.fixture
async def two_replicas(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> AsyncIterator[tuple[Core, Core]]:
    await redis_client.flushall()
    leader = await with_close(
        await build_core(settings, redis_client, clock, consumer="a", leading=lambda: True)
    )
    follower = await with_close(await build_core(settings, redis_client, clock, consumer="b"))
    following = asyncio.create_task(follow(leader.rules, leader.rules.changes, 50))
    yield leader, follower
    following.cancel()
    with pytest.raises(asyncio.CancelledError):
        await following


async def test_a_rule_added_on_a_follower_fires_on_the_leader(
    two_replicas: tuple[Core, Core],
) -> None:
    leader, follower = two_replicas
    spec = parse_rule(["STAR50", "1d", "up", "3"], follower.watchlist)
    rule, armed = await follower.service.add_rule(CHAT, spec, AT)
    assert armed
    await wait_until(lambda: rule.id in leader.service.engine.rules)
    fired = await leader.service.on_quotes([star50(103.5)], AT)
    assert [a.rule_id for a in fired] == [rule.id]
    assert await queued_for(leader.redis, CHAT) == 1
    # paused on the follower: paused on the leader; removed: gone
    await follower.service.set_paused(rule, True)
    await wait_until(lambda: leader.service.engine.rules[rule.id].paused)
    await follower.service.remove_rule(rule)
    await wait_until(lambda: rule.id not in leader.service.engine.rules)


async def test_a_rule_the_follower_thought_armed_is_judged_on_the_leaders_quote(
    two_replicas: tuple[Core, Core],
) -> None:
    leader, follower = two_replicas
    # The leader has seen STAR50 at +5%; the follower has not (its engine is from start-up).
    await leader.service.on_quotes([star50(105.0)], AT)
    spec = parse_rule(["STAR50", "1d", "up", "3"], follower.watchlist)
    rule, armed = await follower.service.add_rule(CHAT, spec, AT)
    assert armed  # the follower's guess, from no quote at all
    await wait_until(lambda: rule.id in leader.service.engine.rules)
    assert leader.service.engine.index.is_armed(rule.id, 1) is False  # created past it
    states = await leader.redis.hget(keys.RULE_STATE, keys.rule_side(rule.id, 1))
    assert states == "0"  # and the leader wrote its judgement back
    assert await leader.service.on_quotes([star50(105.5, 1)], AT) == []
    # The follower's /status shows the leader's last quote, not its own start-up view.
    status = await handle(follower, Command("telegram", CHAT, "u1", "status", ()))
    assert any(line.strip().startswith("STAR50: 105.50 ") for line in status.lines)


async def test_a_new_leader_reloads_what_the_old_leader_wrote(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    await redis_client.flushall()
    old = await with_close(await build_core(settings, redis_client, clock, consumer="a"))
    spec = parse_rule(["STAR50", "1d", "up", "3"], old.watchlist)
    rule, _ = await old.service.add_rule(CHAT, spec, AT)
    new = await with_close(await build_core(settings, redis_client, clock, consumer="b"))
    assert await old.service.on_quotes([star50(103.5)], AT)  # fired on the old leader
    await new.service.take_over()
    assert new.service.engine.index.is_armed(rule.id, 1) is False
    assert await new.service.on_quotes([star50(104.0, 1)], AT) == []  # no second alert
    assert await queued_for(redis_client, CHAT) == 1
    # No other leader since: taking over again keeps the engine (no reload).
    engine = new.service.engine
    await new.service.take_over()
    assert new.service.engine is engine


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[tuple[RedisServer, Redis, Settings]]:
    server = RedisServer(tmp_path, appendonly=True)
    server.start()
    settings = Settings(_env_file=None, redis_url=server.url, outage_backlog=10)  # type: ignore[call-arg]
    redis = open_redis(settings)  # the production client
    yield server, redis, settings
    await redis.aclose()
    server.stop()


async def test_a_crossing_while_redis_is_down_is_queued_when_it_is_back(
    own_redis: tuple[RedisServer, Redis, Settings], clock: SimClock
) -> None:
    server, redis, settings = own_redis
    core = await with_close(await build_core(settings, redis, clock))
    rule = await star50_up_3(core)
    server.stop(kill=True)
    fired = await core.service.on_quotes([star50(103.5)], AT)  # no exception: kept
    assert [a.rule_id for a in fired] == [rule.id]
    assert len(core.service.backlog) == 1
    answer = await handle(core, Command("telegram", CHAT, "u1", "alerts", ()))
    assert "database is unreachable right now" in answer.title  # one line, no traceback
    status = await handle(core, Command("telegram", CHAT, "u1", "status", ()))
    assert "BAD redis: unreachable; deliveries resume when it answers" in status.lines
    assert "alerts waiting for Redis to be queued: 1" in status.lines
    writer = asyncio.create_task(core.service.keep_writing())
    await asyncio.sleep(0.5)  # the flusher backs off while Redis is down
    assert core.service.backlog.failures >= 1
    server.start()  # the AOF is replayed: the rule is still there
    await wait_until(lambda: len(core.service.backlog) == 0)
    writer.cancel()
    assert await queued_for(redis, CHAT) == 1
    assert await redis.hget(keys.RULE_STATE, keys.rule_side(rule.id, 1)) == "0"
    assert await core.store.get_rule(rule.id) == rule
    # Written once: the next quote above the trigger raises nothing.
    assert await core.service.on_quotes([star50(104.0, 1)], AT) == []
    assert await queued_for(redis, CHAT) == 1


async def test_past_the_bound_quotes_are_not_evaluated_so_no_crossing_is_consumed(
    own_redis: tuple[RedisServer, Redis, Settings], clock: SimClock
) -> None:
    server, redis, settings = own_redis
    core = await with_close(await build_core(settings, redis, clock))
    rule = await star50_up_3(core)
    server.stop(kill=True)
    for minute in range(settings.outage_backlog):  # below the trigger: no crossing
        await core.service.on_quotes([star50(101.0, minute)], AT)
    with pytest.raises(OutageFull):
        await core.service.on_quotes([star50(103.5, 30)], AT)
    assert core.service.engine.index.is_armed(rule.id, 1)  # not consumed
    server.start()
    assert await core.service.backlog.flush()
    fired = await core.service.on_quotes([star50(103.5, 31)], AT)
    assert [a.rule_id for a in fired] == [rule.id]
    assert await queued_for(redis, CHAT) == 1


async def test_alerts_of_a_term_that_ended_during_the_outage_are_refused(
    own_redis: tuple[RedisServer, Redis, Settings], clock: SimClock
) -> None:
    server, redis, settings = own_redis
    # evaluating as the leader of term a:1
    core = await with_close(await build_core(settings, redis, clock, fence=lambda: "a:1"))
    await star50_up_3(core)
    await redis.set(LEADER, "a:1")
    server.stop(kill=True)
    assert await core.service.on_quotes([star50(103.5)], AT)
    server.start()
    await redis.set(LEADER, "b:2")  # another replica led meanwhile
    assert await core.service.backlog.flush()
    assert core.service.backlog.dropped_alerts == 1
    assert await queued_for(redis, CHAT) == 0


async def test_a_term_that_ended_in_an_outage_leaves_its_rule_armed_for_the_next_term(
    own_redis: tuple[RedisServer, Redis, Settings], clock: SimClock
) -> None:
    """The crossing evaluated in memory by a term that ended is not lost: its write was
    refused whole, the rule is still armed in Redis, and the replica's engine reloads
    from Redis when it leads again, so the next quote above the trigger raises it."""
    server, redis, settings = own_redis
    term = ["a:1"]
    core = await with_close(await build_core(settings, redis, clock, fence=lambda: term[0]))
    rule = await star50_up_3(core)
    await redis.set(LEADER, "a:1")
    server.stop(kill=True)
    assert await core.service.on_quotes([star50(103.5)], AT)  # evaluated, kept in memory
    server.start()
    await redis.set(LEADER, "a:2")  # the lease lapsed; this replica leads again
    term[0] = "a:2"
    await core.service.take_over()
    assert core.service.backlog.dropped_alerts == 1
    assert await redis.hget(keys.RULE_STATE, keys.rule_side(rule.id, 1)) != "0"
    assert core.service.engine.index.is_armed(rule.id, 1)  # reloaded from Redis
    fired = await core.service.on_quotes([star50(103.6, 1)], AT)
    assert [a.rule_id for a in fired] == [rule.id]
    assert await queued_for(redis, CHAT) == 1


async def test_a_write_applied_after_the_lease_lapsed_lands_nothing(
    own_redis: tuple[RedisServer, Redis, Settings], clock: SimClock
) -> None:
    """Redis frozen (SIGSTOP) while a step's write is on its way; the leader's lease runs
    out meanwhile. When Redis wakes it executes the write: the fence inside the atomic
    batch refuses all of it, so the rule is not left disarmed without its alert."""
    server, redis, settings = own_redis
    core = await with_close(await build_core(settings, redis, clock, fence=lambda: "a:1"))
    rule = await star50_up_3(core)
    await redis.set(LEADER, "a:1", px=300)
    assert server.proc is not None
    server.proc.send_signal(signal.SIGSTOP)
    try:
        evaluating = asyncio.create_task(core.service.on_quotes([star50(103.5)], AT))
        await asyncio.sleep(0.8)  # past the lease; the write waits in the socket
    finally:
        server.proc.send_signal(signal.SIGCONT)
    assert await evaluating  # the crossing was evaluated...
    assert core.service.backlog.dropped_alerts == 1  # ...and its write refused whole
    assert await redis.hget(keys.RULE_STATE, keys.rule_side(rule.id, 1)) != "0"
    assert await redis.hlen(keys.ALERTS_OWED) == 0
    assert await queued_for(redis, CHAT) == 0
    await redis.set(LEADER, "a:1")  # leading again (same token for brevity): reload
    await core.service.take_over()
    fired = await core.service.on_quotes([star50(103.6, 1)], AT)
    assert [a.rule_id for a in fired] == [rule.id]
    assert await queued_for(redis, CHAT) == 1


async def test_a_headline_raised_while_redis_is_down_is_kept_and_sent_later(
    own_redis: tuple[RedisServer, Redis, Settings], clock: SimClock
) -> None:
    server, redis, settings = own_redis
    core = await build_core(settings, redis, clock)
    await core.store.subscribe(CHAT, Family.HEADLINES)
    alert = Alert(
        "h-synthetic-1",
        Family.HEADLINES,
        Message(title="SYNTHETIC: CSRC tightens margin rules"),
        AT,
    )
    server.stop(kill=True)
    assert await core.service.raise_or_keep("headline", alert) == []  # no exception: kept
    assert len(core.service.backlog) == 1
    server.start()
    writer = asyncio.create_task(core.service.keep_writing())
    await wait_until(lambda: len(core.service.backlog) == 0)
    writer.cancel()
    assert await queued_for(redis, CHAT) == 1
