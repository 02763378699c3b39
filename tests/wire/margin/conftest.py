"""Settings aimed at the fake datacenter (the `datacenter` fixture), for MARGIN's tests."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.conftest import RedisServer
from tests.fakes.datacenter import FakeDatacenter


@pytest.fixture
def dc_settings(redis_server: RedisServer, datacenter: FakeDatacenter) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        eastmoney_datacenter_base=datacenter.url,
        http_timeout_s=2.0,
        http_retries=0,
    )
