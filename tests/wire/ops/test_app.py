"""The live app's operational endpoints, served for real on loopback."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot.app import build_app
from bot.config import Settings
from tests.conftest import RedisServer


def offline(settings: Settings) -> Settings:
    """The fixture's settings already refuse every outside service; no retries either."""
    return settings.model_copy(update={"http_retries": 0})


async def test_healthz_readyz_metrics(settings: Settings, redis_client: Redis) -> None:
    # redis_client flushes the shared server, so the depth below is this app's alone
    app = build_app(offline(settings))
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 200
        assert (await ready.json())["checks"] == {"redis": True}
        text = await (await client.get("/metrics")).text()
        assert "divbot_outbox_depth 0.0" in text
        # (the calendars watcher may be raising its start-up notice to the operators)
        assert re.search(r"^divbot_alerts_owed [01]\.0$", text, re.MULTILINE), text
        assert "divbot_deliveries_total" in text or "# TYPE divbot_deliveries counter" in text


async def test_readyz_fails_when_redis_goes_away(settings: Settings, tmp_path: Path) -> None:
    own = RedisServer(tmp_path)
    own.start()
    app = build_app(offline(settings).model_copy(update={"redis_url": own.url}))
    try:
        async with TestClient(TestServer(app)) as client:
            assert (await client.get("/readyz")).status == 200
            own.stop(kill=True)
            response = await client.get("/readyz")
            assert response.status == 503
            assert (await response.json())["checks"]["redis"] is False
            assert (await client.get("/healthz")).status == 200  # alive, just not ready
    finally:
        own.stop()
