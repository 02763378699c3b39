"""/quiet, /notify, /history: how loud this chat's alerts are, when, and what fired.

Reading (`/quiet`, `/notify` without arguments, `/history`) is for anyone; changing
needs a chat admin (or a private chat). Every argument is validated before anything is
written, so a bad one changes nothing.
"""

from __future__ import annotations

import re
from typing import Protocol

from bot import fmt
from bot.chat.gate import Gate
from bot.chat.prefs import LEVELS, MAX_GROUP_S, Level
from bot.chat.quiet import USAGE, QuietSpecError, parse_quiet, quiet_window
from bot.clock import Clock
from bot.cmdref import ref
from bot.models import SUBSCRIBABLE, Family, Message
from handlers.base import Command, UsageError, reply


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def noise(self) -> Gate: ...


QUIET_USAGE = USAGE
FAMILIES = " ".join(f.value for f in SUBSCRIBABLE)
NOTIFY_USAGE = (
    f"usage: {ref('notify FAMILY on|silent|off')} (families: {FAMILIES}, or all) "
    f"| {ref('notify group 10s')} (0 = no grouping, up to 5m)"
)
# What `silent` really does on each platform: Slack has no silent post.
SILENT = {
    "telegram": "delivered without a notification sound",
    "slack": "posted as usual: Slack has no silent post, so each member is notified as "
    "their own settings for this channel say (mute the channel in Slack to hear nothing)",
}
HISTORY_USAGE = f"usage: {ref('history [N] [FAMILY]')} (N 1-50; families: {FAMILIES})"
MAX_HISTORY = 50
_GROUP = re.compile(r"^([0-9]{1,3})(s|m)?$")
STATUS_WORDS = {
    "queued": "queued",
    "delivered": "delivered",
    "held": "held (quiet hours)",
    "grouped": "grouped",
    "muted": "muted",
    "off": "off (not delivered)",
    "paused": "paused (flapping)",
    "failed": "failed",
}


def _gate(core: Needs) -> Gate:
    return core.noise


# -- /quiet --------------------------------------------------------------------------------
async def quiet(core: Needs, cmd: Command) -> Message:
    gate = _gate(core)
    if not cmd.args:
        return await _show_quiet(core, gate, cmd.chat)
    if len(cmd.args) == 1 and cmd.args[0].lower() == "off":
        had = await gate.prefs.quiet(cmd.chat)
        await gate.prefs.set_quiet(cmd.chat, None)
        # Anything held goes out now, as the summary, on the next flush.
        await gate.release_held_now(cmd.chat)
        return reply("Quiet hours off" if had else "This chat had no quiet hours")
    try:
        spec = parse_quiet(list(cmd.args))
    except QuietSpecError as exc:
        raise UsageError(str(exc)) from None
    await gate.prefs.set_quiet(cmd.chat, spec)
    tz = await gate.zones.get(cmd.chat)
    return reply(
        f"Quiet hours set: {spec.describe()}",
        f"in this chat's time zone, {tz} ({ref('timezone')} to change it)",
        "Alerts that arrive then are held and sent as one summary when the quiet ends.",
    )


async def _show_quiet(core: Needs, gate: Gate, chat: str) -> Message:
    spec = await gate.prefs.quiet(chat)
    tz = await gate.zones.get(chat)
    if spec is None:
        return reply("No quiet hours in this chat", f"set them: {ref('quiet 22:00-07:00')} ({tz})")
    lines = [f"time zone {tz}"]
    window = quiet_window(spec, core.clock.now(), tz)
    if window is not None:
        lines.append(f"quiet now, until {fmt.when(window[1], tz)}")
    held = await gate.held_count(chat)
    if held:
        lines.append(f"{held} alert{'s' if held != 1 else ''} held for the summary")
    return reply(f"Quiet hours: {spec.describe()}", *lines)


# -- /notify -------------------------------------------------------------------------------
def _group_seconds(word: str) -> int:
    low = word.lower()
    if low == "off":
        return 0
    match = _GROUP.match(low)
    if match is None:
        raise UsageError(f"{fmt.excerpt(word)} is not a window like 10s or 1m; {NOTIFY_USAGE}")
    seconds = int(match.group(1)) * (60 if match.group(2) == "m" else 1)
    if seconds > MAX_GROUP_S:
        raise UsageError(f"grouping window up to {MAX_GROUP_S // 60}m; {NOTIFY_USAGE}")
    return seconds


async def notify(core: Needs, cmd: Command) -> Message:
    gate = _gate(core)
    if not cmd.args:
        levels = await gate.prefs.levels(cmd.chat)
        window = await gate.prefs.group_window(cmd.chat)
        lines = [f"{fam.value:<10} {level}" for fam, level in levels.items()]
        lines.append(f"{'grouping':<10} {fmt.duration(window) if window else 'off'}")
        return Message(title="Notification levels", lines=lines, preformatted=True)
    if len(cmd.args) != 2:
        raise UsageError(NOTIFY_USAGE)
    what, value = cmd.args[0].lower(), cmd.args[1]
    if what == "group":
        seconds = _group_seconds(value)
        await gate.prefs.set_group_window(cmd.chat, seconds)
        if not seconds:
            return reply("Grouping off: each alert goes out on its own")
        return reply(
            f"Grouping window: {fmt.duration(seconds)}",
            "Alerts of one family within it go out as one message.",
        )
    if what == "all":
        families = list(SUBSCRIBABLE)
    else:
        try:
            families = [Family(what)]
            if families[0] not in SUBSCRIBABLE:
                raise ValueError(what)
        except ValueError:
            raise UsageError(f"unknown family {fmt.excerpt(what)}; {NOTIFY_USAGE}") from None
    level = value.lower()
    if level not in LEVELS:
        raise UsageError(f"level must be on, silent or off, not {fmt.excerpt(value)}")
    chosen: Level = level
    for fam in families:
        await gate.prefs.set_level(cmd.chat, fam, chosen)
    meaning = {
        "on": "delivered with a notification",
        "silent": SILENT.get(cmd.platform, SILENT["telegram"]),
        "off": f"not delivered (still listed by {ref('history')})",
    }[chosen]
    return reply(f"{', '.join(f.value for f in families)}: {chosen}", meaning)


# -- /history ------------------------------------------------------------------------------
async def history(core: Needs, cmd: Command) -> Message:
    gate = _gate(core)
    if len(cmd.args) > 2:
        raise UsageError(HISTORY_USAGE)
    n, family = 10, None
    for word in cmd.args:
        if word.isascii() and word.isdigit() and len(word) <= 3:
            n = int(word)
            if not 1 <= n <= MAX_HISTORY:
                raise UsageError(HISTORY_USAGE)
            continue
        try:
            family = Family(word.lower())
        except ValueError:
            raise UsageError(
                f"{fmt.excerpt(word)} is neither a count nor a family; {HISTORY_USAGE}"
            ) from None
    entries = await gate.history.latest(cmd.chat, n, family)
    what = f"{family.value} alerts" if family else "alerts"
    if not entries:
        return reply(f"No {what} have fired in this chat yet")
    tz = await gate.zones.get(cmd.chat)
    lines = []
    for e in entries:
        status = STATUS_WORDS.get(e.status, e.status)
        if e.detail:
            status += f" ({e.detail})"
        lines.append(f"{fmt.when(e.at, tz)} · {e.family.value} · {e.title} — {status}")
    return reply(f"Last {len(entries)} {what} in this chat", *lines)
