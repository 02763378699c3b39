"""/subscribe, /unsubscribe, /mute, /unmute: what this chat hears, and when.

`/subscribe headlines margin hft min=warning` also sets the chat's headline filter
(parsed in handlers.headlines).
"""

from __future__ import annotations

from typing import Protocol

from bot import fmt
from bot.chat.gate import Gate
from bot.clock import Clock
from bot.cmdref import ref
from bot.models import SUBSCRIBABLE, Family, Message
from bot.rules.grammar import RuleSpecError, parse_duration
from bot.state.store import Store
from handlers import general, headlines
from handlers.base import Command, UsageError, reply


class Needs(headlines.Needs, Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def noise(self) -> Gate: ...

    @property
    def store(self) -> Store: ...


FAMILIES = " ".join(f.value for f in SUBSCRIBABLE)


def _families(args: tuple[str, ...], verb: str) -> list[Family]:
    if not args:
        raise UsageError(f"usage: /{verb} FAMILY… (families: {FAMILIES}, or all)")
    if len(args) == 1 and args[0].lower() == "all":
        return list(SUBSCRIBABLE)
    out = []
    for word in args:
        try:
            family = Family(word.lower())
            if family not in SUBSCRIBABLE:
                raise ValueError(word)
            out.append(family)
        except ValueError:
            raise UsageError(
                f"unknown family {fmt.excerpt(word)}; families: {FAMILIES}, or all"
            ) from None
    return out


async def subscribe(core: Needs, cmd: Command) -> Message:
    refused = general.not_here(cmd)  # never "This chat gets …" where posts would fail
    if refused is not None:
        return refused
    args, headline_filter = headlines.split_headline_options(core, cmd.args)
    families = _families(args, "subscribe")
    topic = _topic(cmd)
    for family in families:
        await core.store.subscribe(cmd.chat, family)
    extra = []
    if cmd.platform == "telegram":
        # Run inside a forum topic, the families' alerts go to that topic; run in the
        # main chat, they come back to it.
        await core.noise.prefs.set_topics(cmd.chat, families, topic)
        if topic is not None:
            extra.append("Their alerts go to this topic.")
    if headline_filter is not None:
        extra.append(await headlines.save_headline_filter(core, cmd.chat, headline_filter))
    now = await core.store.subscriptions(cmd.chat)
    return reply(
        "Subscribed: " + ", ".join(f.value for f in families),
        "This chat gets: " + (", ".join(f.value for f in now) or "nothing"),
        *extra,
    )


def _topic(cmd: Command) -> str | None:
    if cmd.thread is None:
        return None
    if not (cmd.thread.isascii() and cmd.thread.isdigit()) or len(cmd.thread) > 12:
        raise UsageError(f"this topic's id is not usable; run {ref('subscribe')} in the main chat")
    return cmd.thread


async def unsubscribe(core: Needs, cmd: Command) -> Message:
    families = _families(cmd.args, "unsubscribe")
    for family in families:
        await core.store.unsubscribe(cmd.chat, family)
    if Family.HEADLINES in families:
        await headlines.clear_headline_filter(core, cmd.chat)
    now = await core.store.subscriptions(cmd.chat)
    return reply(
        "Unsubscribed: " + ", ".join(f.value for f in families),
        "This chat gets: " + (", ".join(f.value for f in now) or "nothing"),
    )


async def mute(core: Needs, cmd: Command) -> Message:
    if len(cmd.args) != 1:
        raise UsageError(
            f"usage: {ref('mute DURATION')}, e.g. {ref('mute 2h')} (up to 7d); "
            f"{ref('unmute')} ends it"
        )
    try:
        seconds = parse_duration(cmd.args[0], max_s=7 * 86400)
    except RuleSpecError as exc:
        raise UsageError(str(exc)) from None
    until = core.clock.now().timestamp() + seconds
    await core.store.mute(cmd.chat, until, seconds)
    return reply(
        f"Muted for {fmt.duration(seconds)}",
        f"Alerts for this chat are skipped until then; {ref('unmute')} to end it now.",
    )


async def unmute(core: Needs, cmd: Command) -> Message:
    if cmd.args:
        raise UsageError(f"usage: {ref('unmute')} (takes no arguments)")
    was = await core.store.unmute(cmd.chat)
    return reply("Unmuted" if was else "This chat was not muted")
