"""Releasing what noise control held back: closed grouping windows and ended quiet hours.

Every `interval_s` of the injected clock, bot.chat.gate.Gate.flush queues one message
per closed grouping window and one summary per chat whose quiet hours are over. The
buffers live in Redis, so a restart loses nothing: the next run releases them.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.chat.gate import Gate

log = logging.getLogger(__name__)


class NoiseJob:
    name = "noise"

    def __init__(self, gate: Gate, interval_s: float = 1.0) -> None:
        self.gate = gate
        self.interval = timedelta(seconds=interval_s)

    def next_run(self, now: datetime) -> datetime | None:
        return now + self.interval

    async def run_once(self, now: datetime) -> None:
        queued = await self.gate.flush(now)
        if queued:
            log.info("noise: released %d grouped or held message(s)", queued)
