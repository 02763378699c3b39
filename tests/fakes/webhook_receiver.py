"""A webhook receiver over real loopback HTTP that checks every request's signature.

One aiohttp server on 127.0.0.1:<ephemeral> takes ``POST /hooks/<name>`` as an operator's
endpoint would. Each request's ``X-Divbot-Signature`` is checked — independently of the
bot's code: ``sha256=`` HMAC-SHA256 over ``<X-Divbot-Timestamp>.<body>`` with that
endpoint's secret, the timestamp within five minutes of the receiver's clock — and a
request that fails is answered 401 and kept in ``forged``. Endpoints without a secret
(Discord-style) take unsigned requests. Every request is recorded in ``received`` with
its arrival time (monotonic) and the status it got. Tests program answers per endpoint
(``answer``: a status, headers and body once each, e.g. 429 with Retry-After, 503, 410)
or accept a request and never answer it (``stall``: the sender times out not knowing).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

MAX_SKEW_S = 300


@dataclass(frozen=True)
class Answer:
    """A programmed answer for an endpoint's next request; `stall`: never answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    stall: bool = False


@dataclass(frozen=True)
class Hook:
    """One request that reached the receiver."""

    name: str
    headers: dict[str, str]
    body: bytes
    signed: bool  # carried a signature that verified
    status: int  # what it was answered (0: stalled)
    at: float  # time.monotonic() on arrival

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def expected_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookReceiver:
    def __init__(self, secrets: dict[str, bytes | None], now: Callable[[], float]) -> None:
        self.secrets = secrets  # endpoint name -> its secret; None: takes unsigned requests
        self.now = now  # the receiver's clock (epoch seconds), for the timestamp check
        self.received: list[Hook] = []
        self.forged: list[Hook] = []
        self._answers: dict[str, deque[Answer]] = defaultdict(deque)
        self._release = asyncio.Event()
        self._changed = asyncio.Condition()
        self._server: TestServer | None = None
        self.base = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self._handle)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        self.base = str(self._server.make_url("")).rstrip("/")
        return self.base

    async def close(self) -> None:
        self._release.set()
        if self._server is not None:
            await self._server.close()

    def url(self, name: str) -> str:
        return f"{self.base}/hooks/{name}"

    def answer(self, name: str, *answers: Answer) -> None:
        """Answer `name`'s next requests with these, in order, then 204 again."""
        self._answers[name].extend(answers)

    def stall(self, name: str) -> None:
        self.answer(name, Answer(stall=True))

    def delivered(self, name: str) -> list[Hook]:
        """Requests to `name` that were signed (when it has a secret) and answered 2xx."""
        return [h for h in self.received if h.name == name and 200 <= h.status < 300]

    def to(self, name: str) -> list[Hook]:
        return [h for h in self.received if h.name == name]

    async def wait_until(self, check: Callable[[], bool], within: float = 10.0) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(check), within)
            except TimeoutError:
                raise AssertionError(f"webhook receiver: got {self.received}") from None

    def _verified(self, name: str, headers: dict[str, str], body: bytes) -> bool:
        secret = self.secrets.get(name)
        if secret is None:
            return name in self.secrets
        stamp = headers.get("X-Divbot-Timestamp", "")
        given = headers.get("X-Divbot-Signature", "")
        if not (stamp.isascii() and stamp.isdigit()) or abs(self.now() - int(stamp)) > MAX_SKEW_S:
            return False
        return hmac.compare_digest(given, expected_signature(secret, stamp, body))

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        name = request.match_info["name"]
        body = await request.read()
        headers = dict(request.headers)
        signed = self._verified(name, headers, body)
        queue = self._answers[name]
        answer = queue.popleft() if signed and queue else Answer(204)
        status = answer.status if signed else 401
        hook = Hook(name, headers, body, signed, 0 if answer.stall else status, arrived)
        async with self._changed:
            self.received.append(hook)
            if not signed:
                self.forged.append(hook)
            self._changed.notify_all()
        if answer.stall:
            await self._release.wait()
        return web.Response(status=status, text=answer.body or None, headers=answer.headers or None)
