"""A fake Slack Web API over real loopback HTTP, speaking Slack's wire format.

One aiohttp server on 127.0.0.1:<ephemeral> answers the Web API methods the bot uses
(``/api/chat.postMessage``, ``chat.postEphemeral``, ``users.info``, ``auth.test``,
``conversations.info`` (``is_member``; ``outside`` lists the channels without the bot),
``files.getUploadURLExternal`` / ``files.completeUploadExternal``,
``apps.connections.open``), the upload URLs it hands out (``/upload/<file>``), the
``response_url``s it hands out (``/respond/<n>``), and a Socket Mode websocket
(``/socket``). Every request is recorded in ``calls``; tests program one-shot failures
per method (``fail``: a 429 with Retry-After, ``not_in_channel``, a 5xx) and read the
record to assert what reached the wire; a failure can be aimed at one channel only.
Each call carries its arrival time (monotonic), so tests can check pacing from the log.
``enforce(PostLimits)`` makes it police ``chat.postMessage`` the way Slack does (about one
message per second per channel, plus an overall cap if given): a post that breaks a limit
is refused with HTTP 429, ``{"ok": false, "error": "ratelimited"}`` and a ``Retry-After``
header, and counted in ``limit_429s``; ``outage(seconds)`` answers every post with a 5xx
for a while. ``signed_headers`` signs a request to the bot's ``/slack/events`` exactly as
Slack does (v0 HMAC-SHA256). All data is synthetic.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

BOT_TOKEN = "xoxb-1111111111-2222222222-TESTtokenNOTrealAAAAAA"  # synthetic test token
APP_TOKEN = "xapp-1-A111-3333-TESTappTOKENnotREALbbbbbb"  # synthetic test token
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example shape


def signed_headers(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers of a request Slack signed: ``v0=`` HMAC-SHA256 of ``v0:{ts}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
    }


@dataclass
class Failure:
    """A programmed answer for the next call of one method."""

    status: int = 200
    body: object = None  # JSON; None means {"ok": false, "error": error}
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    method: str  # "chat.postMessage", "upload", "respond", "socket.ack"
    args: dict[str, Any]
    token: str | None  # the bearer token the caller sent, if any
    path: str
    at: float = 0.0  # time.monotonic() when the request arrived

    @property
    def channel(self) -> str | None:
        value = self.args.get("channel")
        return str(value) if value is not None else None


@dataclass(frozen=True)
class PostLimits:
    """Slack's chat.postMessage limits as N posts per window of S seconds: one per second
    per channel (Slack's published figure) and, if set, an overall cap per workspace.
    ``scaled(k)`` keeps N and divides every window by k (Retry-After shrinks with it);
    ``slack_s`` forgives a post that arrives that much early (loopback jitter)."""

    per_channel: tuple[int, float] = (1, 1.0)
    overall: tuple[int, float] | None = None
    slack_s: float = 0.0
    factor: float = 1.0

    def scaled(self, factor: float, slack_s: float = 0.0) -> PostLimits:
        overall = (self.overall[0], self.overall[1] / factor) if self.overall else None
        per_channel = (self.per_channel[0], self.per_channel[1] / factor)
        return PostLimits(per_channel, overall, slack_s, factor)

    def retry_after(self, wait_s: float) -> str:
        """The Retry-After header: whole Slack seconds (at least 1), in this scaled time."""
        whole = max(1, math.ceil(wait_s * self.factor))
        return str(whole) if self.factor == 1 else f"{whole / self.factor:g}"


class _Windows:
    """Sliding windows over accepted posts, kept independently of the bot's limiter."""

    def __init__(self, limits: PostLimits) -> None:
        self.limits = limits
        self.overall: deque[float] = deque()
        self.channels: dict[str, deque[float]] = {}

    def _wait(self, log: deque[float], window: tuple[int, float], now: float) -> float:
        count, seconds = window
        while log and log[0] <= now - seconds + self.limits.slack_s:
            log.popleft()
        return 0.0 if len(log) < count else log[0] + seconds - self.limits.slack_s - now

    def check(self, channel: str, now: float) -> float:
        """Seconds until this post would have been allowed (0: allowed, and counted)."""
        log = self.channels.setdefault(channel, deque())
        wait = self._wait(log, self.limits.per_channel, now)
        if self.limits.overall is not None:
            wait = max(wait, self._wait(self.overall, self.limits.overall, now))
        if wait <= 0:
            log.append(now)
            self.overall.append(now)
        return wait


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        # Channels the bot was never invited to: conversations.info answers is_member
        # false for a public one (C…) and channel_not_found for a private one (G…), as
        # Slack documents; every other channel has the bot as a member.
        self.outside: set[str] = set()
        # (method, channel or None for any channel) -> programmed answers, in order
        self._fail: dict[tuple[str, str | None], deque[Failure]] = defaultdict(deque)
        self._limits: _Windows | None = None
        self._down_until = 0.0
        self._down_status = 503
        self.limit_429s = 0  # posts refused for breaking the enforced limits
        self.accepted: list[Call] = []  # chat.postMessage calls answered ok
        self.refused: list[tuple[Call, int, str | None]] = []  # (call, status, Retry-After)
        self._changed = asyncio.Condition()
        self._server: TestServer | None = None
        self._respond_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self.url = ""

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file}", self._upload)
        app.router.add_post("/respond/{n}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        self.url = str(self._server.make_url("")).rstrip("/")
        return self.url

    async def close(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._server is not None:
            await self._server.close()

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/"

    def response_url(self) -> str:
        """A fresh response_url, as Slack puts in every command and button payload."""
        return f"{self.url}/respond/{next(self._respond_ids)}"

    # -- programming and reading ----------------------------------------------------
    def fail(self, method: str, *failures: Failure, channel: str | None = None) -> None:
        """Answer the next calls of `method` (to `channel` only, if given) with these, then
        normally again."""
        self._fail[(method, channel)].extend(failures)

    def enforce(self, limits: PostLimits) -> None:
        """Refuse chat.postMessage calls that break `limits` with 429 and Retry-After."""
        self._limits = _Windows(limits)

    def outage(self, seconds: float, status: int = 503) -> None:
        """Answer every chat.postMessage with `status` (an HTML error page, as Slack's edge
        does) from now for `seconds`."""
        self._down_until = time.monotonic() + seconds
        self._down_status = status

    def posts(self, channel: str | None = None) -> list[Call]:
        """Every chat.postMessage request (to `channel`), refused or not, in arrival order."""
        return [c for c in self.of("chat.postMessage") if channel in (None, c.channel)]

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, within: float = 5.0) -> list[Call]:
        """Wait until `method` was called `count` times (work the bot does after an ack)."""
        return await self.wait_until(lambda: len(self.of(method)) >= count, within, method)

    async def wait_until(
        self, check: Callable[[], bool], within: float = 5.0, what: str = "condition"
    ) -> list[Call]:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(check), within)
            except TimeoutError:
                seen = [c.method for c in self.calls]
                raise AssertionError(
                    f"fake Slack: no {what} within {within}s; saw {seen}"
                ) from None
        return list(self.calls)

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # -- the Web API ----------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(parse_qsl(raw.decode()))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        call = Call(method, args, token, request.path, arrived)
        await self._record(call)
        channel = call.channel
        queue = self._fail[(method, channel)] if channel is not None else None
        if not queue:
            queue = self._fail[(method, None)]
        if queue:
            f = queue.popleft()
            self.refused.append((call, f.status, f.headers.get("Retry-After")))
            body = f.body if f.body is not None else {"ok": False, "error": f.error}
            if isinstance(body, str):
                return web.Response(
                    status=f.status, text=body, content_type="text/html", headers=f.headers
                )
            return web.json_response(body, status=f.status, headers=f.headers)
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "chat.postMessage":
            refusal = self._police(call, arrived)
            if refusal is not None:
                return refusal
            self.accepted.append(call)
        return web.json_response(self._answer(method, args))

    def _police(self, call: Call, arrived: float) -> web.Response | None:
        """A 5xx inside an outage, a 429 for a post over the limits; None: accepted."""
        if arrived < self._down_until:
            self.refused.append((call, self._down_status, None))
            return web.Response(
                status=self._down_status,
                text="<html><body>Service Unavailable</body></html>",
                content_type="text/html",
            )
        if self._limits is not None:
            wait = self._limits.check(str(call.channel), arrived)
            if wait > 0:
                self.limit_429s += 1
                retry_after = self._limits.limits.retry_after(wait)
                self.refused.append((call, 429, retry_after))
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": retry_after},
                )
        return None

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake",
                "user": "divbot",
                "team_id": "T111",
                "user_id": "UBOT",
                "bot_id": "BBOT",
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.postEphemeral"):
            ts = f"1768183200.{next(self._ts):06d}"
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message_ts": ts}
        if method == "conversations.info":
            channel = str(args.get("channel"))
            if channel in self.outside and channel.startswith("G"):
                return {"ok": False, "error": "channel_not_found"}
            return {
                "ok": True,
                "channel": {
                    "id": channel,
                    "name": "china-tech",
                    "is_channel": channel.startswith("C"),
                    "is_private": channel.startswith("G"),
                    "is_archived": False,
                    "is_member": channel not in self.outside,
                },
            }
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": args.get("user"), **user}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._file_ids):04d}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            listed = json.loads(files) if isinstance(files, str) else files or []
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in listed]}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}
        return {"ok": False, "error": "unknown_method"}

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        await self._record(
            Call("upload", {"file": request.match_info["file"], "bytes": data}, None, request.path)
        )
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _respond(self, request: web.Request) -> web.Response:
        payload = await request.json()
        await self._record(Call("respond", payload, None, request.path))
        return web.Response(text="ok", content_type="text/html")

    # -- Socket Mode ----------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        await self._record(Call("socket.open", {}, None, request.path))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await self._record(Call("socket.ack", json.loads(msg.data), None, request.path))
        return ws

    async def push(self, envelope_type: str, payload: dict[str, Any], envelope_id: str) -> None:
        """Send an envelope to every connected Socket Mode client, as Slack does."""
        for ws in self._sockets:
            if not ws.closed:
                await ws.send_json(
                    {
                        "envelope_id": envelope_id,
                        "type": envelope_type,
                        "payload": payload,
                        "accepts_response_payload": envelope_type != "events_api",
                    }
                )
