"""Fixtures for the headlines watcher: a fake feed host, a guarded session, a wired core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.delivery.sending import Delivery, Outcome
from bot.models import ChatRef, Message
from bot.wiring import Core, build_core
from tests.conftest import RedisServer
from tests.fakes.feeds import FakeFeedHost

# Thursday 15 Jan 2026, 12:00 in Beijing: every fixture story is younger than 48 hours.
NOW = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)
FEED_IDS = ("csrc", "hkex_news", "hkex_regulatory", "scmp_china_economy", "rthk_finance")


@pytest.fixture
async def host() -> AsyncIterator[FakeFeedHost]:
    server = FakeFeedHost()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def feed_settings(redis_server: RedisServer, host: FakeFeedHost) -> Settings:
    """Every feed in seeds/feeds.toml pointed at the fake host via FEED_BASE_OVERRIDES."""
    overrides = ",".join(f"{fid}={host.url}" for fid in FEED_IDS)
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        feed_base_overrides=overrides,
        http_timeout_s=5.0,
        operators="slack:UOPS",
    )


@pytest.fixture
def now_clock() -> SimClock:
    return SimClock(NOW)


@pytest.fixture
async def core(redis_client: Redis, feed_settings: Settings, now_clock: SimClock) -> Core:
    return await build_core(feed_settings, redis_client, now_clock)


@dataclass
class RecordingSender:
    """A transport that accepts everything and keeps what it was given."""

    platform: str = "telegram"
    sent: list[tuple[str, Message]] = field(default_factory=list)

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        self.sent.append((chat.key, message))
        return Delivery(Outcome.SENT)

    def titles(self, chat: str | None = None) -> list[str]:
        return [m.title for c, m in self.sent if chat is None or c == chat]
