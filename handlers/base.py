"""The words every command speaks: the parsed Command, usage errors, the command spec."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.models import Message
from bot.wiring import Core


@dataclass(frozen=True, slots=True)
class Command:
    """One command as a user typed it, whatever the platform."""

    platform: str  # "telegram" | "slack" | "console"
    chat: str  # chat key, e.g. "telegram:-1001234"
    user: str
    name: str  # without the slash or @botname: "alert"
    args: tuple[str, ...] = ()
    can_admin: bool = False  # may change this chat's rules and subscriptions
    thread: str | None = None  # forum topic / Slack thread the command came from


class UsageError(ValueError):
    """A bad argument: the message is the whole one-line reply; nothing was changed."""


Handler = Callable[[Core, Command], Awaitable[Message]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    usage: str  # "/alert add SYMBOL WINDOW up|down PCT"
    summary: str  # one line for the menu and /help
    handler: Handler
    changes_chat: bool = False  # needs an admin (or a private chat)
    subcommands_that_change: frozenset[str] = field(default_factory=frozenset)
    details: str = ""  # longer text for /help NAME

    def needs_admin(self, args: tuple[str, ...]) -> bool:
        if self.changes_chat:
            return True
        return bool(args) and args[0].lower() in self.subcommands_that_change


def reply(title: str, *lines: str, private: bool = False) -> Message:
    return Message(title=title, lines=list(lines), private=private)
