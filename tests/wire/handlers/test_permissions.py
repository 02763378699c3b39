"""Who may change what (issue 17, part 1): one policy in the registry, applied by dispatch.

Every command that changes something × {stranger, chat admin, operator, private-chat
user} × {Telegram, Slack}: allowed or refused as `CommandSpec.role` says; a refusal is
private, names who may do it, and leaves Redis exactly as it was. Real Redis, the real
dispatch and handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.wiring import Core, build_core
from handlers.base import Command, Role
from handlers.dispatch import handle
from handlers.registry import COMMANDS
from tests.conftest import RedisServer

CHANGES = [
    ("alert", ("add", "STAR50", "1d", "up", "3")),
    ("alert", ("rm", "r1")),
    ("alert", ("pause", "r1")),
    ("subscribe", ("moves",)),
    ("unsubscribe", ("moves",)),
    ("mute", ("1h",)),
    ("unmute", ()),
    ("keywords", ("add", "证监会")),
    ("timezone", ("Asia/Hong_Kong",)),
    ("quiet", ("22:00-07:00",)),
    ("notify", ("headlines", "silent")),
    ("macro", ("alert", "PPI", "streak")),
    ("macro", ("set", "PPI", "-7.7", "2026-11")),
    ("calendar", ("add", "event", "npc", "2026-03-05", "09:00", "Emergency", "session")),
    ("calendar", ("rm", "event:npc")),
    ("closure", ("add", "XSHG", "2026-03-04", "Typhoon")),
    ("closure", ("open", "XSHG", "2026-02-17")),
    ("closure", ("rm", "XSHG", "2026-03-04")),
]
READS = [("quote", ()), ("alerts", ()), ("status", ()), ("help", ("macro",)), ("closure", ())]


@dataclass(frozen=True)
class Who:
    name: str
    user: str
    can_admin: bool
    private: bool

    def chat(self, platform: str) -> str:
        if platform == "telegram":
            return f"telegram:{self.user}" if self.private else "telegram:-100777"
        return f"slack:D{self.user}" if self.private else "slack:C0777"


PEOPLE = [
    Who("stranger in a group", "501", can_admin=False, private=False),
    Who("group admin", "502", can_admin=True, private=False),
    Who("operator in a group", "900", can_admin=False, private=False),
    Who("stranger in a private chat", "503", can_admin=True, private=True),
]


async def dump(redis: Redis) -> dict[str, bytes | None]:
    return {key: await redis.dump(key) for key in sorted(await redis.keys("*"))}


@pytest.fixture
async def core(redis_client: Redis, redis_server: RedisServer) -> Core:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url=redis_server.url, operators="telegram:900,slack:900"
    )
    return await build_core(settings, redis_client, SimClock(datetime(2026, 3, 2, 2, tzinfo=UTC)))


def allowed(role: Role, who: Who, platform: str, core: Core) -> bool:
    if role is Role.OPERATOR:
        return core.operators.is_operator(platform, who.user)
    if role is Role.CHAT_ADMIN:
        return who.can_admin
    return True


@pytest.mark.parametrize("platform", ["telegram", "slack"])
async def test_every_change_is_allowed_or_refused_as_the_policy_says(
    core: Core, redis_client: Redis, platform: str
) -> None:
    checked = 0
    for who in PEOPLE:
        for name, args in CHANGES:
            role = COMMANDS[name].role(args)
            assert role is not Role.ANYONE, f"/{name} {args[0] if args else ''} changes state"
            cmd = Command(platform, who.chat(platform), who.user, name, args, who.can_admin)
            before = await dump(redis_client)
            answer = await handle(core, cmd)
            refused = answer.title.startswith("Only ")
            assert refused is not allowed(role, who, platform, core), (who.name, name, args)
            if refused:
                assert answer.private
                assert await dump(redis_client) == before, (who.name, name, args)
                who_may = "operators" if role is Role.OPERATOR else "admin"
                assert who_may in answer.title
            checked += 1
    assert checked == len(PEOPLE) * len(CHANGES)


async def test_the_shared_data_is_the_operators_alone(core: Core) -> None:
    """The measured case: a stranger's DM published a PPI print to every group."""
    dm = Command("telegram", "telegram:503", "503", "macro", ("set", "PPI", "-7.7"), True)
    answer = await handle(core, dm)
    assert answer.title.startswith("Only the bot's operators can /macro set")
    for name, args in [c for c in CHANGES if COMMANDS[c[0]].role(c[1]) is Role.OPERATOR]:
        assert COMMANDS[name].role(args) is Role.OPERATOR


async def test_anyone_may_read(core: Core) -> None:
    for who in PEOPLE:
        for name, args in READS:
            cmd = Command("telegram", who.chat("telegram"), who.user, name, args, who.can_admin)
            answer = await handle(core, cmd)
            assert not answer.title.startswith("Only "), (who.name, name)


async def test_help_says_who_may_do_what(core: Core) -> None:
    cmd = Command("telegram", "telegram:1", "1", "help", ("macro",))
    text = "\n".join((await handle(core, cmd)).lines)
    assert "set: the bot's operators only" in text
    assert "alert: chat admins" in text


async def test_unicode_digits_are_a_usage_error_not_a_crash(core: Core) -> None:
    """`/calendar ²` answered "Sorry, … failed on our side" (issue 17.8): isdigit()
    accepts ² and ①, int() does not."""
    for name, args in [("calendar", ("²",)), ("calendar", ("①",)), ("history", ("²",))]:
        answer = await handle(core, Command("telegram", "telegram:1", "1", name, args, True))
        assert "failed on our side" not in answer.title, (name, args, answer.title)
