"""Macro messages and their delivery: reminders before a release, the print when it lands
(actual vs consensus vs target vs previous, the surprise, the streak), the late notice.

Used by the macro watcher (jobs/macro.py) and by an admin's ``/macro set``. A print is
published once per release: the marker ``divbot:macro:published:{entry}``, the print in
the shared macro history and the alert's record are one atomic write (bot.state.atomic);
the alert goes to every chat subscribed to ``macro`` whose macro filters
(bot.macro.filters) it passes and that is not muted.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from bot import fmt
from bot.clock import Clock
from bot.cmdref import ref
from bot.config import Settings
from bot.macro.calendar import CalendarEntry, period_label, period_text
from bot.macro.filters import get_filters
from bot.macro.history import DEFINITIONS, load_history, stage_prints
from bot.macro.stats import (
    MIN_SURPRISES,
    StreakChange,
    Surprise,
    describe_streak,
    gap_note,
    off_target,
    previous,
    run_before,
    step_back,
    streak_change,
    surprise,
)
from bot.models import Alert, Family, Message
from bot.state import keys
from bot.state.atomic import Batch
from bot.state.store import Store

log = logging.getLogger(__name__)
MARKER_TTL_S = 60 * 86400


class Dispatcher(Protocol):
    """What macro alerts use of the alerting service (bot.rules.service.AlertService)."""

    async def raise_or_keep(
        self,
        what: str,
        alert: Alert,
        *,
        audience: Iterable[str] | None = None,
        batch: Batch | None = None,
    ) -> list[str] | None: ...


class Context(Protocol):
    """What macro alerts use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...
    @property
    def redis(self) -> Any: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def service(self) -> Dispatcher: ...


def _id(*parts: object) -> str:
    text = "|".join(str(p) for p in parts)
    return hashlib.sha1(text.encode()).hexdigest()[:16]  # noqa: S324 - an id, not security


def value_text(value: float, unit: str) -> str:
    """−1.9% y/y, 49.3, +4.5% y/y."""
    if unit.startswith("%"):
        return f"{fmt.pct(value)} {unit[1:].strip()}".strip()
    if unit == "index":
        return f"{value:.1f}"
    return f"{value:g} {unit}"


def delta_text(delta: float, unit: str) -> str:
    return fmt.signed(delta, 1, "pp" if unit.startswith("%") else " pt")


def _target_line(value: float, entry: CalendarEntry | None, unit: str) -> str | None:
    if entry is None or entry.target is None:
        return None
    gap = off_target(value, entry.target)
    shown = entry.target_text or "the target"
    if gap == 0:
        return f"on target: {shown}"
    where = "below" if gap < 0 else "above"
    return f"{delta_text(abs(gap), unit).lstrip('+')} {where} target: {shown}"


def _surprise_line(s: Surprise, unit: str) -> str:
    base = f"Surprise {delta_text(s.value, unit)} vs consensus"
    if s.z is not None:
        return f"{base} ({fmt.signed(s.z, 1)}σ of {s.past} past surprises)"
    return f"{base} (σ needs {MIN_SURPRISES} past surprises, have {s.past})"


@dataclass(frozen=True, slots=True)
class Published:
    alert: Alert
    chats: list[str]
    surprise: Surprise | None
    change: StreakChange | None


async def audience(
    core: Context,
    indicator: str | None = None,
    surprise_value: float | None = None,
    change: StreakChange | None = None,
) -> list[str]:
    """Macro subscribers, narrowed by their macro rules when `indicator` (mutes and the
    noise gate are the fan-out's: bot.delivery.fanout)."""
    chats = []
    for chat in sorted(await core.store.subscribers(Family.MACRO)):
        if indicator is not None:
            rule = (await get_filters(core.redis, chat)).get(indicator)
            if rule is not None and not rule.matches(surprise_value, change):
                continue
        chats.append(chat)
    return chats


async def deliver(
    core: Context,
    what: str,
    alert: Alert,
    batch: Batch | None = None,
    indicator: str | None = None,
    surprise_value: float | None = None,
    change: StreakChange | None = None,
) -> list[str] | None:
    """Raise `alert` for macro subscribers (filtered by their macro rules when
    `indicator`), in one atomic write with `batch` (the release's markers and history).
    None when a claim in `batch` existed (done before); while Redis is unreachable the
    raise waits in the backlog ([])."""
    chats = await audience(core, indicator, surprise_value, change)
    return await core.service.raise_or_keep(what, alert, audience=chats, batch=batch)


async def publish_print(
    core: Context,
    indicator: str,
    period: date,
    value: float,
    *,
    entry: CalendarEntry | None,
    source: str,
    at: datetime,
    ytd: bool = False,
    provider_previous: tuple[date, float] | None = None,
) -> Published | None:
    """Store and announce one print; None when this release was already published.

    The print is public from `at` (kept with it: bot.macro.history). "Previous" is the
    immediately preceding period: from the history, else the provider's own value for it
    (`provider_previous`, stored then), else it says which period is missing. The streak
    counts consecutive periods only (bot.macro.stats.run_before)."""
    key = entry.key if entry else f"{indicator}:{period_text(indicator, period)}"
    redis: Any = core.redis  # decode_responses=True: replies are str
    # A year-to-date GDP print does not stand in for the quarter's own: an admin can still
    # /macro set it, so the two are published under different markers.
    if ytd:
        key += ":ytd"
    marker = keys.macro_published(key)
    if await redis.exists(marker):
        return None
    # The release marked published, the print stored, the surprise noted and the alert's
    # record: one atomic write (bot.state.atomic), so none lands without the others.
    batch = Batch()
    batch.claim(marker, MARKER_TTL_S, source)
    stored = "GDP_YTD" if ytd else indicator
    known = DEFINITIONS.get(stored)
    unit = entry.unit if entry else (known.unit if known else "")
    history = await load_history(redis, stored) if known else []
    step = 3 if known and known.quarterly else 1
    prev = previous(history, period, step)
    sent = provider_previous
    if prev is None and sent is not None and sent[0] == step_back(period, step):
        prev = sent  # the provider sent the preceding period: keep it
        if known:
            stage_prints(batch, stored, [prev])
            history = sorted([*history, prev])
    before, gap = run_before(history, period, step)

    change = None
    level = known.level if known else None
    if stored == "GDP" and entry is not None and entry.target is not None:
        level = entry.target[0]  # "below target" means below the band's floor
    if level is not None:
        change = streak_change(before, value, level)

    s = None
    consensus = entry.consensus if entry is not None else None
    if consensus is not None:
        past_raw: dict[str, str] = await redis.hgetall(keys.macro_surprises(indicator))
        past = [float(v) for k, v in past_raw.items() if k != period.isoformat()]
        s = surprise(value, consensus, past)
        batch.call("HSET", keys.macro_surprises(indicator), period.isoformat(), repr(s.value))
    if known:
        # The caller refreshes the economy pulse (bot.divergence.snapshot.refresh_pulse).
        stage_prints(batch, stored, [(period, value)], at)  # public from now

    name = known.name if known else indicator
    label = period_label(indicator, period)
    if ytd:
        title = f"{name} {period.year} (to {label[:2]}) {value_text(value, unit)}"
    else:
        title = f"{name} {label} {value_text(value, unit)}"
    unit_word = "quarter" if known and known.quarterly else "month"
    if change is not None and known is not None:
        level_name = "target" if stored == "GDP" else known.level_name
        title += ", " + describe_streak(change, level_name, unit_word)
        title += gap_note(change, before, gap, step == 3)
    want = period_label(indicator, step_back(period, step))
    fields = [
        ("Actual", value_text(value, unit)),
        ("Consensus", value_text(consensus, unit) if consensus is not None else "n/a"),
        (
            "Previous",
            f"{value_text(prev[1], unit)} ({want})" if prev else f"n/a ({want} missing)",
        ),
    ]
    if entry is not None and entry.target_text:
        fields.append(("Target", entry.target_text))
    lines = [f"{name} for {label}" + (" (growth of the year so far)" if ytd else "")]
    if s is not None:
        lines.append(_surprise_line(s, unit))
    target_line = _target_line(value, entry, unit)
    if target_line:
        lines.append(target_line)
    if ytd:
        lines.append(
            "The feed gives year-to-date GDP only; "
            f"{ref('macro set GDP VALUE')} records the quarter."
        )
    message = Message(title=title, lines=lines, fields=fields, source=source, at=at)
    # A surprise this big goes through a chat's quiet hours (bot.chat.quiet).
    big = s is not None and s.z is not None and abs(s.z) >= core.settings.quiet_urgent_surprise_z
    severity: Literal["info", "critical"] = "critical" if big else "info"
    alert = Alert(_id("macro-print", key), Family.MACRO, message, at, severity=severity)
    chats = await deliver(
        core, "macro print", alert, batch, indicator, s.value if s else None, change
    )
    if chats is None:
        return None  # published meanwhile (another replica, or /macro set)
    log.info(
        "published %s %s = %s from %s to %d chats", indicator, label, value, source, len(chats)
    )
    return Published(alert, chats, s, change)


async def remind(
    core: Context, entries: list[CalendarEntry], minutes: int, now: datetime
) -> list[str] | None:
    """One reminder for the entries due at the same time, `minutes` before it."""
    tz = core.settings.timezone
    lines = []
    for e in entries:
        if e.kind == "event":
            lines.append(e.title + (f" ({e.note})" if e.note else ""))
            continue
        parts = [e.title]
        if e.consensus is not None:
            parts.append(f"consensus {value_text(e.consensus, e.unit)}")
        known = DEFINITIONS.get(e.indicator or "")
        if known and e.period is not None:
            step = 3 if known.quarterly else 1
            prev = previous(await load_history(core.redis, e.indicator or ""), e.period, step)
            if prev:
                when = period_label(e.indicator or "", prev[0])
                parts.append(f"previous {value_text(prev[1], e.unit)} ({when})")
        if e.target_text:
            parts.append(f"target {e.target_text}")
        if len(parts) > 1:
            lines.append(" · ".join(parts))
    when = fmt.when(entries[0].at, tz)
    titles = ", ".join(e.title for e in entries)
    message = Message(title=f"In {minutes} min: {titles}", lines=[f"Due {when}", *lines], at=now)
    alert_id = _id("macro-remind", minutes, *(e.key for e in entries))
    batch = Batch()
    for e in entries:  # marked reminded with the reminder's record: both or neither
        batch.claim(keys.macro_reminded(e.key, minutes), MARKER_TTL_S)
    return await deliver(core, "macro reminder", Alert(alert_id, Family.MACRO, message, now), batch)


async def late_notice(
    core: Context, entry: CalendarEntry, source: str, waited_s: float, reason: str, now: datetime
) -> list[str] | None:
    tz = core.settings.timezone
    lines = [
        f"Scheduled {fmt.when(entry.at, tz)}; no new print from {source} after "
        f"{fmt.duration(waited_s)}.",
    ]
    if reason:
        lines.append(f"Last answer: {reason}")
    lines.append(f"An operator can publish it by hand: {ref(f'macro set {entry.indicator} VALUE')}")
    message = Message(title=f"{entry.title} is late", lines=lines, at=now)
    alert = Alert(_id("macro-late", entry.key), Family.MACRO, message, now, severity="warning")
    batch = Batch()
    batch.claim(keys.macro_late(entry.key), MARKER_TTL_S)
    return await deliver(core, "macro late notice", alert, batch)
