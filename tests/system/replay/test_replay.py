"""The January 2026 replay: the story's alerts, in time order, the same every run."""

from __future__ import annotations

import io
import re
import tomllib
from datetime import date

import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.replay import replay


async def run_january(settings: Settings) -> str:
    out = io.StringIO()
    await replay(settings, date(2026, 1, 1), date(2026, 1, 31), settings.seeds_dir / "history", out)
    return out.getvalue()


@pytest.mark.slow
async def test_replay_tells_the_january_story_deterministically() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    first = await run_january(settings)
    second = await run_january(settings)
    assert first == second
    titles = re.findall(r"^(\w{3} \d\d \w{3} \d\d:\d\d CST)\s+(.+)$", first, re.MULTILINE)
    titles = [(at, t) for at, t in titles if not t.startswith("China tech vs economy")]
    with (settings.seeds_dir / "headlines_january2026.toml").open("rb") as fh:
        headlines = {h["title"] for h in tomllib.load(fh)["headline"]}
    titles = [t for t in titles if t[1] not in headlines]  # tests/headlines checks those
    macro = (
        "In 30 min:",
        "CPI ",
        "PPI ",
        "GDP ",
        "Manufacturing PMI ",
    )  # tests/test_macro_replay.py
    titles = [(at, title) for at, title in titles if not title.startswith(macro)]
    assert titles[:4] == [
        ("Tue 13 Jan 10:45 CST", "STAR 50 +10.1% month-to-date"),
        ("Tue 13 Jan 14:30 CST", "STAR 50 vs NDX: spread +10.3pp mtd"),
        ("Wed 14 Jan 15:15 CST", "HS TECH +5.0% month-to-date"),
        ("Thu 15 Jan 10:30 CST", "STAR 50 −1.1% on the day"),
    ]
    assert ("Wed 21 Jan 04:45 CST", "NDX −2.0% on the day") in titles
    assert any("NDX crossed above 26,000.00" in t for _, t in titles)
    assert "0 pending, 0 failed" in first
    # the Nasdaq's Tuesday session ends on Wednesday morning in Shanghai: the alert says so
    assert "New York session of Tue 20 Jan" in first
    # the digest says what to watch: the latest tightening headline and the next release
    assert (
        "Watch     15 Jan: China orders removal of servers dedicated to high-frequency trading"
        " · next: GDP Q4 2025, Mon 19 Jan 10:00 CST"
    ) in first


@pytest.mark.slow
async def test_replay_never_touches_a_configured_redis(
    redis_client: Redis,
    settings: Settings,
) -> None:
    await run_january(settings)
    assert await redis_client.dbsize() == 0
