"""Bundled macro prints as a MacroSource: what `divbot replay` polls.

Built from the seed history: the prints released inside the replay window (the rows the
replay's starting history leaves out) become available at their scheduled release time
from the calendar, so the watcher sees them land exactly as it would live.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from bot.clock import Clock
from bot.macro.calendar import CalendarEntry, scheduled_releases
from bot.macro.history import read_seed_rows, release_time
from bot.sources.datacenter import MacroPrint

NAME = "replay-macro"


class ReplayMacroSource:
    name = NAME

    def __init__(self, prints: list[tuple[datetime, MacroPrint]], clock: Clock) -> None:
        self.prints = sorted(prints, key=lambda p: p[0])
        self.clock = clock
        self.indicators = {p.indicator for _, p in prints}

    @classmethod
    def from_seed(
        cls, path: Path, calendar: list[CalendarEntry], start: date, clock: Clock
    ) -> ReplayMacroSource:
        scheduled = scheduled_releases(calendar)
        prints = []
        for row in read_seed_rows(path):
            if row.released is None or row.released < start:
                continue
            at = release_time(row, scheduled)  # the calendar's time, or 10:00 that day
            assert at is not None
            prints.append((at, MacroPrint(row.indicator, row.period, row.value)))
        return cls(prints, clock)

    def covers(self, indicator: str) -> bool:
        return indicator in self.indicators

    async def fetch(self, indicator: str) -> list[MacroPrint]:
        now = self.clock.now()
        out = [p for at, p in self.prints if at <= now and p.indicator == indicator]
        return sorted(out, key=lambda p: p.period, reverse=True)
