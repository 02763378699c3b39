"""The one boundary between a typed command and its reply.

Unknown commands get a pointer to /help; who may run what is the registry's policy
(handlers.base.Role): operators change what every chat shares, a chat's admins their chat;
a UsageError becomes its one-line reply (and nothing was stored, because handlers
validate before they write); Redis being unreachable gets a "try again in a minute";
anything unexpected is logged with its traceback and the
user gets a short apology, never a stack trace or a secret.
"""

from __future__ import annotations

import logging
import re

from bot import cmdref
from bot.chat.timezone import chat_timezone
from bot.cmdref import ref
from bot.fmt import excerpt
from bot.models import Message
from bot.rules.backlog import UNREACHABLE
from bot.wiring import Core
from handlers.base import Command, Role, UsageError, reply
from handlers.registry import COMMANDS

log = logging.getLogger(__name__)
_WORD = re.compile(r"^[a-z0-9_]{1,32}$")
# Who may change a chat, in each platform's own terms (what its transport checks).
REFUSALS = {
    "telegram": "Only a group admin can change this chat's alerts "
    "(anyone can, in a private chat with the bot).",
    "slack": "Only a workspace admin or owner, or someone in the bot's SLACK_ADMINS, can "
    "change this channel's alerts (anyone can, in a direct message with the bot).",
}
REFUSAL = REFUSALS["telegram"]
OPERATORS_ONLY = (
    "Only the bot's operators can {what}: it changes what every chat sees. "
    "Ask whoever runs the bot (OPERATORS)."
)


async def handle(core: Core, cmd: Command) -> Message:
    """The reply to one command, with the chat's time zone for the times it shows."""
    # Every command written as the user types it on their platform (bot.cmdref).
    answer = cmdref.localize(await _answer(core, cmd), cmd.platform)
    if answer.tz is None:
        try:
            answer.tz = await chat_timezone(core.redis, cmd.chat)
        except Exception:  # a reply still goes out, in the bot's zone
            log.warning("time zone of %s unavailable; replying in the bot's zone", cmd.chat)
    return answer


def _typed(name: str) -> str:
    """An unknown command as the user typed it; anything odd as a short quoted excerpt."""
    return ref(name) if _WORD.match(name) else excerpt(name, 24)


async def _answer(core: Core, cmd: Command) -> Message:
    spec = COMMANDS.get(cmd.name.lower())
    if spec is None:
        return reply(
            f"Unknown command {_typed(cmd.name)}",
            f"Try {ref('help')} for the list.",
            private=True,
        )
    role = spec.role(cmd.args)
    if role is Role.OPERATOR and not core.operators.is_operator(cmd.platform, cmd.user):
        what = ref(f"{spec.name} {cmd.args[0].lower()}" if cmd.args else spec.name)
        return reply(OPERATORS_ONLY.format(what=what), private=True)
    if role is Role.CHAT_ADMIN and not cmd.can_admin:
        return reply(REFUSALS.get(cmd.platform, REFUSAL), private=True)
    try:
        with core.metrics.command_seconds.labels(spec.name).time():
            return await spec.handler(core, cmd)
    except UsageError as exc:
        return reply(str(exc), private=True)
    except UNREACHABLE as exc:
        log.warning(
            "command /%s in %s: Redis unreachable (%s)", spec.name, cmd.chat, type(exc).__name__
        )
        return reply(
            f"{ref(spec.name)} could not finish: the bot's database is unreachable right now. "
            "Alerts already raised are kept; try again in a minute.",
            private=True,
        )
    except Exception:
        log.exception("command /%s in %s failed", spec.name, cmd.chat)
        return reply(
            f"Sorry, {ref(spec.name)} failed on our side; it has been logged.", private=True
        )
