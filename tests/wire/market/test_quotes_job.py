"""The quotes watcher's schedule: in session only, lunch breaks and holidays skipped,
a closing snapshot at each close that becomes the session's daily close."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.models import Instrument, Quote
from bot.wiring import build_core
from jobs.quotes import QuotesJob
from jobs.runner import run_replay


class RecordingFeed:
    """A feed that quotes a flat price and records when and what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[datetime, list[str]]] = []
        self.last_trade_at: dict[str, datetime] = {}

    async def poll(
        self,
        instruments: list[Instrument],
        now: datetime,
        last: dict[str, Quote],
        cached_prev_close: dict[str, float],
    ) -> list[Quote]:
        self.calls.append((now, [i.key for i in instruments]))
        return [Quote(i.key, 100.0, now, now.date(), "recording") for i in instruments]


async def run_job(
    settings: Settings, redis: Redis, keys: list[str], start: datetime, until: datetime
) -> RecordingFeed:
    clock = SimClock(start)
    core = await build_core(settings, redis, clock)
    feed = RecordingFeed()
    job = QuotesJob(
        [core.watchlist[k] for k in keys],
        feed,
        core.service,
        core.markets,
        core.health,
        poll_interval_s=1800,
        close_settle_s=0,
    )
    await run_replay([job], clock, until)
    return feed


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_polls_shanghai_only_in_session_and_snapshots_the_close(
    redis_client: Redis, settings: Settings
) -> None:
    feed = await run_job(
        settings, redis_client, ["STAR50"], utc(2026, 1, 14, 0, 0), utc(2026, 1, 14, 12, 0)
    )
    times = [f"{t:%H:%M}" for t, _ in feed.calls]
    # 09:30-11:30 and 13:00-15:00 Beijing = 01:30-03:30 and 05:00-07:00 UTC: the 11:30
    # morning close is polled (its bar counts), nothing inside the lunch break
    assert times == [
        "01:30",
        "02:00",
        "02:30",
        "03:00",
        "03:30",
        "05:00",
        "05:30",
        "06:00",
        "06:30",
        "07:00",
    ]
    closes = await redis_client.hgetall("divbot:daily:STAR50")
    assert closes == {"2026-01-14": "100.0"}  # only the 07:00 poll is a closing snapshot


async def test_chinese_new_year_holiday_is_not_polled(
    redis_client: Redis, settings: Settings
) -> None:
    feed = await run_job(
        settings,
        redis_client,
        ["STAR50", "HSTECH"],
        utc(2026, 2, 15, 16, 0),
        utc(2026, 2, 20, 16, 0),
    )
    days = sorted({(t + timedelta(hours=8)).date() for t, _ in feed.calls})
    # Shanghai closed 16-20 Feb; Hong Kong traded a half day on 16 Feb, closed 17-19 Feb,
    # and reopened on 20 Feb.
    assert days == [date(2026, 2, 16), date(2026, 2, 20)]
    assert all(keys == ["HSTECH"] for _, keys in feed.calls)
    assert max(t for t, _ in feed.calls if t.day == 16) == utc(2026, 2, 16, 4, 0)  # 12:00 HKT


async def test_markets_keep_their_own_trading_dates(
    redis_client: Redis, settings: Settings
) -> None:
    # Nasdaq closed for Martin Luther King Day on Monday 19 January 2026; Shanghai traded.
    feed = await run_job(
        settings, redis_client, ["NDX", "STAR50"], utc(2026, 1, 18, 12, 0), utc(2026, 1, 20, 12, 0)
    )
    ndx_days = sorted({t.date() for t, keys in feed.calls if "NDX" in keys})
    star_days = sorted({t.date() for t, keys in feed.calls if "STAR50" in keys})
    assert ndx_days == []
    assert star_days == [date(2026, 1, 19), date(2026, 1, 20)]
