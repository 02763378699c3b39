"""The daily digest: after each Shanghai close, chats subscribed to `digest` receive the
/divergence snapshot (default window and instruments), as an alert of family DIGEST.

Schedule: the Shanghai close (15:00) plus a settle time of 75 minutes, so Hong Kong's
close (16:00) and both closing snapshots are in the table too. The alert id is derived
from the session date, so a restart or a second replica queues the same digest once (the
outbox's enqueue is idempotent). A job that starts up long after a close does not send
that day's digest late.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.divergence.snapshot import (
    DEFAULT_BENCHMARK,
    DEFAULT_TECH,
    Sources,
    chart_png,
    refresh_pulse,
    render,
    snapshot,
)
from bot.divergence.watch_next import watch_line
from bot.headlines.store import HeadlineStore
from bot.macro.calendar import ReleaseCalendar
from bot.market.sessions import Market
from bot.models import Alert, Family
from bot.rules.service import AlertService


class Needs(Sources, Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def headlines(self) -> HeadlineStore: ...

    @property
    def markets(self) -> dict[str, Market]: ...

    @property
    def releases(self) -> ReleaseCalendar: ...

    @property
    def service(self) -> AlertService: ...

    @property
    def settings(self) -> Settings: ...


log = logging.getLogger(__name__)
SHANGHAI = "XSHG"
TOO_LATE = timedelta(hours=3)


def digest_id(day: date) -> str:
    return hashlib.sha1(f"digest|{day.isoformat()}".encode()).hexdigest()[:16]  # noqa: S324


class DigestJob:
    name = "digest"

    def __init__(
        self,
        core: Needs,
        *,
        settle_s: int = 75 * 60,
        window: str = "mtd",
        with_chart: bool = True,
    ) -> None:
        self.core = core
        self.settle = timedelta(seconds=settle_s)
        self.window = window
        self.with_chart = with_chart
        self.sent_for: date | None = None

    def next_run(self, now: datetime) -> datetime | None:
        market = self.core.markets[SHANGHAI]
        candidates = []
        done = market.last_session_before(now)
        if done is not None and done.close + self.settle > now:
            candidates.append(done.close + self.settle)
        upcoming = market.session_at(now) or market.next_session(now)
        if upcoming is not None:
            candidates.append(upcoming.close + self.settle)
        later = [c for c in candidates if c > now]
        return min(later) if later else None

    async def run_once(self, now: datetime) -> None:
        session = self.core.markets[SHANGHAI].last_session_before(now - self.settle)
        if session is None or session.day == self.sent_for:
            return
        if now - (session.close + self.settle) > TOO_LATE:
            return
        self.sent_for = session.day
        await self.send(session.day, now)

    async def send(self, day: date, now: datetime) -> Alert:
        core = self.core
        await refresh_pulse(core)
        pairs = [(x, DEFAULT_BENCHMARK) for x in DEFAULT_TECH]
        snap = await snapshot(core, self.window, pairs)
        message = render(
            core,
            snap,
            await watch_line(
                core.headlines, core.releases, core.settings.timezone, core.clock.now()
            ),
        )
        if self.with_chart:
            message = replace(message, image=await chart_png(core, snap))
        alert = Alert(id=digest_id(day), family=Family.DIGEST, message=message, at=now, owner=None)
        # The day's record claims its id: a digest raised twice (a restart, a new leader)
        # is recorded once.
        queued = await core.service.raise_or_keep("digest", alert)
        log.info("digest for %s raised for %d chats", day, len(queued or []))
        return alert
