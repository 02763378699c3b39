"""Plugging transports into the live app: one host for every chat platform.

`plug_in` takes the configured transports (bot.transports.base.Transport) and owns their
place in the bot's aiohttp app: each one's routes are mounted at once (the router is
frozen when the app starts); `Plugged.lifecycle`, a cleanup context placed after the one
that builds the core and before the delivery loop's, starts them in order and registers
each one's sender and readiness check, and on the way down — after the delivery loop
let its sends in flight settle — unregisters and stops them in reverse order. A transport
that fails to start stops the ones started before it, and its error stops the bot.
`Plugged.limiters` and `Plugged.is_group` give the delivery loop each platform's pacing;
`Plugged.shared` each token's windows shared with the other replicas (in Redis), named by
the transport's `limit_scope` (the platform and a hash of its token) when it has one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from aiohttp import web

from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sending import Sender
from bot.delivery.shared_limits import SharedLimiter
from bot.models import ChatRef
from bot.transports.base import Transport

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.wiring import Core

log = logging.getLogger(__name__)
ReadyCheck = Callable[[], Awaitable[bool]]


class Plugged:
    """The transports of one app, by platform."""

    def __init__(
        self,
        transports: Iterable[Transport | None],
        core_of: Callable[[web.Application], Core],
        senders_of: Callable[[web.Application], dict[str, Sender]],
        ready_checks_of: Callable[[web.Application], dict[str, ReadyCheck]],
    ) -> None:
        self.transports: dict[str, Transport] = {}
        for transport in transports:
            if transport is None:
                continue  # not configured
            if transport.platform in self.transports:
                raise ValueError(f"two transports for {transport.platform}")
            self.transports[transport.platform] = transport
        self._core_of = core_of
        self._senders_of = senders_of
        self._ready_checks_of = ready_checks_of

    def limiters(self) -> dict[str, RateLimiter]:
        """A fresh rate limiter per paced platform, for the delivery loop."""
        return {name: RateLimiter(t.limits) for name, t in self.transports.items() if t.limits}

    def shared(self, redis: Redis) -> dict[str, SharedLimiter]:
        """Each paced platform's token windows in Redis, shared with every replica."""
        return {
            name: SharedLimiter(redis, str(getattr(t, "limit_scope", name)), t.limits)
            for name, t in self.transports.items()
            if t.limits
        }

    def is_group(self, chat: ChatRef) -> bool:
        transport = self.transports.get(chat.platform)
        return transport is not None and transport.is_group(chat)

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        started: list[Transport] = []
        try:
            for transport in self.transports.values():
                await transport.start(self._core_of(app))
                started.append(transport)
                self._senders_of(app)[transport.platform] = transport.sender()
                self._ready_checks_of(app)[transport.platform] = transport.ready
        except BaseException:
            await self._stop(app, started)
            raise
        yield
        await self._stop(app, started)

    async def _stop(self, app: web.Application, started: list[Transport]) -> None:
        for transport in reversed(started):
            self._senders_of(app).pop(transport.platform, None)
            self._ready_checks_of(app).pop(transport.platform, None)
            try:
                await transport.stop()
            except Exception:  # one platform's trouble must not keep the others open
                log.exception("%s: stopping failed", transport.platform)


def plug_in(
    app: web.Application,
    transports: Iterable[Transport | None],
    core_of: Callable[[web.Application], Core],
    senders_of: Callable[[web.Application], dict[str, Sender]],
    ready_checks_of: Callable[[web.Application], dict[str, ReadyCheck]],
) -> Plugged:
    """Mount the configured transports' routes now; the caller places
    `Plugged.lifecycle` among the app's cleanup contexts."""
    plugged = Plugged(transports, core_of, senders_of, ready_checks_of)
    for transport in plugged.transports.values():
        transport.mount(app)
    return plugged
