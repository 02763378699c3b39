"""/calendar and /macro: what is due and what came out, in the chat's time zone.

- ``/calendar [DAYS] [INDICATOR]``: scheduled releases and events, in the chat's zone.
- ``/calendar add INDICATOR PERIOD DATE TIME [ZONE] [consensus=X] [target=X|LOW-HIGH]``,
  ``/calendar add event ID DATE TIME [ZONE] TITLE…``, ``/calendar rm KEY`` (admins):
  entries stored in Redis over the seed calendar.
- ``/macro [INDICATOR]``: latest prints and the current streak.
- ``/macro set INDICATOR VALUE [PERIOD]`` (admins): publish a print by hand.
- ``/macro alert INDICATOR surprise N|streak|all`` (admins), ``/macro alerts``.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.chat.timezone import DEFAULT_TZ, chat_timezone, valid_timezone
from bot.clock import Clock
from bot.cmdref import ref
from bot.divergence.metrics import stale_since
from bot.divergence.snapshot import HasEngine, Sources, refresh_pulse
from bot.fmt import excerpt
from bot.macro.alerts import Context, Dispatcher, publish_print, value_text
from bot.macro.calendar import (
    CalendarEntry,
    CalendarError,
    ReleaseCalendar,
    parse_entry,
    parse_period,
    period_text,
)
from bot.macro.filters import add_condition, check_surprise, clear, get_filters
from bot.macro.history import DEFINITIONS, INDICATORS, load_history, range_problem
from bot.macro.stats import (
    Gap,
    describe_streak,
    gap_note,
    run_before,
    step_back,
    streak_change,
)
from bot.models import Message
from handlers.base import Command, UsageError, reply


class PrintService(Dispatcher, HasEngine, Protocol):
    """The alerting service as a published print uses it: dispatch, and the engine's pulse."""


class Needs(Context, Sources, Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def service(self) -> PrintService: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def redis(self) -> Any: ...

    @property
    def releases(self) -> ReleaseCalendar: ...


CALENDAR_USAGE = (
    f"{ref('calendar [DAYS] [INDICATOR]')} · "
    f"{ref('calendar add INDICATOR PERIOD DATE TIME [ZONE] [consensus=X] [target=X]')} · "
    f"{ref('calendar add event ID DATE TIME [ZONE] TITLE')} · {ref('calendar rm KEY')}"
)
MACRO_USAGE = (
    f"{ref('macro [INDICATOR]')} · {ref('macro set INDICATOR VALUE [PERIOD]')} · "
    f"{ref('macro alert INDICATOR surprise N|streak|all')} · {ref('macro alerts')}"
)
SETTABLE = tuple(i for i in DEFINITIONS if i != "GDP_YTD")
MAX_DAYS = 366


def calendar_of(core: Needs) -> ReleaseCalendar:
    return core.releases


def _when(at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def _indicator(word: str, allowed: tuple[str, ...]) -> str:
    ind = word.upper()
    if ind not in allowed:
        raise UsageError(f"unknown indicator {excerpt(word)}; one of {', '.join(allowed)}")
    return ind


# -- /calendar -----------------------------------------------------------------------
async def calendar(core: Needs, cmd: Command) -> Message:
    if cmd.args and cmd.args[0].lower() == "add":
        return await _calendar_add(core, cmd, list(cmd.args[1:]))
    if cmd.args and cmd.args[0].lower() == "rm":
        return await _calendar_rm(core, cmd, list(cmd.args[1:]))
    if len(cmd.args) > 2:
        raise UsageError(f"usage: {CALENDAR_USAGE}")
    entries = await calendar_of(core).entries()
    days, wanted = 14, None
    known = {e.indicator for e in entries if e.indicator} | set(DEFINITIONS)
    for word in cmd.args:
        if word.isascii() and word.isdigit():
            days = int(word)
            if not 1 <= days <= MAX_DAYS:
                raise UsageError(f"DAYS must be 1..{MAX_DAYS}, got {excerpt(word)}")
        else:
            wanted = _indicator(word, tuple(sorted(known)))
    tz = await chat_timezone(core.redis, cmd.chat)
    now = core.clock.now()
    until = now + timedelta(days=days)
    shown = [
        e for e in entries if now <= e.at < until and (wanted is None or e.indicator == wanted)
    ]
    what = wanted or "releases and events"
    if not shown:
        return reply(
            f"No {what} in the next {days} days",
            f"times in {tz}; {ref('calendar 60')} looks further",
        )
    lines = []
    for e in shown:
        extra = []
        if e.consensus is not None:
            extra.append(f"cons {value_text(e.consensus, e.unit)}")
        if e.target_text:
            extra.append(f"target {e.target_text}")
        if e.origin == "chat":
            extra.append("added in chat")
        lines.append(
            f"{_when(e.at, tz):<21} {e.title}" + (f" · {' · '.join(extra)}" if extra else "")
        )
    return Message(
        title=f"Next {days} days: {what} ({tz})",
        lines=lines,
        preformatted=True,
        source="NBS 2026 calendar (seeds/calendar_2026.toml) + chat entries",
    )


def _split_options(words: list[str]) -> tuple[list[str], dict[str, str]]:
    plain, options = [], {}
    for word in words:
        if "=" in word:
            name, _, value = word.partition("=")
            if name.lower() not in ("consensus", "target"):
                raise UsageError(f"unknown option {excerpt(name)}; use consensus=X or target=X")
            options[name.lower()] = value
        else:
            plain.append(word)
    return plain, options


def _option_number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name}={text[:16]} is not a number") from None
    if not math.isfinite(value) or abs(value) > 1000:
        raise UsageError(f"{name}={text[:16]} is out of range")
    return value


async def _calendar_add(core: Needs, cmd: Command, words: list[str]) -> Message:
    usage = f"usage: {CALENDAR_USAGE}"
    plain, options = _split_options(words)
    if len(plain) < 4:
        raise UsageError(usage)
    cal = calendar_of(core)
    try:
        if plain[0].lower() == "event":
            if options:
                raise UsageError("an event takes no consensus or target")
            ident, day, clock_time, rest = plain[1], plain[2], plain[3], plain[4:]
            tz = DEFAULT_TZ
            if rest and valid_timezone(rest[0]):
                tz = str(valid_timezone(rest[0]))
                rest = rest[1:]
            raw: dict[str, object] = {
                "id": ident.lower(),
                "title": " ".join(rest),
                "at": f"{day}T{clock_time}",
                "tz": tz,
            }
            entry = parse_entry("event", raw, origin="chat")
        else:
            indicator = plain[0].upper()
            known = DEFINITIONS.get(indicator)
            _, _, period = parse_period(plain[1], known.quarterly if known else None)
            day, clock_time, rest = plain[2], plain[3], plain[4:]
            entries = await cal.entries()
            existing = next((e for e in entries if e.key == f"{indicator}:{period}"), None)
            raw = existing.raw() if existing else {"indicator": indicator, "period": period}
            # A new period of a non-bot indicator (US_CPI) takes the unit of its siblings.
            sibling = next((e for e in entries if e.indicator == indicator), None)
            if existing is None and known is None and sibling is not None:
                raw["unit"] = sibling.unit
            raw.update(at=f"{day}T{clock_time}", tz=DEFAULT_TZ)
            if rest:
                zone = valid_timezone(rest[0])
                if zone is None or len(rest) > 1:
                    raise UsageError(f"{excerpt(rest[0])} is not a time zone; {usage}")
                raw["tz"] = zone
            if "consensus" in options:
                raw["consensus"] = _option_number("consensus", options["consensus"])
            if "target" in options:
                low, sep, high = options["target"].partition("-")
                raw["target"] = (
                    [_option_number("target", low), _option_number("target", high)]
                    if sep and low
                    else _option_number("target", options["target"])
                )
                raw["target_text"] = options["target"] + (
                    "%" if known and "%" in known.unit else ""
                )
            entry = parse_entry("release", raw, origin="chat")
    except CalendarError as exc:
        raise UsageError(f"{exc}; {usage}") from None
    if entry.at <= core.clock.now():
        raise UsageError(f"{_when(entry.at, entry.tz)} is in the past; only upcoming entries")
    await cal.put(entry)
    tz = await chat_timezone(core.redis, cmd.chat)
    return reply(
        f"Calendar: {entry.title} at {_when(entry.at, tz)}",
        f"stored as {entry.key} (over the seed calendar); "
        f"{ref(f'calendar rm {entry.key}')} undoes it",
    )


async def _calendar_rm(core: Needs, cmd: Command, words: list[str]) -> Message:
    if len(words) != 1:
        raise UsageError(
            f"usage: {ref('calendar rm KEY')} (a key like CPI:2026-01 or event:npc-2026)"
        )
    key = words[0]
    if ":" in key and not key.startswith("event:"):
        ind, _, period = key.partition(":")
        key = f"{ind.upper()}:{period.upper()}"
    if not await calendar_of(core).remove(key):
        raise UsageError(
            f"no chat-added entry {excerpt(key)}; seed entries can be corrected, not removed"
        )
    return reply(
        f"Removed {key} from the chat entries", "the seed calendar's entry, if any, applies again"
    )


# -- /macro ------------------------------------------------------------------------
async def macro(core: Needs, cmd: Command) -> Message:
    if not cmd.args:
        return await _summary(core)
    sub = cmd.args[0].lower()
    if sub == "set":
        return await _set(core, cmd, list(cmd.args[1:]))
    if sub == "alert":
        return await _alert(core, cmd, list(cmd.args[1:]))
    if sub == "alerts":
        return await _alerts(core, cmd)
    if len(cmd.args) != 1:
        raise UsageError(f"usage: {MACRO_USAGE}")
    return await _history(core, _indicator(cmd.args[0], tuple(DEFINITIONS)))


def _streak_text(indicator: str, history: list[tuple[date, float]]) -> str | None:
    """The latest print's streak, counted over consecutive periods only; a run that
    reaches a missing period says so (bot.macro.stats.run_before)."""
    known = DEFINITIONS[indicator]
    if known.level is None or not history:
        return None
    period, value = history[-1]
    step = 3 if known.quarterly else 1
    run, gap = run_before(history, period, step)
    change = streak_change(run, value, known.level)
    unit_word = "quarter" if known.quarterly else "month"
    text = describe_streak(change, known.level_name, unit_word)
    return text + gap_note(change, run, gap, known.quarterly)


def _label(indicator: str, period: date) -> str:
    return parse_period(period_text(indicator, period), None)[1]


def _stale(indicator: str, period: date, today: date) -> str | None:
    """'stale: Jan 2026 overdue' when a newer print should have come out by `today`."""
    if today < stale_since(indicator, period):
        return None
    step = 3 if DEFINITIONS[indicator].quarterly else 1
    return f"stale: {_label(indicator, step_back(period, -step))} overdue"


def _today(core: Needs) -> date:
    return core.clock.now().astimezone(ZoneInfo(DEFAULT_TZ)).date()  # NBS's calendar day


async def _history(core: Needs, indicator: str) -> Message:
    known = DEFINITIONS[indicator]
    history = await load_history(core.redis, indicator)
    if not history:
        return reply(f"No {known.name} prints stored yet", "they arrive with the next release")
    latest_period, latest = history[-1]
    label = _label(indicator, latest_period)
    title = f"{known.name} {label} {value_text(latest, known.unit)}"
    stale = _stale(indicator, latest_period, _today(core))
    if stale:
        title += f" ({stale})"
    streak = _streak_text(indicator, history)
    if streak:
        title += f", {streak}"
    lines = []
    step = 3 if known.quarterly else 1
    shown = history[-6:]
    for i in range(len(shown) - 1, -1, -1):
        period, value = shown[i]
        lines.append(f"{_label(indicator, period):<9} {value_text(value, known.unit):>12}")
        if i > 0 and step_back(period, step) != shown[i - 1][0]:
            first = step_back(period, step)
            gap = Gap(step_back(shown[i - 1][0], -step), first)
            lines.append(f"{gap.text(known.quarterly)} missing")
    return Message(title=title, lines=lines, preformatted=True, source="macro history (Redis)")


async def _summary(core: Needs) -> Message:
    lines = []
    today = _today(core)
    for indicator in INDICATORS:
        known = DEFINITIONS[indicator]
        history = await load_history(core.redis, indicator)
        if not history:
            lines.append(f"{known.name}: no prints yet")
            continue
        period, value = history[-1]
        streak = _streak_text(indicator, history)
        line = f"{known.name} {_label(indicator, period)} {value_text(value, known.unit)}"
        stale = _stale(indicator, period, today)
        if stale:
            line += f" ({stale})"
        lines.append(line + (f": {streak}" if streak else ""))
    lines.append(f"usage: {MACRO_USAGE}")
    return reply("China macro, latest prints (a stale one says so)", *lines)


async def _pending_release(
    core: Needs, indicator: str, period_word: str | None
) -> CalendarEntry | None:
    entries = [e for e in await calendar_of(core).entries() if e.indicator == indicator]
    if period_word is not None:
        known = DEFINITIONS[indicator]
        try:
            _, _, canonical = parse_period(period_word, known.quarterly)
        except CalendarError as exc:
            raise UsageError(str(exc)) from None
        return next((e for e in entries if e.key == f"{indicator}:{canonical}"), None)
    now = core.clock.now()
    due = [e for e in entries if e.at <= now]
    return due[-1] if due else None


async def _set(core: Needs, cmd: Command, words: list[str]) -> Message:
    usage = (
        f"usage: {ref('macro set INDICATOR VALUE [PERIOD]')}, "
        f"e.g. {ref('macro set PPI -1.9 2025-12')}"
    )
    if len(words) not in (2, 3):
        raise UsageError(usage)
    indicator = _indicator(words[0], SETTABLE)
    try:
        value = float(words[1].replace("\u2212", "-"))
    except ValueError:
        raise UsageError(f"{excerpt(words[1])} is not a number; {usage}") from None
    problem = range_problem(indicator, DEFINITIONS[indicator].unit, "print", value)
    if problem is not None:
        raise UsageError(f"{problem}; nothing was published")
    entry = await _pending_release(core, indicator, words[2] if len(words) == 3 else None)
    if entry is None or entry.period is None:
        raise UsageError(
            f"no scheduled {indicator} release to set; give the period, e.g. "
            f"{ref(f'macro set {indicator} {value:g} 2026-01')}"
        )
    now = core.clock.now()
    published = await publish_print(
        core, indicator, entry.period, value, entry=entry, source="set by an operator", at=now
    )
    if published is None:
        raise UsageError(f"{entry.title} was already published; nothing changed")
    await refresh_pulse(core)  # /divergence and divergence rules see the new print
    return reply(
        f"Published {entry.title}: {value_text(value, entry.unit)}",
        f"sent to {len(published.chats)} subscribed chat(s)",
    )


async def _alert(core: Needs, cmd: Command, words: list[str]) -> Message:
    usage = f"usage: {ref('macro alert INDICATOR surprise N | streak | all')}"
    if len(words) < 2:
        raise UsageError(usage)
    indicator = _indicator(words[0], SETTABLE)
    kind = words[1].lower()
    if kind == "surprise":
        if len(words) != 3:
            raise UsageError(f"usage: {ref('macro alert INDICATOR surprise N')}, e.g. surprise 0.3")
        try:
            threshold = check_surprise(words[2])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        rule = await add_condition(core.redis, cmd.chat, indicator, surprise=threshold)
    elif kind == "streak" and len(words) == 2:
        rule = await add_condition(core.redis, cmd.chat, indicator, streak=True)
    elif kind in ("all", "off") and len(words) == 2:
        await clear(core.redis, cmd.chat, indicator)
        return reply(f"{indicator}: this chat hears every print again")
    else:
        raise UsageError(usage)
    return reply(
        f"Macro alert set: {rule.describe()}", f"{ref(f'macro alert {indicator} all')} undoes it"
    )


async def _alerts(core: Needs, cmd: Command) -> Message:
    filters = await get_filters(core.redis, cmd.chat)
    if not filters:
        return reply("This chat hears every macro print", f"narrow it: {MACRO_USAGE}")
    return reply("Macro alerts in this chat", *(f.describe() for f in filters.values()))
