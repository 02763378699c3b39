"""/quiet, /notify and /history over a real Redis: bad input answered in one line with
nothing stored, and the history still there after the bot restarts. Alerts are synthetic."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.models import Alert, Family, Message
from bot.transports.console import ConsoleSender
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.conftest import RedisServer
from tests.support.delivering import deliver_now

CHAT = "console:desk"


@pytest.fixture
async def core(redis_client: Redis, settings: Settings, clock: SimClock) -> Core:
    return await build_core(settings, redis_client, clock)


async def run(core: Core, name: str, *args: str, admin: bool = True) -> Message:
    return await handle(core, Command("console", CHAT, "u1", name, args, can_admin=admin))


async def snapshot(redis: Redis) -> dict[str, object]:
    out: dict[str, object] = {}
    for key in sorted(await redis.keys("*")):
        kind = await redis.type(key)
        if kind == "string":
            out[key] = await redis.get(key)
        elif kind == "hash":
            out[key] = await redis.hgetall(key)
        else:
            out[key] = kind
    return out


BAD = [
    ("quiet", ("25:00-07:00",)),
    ("quiet", ("22:00-22:00",)),
    ("quiet", ("22-07",)),
    ("quiet", ("22:00-07:00", "sometimes")),
    ("quiet", ("22:00-07:00", "urgent=loud")),
    ("quiet", ("22:00-07:00", "daily", "weekdays")),
    ("quiet", ("on", "please", "now", "thanks")),
    ("notify", ("headlines",)),
    ("notify", ("headlines", "loud")),
    ("notify", ("gossip", "on")),
    ("notify", ("group", "10h")),
    ("notify", ("group", "6m")),
    ("notify", ("group", "soon")),
    ("notify", ("headlines", "silent", "extra")),
    ("history", ("0",)),
    ("history", ("51",)),
    ("history", ("gossip",)),
    ("history", ("5", "moves", "extra")),
    ("history", ("-3",)),
]


@pytest.mark.parametrize(("name", "args"), BAD)
async def test_bad_input_is_one_line_and_stores_nothing(
    core: Core, name: str, args: tuple[str, ...]
) -> None:
    await run(core, "quiet", "23:00-06:00")  # something to keep unchanged
    await run(core, "notify", "macro", "silent")
    before = await snapshot(core.redis)
    answer = await run(core, name, *args)
    assert answer.private
    assert answer.lines == []
    assert "\n" not in answer.title
    assert "failed on our side" not in answer.title  # a usage error, not a crash
    assert await snapshot(core.redis) == before


async def test_changes_need_an_admin_but_anyone_can_look(core: Core) -> None:
    before = await snapshot(core.redis)
    for name, args in [
        ("quiet", ("22:00-07:00",)),
        ("quiet", ("off",)),
        ("notify", ("moves", "off")),
    ]:
        answer = await run(core, name, *args, admin=False)
        assert answer.private
        assert answer.title.startswith("Only a group admin")
    assert await snapshot(core.redis) == before
    assert (await run(core, "quiet", admin=False)).title == "No quiet hours in this chat"
    shown = await run(core, "notify", admin=False)
    assert shown.lines[-1] == "grouping   off"  # the suite's default window is 0


async def test_quiet_and_notify_show_what_was_set(core: Core, clock: SimClock) -> None:
    await run(core, "timezone", "Europe/London")
    answer = await run(core, "quiet", "01:00-03:00", "weekdays", "urgent=none")
    assert answer.title == "Quiet hours set: 01:00-03:00 weekdays; everything waits"
    assert "Europe/London" in answer.lines[0]
    shown = await run(core, "quiet")  # Mon 12 Jan 02:00 UTC = 02:00 GMT: quiet now
    assert shown.lines[1] == "quiet now, until Mon 12 Jan 03:00 GMT"
    await run(core, "notify", "group", "1m")
    await run(core, "notify", "all", "silent")
    levels = (await run(core, "notify")).lines
    assert levels[0] == "moves      silent"
    assert levels[-1] == "grouping   1m"
    assert (await run(core, "quiet", "off")).title == "Quiet hours off"
    assert (await run(core, "quiet")).title == "No quiet hours in this chat"


async def test_history_survives_a_restart(
    redis_server: RedisServer, redis_client: Redis, settings: Settings, clock: SimClock
) -> None:
    first = await build_core(settings, redis_client, clock)
    await first.store.subscribe(CHAT, Family.HEADLINES)
    await first.store.subscribe(CHAT, Family.MOVES)
    await run(first, "timezone", "Asia/Hong_Kong")
    await run(first, "notify", "moves", "off")
    at = datetime(2026, 1, 12, 1, 30, tzinfo=UTC)

    def alert(n: int, family: Family) -> Alert:
        return Alert(f"h{n}", family, Message(f"Synthetic story {n}", at=at), at)

    await first.service.dispatch(alert(1, Family.HEADLINES))
    await first.service.dispatch(alert(2, Family.MOVES))
    await deliver_now(first.outbox, {"console": ConsoleSender(io.StringIO())})
    await first.store.mute(CHAT, clock.now().timestamp() + 60, 60)
    await first.service.dispatch(alert(3, Family.HEADLINES))

    # a new process: new client, new core, nothing carried over in memory
    client = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        second = await build_core(settings, client, clock)
        shown = await run(second, "history")
        assert shown.title == "Last 3 alerts in this chat"
        assert shown.lines == [
            "Mon 12 Jan 09:30 HKT · headlines · Synthetic story 3 — muted",
            "Mon 12 Jan 09:30 HKT · moves · Synthetic story 2 — off (not delivered)",
            "Mon 12 Jan 09:30 HKT · headlines · Synthetic story 1 — delivered",
        ]
        only = await run(second, "history", "headlines", "1")
        assert only.lines == ["Mon 12 Jan 09:30 HKT · headlines · Synthetic story 3 — muted"]
    finally:
        await client.aclose()


async def test_history_is_capped_per_chat(
    redis_client: Redis, redis_server: RedisServer, clock: SimClock
) -> None:
    settings = Settings(_env_file=None, redis_url=redis_server.url, history_cap=10)  # type: ignore[call-arg]
    core = await build_core(settings, redis_client, clock)
    await core.store.subscribe(CHAT, Family.HEADLINES)
    for n in range(25):
        at = datetime(2026, 1, 12, 1, n, tzinfo=UTC)
        await core.service.dispatch(Alert(f"c{n}", Family.HEADLINES, Message(f"S{n}", at=at), at))
    assert await redis_client.zcard(f"divbot:chat:{CHAT}:history") == 10
    assert await redis_client.hlen(f"divbot:chat:{CHAT}:history:items") == 10
    shown = await run(core, "history", "50")
    assert [line.split(" · ")[-1].split(" — ")[0] for line in shown.lines] == [
        f"S{n}" for n in range(24, 14, -1)
    ]
