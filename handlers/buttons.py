"""The alert buttons' actions: one codec for every platform.

Owns the action strings an alert's buttons carry (``Button.action``) and what each one
means as an ``/alert`` command. Telegram sends the action back as ``callback_data``,
Slack as the button's ``value``; both transports decode it here, so a button works, and
is refused, the same way everywhere:

- ``mute:<rule>:<seconds>`` -> ``/alert mute <rule> <duration>`` (``3600`` -> ``1h``);
- ``rm:<rule>`` -> ``/alert rm <rule>``;
- ``resume:<rule>`` -> ``/alert resume <rule>``;
- ``watch:<secid>`` -> ``/watch <secid>``: a candidate under an ambiguous ``/watch``
  (``watch:1.688256``; the secid as bot.sources.search.SECID spells it).
- ``bt:<rule>`` -> ``/backtest <rule>`` (the *Backtest* buttons under /alerts; `command`
  names the command, `decode` keeps answering for /alert's actions only).

A rule id is ``r`` and 1-12 ASCII digits (bot.models.RULE_ID). A mute lasts 1 second to
7 days (``MAX_MUTE_S``): the stricter of the two decoders this replaces (Telegram took up
to 9,999,999 s, and 0, and left ``/alert mute`` to refuse them; Slack refused them at the
button), and the same cap ``/alert mute`` itself applies. Anything else — other words,
extra parts, non-ASCII digits, a trailing newline — is not one of ours (None).

The alerts that carry the buttons are built in bot.rules.crossing_alerts and bot.chat.gate,
which may not import handlers/ (see their packages' docstrings); they spell the same
strings, and tests/test_buttons.py checks that those decode here. New code encodes with
``mute``, ``remove`` and ``resume``. No chat library is imported here.
"""

from __future__ import annotations

import re

MAX_MUTE_S = 7 * 86400  # a week: /alert mute's own limit (handlers.rules)
_RULE = r"r[0-9]{1,12}"
_ACTION = re.compile(
    rf"mute:(?P<mute>{_RULE}):(?P<seconds>[0-9]{{1,9}})"
    rf"|rm:(?P<rm>{_RULE})"
    rf"|resume:(?P<resume>{_RULE})",
    re.ASCII,
)
_WATCH = re.compile(r"watch:(?P<secid>(?:0|1|116|105|106|107)\.[0-9A-Z_]{1,12})", re.ASCII)
_BACKTEST = re.compile(rf"bt:(?P<rule>{_RULE})", re.ASCII)
_UNITS = (("d", 86400), ("h", 3600), ("m", 60))


def duration_word(seconds: int) -> str:
    """3600 -> '1h': the largest unit that divides evenly, as /alert mute accepts it."""
    for unit, size in _UNITS:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def mute(rule_id: str, seconds: int) -> str:
    """The action of a *Mute* button: mute `rule_id` in the chat for `seconds`."""
    if not 0 < seconds <= MAX_MUTE_S:
        raise ValueError(f"a mute lasts 1s to {MAX_MUTE_S // 86400}d, not {seconds}s")
    return _checked(f"mute:{rule_id}:{seconds}")


def remove(rule_id: str) -> str:
    """The action of a *Remove rule* button."""
    return _checked(f"rm:{rule_id}")


def resume(rule_id: str) -> str:
    """The action of a *Resume* button (a rule paused by flap protection)."""
    return _checked(f"resume:{rule_id}")


def watch(secid: str) -> str:
    """The action of a candidate's button under an ambiguous /watch."""
    action = f"watch:{secid}"
    if _WATCH.fullmatch(action) is None:
        raise ValueError(f"not a button action: {action!r}")
    return action


def backtest(rule_id: str) -> str:
    """The action of a *Backtest* button (under /alerts): backtest the rule over 3 years."""
    action = f"bt:{rule_id}"
    if _BACKTEST.fullmatch(action) is None:
        raise ValueError(f"not a rule id: {rule_id!r}")
    return action


def command(action: str | None) -> tuple[str, tuple[str, ...]] | None:
    """A button's action as a command name and its arguments, or None when it is not one
    of ours: 'watch:1.688256' -> ('watch', ('1.688256',)), 'bt:r3' -> ('backtest', ('r3',)),
    'rm:r3' -> ('alert', ('rm', 'r3'))."""
    match = _WATCH.fullmatch(action or "")
    if match is not None:
        return "watch", (match["secid"],)
    match = _BACKTEST.fullmatch(action or "")
    if match is not None:
        return "backtest", (match["rule"],)
    args = decode(action)
    return None if args is None else ("alert", args)


def _checked(action: str) -> str:
    if decode(action) is None:
        raise ValueError(f"not a button action: {action!r}")
    return action


def decode(action: str | None) -> tuple[str, ...] | None:
    """A button's action as /alert arguments, or None when it is not one of ours:
    'mute:r3:3600' -> ('mute', 'r3', '1h'), 'rm:r3' -> ('rm', 'r3')."""
    match = _ACTION.fullmatch(action or "")
    if match is None:
        return None
    if match["rm"]:
        return ("rm", match["rm"])
    if match["resume"]:
        return ("resume", match["resume"])
    seconds = int(match["seconds"])
    if not 0 < seconds <= MAX_MUTE_S:
        return None
    return ("mute", match["mute"], duration_word(seconds))
