"""The words every command speaks: the parsed Command, usage errors, the command spec,
and who may run it (`Role`: the one permission policy, applied by handlers.dispatch)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

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
    # Can the bot post in this chat? False: a Slack channel it was never invited to;
    # None: it could not be checked. Telegram delivers commands only where the bot is.
    bot_member: bool | None = True
    bot_handle: str = ""  # the bot's user name on the platform, for "/invite @divbot"


class Role(StrEnum):
    """Who may run a command or subcommand.

    Anyone reads. A chat's admins (a group's admins; in a private chat or DM its one user)
    change that chat only. The bot's operators (OPERATORS) change what every chat shares:
    macro prints by hand, the release calendar, market closures."""

    ANYONE = "anyone"
    CHAT_ADMIN = "chat admins"
    OPERATOR = "the bot's operators"


class UsageError(ValueError):
    """A bad argument: the message is the whole one-line reply; nothing was changed."""


# Dispatch hands every handler the wiring; each handler module types what it uses of it as
# its own `Needs` Protocol (import-linter keeps handlers and jobs off bot.wiring).
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
    # Subcommands that change what every chat shares: the bot's operators only.
    subcommands_for_operators: frozenset[str] = field(default_factory=frozenset)
    # Without arguments it shows a setting; with any, it changes it (/timezone ZONE).
    changes_with_args: bool = False

    def role(self, args: tuple[str, ...]) -> Role:
        """Who may run this command with these arguments."""
        sub = args[0].lower() if args else ""
        if sub in self.subcommands_for_operators:
            return Role.OPERATOR
        if self.changes_chat or sub in self.subcommands_that_change:
            return Role.CHAT_ADMIN
        if self.changes_with_args and args:
            return Role.CHAT_ADMIN
        return Role.ANYONE

    def needs_admin(self, args: tuple[str, ...]) -> bool:
        return self.role(args) is not Role.ANYONE


def reply(title: str, *lines: str, private: bool = False) -> Message:
    return Message(title=title, lines=list(lines), private=private)
