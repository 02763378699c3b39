"""/start and /help."""

from __future__ import annotations

from typing import Protocol

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


async def start(core: Needs, cmd: Command) -> Message:
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
            "This chat gets: " + ", ".join(f.value for f in current) + " (/unsubscribe to change)."
        )
    lines.append("Try /quote, /alert add STAR50 1d up 3, or /help.")
    return reply("Divergence Bot", *lines)
