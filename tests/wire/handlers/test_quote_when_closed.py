"""/quote right after a start while China is closed (issue 16.9): the loaded closes are
the last prices, with their moves, never "no quote yet"."""

from __future__ import annotations

from datetime import UTC, date, datetime

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.models import DailyCloses
from bot.wiring import build_core
from handlers.base import Command
from handlers.dispatch import handle


async def test_quote_shows_the_last_close_before_any_live_quote(
    redis_client: Redis, settings: Settings
) -> None:
    # Saturday 17 Jan 2026, 10:00 in Shanghai: every market closed; SYNTHETIC closes
    core = await build_core(settings, redis_client, SimClock(datetime(2026, 1, 17, 2, tzinfo=UTC)))
    pairs = [(date(2025, 12, 31), 1000.0), (date(2026, 1, 15), 1100.0), (date(2026, 1, 16), 1122.0)]
    await core.store.put_closes("STAR50", pairs)
    core.service.set_closes("STAR50", DailyCloses.from_pairs(pairs))
    answer = await handle(core, Command("telegram", "telegram:1", "1", "quote", ("STAR50",)))
    (line,) = answer.lines[1:]
    assert "no quote yet" not in line
    assert "1,122.00" in line
    assert "+2.0%" in line  # 1d: 1,100 -> 1,122
    assert "+12.2%" in line  # mtd and ytd from the 31 Dec close
    assert "last close 16 Jan" in line
