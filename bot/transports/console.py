"""The console transport: prints alerts as a trader would read them, for replay and demo."""

from __future__ import annotations

import sys
from typing import TextIO

from bot import fmt
from bot.models import ChatRef, Message
from bot.transports.base import Delivery, Outcome

INDENT = " " * 22


def render_text(message: Message, tz: str = "Asia/Shanghai") -> str:
    """Plain text: a time-stamped title, then fields and lines, indented under it."""
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
