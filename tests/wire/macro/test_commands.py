"""/timezone, /calendar and /macro through the real dispatcher on a real Redis: replies,
times in the chat's zone, and bad input answered in one line with nothing stored."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.chat.timezone import chat_timezone
from bot.wiring import Core
from handlers.base import Command
from handlers.dispatch import handle
from tests.wire.handlers.test_commands import snapshot
from tests.wire.macro.conftest import CHAT


def cmd(name: str, *args: str, admin: bool = True) -> Command:
    return Command("telegram", CHAT, "u1", name, tuple(args), can_admin=admin)


async def test_timezone_set_and_used_by_calendar(core: Core, redis_client: Redis) -> None:
    assert (await handle(core, cmd("timezone"))).title == "This chat's time zone: Asia/Shanghai"
    listed = await handle(core, cmd("calendar", "1"))
    assert listed.lines[:2] == [
        "Fri 09 Jan 09:30 CST  CPI Dec 2025 · cons +0.8% y/y",
        "Fri 09 Jan 09:30 CST  PPI Dec 2025 · cons −2.0% y/y",
    ]
    done = await handle(core, cmd("timezone", "america/new_york"))
    assert done.title == "Time zone set: America/New_York"
    assert await chat_timezone(redis_client, CHAT) == "America/New_York"
    gdp = await handle(core, cmd("calendar", "14", "GDP"))
    assert gdp.title == "Next 14 days: GDP (America/New_York)"
    assert gdp.lines == ["Sun 18 Jan 21:00 EST  GDP Q4 2025 · target around 5% (2025 target)"]


@pytest.mark.parametrize(
    "args",
    [
        ("timezone", "Mars/Olympus"),
        ("timezone", "Asia/Shanghai", "extra"),
        ("timezone", "../../etc/passwd"),
        ("calendar", "0"),
        ("calendar", "400"),
        ("calendar", "7", "NOPE"),
        ("calendar", "7", "CPI", "PPI"),
        ("calendar", "add", "CPI", "2026-01", "2026-02-11"),
        ("calendar", "add", "CPI", "2026-13", "2026-02-11", "09:30"),
        ("calendar", "add", "CPI", "2026-01", "2026-02-30", "09:30"),
        ("calendar", "add", "CPI", "2026-01", "2026-02-11", "25:00"),
        ("calendar", "add", "CPI", "2026-01", "2026-02-11", "09:30", "Mars/Base"),
        ("calendar", "add", "CPI", "2026-01", "2026-02-11", "09:30", "consensus=abc"),
        ("calendar", "add", "CPI", "2026-01", "2026-02-11", "09:30", "colour=red"),
        ("calendar", "add", "CPI", "2025-11", "2025-12-10", "09:30"),  # in the past
        ("calendar", "add", "event", "BAD ID", "2026-03-05", "09:00", "NPC"),
        ("calendar", "rm", "CPI:2025-12"),  # seed entries are corrected, not removed
        ("macro", "NOPE"),
        ("macro", "set", "PPI", "abc"),
        ("macro", "set", "PPI", "-190"),
        ("macro", "set", "PPI", "nan"),
        ("macro", "alert", "PPI", "surprise", "-1"),
        ("macro", "alert", "PPI", "surprise", "inf"),
        ("macro", "alert", "PPI", "sometimes"),
        ("macro", "alert", "XYZ", "streak"),
    ],
)
async def test_bad_input_gets_one_line_and_stores_nothing(
    core: Core, redis_client: Redis, args: tuple[str, ...]
) -> None:
    before = await snapshot(redis_client)
    answer = await handle(core, cmd(*args))
    assert answer.private
    assert answer.lines == []
    assert "\n" not in answer.title
    assert await snapshot(redis_client) == before


async def test_only_admins_change_the_calendar_and_time_zone(
    core: Core, redis_client: Redis
) -> None:
    before = await snapshot(redis_client)
    for args in (
        ("timezone", "Asia/Hong_Kong"),
        ("calendar", "add", "CPI", "2026-01", "2026-02-12", "09:30"),
        ("macro", "alert", "PPI", "streak"),
    ):
        stranger = Command("telegram", CHAT, "u2", args[0], args[1:], can_admin=False)
        answer = await handle(core, stranger)
        assert answer.private
    # the calendar is every chat's: a chat admin who is not an operator may not change it
    for args in (
        ("calendar", "add", "CPI", "2026-01", "2026-02-12", "09:30"),
        ("calendar", "rm", "CPI:2026-01"),
        ("macro", "set", "PPI", "-7.7", "2026-11"),
    ):
        admin = Command("telegram", CHAT, "u2", args[0], args[1:], can_admin=True)
        answer = await handle(core, admin)
        assert answer.private
        assert answer.title.startswith("Only the bot's operators can")
    assert await snapshot(redis_client) == before


async def test_admin_moves_a_release_keeping_its_consensus(core: Core) -> None:
    moved = await handle(
        core, cmd("calendar", "add", "CPI", "2025-12", "2026-01-10", "09:30", "consensus=0.9")
    )
    assert moved.title == "Calendar: CPI Dec 2025 at Sat 10 Jan 09:30 CST"
    listed = await handle(core, cmd("calendar", "3", "CPI"))
    assert listed.lines == ["Sat 10 Jan 09:30 CST  CPI Dec 2025 · cons +0.9% y/y · added in chat"]
    us = await handle(
        core, cmd("calendar", "add", "US_CPI", "2026-01", "2026-02-11", "08:30", "America/New_York")
    )
    assert us.title == "Calendar: US CPI Jan 2026 at Wed 11 Feb 21:30 CST"
    event = await handle(
        core, cmd("calendar", "add", "event", "pboc-lpr", "2026-01-20", "09:00", "LPR", "fixing")
    )
    assert event.title == "Calendar: LPR fixing at Tue 20 Jan 09:00 CST"
    assert (await handle(core, cmd("calendar", "rm", "event:pboc-lpr"))).title.startswith("Removed")


async def test_macro_shows_latest_prints_and_the_streak(core: Core) -> None:
    ppi = await handle(core, cmd("macro", "ppi"))
    assert ppi.title == "PPI Nov 2025 −2.2% y/y, 38th straight month below zero"
    assert ppi.lines[0] == "Nov 2025     −2.2% y/y"
    summary = await handle(core, cmd("macro"))
    assert "Manufacturing PMI Dec 2025 50.1: first month above 50 after 8 months below" in (
        summary.lines
    )
