"""`WebhookTransport`: outgoing webhooks as a bot.transports.base.Transport.

Owns the webhook platform's place in the bot: its HTTP client session (opened at start,
closed at stop; requests time out after ``HTTP_TIMEOUT_S``), its sender, its send limits
(``LIMITS``: 1 POST a second per endpoint, 30 a second overall, and for a Discord
endpoint — a Discord channel — 30 a minute, Discord's per-channel limit), and each
endpoint's subscriptions. Webhooks are outgoing only: no routes, no commands, so nobody
administers a ``webhook:`` chat and its subscriptions come from the configuration:

At start-up every configured endpoint's subscriptions are set to its families
(``families=`` or ``WEBHOOK_FAMILIES``), exactly: a family named no more is dropped, and
an endpoint switched off by a 404/410 is switched on again. Its grouping window is set
to its ``group=`` (default 0: one POST per alert). A ``webhook:`` chat that is no longer
in ``WEBHOOKS`` is unsubscribed from everything. Every replica does this at its start;
it is idempotent. Operators' notices reach an endpoint listed in ``OPERATOR_CHATS``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.delivery.ratelimit import Limits, RateWindow
from bot.models import SUBSCRIBABLE, ChatRef
from bot.transports.webhook import config
from bot.transports.webhook.config import Endpoint
from bot.transports.webhook.sender import USER_AGENT, WebhookSender

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.wiring import Core

log = logging.getLogger(__name__)
LIMITS = Limits(
    overall=RateWindow(30, 1.0),
    per_chat=RateWindow(1, 1.0),
    per_group=RateWindow(30, 60.0),  # a Discord channel (is_group): 30 messages a minute
)


class WebhookTransport:
    platform = "webhook"
    limits = LIMITS

    def __init__(self, settings: Settings, endpoints: dict[str, Endpoint]) -> None:
        self.settings = settings
        self.endpoints = endpoints
        self._session: aiohttp.ClientSession | None = None
        self._sender: WebhookSender | None = None

    @classmethod
    def configured(cls, settings: Settings) -> WebhookTransport | None:
        found = config.endpoints(settings)
        return cls(settings, found) if found else None

    def sender(self) -> WebhookSender:
        if self._sender is None:
            raise RuntimeError("webhook: not started")
        return self._sender

    def mount(self, app: web.Application) -> None:
        return None  # outgoing only

    async def start(self, core: Core) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.http_timeout_s)
        self._session = aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": USER_AGENT})
        self._sender = WebhookSender(self._session, self.endpoints, core.store, core.clock)
        await subscribe_endpoints(core, self.endpoints.values())
        log.info("webhook: %d endpoint(s): %s", len(self.endpoints), ", ".join(self.endpoints))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def is_group(self, chat: ChatRef) -> bool:
        """A Discord endpoint posts into a channel: Discord's per-channel limit applies."""
        endpoint = self.endpoints.get(chat.chat_id)
        return endpoint is not None and endpoint.format == "discord"

    async def can_admin(self, chat: ChatRef, user: str) -> bool:
        """Nobody: a webhook takes no commands; operators configure it (WEBHOOKS)."""
        return False

    async def ready(self) -> bool:
        """Started. Endpoints are not probed (a receiver need answer nothing but our
        POSTs); failed deliveries show in /status and divbot_deliveries_total."""
        return self._session is not None and not self._session.closed


async def subscribe_endpoints(core: Core, endpoints: Iterable[Endpoint]) -> None:
    """Make the Redis subscriptions of ``webhook:`` chats what the configuration says."""
    wanted = {e.chat: e for e in endpoints}
    store = core.store
    for family in SUBSCRIBABLE:
        for chat in await store.subscribers(family):
            if chat.startswith("webhook:") and chat not in wanted:
                await store.unsubscribe(chat, family)
                log.info("webhook: %s is no longer in WEBHOOKS: unsubscribed from %s", chat, family)
    for chat, endpoint in wanted.items():
        await store.reactivate(chat)  # switched off by a 404/410 before this start
        families = endpoint.families or ()
        for family in SUBSCRIBABLE:
            if family in families:
                await store.subscribe(chat, family)
            else:
                await store.unsubscribe(chat, family)
        if core.noise is not None:
            await core.noise.prefs.set_group_window(chat, endpoint.group_s)
