"""Every time a chat sees is in its own zone (issue 16.10): in a chat set to New York,
/status and /headlines showed some times in CST beside an EST footer. SYNTHETIC data."""

from __future__ import annotations

from datetime import UTC, date, datetime

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.headlines.store import LatestItem
from bot.headlines.story import Headline
from bot.models import Quote
from bot.wiring import build_core
from handlers.base import Command
from handlers.dispatch import handle

CHAT = "telegram:-100300"


async def test_status_and_headlines_speak_the_chats_zone(
    redis_client: Redis, settings: Settings
) -> None:
    at = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)  # 10:00 CST, 21:00 EST the day before
    core = await build_core(settings, redis_client, SimClock(at))
    set_zone = Command("telegram", CHAT, "1", "timezone", ("America/New_York",), True)
    assert (await handle(core, set_zone)).title == "Time zone set: America/New_York"
    await core.store.save_quote(Quote("STAR50", 1500.0, at, date(2026, 1, 15), "test"))
    story = Headline("scmp", "SCMP", "China raises margin ratio", "https://x.cn/1", None, at, "en")
    await core.headlines.push_latest(
        LatestItem(story, ("margin",), ("margin financing",), "critical", "tightening")
    )
    status = await handle(core, Command("telegram", CHAT, "1", "status"))
    quote_line = next(line for line in status.lines if "STAR50:" in line)
    assert "Wed 14 Jan 21:00 EST" in quote_line
    listed = await handle(core, Command("telegram", CHAT, "1", "headlines"))
    assert listed.lines[0].startswith("Wed 14 Jan 21:00 EST")
    assert not any("CST" in line for line in status.lines + listed.lines)
