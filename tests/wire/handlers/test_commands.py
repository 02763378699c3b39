"""The command core against a real Redis: replies, authorization, nothing stored on error,
and rules (with their armed state) surviving a restart."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.models import DailyCloses, Quote
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import REFUSAL, handle

CHAT = "telegram:-1001"


def cmd(name: str, *args: str, admin: bool = True, chat: str = CHAT) -> Command:
    return Command("telegram", chat, "u1", name, tuple(args), can_admin=admin)


async def snapshot(redis: Redis) -> dict[str, object]:
    # divbot:rate:* is the token's send slots a reply took, not anyone's data.
    keys = sorted(k for k in await redis.keys("*") if not k.startswith("divbot:rate:"))
    out: dict[str, object] = {}
    for key in keys:
        kind = await redis.type(key)
        out[key] = (
            kind,
            await redis.hgetall(key)
            if kind == "hash"
            else sorted(await redis.smembers(key))
            if kind == "set"
            else await redis.get(key)
            if kind == "string"
            else None,
        )
    return out


async def test_add_list_pause_remove(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    core = await build_core(settings, redis_client, clock)
    added = await handle(core, cmd("alert", "add", "STAR50", "1d", "up", "3"))
    assert added.title == "Added rule r1: STAR 50 1d up 3%"
    listed = await handle(core, cmd("alerts"))
    assert listed.lines == ["r1    STAR 50 1d up 3% · waiting for a first quote"]
    paused = await handle(core, cmd("alert", "pause", "r1"))
    assert paused.title == "Rule r1 paused"
    removed = await handle(core, cmd("alert", "rm", "r1"))
    assert removed.title == "Removed rule r1"
    assert await core.store.rules_of(CHAT) == []
    assert (await handle(core, cmd("alert", "rm", "r1"))).title.startswith("no rule r1")


async def test_bad_rule_input_changes_nothing(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    core = await build_core(settings, redis_client, clock)
    before = await snapshot(redis_client)
    for args in (
        ["add"],
        ["add", "STAR50", "1d", "up", "-3"],
        ["add", "XYZ", "1d", "up", "3"],
        ["frobnicate"],
        ["rm", "12; DROP"],
        ["pause"],
    ):
        answer = await handle(core, cmd("alert", *args))
        assert answer.private, args
        assert len(answer.lines) == 0, args
        assert "\n" not in answer.title, args
    assert await snapshot(redis_client) == before


async def test_non_admin_is_refused_and_nothing_changes(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    core = await build_core(settings, redis_client, clock)
    before = await snapshot(redis_client)
    for name, args in (
        ("alert", ("add", "STAR50", "1d", "up", "3")),
        ("subscribe", ("moves",)),
        ("mute", ("1h",)),
    ):
        answer = await handle(core, cmd(name, *args, admin=False))
        assert answer.title == REFUSAL
    assert await snapshot(redis_client) == before
    # read-only commands work for anyone
    assert (await handle(core, cmd("alerts", admin=False))).title.startswith("No alert rules")
    assert (await handle(core, cmd("help", admin=False))).title == "Commands"


async def test_unknown_command_points_to_help(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    core = await build_core(settings, redis_client, clock)
    answer = await handle(core, cmd("frobnicate"))
    assert answer.title == "Unknown command /frobnicate"
    assert answer.lines == ["Try /help for the list."]


async def test_subscribe_mute_and_status(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    core = await build_core(settings, redis_client, clock)
    answer = await handle(core, cmd("subscribe", "moves", "macro"))
    assert answer.lines == ["This chat gets: moves, macro"]
    assert "unknown family 'weather'" in (await handle(core, cmd("subscribe", "weather"))).title
    assert (await handle(core, cmd("mute", "2h"))).title == "Muted for 2h"
    assert await core.store.muted_until(CHAT) is not None
    assert (await handle(core, cmd("unmute"))).title == "Unmuted"
    status = await handle(core, cmd("status"))
    assert any(
        "deliveries: 0 sent, 0 pending (0 retrying), 0 failed" in line for line in status.lines
    )


async def test_rules_and_armed_state_survive_a_restart(
    redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    core = await build_core(settings, redis_client, clock)
    closes = [(date(2026, 1, 9), 100.0)]
    await core.store.put_closes("STAR50", closes)
    core.service.engine.set_closes("STAR50", DailyCloses.from_pairs(closes))
    await handle(core, cmd("alert", "add", "STAR50", "1d", "up", "3"))
    at = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)
    # the first quote arms it (a rule fires on a cross it saw, never on a first level)
    first = datetime(2026, 1, 12, 1, 55, tzinfo=UTC)
    await core.service.on_quotes([Quote("STAR50", 100.5, first, date(2026, 1, 12), "test")], first)
    fired = await core.service.on_quotes(
        [Quote("STAR50", 103.5, at, date(2026, 1, 12), "test")], at
    )
    assert len(fired) == 1
    # a new process against the same Redis: the rule is there, and already fired
    restarted: Core = await build_core(settings, redis_client, clock)
    assert [r.id for r in await restarted.store.rules_of(CHAT)] == ["r1"]
    assert restarted.service.engine.index.is_armed("r1", 1) is False
    later = datetime(2026, 1, 12, 2, 5, tzinfo=UTC)
    again = await restarted.service.on_quotes(
        [Quote("STAR50", 104.0, later, date(2026, 1, 12), "test")], later
    )
    assert again == []  # still above the trigger: no second alert after the restart


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=st.lists(st.text(st.characters(codec="utf-8"), max_size=10), max_size=7))
async def test_random_alert_arguments_never_crash(
    redis_client: Redis, settings: Settings, clock: SimClock, words: list[str]
) -> None:
    core = await build_core(settings, redis_client, clock)
    answer = await handle(core, cmd("alert", "add", *words))
    assert answer.title
    assert "Sorry" not in answer.title
    if answer.private:  # an error: one line, and no rule stored
        assert answer.lines == []
        assert await core.store.rules_of(CHAT) == [] or answer.title.startswith("Added")
    await redis_client.flushall()
