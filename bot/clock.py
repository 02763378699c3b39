"""Time, injected: the wall clock for the live bot, a simulated one for replay and tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime) -> None: ...


class WallClock:
    """Real time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        await asyncio.sleep(max(0.0, delay))


class SimClock:
    """A clock that only moves when told to; replay sets it to each event's time."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError(f"time runs forward: {when} < {self._now}")
        self._now = when

    async def sleep_until(self, when: datetime) -> None:
        self.set(max(when, self._now))
        await asyncio.sleep(0)
