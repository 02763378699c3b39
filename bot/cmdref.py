"""Command references in plain text, written in the syntax of the platform they go to.

A reply, a help line or an alert that tells the user what to type marks the command with
`ref("alert rm r7")`; nothing else in the text changes. The marks are two private-use
characters around the command words. Each renderer (Telegram HTML, Block Kit, the console,
webhooks) and the command boundary (handlers.dispatch, for replies) turns every mark into
its platform's syntax with `for_platform`/`localize`: ``/alert rm r7`` on Telegram and the
console, ``/divbot alert rm r7`` on Slack (``/divergence …`` there is its own slash
command). Outside text cannot forge a mark: `bot.fmt.excerpt` shows private-use characters
escaped, and a stray mark is dropped.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.models import Button, Message

OPEN, CLOSE = "\ue000", "\ue001"
_REF = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]*){CLOSE}")
SLACK_COMMAND = "/divbot"
SLACK_OWN = frozenset({"divergence"})  # slash commands of their own on Slack


def ref(words: str) -> str:
    """A command reference: ref("alert rm r7"), with or without the leading slash."""
    return f"{OPEN}{words.removeprefix('/')}{CLOSE}"


def spelled(words: str, platform: str) -> str:
    """How a user types `words` (a command and its arguments) on `platform`."""
    words = words.removeprefix("/")
    if platform == "slack":
        name = words.split(" ", 1)[0]
        return f"/{words}" if name in SLACK_OWN else f"{SLACK_COMMAND} {words}"
    return f"/{words}"


def for_platform(text: str, platform: str) -> str:
    """Every command reference in `text` in `platform`'s syntax; stray marks dropped."""
    if OPEN not in text and CLOSE not in text:
        return text
    out = _REF.sub(lambda m: spelled(m.group(1), platform), text)
    return out.replace(OPEN, "").replace(CLOSE, "")


def localize(message: Message, platform: str) -> Message:
    """A copy of `message` with every command reference in `platform`'s syntax."""

    def f(text: str) -> str:
        return for_platform(text, platform)

    return replace(
        message,
        title=f(message.title),
        lines=[f(line) for line in message.lines],
        fields=[(f(name), f(value)) for name, value in message.fields],
        buttons=[Button(f(b.label), b.action) for b in message.buttons],
        source=f(message.source) if message.source else message.source,
    )
