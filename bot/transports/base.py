"""The `Transport` plug-in every chat platform is (bot.transports.plugins mounts them);
its sender speaks bot.delivery.sending (`Sender`, `Delivery`, `Outcome`).

A transport is one platform — Telegram, Slack, the console, outgoing webhooks — and owns
everything that platform needs: its chat-key prefix (`platform`), the routes it serves on
the bot's aiohttp app (`mount`, before the app starts), what it opens and closes with the
bot (`start` with the core, `stop`), the sender the outbox hands its deliveries to, the
platform's published send limits (`limits`, paced by bot.delivery.ratelimit), whether a
chat is a group (a group may have a tighter limit than a private chat), who may change a
chat (`can_admin`), and whether the platform answers (`ready`, shown in /readyz).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aiohttp import web

from bot.delivery.ratelimit import Limits
from bot.delivery.sending import Sender
from bot.models import ChatRef

if TYPE_CHECKING:
    from bot.wiring import Core


@runtime_checkable
class Transport(Protocol):
    """One chat platform, plugged into the bot. Built from the settings alone (by the
    platform's ``configured(settings)``, None when the platform is not configured)."""

    @property
    def platform(self) -> str:
        """The chat-key prefix this transport serves: "telegram" for telegram:<id>."""
        ...

    @property
    def limits(self) -> Limits | None:
        """The platform's send limits; None: unpaced (the console)."""
        ...

    def sender(self) -> Sender:
        """The outbox's sender for this platform's chats (once started)."""
        ...

    def mount(self, app: web.Application) -> None:
        """Add this platform's routes (webhooks, events) to the app, before it starts."""
        ...

    async def start(self, core: Core) -> None:
        """Open what the platform needs (clients, connections, polling); may raise to
        stop the bot with a readable message."""
        ...

    async def stop(self) -> None:
        """Close what `start` opened."""
        ...

    def is_group(self, chat: ChatRef) -> bool:
        """A group chat (limits.per_group applies) rather than a private one."""
        ...

    async def can_admin(self, chat: ChatRef, user: str) -> bool:
        """May `user` (the platform's user id) change this chat's rules and subscriptions?"""
        ...

    async def ready(self) -> bool:
        """Does the platform answer (GET /readyz)?"""
        ...
