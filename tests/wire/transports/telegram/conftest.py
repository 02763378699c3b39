"""Telegram end-to-end fixtures: the fake Bot API, a core on the real Redis, the transport
started by hand exactly as bot.app starts it, and a guard on every test's logs.

The guard captures every log record at DEBUG (with the chat libraries' loggers at the
levels bot.logs sets in production, and no redaction filter) and fails the test if the
bot token or the webhook secret appears in any message or traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.logs import SECRET_BEARING_LOGGERS, quiet_secret_loggers
from bot.transports.telegram import TelegramTransport
from bot.wiring import Core, build_core
from tests.conftest import RedisServer
from tests.fakes.telegram_api import TOKEN, FakeTelegram

WEBHOOK_SECRET = "synthetic-webhook-secret_0123456789"
SECRETS = (TOKEN, TOKEN.split(":", 1)[1], WEBHOOK_SECRET)


class RawCapture(logging.Handler):
    """Every record as it would be written, before any redaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []
        self._format = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.texts.append(self._format.format(record))


@pytest.fixture(autouse=True)
def log_guard() -> Iterator[RawCapture]:
    root = logging.getLogger()
    saved = root.level, {n: logging.getLogger(n).level for n in SECRET_BEARING_LOGGERS}
    capture = RawCapture()
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    quiet_secret_loggers()
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)
    leaks = [t for t in capture.texts if any(s in t for s in SECRETS)]
    assert not leaks, f"a secret reached the logs: {leaks[0][:300]}"


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.close()


def tg_settings(redis_server: RedisServer, fake: FakeTelegram, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        telegram_token=TOKEN,
        telegram_api_base=fake.url,
        **extra,
    )


@pytest.fixture
def settings(redis_server: RedisServer, fake_tg: FakeTelegram) -> Settings:
    return tg_settings(redis_server, fake_tg)


@pytest.fixture
async def core(redis_client: Redis, settings: Settings, clock: SimClock) -> Core:
    return await build_core(settings, redis_client, clock)


@pytest.fixture
async def transport(core: Core, settings: Settings) -> AsyncIterator[TelegramTransport]:
    telegram = TelegramTransport(settings, core)
    await telegram.start()
    yield telegram
    await telegram.stop()
