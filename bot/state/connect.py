"""Opening Redis: the configured server, or an embedded in-process twin for a quick try.

The client's connections send under `asyncio.timeout`, not the `asyncio.wait_for` redis-py
uses: on Python 3.11, `wait_for` drops a cancel that lands just as a send finishes (CPython
gh-86296), so a watcher told to stop carried on, and stopping the app or stepping down as
leader waited for it for ever. tests/wire/state/test_connect.py shows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import fakeredis
from redis import exceptions
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

from bot.config import Settings

log = logging.getLogger(__name__)


class CancelSafeSend(AbstractConnection):
    """A connection whose send can always be cancelled (mixed into redis-py's own classes)."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        writer = self._writer
        assert writer is not None  # connected above
        try:
            async with asyncio.timeout(self.socket_timeout or None):
                writer.writelines(command)
                await writer.drain()
        except TimeoutError:  # before OSError, its base class
            await self.disconnect(nowait=True)
            raise exceptions.TimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            raise exceptions.ConnectionError(f"Error while writing to socket: {exc}") from exc
        except BaseException:  # cancelled mid-send: the stream is unusable, never reused
            await self.disconnect(nowait=True)
            raise


_SAFE: dict[str, type[AbstractConnection]] = {}


def cancel_safe(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """`connection_class` (TCP, TLS or unix socket, as the URL chose) with the safe send."""
    key = f"{connection_class.__module__}.{connection_class.__qualname__}"
    if key not in _SAFE:
        name = f"CancelSafe{connection_class.__name__}"
        _SAFE[key] = type(name, (CancelSafeSend, connection_class), {})
    return _SAFE[key]


def embedded_redis() -> Redis:
    """fakeredis speaks the same protocol in process; state lives only as long as we do."""
    return fakeredis.FakeAsyncRedis(decode_responses=True)


def open_redis(settings: Settings) -> Redis:
    if settings.redis_url:
        client = Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            health_check_interval=30,
            socket_timeout=5,
            socket_connect_timeout=5,
        )
        pool = client.connection_pool
        pool.connection_class = cancel_safe(pool.connection_class)
        return client
    log.warning(
        "REDIS_URL is not set: running on an embedded in-process store; "
        "rules and subscriptions will NOT survive a restart"
    )
    return embedded_redis()
