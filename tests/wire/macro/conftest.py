"""Fixtures for the macro watcher: a fake datacenter on loopback, a core on real Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.macro.calendar import ReleaseCalendar, seed_calendar
from bot.macro.history import seed_if_empty
from bot.models import Alert, Family
from bot.sources.datacenter import EastmoneyMacroSource, MacroSource
from bot.state import keys
from bot.state.codec import alert_from_json
from bot.wiring import Core, build_core
from jobs.macro import MacroJob
from tests.conftest import RedisServer
from tests.fakes.datacenter import FakeDatacenter

CHAT = "telegram:-1001"
# Friday 9 January 2026, 08:55 in Beijing: 35 minutes before December's CPI and PPI.
BEFORE_CPI = datetime(2026, 1, 9, 0, 55, tzinfo=UTC)


@pytest.fixture
def http(session: aiohttp.ClientSession) -> aiohttp.ClientSession:
    return session


@pytest.fixture
def macro_settings(redis_server: RedisServer, datacenter: FakeDatacenter) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        eastmoney_datacenter_base=datacenter.url,
        http_timeout_s=2.0,
        http_retries=0,
        macro_timeout_s=60,
        macro_poll_interval_s=30,
        operators="telegram:u1",  # the tests' user runs the bot: /macro set, /calendar add
    )


@pytest.fixture
def macro_clock() -> SimClock:
    return SimClock(BEFORE_CPI)


@pytest.fixture
async def core(redis_client: Redis, macro_settings: Settings, macro_clock: SimClock) -> Core:
    core = await build_core(macro_settings, redis_client, macro_clock)
    seeds = macro_settings.seeds_dir / "macro_history.csv"
    await seed_if_empty(redis_client, seeds, released_before=date(2026, 1, 9))
    await core.store.subscribe(CHAT, Family.MACRO)
    return core


def make_job(
    core: Core, source: MacroSource, offsets: tuple[int, ...] = (30, 5), timeout_s: int = 0
) -> MacroJob:
    s = core.settings
    return MacroJob(
        core,
        ReleaseCalendar(core.redis, seed_calendar(s.seeds_dir)),
        source,
        offsets_min=list(offsets),
        poll_interval_s=s.macro_poll_interval_s,
        timeout_s=timeout_s or s.macro_timeout_s,
        since=core.clock.now(),
    )


@pytest.fixture
def eastmoney_macro(core: Core, http: aiohttp.ClientSession) -> EastmoneyMacroSource:
    return EastmoneyMacroSource(http, core.settings)


async def queued(redis: Redis) -> list[tuple[str, Alert]]:
    """Every (chat, alert) in the outbox, oldest first."""
    entries = await redis.xrange(keys.OUTBOX)
    return [(f["chat"], alert_from_json(f["alert"])) for _, f in entries]


async def titles(redis: Redis) -> list[str]:
    return [a.message.title for _, a in await queued(redis)]
