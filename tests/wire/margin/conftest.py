"""The fake Eastmoney datacenter on loopback and settings aimed at it, for MARGIN's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from tests.conftest import RedisServer
from tests.fakes.datacenter import FakeDatacenter


@pytest.fixture
async def datacenter() -> AsyncIterator[FakeDatacenter]:
    fake = FakeDatacenter()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def dc_settings(redis_server: RedisServer, datacenter: FakeDatacenter) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        eastmoney_datacenter_base=datacenter.url,
        http_timeout_s=2.0,
        http_retries=0,
    )
