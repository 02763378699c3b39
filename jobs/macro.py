"""The macro watcher: reminders before each scheduled release, the print when it lands.

Schedule (pure, from the calendar): each reminder offset before every entry, the release
time itself, then every `poll_interval` until the print appears or `timeout` passes (then
once more, for the late notice). Live it also wakes every `max_sleep` to pick up entries
admins add from chat.

Step: reminders due now are sent once each (``SET NX`` per entry and offset, so a restart
never repeats one; after downtime only the latest due offset is sent). Releases being
watched are polled through the MacroSource; a print for the release's period is published
(bot.macro.alerts); bad answers mark the source unhealthy and raise nothing; a release
still missing at its timeout gets one late notice, and `/macro set` can publish it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp

from bot.clock import Clock
from bot.config import Settings
from bot.divergence.snapshot import Sources, refresh_pulse
from bot.macro.alerts import MARKER_TTL_S, Context, late_notice, publish_print, remind
from bot.macro.calendar import CalendarEntry, ReleaseCalendar, scheduled_releases
from bot.macro.history import DEFINITIONS, load_history, seed_if_empty
from bot.macro.replay_prints import ReplayMacroSource
from bot.ops.health import HealthBoard
from bot.rules.service import AlertService
from bot.sources.base import SourceError
from bot.sources.datacenter import EastmoneyMacroSource, MacroPrint, MacroSource
from bot.state import keys
from bot.state.store import Store


class Needs(Context, Sources, Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def service(self) -> AlertService: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def health(self) -> HealthBoard: ...

    @property
    def redis(self) -> Any: ...

    @property
    def releases(self) -> ReleaseCalendar: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...


log = logging.getLogger(__name__)


class MacroJob:
    name = "macro"

    def __init__(
        self,
        core: Needs,
        calendar: ReleaseCalendar,
        source: MacroSource,
        *,
        offsets_min: list[int],
        poll_interval_s: int,
        timeout_s: int,
        max_sleep_s: int | None = None,
        since: datetime | None = None,
    ) -> None:
        self.core = core
        self.calendar = calendar
        self.source = source
        self.offsets = sorted({timedelta(minutes=m) for m in offsets_min}, reverse=True)
        self.interval = timedelta(seconds=poll_interval_s)
        self.timeout = timedelta(seconds=timeout_s)
        self.max_sleep = timedelta(seconds=max_sleep_s) if max_sleep_s else None
        # Releases scheduled before this (minus the timeout) are history, not work: a bot
        # started in June does not announce January's prints as late.
        self.since = since or core.clock.now()
        self.entries: list[CalendarEntry] = []
        self.finished: set[str] = set()
        self.last_error = ""

    def _watched(self, e: CalendarEntry) -> bool:
        return (
            e.kind == "release"
            and e.indicator is not None
            and self.source.covers(e.indicator)
            and e.at + self.timeout > self.since
            and e.key not in self.finished
        )

    def next_run(self, now: datetime) -> datetime | None:
        candidates: list[datetime] = []
        for e in self.entries:
            candidates.extend(e.at - off for off in self.offsets)
            if not self._watched(e):
                continue
            deadline = e.at + self.timeout
            if now < e.at:
                candidates.append(e.at)
            elif now < deadline:
                candidates.append(min(now + self.interval, deadline))
            candidates.append(deadline)
        later = [c for c in candidates if c > now]
        if self.max_sleep is not None:
            later.append(now + self.max_sleep)
        return min(later) if later else None

    async def refresh(self) -> None:
        """Reload the calendar (seed + chat entries) and what is already done."""
        self.entries = await self.calendar.entries()
        redis = self.core.redis
        for e in self.entries:
            if e.kind != "release" or e.key in self.finished:
                continue
            if e.at + self.timeout > self.since and (
                await redis.exists(keys.macro_published(e.key), keys.macro_late(e.key))
            ):
                self.finished.add(e.key)

    async def run_once(self, now: datetime) -> None:
        await self.refresh()
        await self._reminders(now)
        await self._poll(now)

    async def _reminders(self, now: datetime) -> None:
        due: dict[tuple[datetime, int], list[CalendarEntry]] = defaultdict(list)
        redis = self.core.redis
        for e in self.entries:
            if not e.at > now:
                continue
            passed = [off for off in self.offsets if e.at - off <= now]
            if not passed:
                continue
            latest = min(passed)  # after downtime, only the reminder nearest the release
            for off in passed:
                minutes = int(off.total_seconds() // 60)
                marker = keys.macro_reminded(e.key, minutes)
                if off != latest:  # skipped, not sent: marked so it is never sent late
                    await redis.set(marker, "1", nx=True, ex=MARKER_TTL_S)
                elif not await redis.exists(marker):
                    # Marked reminded with the reminder's record (bot.macro.alerts.remind).
                    due[(e.at, minutes)].append(e)
        for (_, minutes), entries in sorted(due.items()):
            await remind(self.core, entries, minutes, now)

    async def _poll(self, now: datetime) -> None:
        active = [e for e in self.entries if self._watched(e) and e.at <= now]
        by_indicator: dict[str, list[CalendarEntry]] = defaultdict(list)
        for e in active:
            by_indicator[e.indicator or ""].append(e)
        for indicator, entries in sorted(by_indicator.items()):
            known = await self._already_known(indicator, entries)
            pending = [e for e in entries if e.key not in known]
            self.finished.update(known)
            if not pending:
                continue
            prints = await self._fetch(indicator, now)
            for e in pending:
                found = next((p for p in prints if p.period == e.period), None)
                if found is not None:
                    # The provider's own preceding period, for "Previous" (bot.macro.alerts)
                    before = [
                        (p.period, p.value)
                        for p in prints
                        if p.period < found.period and p.ytd == found.ytd
                    ]
                    published = await publish_print(
                        self.core,
                        indicator,
                        found.period,
                        found.value,
                        entry=e,
                        source=self.source.name,
                        at=now,
                        ytd=found.ytd,
                        provider_previous=max(before) if before else None,
                    )
                    if published is not None:
                        # /divergence and divergence rules see the new print.
                        await refresh_pulse(self.core)
                    self.finished.add(e.key)
                elif now >= e.at + self.timeout:
                    await self._late(e, now)

    async def _already_known(self, indicator: str, entries: list[CalendarEntry]) -> set[str]:
        """Releases whose period is already in the history (published by hand, seeded)."""
        if indicator not in DEFINITIONS:
            return set()
        have = {d for d, _ in await load_history(self.core.redis, indicator)}
        return {e.key for e in entries if e.period in have}

    async def _fetch(self, indicator: str, now: datetime) -> list[MacroPrint]:
        health = self.core.health
        try:
            prints = await self.source.fetch(indicator)
        except SourceError as exc:
            self.last_error = exc.reason
            health.bad(self.source.name, exc.reason, now)
            await self._save_health()
            log.warning("macro source %s: %s", self.source.name, exc.reason)
            return []
        health.ok(self.source.name, now)
        await self._save_health()
        self.last_error = ""
        return prints

    async def _save_health(self) -> None:
        h = self.core.health.get(self.source.name)
        if h is not None:
            await self.core.store.save_health(h)

    async def _late(self, e: CalendarEntry, now: datetime) -> None:
        self.finished.add(e.key)
        if not await self.core.redis.exists(keys.macro_late(e.key)):
            # Marked late with the notice's record (bot.macro.alerts.late_notice).
            waited = (now - e.at).total_seconds()
            reason = self.last_error or "answered, but without this period's print"
            await late_notice(self.core, e, self.source.name, waited, reason, now)


async def replay_macro_job(
    core: Needs,
    start: datetime,
    offsets_min: list[int],
    prints: ReplayMacroSource | None = None,
) -> MacroJob:
    """The macro watcher for `divbot replay`: history as known at `start`, and the prints
    released during the replay served by a ReplayMacroSource at their release times (the
    seed's, or a scenario's own `prints`)."""
    seeds = core.settings.seeds_dir
    calendar = core.releases
    await seed_if_empty(
        core.redis,
        seeds / "macro_history.csv",
        released_before=start.date(),
        scheduled=scheduled_releases(calendar.seed),
    )
    source = prints or ReplayMacroSource.from_seed(
        seeds / "macro_history.csv", calendar.seed, start.date(), core.clock
    )
    job = MacroJob(
        core,
        calendar,
        source,
        offsets_min=offsets_min,
        poll_interval_s=60,
        timeout_s=core.settings.macro_timeout_s,
        since=start,
    )
    await job.refresh()
    return job


async def live_macro_job(core: Needs, http: aiohttp.ClientSession) -> MacroJob:
    """The macro watcher of the live bot: Eastmoney's datacenter, the settings' schedule;
    the seed history fills an empty store with what was public before today."""
    settings = core.settings
    await seed_if_empty(
        core.redis,
        settings.seeds_dir / "macro_history.csv",
        core.clock.now().date(),
        scheduled=scheduled_releases(core.releases.seed),
    )
    return MacroJob(
        core,
        core.releases,
        EastmoneyMacroSource(http, settings),
        offsets_min=settings.macro_reminder_offsets_min,
        poll_interval_s=settings.macro_poll_interval_s,
        timeout_s=settings.macro_timeout_s,
        max_sleep_s=300,  # wake now and then for entries admins add from chat
    )
