"""Webhook fixtures: a signature-checking receiver on loopback, settings pointing endpoints
at it, a core on the real Redis, and the production transport started on that core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.transports.webhook.transport import WebhookTransport
from bot.wiring import Core, build_core
from tests.conftest import RedisServer
from tests.fakes.webhook_receiver import WebhookReceiver

SECRET = "synthetic-webhook-key-0123456789"  # synthetic
OWN_SECRET = "another-synthetic-key-for-desk2"  # synthetic: desk2's own
URL_TOKEN = "tok_SyntheticCredentialInTheUrl42"  # as a Discord URL carries one


@pytest.fixture
async def receiver(clock: SimClock) -> AsyncIterator[WebhookReceiver]:
    fake = WebhookReceiver(
        {"desk": SECRET.encode(), "desk2": OWN_SECRET.encode(), "disc": SECRET.encode()},
        now=lambda: clock.now().timestamp(),
    )
    await fake.start()
    yield fake
    await fake.close()


def webhook_settings(
    redis_server: RedisServer, receiver: WebhookReceiver, **extra: Any
) -> Settings:
    hooks = ",".join(
        [
            f"desk={receiver.url('desk')}?token={URL_TOKEN}",
            f"desk2={receiver.url('desk2')};families=moves",
            f"disc={receiver.url('disc')};format=discord;families=macro+moves",
        ]
    )
    values: dict[str, Any] = {
        "redis_url": redis_server.url,
        "webhooks": hooks,
        "webhook_secret": SECRET,
        "webhook_secrets": f"desk2={OWN_SECRET}",
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(redis_server: RedisServer, receiver: WebhookReceiver) -> Settings:
    return webhook_settings(redis_server, receiver)


@pytest.fixture
async def core(redis_client: Redis, settings: Settings, clock: SimClock) -> Core:
    return await build_core(settings, redis_client, clock)


@pytest.fixture
async def transport(core: Core, settings: Settings) -> AsyncIterator[WebhookTransport]:
    webhook = WebhookTransport.configured(settings)
    assert webhook is not None
    await webhook.start(core)
    yield webhook
    await webhook.stop()
