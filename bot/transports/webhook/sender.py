"""The outbox's sender for ``webhook:<name>`` chats: sign, POST, classify the answer.

Owns the request and what its answer means for the outbox:

- the body is bot.transports.webhook.schema's (schema 1 JSON, or Discord's shape);
- headers ``X-Divbot-Timestamp`` (Unix seconds, on the bot's clock) and
  ``X-Divbot-Signature: sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` (the
  timestamp's ASCII digits, a full stop, then the body's exact bytes) keyed with the
  endpoint's secret; a receiver recomputes it and refuses a stale timestamp (README);
- 2xx: SENT. 429: RETRY after ``Retry-After`` (seconds or an HTTP date; Discord's JSON
  ``retry_after`` when the header is missing; else 1 s). 5xx and 408: RETRY with the
  outbox's backoff. 404 and 410: GONE, and the endpoint's subscriptions are switched
  off (one log line) until the bot restarts with it still configured. Any other 4xx,
  and 3xx (redirects are not followed: a signed POST goes where it was configured):
  GONE, with the status in the dead letter's reason;
- network errors: RETRY; a timeout after the connection was made (the request may have
  arrived) or a connection dropped before the answer: RETRY marked ``uncertain``, as on
  Telegram — a late duplicate beats a lost alert (README, Delivery guarantees).

Logs name the endpoint, never its URL (it may hold a credential) nor its secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping

import aiohttp

from bot.clock import Clock
from bot.delivery.sending import Delivery, Outcome
from bot.models import Alert, ChatRef, Message
from bot.sources.http import retry_after_s
from bot.state.store import Store
from bot.transports.webhook import schema
from bot.transports.webhook.config import Endpoint

log = logging.getLogger(__name__)
TIMESTAMP_HEADER = "X-Divbot-Timestamp"
SIGNATURE_HEADER = "X-Divbot-Signature"
USER_AGENT = "divbot-webhook/1"
GONE_STATUSES = frozenset({404, 410})
READ_LIMIT = 16 * 1024  # of an answer's body, read only for a 429's retry_after


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSender:
    """POSTs each delivery to its endpoint; never raises for the endpoint's sake."""

    platform = "webhook"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: Mapping[str, Endpoint],
        store: Store,
        clock: Clock,
    ) -> None:
        self.session = session
        self.endpoints = endpoints
        self.store = store
        self.clock = clock

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        return await self.send_alert(chat, message, None)

    async def send_alert(self, chat: ChatRef, message: Message, alert: Alert | None) -> Delivery:
        endpoint = self.endpoints.get(chat.chat_id)
        if endpoint is None:
            return Delivery(Outcome.GONE, f"no webhook {chat.chat_id} in WEBHOOKS")
        if endpoint.format == "discord":
            payload = schema.discord_json(message, alert)
        else:
            payload = schema.alert_json(chat.key, message, alert)
        body = schema.encode(payload)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if endpoint.secret is not None:
            timestamp = str(int(self.clock.now().timestamp()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(endpoint.secret, timestamp, body)
        try:
            async with self.session.post(
                endpoint.url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                if 200 <= resp.status < 300:
                    return Delivery(Outcome.SENT)
                return await self._refused(endpoint, resp)
        except aiohttp.ConnectionTimeoutError:
            return Delivery(Outcome.RETRY, f"webhook {endpoint.name}: connection timed out")
        except (TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            # The request went out and no answer came: the endpoint may have it.
            why = "timed out" if isinstance(exc, TimeoutError) else "disconnected"
            return Delivery(
                Outcome.RETRY,
                f"webhook {endpoint.name}: {why}: it may have been delivered",
                uncertain=True,
            )
        except aiohttp.ClientError as exc:
            # The class only: an aiohttp error's text may hold the URL.
            return Delivery(
                Outcome.RETRY, f"webhook {endpoint.name} unreachable ({type(exc).__name__})"
            )

    async def _refused(self, endpoint: Endpoint, resp: aiohttp.ClientResponse) -> Delivery:
        status = resp.status
        said = f"webhook {endpoint.name}: HTTP {status}"
        if status == 429:
            asked = retry_after_s(resp.headers.get("Retry-After"), self.clock.now())
            if asked is None:
                asked = await _json_retry_after(resp)
            return Delivery(Outcome.RETRY, f"{said} (rate limited)", retry_after=asked or 1.0)
        if status >= 500 or status == 408:
            return Delivery(Outcome.RETRY, said)
        if status in GONE_STATUSES:
            log.warning(
                "webhook %s answered HTTP %d: switched off until a restart", endpoint.name, status
            )
            return Delivery(Outcome.GONE, f"{said}: the endpoint is gone", chat_gone=True)
        if 300 <= status < 400:
            return Delivery(Outcome.GONE, f"{said}: redirects are not followed; fix WEBHOOKS")
        reason = f" {resp.reason}" if resp.reason else ""
        return Delivery(Outcome.GONE, f"{said}{reason}: refused")


async def _json_retry_after(resp: aiohttp.ClientResponse) -> float | None:
    """Discord's 429 body: {"retry_after": 1.5, …} (seconds)."""
    try:
        data = json.loads(await resp.content.read(READ_LIMIT))
        value = float(data["retry_after"])
    except (ValueError, TypeError, KeyError, aiohttp.ClientError):
        return None
    return value if 0 <= value < 86400 else None
