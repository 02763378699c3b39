"""Opening Redis: the configured server, or an embedded in-process twin for a quick try."""

from __future__ import annotations

import logging

import fakeredis
from redis.asyncio import Redis

from bot.config import Settings

log = logging.getLogger(__name__)


def embedded_redis() -> Redis:
    """fakeredis speaks the same protocol in process; state lives only as long as we do."""
    return fakeredis.FakeAsyncRedis(decode_responses=True)


def open_redis(settings: Settings) -> Redis:
    if settings.redis_url:
        return Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            health_check_interval=30,
            socket_timeout=5,
            socket_connect_timeout=5,
        )
    log.warning(
        "REDIS_URL is not set: running on an embedded in-process store; "
        "rules and subscriptions will NOT survive a restart"
    )
    return embedded_redis()
