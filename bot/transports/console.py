"""The console transport: prints alerts as a trader would read them, for replay and demo.

`ConsoleSender` is what `divbot replay` delivers to; `ConsoleTransport` is the same as a
bot.transports.base.Transport plug-in.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from aiohttp import web

from bot import cmdref, fmt
from bot.delivery.ratelimit import Limits
from bot.delivery.sending import Delivery, Outcome
from bot.models import ChatRef, Message

if TYPE_CHECKING:
    from bot.wiring import Core

INDENT = " " * 22


def render_text(message: Message, tz: str = "Asia/Shanghai") -> str:
    """Plain text: a time-stamped title, then fields and lines, indented under it."""
    message = cmdref.localize(message, "console")
    stamp = fmt.when(message.at, tz) if message.at else ""
    head = f"{stamp:<21} {message.title}"
    body = []
    if message.fields:
        body.append(" · ".join(f"{k} {v}" for k, v in message.fields))
    body.extend(message.lines)
    if message.source:
        body.append(f"source: {message.source}")
    return "\n".join([head, *(INDENT + line for line in body)])


class ConsoleSender:
    platform = "console"

    def __init__(self, out: TextIO | None = None, tz: str = "Asia/Shanghai") -> None:
        self.out = out or sys.stdout
        self.tz = tz
        self.printed = 0

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        print(render_text(message, message.tz or self.tz), file=self.out, flush=True)
        self.printed += 1
        return Delivery(Outcome.SENT)


class ConsoleTransport:
    """The console as a `Transport` (bot.transports.base): no routes, no limits, nothing to
    open; nobody types commands here, so nobody administers it."""

    platform = "console"
    limits: Limits | None = None

    def __init__(self, out: TextIO | None = None, tz: str = "Asia/Shanghai") -> None:
        self._sender = ConsoleSender(out, tz)

    def sender(self) -> ConsoleSender:
        return self._sender

    def mount(self, app: web.Application) -> None:
        return None

    async def start(self, core: Core) -> None:
        return None

    async def stop(self) -> None:
        return None

    def is_group(self, chat: ChatRef) -> bool:
        return False

    async def can_admin(self, chat: ChatRef, user: str) -> bool:
        return False

    async def ready(self) -> bool:
        return True
