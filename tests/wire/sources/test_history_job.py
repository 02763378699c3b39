"""The daily history refresh against the fake providers on loopback: Eastmoney klines
first, Yahoo's chart as fallback, bad answers stored nowhere and shown as unhealthy."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import REPO_ROOT, Settings
from bot.sources.eastmoney import EastmoneySource
from bot.sources.yahoo import YahooSource
from bot.wiring import Core, build_core
from jobs.history import HistoryJob
from tests.fakes.providers import CHART, KLINE, FakeProviders, Reply, fixture
from tests.wire.sources.conftest import Sleeps, make_settings

# Wed 21 Jan 2026 16:00 Shanghai: Shanghai closed an hour ago, New York last closed the 20th
NOW = datetime(2026, 1, 21, 8, 0, tzinfo=UTC)
WATCHLIST = """
[STAR50]
name = "STAR 50"
calendar = "XSHG"
role = "tech"
eastmoney = "1.000688"
yahoo = "000688.SS"
band = [500, 5000]

[NDX]
name = "NDX"
calendar = "XNYS"
role = "benchmark"
eastmoney = "100.NDX100"
yahoo = "^NDX"
band = [8000, 60000]
"""


async def make_core(tmp_path: Path, fake: FakeProviders, redis: Redis) -> tuple[Core, Settings]:
    (tmp_path / "watchlist.toml").write_text(WATCHLIST)
    # the bot reads the release calendar at start-up: the shipped one
    shutil.copy(REPO_ROOT / "seeds" / "calendar_2026.toml", tmp_path)
    settings = make_settings(fake.url, seeds_dir=tmp_path)
    return await build_core(settings, redis, SimClock(NOW)), settings


def job_for(core: Core, settings: Settings, session: object) -> HistoryJob:
    sources = [
        EastmoneySource(session, settings, sleep=Sleeps()),  # type: ignore[arg-type]
        YahooSource(session, settings, sleep=Sleeps()),  # type: ignore[arg-type]
    ]
    return HistoryJob(core, sources)


async def test_refresh_after_the_close_with_fallback(
    tmp_path: Path, fake: FakeProviders, session: object, redis_client: Redis
) -> None:
    core, settings = await make_core(tmp_path, fake, redis_client)
    job = job_for(core, settings, session)
    await job.run_once(NOW)
    star = await core.store.load_closes("STAR50")
    assert list(zip(star.dates, star.closes, strict=True)) == [
        (date(2026, 1, 19), 1506.86),
        (date(2026, 1, 20), 1521.40),
        (date(2026, 1, 21), 1535.39),
    ]
    assert core.service.engine.closes["STAR50"].closes[-1] == 1535.39
    [asked] = [h for h in fake.hits(KLINE) if h.query["secid"] == "1.000688"]
    assert asked.query["klt"] == "101"
    assert asked.query["end"] == "20260121"
    assert asked.query["beg"] == (date(2026, 1, 21) - timedelta(days=5 * 366)).strftime("%Y%m%d")
    # Eastmoney has no NDX klines here: Yahoo's daily chart fills in, up to the 20th
    ndx = await core.store.load_closes("NDX")
    assert ndx.dates[-1] == date(2026, 1, 20)
    assert ndx.closes[-1] == 25175.3
    assert [h.query["interval"] for h in fake.hits(CHART + "^NDX")] == ["1d"]
    assert core.health.is_ok("history:yahoo")
    eastmoney = core.health.get("history:eastmoney")
    assert eastmoney is not None
    assert "NDX" in eastmoney.reason


async def test_next_run_is_the_next_close_and_only_that_market_refreshes(
    tmp_path: Path, fake: FakeProviders, session: object, redis_client: Redis
) -> None:
    core, settings = await make_core(tmp_path, fake, redis_client)
    job = job_for(core, settings, session)
    await job.run_once(NOW)
    nxt = job.next_run(NOW)
    assert nxt == datetime(2026, 1, 21, 21, 30, tzinfo=UTC)  # NY close 16:00 EST + 30 min
    before = len(fake.log)
    await job.run_once(nxt)
    secids = [h.query.get("secid") for h in fake.log[before:] if h.path == KLINE]
    assert secids == ["100.NDX100"]  # Shanghai already refreshed today


async def test_bad_history_stores_nothing_and_marks_the_source(
    tmp_path: Path, fake: FakeProviders, session: object, redis_client: Redis
) -> None:
    core, settings = await make_core(tmp_path, fake, redis_client)
    body = fixture("eastmoney/kline-000688.json")
    body["data"]["klines"][1] = "2026-01-20,150800,152140,153000,150050,9876543,1.0"  # x100
    fake.always(KLINE, Reply(body=json.loads(json.dumps(body))))
    del fake.charts["000688.SS"]  # and no Yahoo fallback
    job = job_for(core, settings, session)
    await job.refresh(core.watchlist["STAR50"], date(2026, 1, 21), NOW)
    assert await redis_client.exists("divbot:daily:STAR50") == 0
    eastmoney = core.health.get("history:eastmoney")
    assert eastmoney is not None
    assert not eastmoney.ok
    assert "outside its band" in eastmoney.reason
    yahoo = core.health.get("history:yahoo")
    assert yahoo is not None
    assert not yahoo.ok
