"""The daily digest: scheduled after the Shanghai close, sent once per session to chats
subscribed to `digest` (with the chart), and shown for every day of a replay."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.divergence.chart import png_size
from bot.market.sessions import market
from bot.models import Family
from bot.replay import replay
from bot.state import keys
from bot.state.codec import alert_from_json
from bot.wiring import build_core
from jobs.digest import DigestJob
from tests.support.divergence_data import load

FRIDAY_CLOSE = datetime(2026, 1, 16, 7, 0, tzinfo=UTC)  # 15:00 Shanghai


async def test_digest_after_the_shanghai_close(redis_client: Redis, settings: Settings) -> None:
    await load(redis_client)
    clock = SimClock(datetime(2026, 1, 16, 3, 0, tzinfo=UTC))
    core = await build_core(settings, redis_client, clock)
    await core.store.subscribe("telegram:-1001", Family.DIGEST)
    await core.store.subscribe("slack:C42", Family.MOVES)  # not a digest subscriber
    job = DigestJob(core)
    when = job.next_run(clock.now())
    assert when == datetime(2026, 1, 16, 8, 15, tzinfo=UTC)  # 16:15, after Hong Kong's close
    clock.set(when)
    await job.run_once(when)
    await job.run_once(when)  # the same session: nothing more
    entries = await redis_client.xrange(keys.OUTBOX)
    assert [e[1]["chat"] for e in entries] == ["telegram:-1001"]
    alert = alert_from_json(entries[0][1]["alert"])
    assert alert.family is Family.DIGEST
    assert alert.message.title == "China tech vs economy — MTD to 16 Jan 2026 (10 trading days)"
    assert alert.message.lines[0].startswith("STAR 50 ")
    assert alert.message.image is not None
    assert png_size(alert.message.image) == (800, 500)
    # Saturday: no Shanghai session, so the next digest is Monday's
    assert job.next_run(when) == datetime(2026, 1, 19, 8, 15, tzinfo=UTC)


async def test_a_late_start_does_not_send_yesterdays_digest(
    redis_client: Redis, settings: Settings
) -> None:
    await load(redis_client)
    core = await build_core(settings, redis_client, SimClock(FRIDAY_CLOSE))
    await core.store.subscribe("telegram:-1001", Family.DIGEST)
    await DigestJob(core).run_once(datetime(2026, 1, 17, 1, 0, tzinfo=UTC))
    assert await redis_client.xlen(keys.OUTBOX) == 0


@pytest.mark.slow
async def test_replay_shows_a_digest_for_each_shanghai_day() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    out = io.StringIO()
    await replay(settings, date(2026, 1, 1), date(2026, 1, 31), settings.seeds_dir / "history", out)
    text = out.getvalue()
    stamps = re.findall(r"^\w{3} (\d\d \w{3}) 16:15 CST  China tech vs economy", text, re.M)
    sessions = market("XSHG").sessions_between(date(2026, 1, 1), date(2026, 1, 31))
    assert stamps == [f"{s.day:%d %b}" for s in sessions]
    assert "Economy   pulse" in text
