"""/timezone: show or (admins) set the chat's time zone, which every time shown in the chat
uses (alert footers, command replies, quiet hours, /calendar, /history)."""

from __future__ import annotations

from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.chat.gate import Gate
from bot.chat.timezone import chat_timezone, set_chat_timezone
from bot.clock import Clock
from bot.cmdref import ref
from bot.fmt import excerpt
from bot.models import Message
from handlers.base import Command, UsageError, reply


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def noise(self) -> Gate: ...

    @property
    def redis(self) -> Any: ...


async def timezone(core: Needs, cmd: Command) -> Message:
    if not cmd.args:
        tz = await chat_timezone(core.redis, cmd.chat)
        return reply(f"This chat's time zone: {tz}", f"change it: {ref('timezone Asia/Hong_Kong')}")
    if len(cmd.args) != 1:
        raise UsageError(f"usage: {ref('timezone ZONE')}, e.g. {ref('timezone Asia/Hong_Kong')}")
    try:
        tz = await set_chat_timezone(core.redis, cmd.chat, cmd.args[0])
    except ValueError:
        raise UsageError(
            f"{excerpt(cmd.args[0])} is not a time zone; use an IANA name like Asia/Hong_Kong"
        ) from None
    core.noise.zones.forget(cmd.chat)  # deliveries use the new zone at once
    now = core.clock.now().astimezone(ZoneInfo(tz))
    return reply(
        f"Time zone set: {tz}",
        f"it is {now:%a %d %b %H:%M} {now.tzname()} there; {ref('calendar')} now shows times in it",
    )
