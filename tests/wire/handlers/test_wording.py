"""Wording (issue 17, item 9): a level rule is confirmed in level words, `/help X` prints its
usage once, and `/status` keeps operators' detail (why a source fails, which library to
upgrade) for operators. Real Redis, the real dispatch and handlers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.cmdref import for_platform
from bot.config import Settings
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from handlers.registry import COMMANDS, who_may
from tests.conftest import RedisServer

OPERATOR = "900"


@pytest.fixture
async def core(redis_client: Redis, redis_server: RedisServer) -> Core:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url=redis_server.url, operators=f"telegram:{OPERATOR}"
    )
    # 2027-11-20: the Shanghai calendar's data ends within 60 days (a horizon warning).
    return await build_core(settings, redis_client, SimClock(datetime(2027, 11, 20, 2, tzinfo=UTC)))


async def ask(core: Core, user: str, name: str, *args: str) -> list[str]:
    cmd = Command("telegram", f"telegram:{user}", user, name, args, can_admin=True)
    answer = await handle(core, cmd)
    return [answer.title, *answer.lines]


async def test_a_level_rule_is_confirmed_in_level_words(core: Core) -> None:
    level = " ".join(await ask(core, "1", "alert", "add", "STAR50", "above", "1500"))
    assert "crosses the level" in level or "past the level" in level, level
    assert not re.search(r"\bmove\b", level)
    assert "threshold" not in level
    move = " ".join(await ask(core, "1", "alert", "add", "STAR50", "1d", "up", "3"))
    assert "threshold" in move


@pytest.mark.parametrize("name", sorted(COMMANDS))
async def test_help_for_a_command_prints_its_usage_once(core: Core, name: str) -> None:
    lines = await ask(core, "1", "help", name)
    # Under the title ("/alert: manage …"), without the lines saying who may run it.
    policy = {for_platform(line, "telegram") for line in who_may(COMMANDS[name])}
    body = "\n".join(line for line in lines[1:] if line not in policy)
    assert body.count("usage:") == 1, body
    # the command's own usage (its first form) appears once, not twice
    first_form = lines[1].removeprefix("usage: ").split(" · ")[0].split(" | ")[0]
    assert body.count(first_form) == 1, body


async def test_status_keeps_operator_detail_for_operators(core: Core) -> None:
    now = core.clock.now()
    core.health.bad("eastmoney", "HTTP 503 after 2 tries", now)
    ordinary = "\n".join(await ask(core, "1", "status"))
    operator = "\n".join(await ask(core, OPERATOR, "status"))
    assert "upgrade" in operator
    assert "HTTP 503 after 2 tries" in operator
    assert "upgrade" not in ordinary
    assert "/closure" not in ordinary
    assert "HTTP 503" not in ordinary
    # what affects everyone's alerts is still there
    assert "BAD eastmoney" in ordinary
    assert "calendar XSHG: data ends" in ordinary
