"""/start and /help."""

from __future__ import annotations

from typing import Protocol

from bot.cmdref import ref
from bot.models import Family, Message
from bot.state.store import Store
from handlers.base import Command, reply


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def store(self) -> Store: ...


INTRO = (
    "I watch China tech (STAR 50, Hang Seng TECH) against the Nasdaq-100 and the economy, "
    "and alert this chat when a threshold is crossed."
)
STARTER = (Family.MOVES, Family.SPREADS, Family.HEADLINES, Family.MACRO)


def not_here(cmd: Command) -> Message | None:
    """The answer in a Slack channel the bot is not a member of (alerts would fail
    there): nothing is subscribed, and the user is told how to let the bot in."""
    if cmd.bot_member is True:
        return None
    why = (
        "I am not a member of this channel"
        if cmd.bot_member is False
        else "I could not check that I am a member of this channel"
    )
    handle = f"@{cmd.bot_handle}" if cmd.bot_handle else "the bot"
    return reply(
        "Invite me to this channel first",
        f"{why}, so I cannot post alerts here; nothing was subscribed.",
        f"Type /invite {handle} here, then {ref(cmd.name)} again.",
        private=True,
    )


async def start(core: Needs, cmd: Command) -> Message:
    refused = not_here(cmd)
    if refused is not None:
        return refused
    lines = [INTRO]
    # A chat that blocked or removed the bot (403) comes back with what it had.
    restored = await core.store.reactivate(cmd.chat) if cmd.can_admin else None
    if restored is not None:
        lines.append("Welcome back: alerts to this chat are on again.")
    current = await core.store.subscriptions(cmd.chat)
    if cmd.can_admin and restored is None and not current:
        for family in STARTER:
            await core.store.subscribe(cmd.chat, family)
        current = list(STARTER)
    if current:
        lines.append(
            "This chat gets: "
            + ", ".join(f.value for f in current)
            + f" ({ref('unsubscribe')} to change)."
        )
    lines.append(f"Try {ref('quote')}, {ref('alert add STAR50 1d up 3')}, or {ref('help')}.")
    return reply("Divergence Bot", *lines)
