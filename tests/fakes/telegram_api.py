"""A fake Telegram Bot API over real loopback HTTP, speaking the Bot API's wire format.

One aiohttp server on 127.0.0.1:<ephemeral> answers ``POST /bot<token>/<method>`` the way
api.telegram.org does (``{"ok": true, "result": …}``, or ``{"ok": false, "error_code",
"description", "parameters"}``). It queues updates for ``getUpdates`` (honouring
``offset``; a long poll waits briefly for a new update), records every request in
``calls``, knows who administers which chat (``members``), and answers with 429, 403,
a migration 400, 409, 5xx or any other error on demand, per method and per chat
(``fail``), or accepts a request and never answers it (``stall``: the client times out
not knowing the message went out). Each call carries its arrival time (monotonic), so
tests can check pacing from the log. ``enforce(FloodLimits)`` makes it police the
published send limits the way Telegram does: a send that breaks one is refused with 429
and a ``retry_after``, counted in ``limit_429s``; ``limit_breaks`` says which window
each broke (overall, per chat, per group) and how early the send arrived. Update builders
are shaped on aiogram's raw update sample
(/work/shared/samples/telegram/aiogram_raw_update_message.json). All data is synthetic.

Reusable by any test that needs Telegram: start it, point TELEGRAM_API_BASE at ``url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_ID = 123456789
TOKEN = f"{BOT_ID}:AAHsyntheticFakeTokenForTests_0123456"  # synthetic, token-shaped
BOT_USERNAME = "DivergenceTestBot"
DATE = 1582324717  # the sample's date; synthetic
LONG_POLL_CAP_S = 0.2  # a long poll waits at most this long here, whatever it asked


@dataclass(frozen=True)
class Call:
    """One request that reached the fake: the method and its decoded parameters."""

    method: str
    params: dict[str, Any]
    files: tuple[str, ...] = ()
    at: float = 0.0  # time.monotonic() when the request arrived

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        return int(raw) if raw is not None else None


@dataclass
class Failure:
    """A programmed error reply: HTTP status and the Bot API's error body."""

    status: int
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def too_many_requests(retry_after: float) -> Failure:
    return Failure(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def forbidden(reason: str = "bot was blocked by the user") -> Failure:
    return Failure(403, f"Forbidden: {reason}")


def migrated(new_chat_id: int) -> Failure:
    return Failure(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": new_chat_id},
    )


def bad_request(reason: str) -> Failure:
    return Failure(400, f"Bad Request: {reason}")


def server_error(status: int = 502) -> Failure:
    return Failure(status, "Bad Gateway" if status == 502 else "Internal Server Error")


def conflict() -> Failure:
    return Failure(
        409,
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    )


@dataclass
class _Rule:
    method: str
    chat_id: int | None
    failure: Failure | None  # None: accept the request and never answer it
    times: int  # -1: every time


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's published send limits, as N sends per window of S seconds (scalable:
    ``scaled(k)`` keeps N and divides every window by k). Telegram does not count to the
    millisecond; ``slack_s`` forgives a request that arrives that much early, which is the
    jitter of a loopback hop, not a loophole."""

    overall: tuple[int, float] = (30, 1.0)
    per_chat: tuple[int, float] = (1, 1.0)
    per_group: tuple[int, float] = (20, 60.0)
    slack_s: float = 0.0
    factor: float = 1.0  # time runs this much faster; retry_after shrinks with it

    def scaled(self, factor: float, slack_s: float = 0.0) -> FloodLimits:
        return FloodLimits(
            (self.overall[0], self.overall[1] / factor),
            (self.per_chat[0], self.per_chat[1] / factor),
            (self.per_group[0], self.per_group[1] / factor),
            slack_s,
            factor,
        )

    def retry_after(self, wait_s: float) -> float:
        """Whole Telegram seconds (at least 1), in this scaled time."""
        whole = max(1, math.ceil(wait_s * self.factor))
        return whole if self.factor == 1 else whole / self.factor


@dataclass(frozen=True)
class LimitBreak:
    """A send refused for breaking an enforced window: which one, and by how much."""

    chat_id: int
    window: str  # "overall", "per_chat" or "per_group"
    early_s: float  # how much sooner than that window allowed the send arrived
    at: float  # arrival, time.monotonic()


class _Flood:
    """Sliding windows over accepted sends, kept independently of the bot's limiter."""

    def __init__(self, limits: FloodLimits) -> None:
        self.limits = limits
        self.overall: deque[float] = deque()
        self.chats: dict[int, deque[float]] = {}
        self.groups: dict[int, deque[float]] = {}

    def _wait(self, log: deque[float], window: tuple[int, float], now: float) -> float:
        count, seconds = window
        while log and log[0] <= now - seconds + self.limits.slack_s:
            log.popleft()
        return 0.0 if len(log) < count else log[0] + seconds - self.limits.slack_s - now

    def check(self, chat_id: int, now: float) -> list[LimitBreak]:
        """The windows this send breaks (none: allowed, and counted)."""
        chat = self.chats.setdefault(chat_id, deque())
        group = self.groups.setdefault(chat_id, deque()) if chat_id < 0 else None
        windows = [("overall", self.overall, self.limits.overall)]
        windows.append(("per_chat", chat, self.limits.per_chat))
        if group is not None:
            windows.append(("per_group", group, self.limits.per_group))
        breaks = []
        for name, log, window in windows:
            wait = self._wait(log, window, now)
            if wait > 0:
                breaks.append(LimitBreak(chat_id, name, wait, now))
        if not breaks:
            self.overall.append(now)
            chat.append(now)
            if group is not None:
                group.append(now)
        return breaks


def _decode(value: str) -> Any:
    """PTB sends each parameter form-encoded, complex ones as JSON text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeTelegram:
    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.username = username
        self.calls: list[Call] = []
        self.members: dict[tuple[int, int], str] = {}  # (chat, user) -> status
        self.chats: dict[int, dict[str, Any]] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._rules: list[_Rule] = []
        self._flood: _Flood | None = None
        self.limit_429s = 0  # sends refused for breaking the enforced limits
        self.limit_breaks: list[LimitBreak] = []  # what each of those broke, and by how much
        self.accepted: list[Call] = []  # sends that reached the chat (answered or stalled)
        self.refused: list[tuple[Call, Failure]] = []  # every error answer, in order
        self._release = asyncio.Event()  # lets stalled requests finish at close
        self._tick = asyncio.Event()  # set (and replaced) whenever something arrives
        self._server: TestServer | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # No access log: the request path carries the token, and tests check logs for it.
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server(access_log=None)
        self.url = str(self._server.make_url("")).rstrip("/")
        return self.url

    async def close(self) -> None:
        self._release.set()
        if self._server is not None:
            await self._server.close()

    # -- programming it ---------------------------------------------------------------
    def fail(
        self, method: str, failure: Failure, *, chat_id: int | None = None, times: int = 1
    ) -> None:
        """Answer `method` (for `chat_id`, or any chat) with `failure`, `times` times
        (-1: until `clear_failures`)."""
        self._rules.append(_Rule(method, chat_id, failure, times))

    def stall(self, method: str, *, chat_id: int | None = None, times: int = 1) -> None:
        """Accept `method` (the message reaches the chat) but never answer: the client's
        read times out and it cannot know the message went out."""
        self._rules.append(_Rule(method, chat_id, None, times))

    def clear_failures(self) -> None:
        self._rules.clear()

    def enforce(self, limits: FloodLimits) -> None:
        """Refuse sends that break `limits` with 429 and retry_after, as Telegram does."""
        self._flood = _Flood(limits)

    def delivered(self, chat_id: int) -> int:
        """How many messages reached `chat_id` (sends accepted, answered or not)."""
        return sum(1 for c in self.accepted if c.chat_id == chat_id)

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """'creator', 'administrator', 'member', 'left', …; unknown pairs are 'member'."""
        self.members[(chat_id, user_id)] = status

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates."""
        self._updates.append(update)
        self._notify()
        return update

    def chat(self, chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
        if chat_type is None:
            chat_type = "private" if chat_id > 0 else "supergroup"
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Test"
        else:
            chat["title"] = "Synthetic traders"
        self.chats[chat_id] = chat
        return chat

    # -- building updates (the aiogram sample's shape) --------------------------------
    def message_update(
        self,
        text: str,
        *,
        chat_id: int = 42,
        chat_type: str | None = None,
        user_id: int = 42,
        first_name: str = "Test",
        edited: bool = False,
        update_id: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": DATE,
            "chat": self.chat(chat_id, chat_type),
            "from": {"id": user_id, "is_bot": False, "first_name": first_name},
            **extra,
        }
        if text:  # a service message (e.g. migrate_to_chat_id in `extra`) has none
            message["text"] = text
        first = text.split(maxsplit=1)[0] if text.strip() else ""
        if first.startswith("/"):
            length = len(first.encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if edited:
            message["edit_date"] = DATE + 60
        return {
            "update_id": update_id if update_id is not None else next(self._update_ids),
            "edited_message" if edited else "message": message,
        }

    def callback_update(
        self,
        data: str,
        *,
        chat_id: int,
        user_id: int,
        text: str = "STAR 50 +3.2% on the day",
        first_name: str = "Test",
    ) -> dict[str, Any]:
        """A press on an inline button under one of the bot's messages."""
        message = {
            "message_id": next(self._message_ids),
            "date": DATE,
            "text": text,
            "chat": self.chat(chat_id),
            "from": self._bot_user(),
            "reply_markup": {"inline_keyboard": [[{"text": "Mute 1h", "callback_data": data}]]},
        }
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": f"cb{next(self._update_ids)}",
                "from": {"id": user_id, "is_bot": False, "first_name": first_name},
                "chat_instance": "synthetic",
                "data": data,
                "message": message,
            },
        }

    def send_text(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return self.push(self.message_update(text, **kwargs))

    # -- reading what happened --------------------------------------------------------
    def requests(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.chat_id == chat_id)
        ]

    async def wait_for(
        self, method: str, count: int = 1, chat_id: int | None = None, within_s: float = 5.0
    ) -> list[Call]:
        """Wait until `count` requests to `method` (for `chat_id`) arrived; return them."""

        await asyncio.wait_for(
            self._until(lambda: len(self.requests(method, chat_id)) >= count), within_s
        )
        return self.requests(method, chat_id)

    # -- serving ----------------------------------------------------------------------
    def _notify(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._tick.wait()

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Divergence", "username": self.username}

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], tuple[str, ...]]:
        params: dict[str, Any] = {}
        files: list[str] = []
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, str):
                    params[name] = _decode(value)
                else:
                    files.append(name)
                    params[name] = "<file>"
        params.update({k: _decode(v) for k, v in request.query.items()})
        return params, tuple(files)

    def _rule(self, method: str, chat_id: int | None) -> _Rule | None:
        for rule in self._rules:
            if rule.method == method and rule.chat_id in (None, chat_id) and rule.times != 0:
                if rule.times > 0:
                    rule.times -= 1
                return rule
        return None

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        params, files = await self._params(request)
        call = Call(method, params, files, arrived)
        if request.match_info["token"] != self.token:
            return web.json_response(Failure(401, "Unauthorized").body(), status=401)
        self.calls.append(call)
        self._notify()
        rule = self._rule(method, call.chat_id)
        if rule is not None and rule.failure is not None:
            self.refused.append((call, rule.failure))
            return web.json_response(rule.failure.body(), status=rule.failure.status)
        sending = method in ("sendMessage", "sendPhoto") and call.chat_id is not None
        if sending and self._flood is not None and rule is None:
            assert call.chat_id is not None
            breaks = self._flood.check(call.chat_id, arrived)
            if breaks:
                self.limit_429s += 1
                self.limit_breaks += breaks
                wait = max(b.early_s for b in breaks)
                failure = too_many_requests(self._flood.limits.retry_after(wait))
                self.refused.append((call, failure))
                return web.json_response(failure.body(), status=429)
        if sending:
            self.accepted.append(call)
        if rule is not None:  # a stall: accepted, never answered
            await self._release.wait()
        answer = getattr(self, f"_api_{method}", None)
        if answer is None:
            return web.json_response(Failure(404, "Not Found").body(), status=404)
        result = await answer(params)
        return web.json_response({"ok": True, "result": result})

    # -- Bot API methods --------------------------------------------------------------
    async def _api_getMe(self, _: dict[str, Any]) -> Any:
        return {**self._bot_user(), "can_join_groups": True, "supports_inline_queries": False}

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()  # confirmed by the offset
        if not self._updates and float(params.get("timeout") or 0) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._until(lambda: bool(self._updates)), LONG_POLL_CAP_S)
        return [u for u in self._updates if u["update_id"] >= offset]

    async def _api_deleteWebhook(self, _: dict[str, Any]) -> Any:
        return True

    async def _api_setWebhook(self, _: dict[str, Any]) -> Any:
        return True

    async def _api_setMyCommands(self, _: dict[str, Any]) -> Any:
        return True

    async def _api_answerCallbackQuery(self, _: dict[str, Any]) -> Any:
        return True

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id) or self.chat(chat_id)
        return {
            "message_id": int(params.get("message_id") or next(self._message_ids)),
            "date": DATE,
            "chat": chat,
            "from": self._bot_user(),
            **content,
        }

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        return self._message(params, text=str(params["text"]))

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        return self._message(params, text=str(params["text"]))

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 640, "height": 480}]
        caption = {"caption": str(params["caption"])} if params.get("caption") else {}
        return self._message(params, photo=photo, **caption)

    async def _api_getChatMember(self, params: dict[str, Any]) -> Any:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.members.get((chat_id, user_id), "member")
        user = {"id": user_id, "is_bot": False, "first_name": "Test"}
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            member |= {
                name: False
                for name in [
                    "can_be_edited",
                    "is_anonymous",
                    "can_manage_chat",
                    "can_delete_messages",
                    "can_manage_video_chats",
                    "can_restrict_members",
                    "can_promote_members",
                    "can_change_info",
                    "can_invite_users",
                    "can_post_stories",
                    "can_edit_stories",
                    "can_delete_stories",
                ]
            }
        return member
