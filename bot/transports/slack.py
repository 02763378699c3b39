"""Slack through slack-bolt: slash commands, buttons and alert delivery for one workspace.

Owns the Slack side of the bot and nothing else:

- ``SlackBot`` wraps a slack-bolt ``AsyncApp``. It turns ``/divergence [args]`` and
  ``/divbot <command> <args>`` into the platform-neutral ``Command`` and alert buttons
  (``mute:<rule>:<seconds>``, ``rm:<rule>``, decoded by ``handlers.buttons``) into
  ``/alert mute|rm`` commands, all through
  ``handlers.dispatch.handle``. Every request is acked at once; the reply follows through
  the request's ``response_url`` (errors and refusals as ephemeral messages).
- HTTP mode: ``POST /slack/events`` on the bot's own aiohttp server. The signature is
  checked here, before bolt parses anything, against the injected clock: a missing,
  malformed or wrong signature or a timestamp more than five minutes off answers 401 and
  touches nothing. (bolt's own check is switched off: it reads the wall clock and lets a
  non-numeric timestamp raise, which would be a 500.)
- Socket Mode when ``SLACK_APP_TOKEN`` is set: the same app over bolt's aiohttp socket
  client, no public URL needed.
- ``SlackSender``: the outbox's sender for ``slack:<channel>`` chats, classifying Slack's
  answers into SENT / RETRY (429 with Retry-After, 5xx, network) / GONE (channel gone:
  its subscriptions are switched off).
- ``SlackPlugin``: the bot.transports.base.Transport the live app plugs in (``mount`` below
  does the same for an app of one's own).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.say.async_say import AsyncSay
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.sending import Delivery, Outcome, Sender
from bot.delivery.shared_limits import SharedLimiter, send_reply_part, token_scope
from bot.models import CHAT_KEY, ChatRef, Message
from bot.sources.http import retry_after_s
from bot.transports.chat_order import ChatOrder
from bot.transports.slack_render import ACTION_PREFIX, SlackMessage, render
from bot.wiring import Core
from handlers import buttons
from handlers.base import Command, reply
from handlers.dispatch import handle

log = logging.getLogger(__name__)

MAX_SKEW_S = 5 * 60  # Slack's own replay window for signed requests
ADMIN_CACHE_S = 300  # how long a users.info answer about admin rights is trusted
MAX_ARGS = 32
GONE_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
RESPONSE_URL_USES = 5  # Slack accepts at most five posts to one response_url
REPLY_TRIES = 20  # a reply's part refused with 429 this often (each waited out) is given up
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
MENTION_HINT = "Try /divergence, or /divbot help for every command."
NOT_SERVED = "This channel is not served by this bot (ALLOWED_CHATS)."


def limit_scope(settings: Settings) -> str:
    """The bot token's rate-limit scope in Redis (a hash of the token, never the token)."""
    assert settings.slack_bot_token is not None
    return token_scope("slack", settings.slack_bot_token.get_secret_value())


# -- request signatures ----------------------------------------------------------------
def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signature_problem(
    secret: str, now_epoch: float, timestamp: str | None, signature: str | None, body: bytes
) -> str | None:
    """Why a request is not from Slack (a short reason for the log), or None when it is."""
    if not timestamp or not _TIMESTAMP.match(timestamp):
        return "missing or non-numeric timestamp"
    if abs(now_epoch - int(timestamp)) > MAX_SKEW_S:
        return "timestamp more than five minutes off"
    if not signature or not _SIGNATURE.match(signature):
        return "missing or malformed signature"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "signature does not match"
    return None


def unescape(text: str) -> str:
    """Slack sends user text with its three control characters as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def button_command(value: str) -> tuple[str, ...] | None:
    """An alert button's action as /alert arguments (handlers.buttons, as on Telegram)."""
    return buttons.decode(value)


# -- who may change a channel ------------------------------------------------------------
class AdminCheck:
    """SLACK_ADMINS, or a workspace admin/owner per users.info, cached briefly."""

    def __init__(self, client: AsyncWebClient, admins: list[str], clock: Clock) -> None:
        self.client = client
        self.admins = frozenset(admins)
        self.clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}

    async def is_admin(self, user: str) -> bool:
        if user in self.admins:
            return True
        now = self.clock.now().timestamp()
        cached = self._cache.get(user)
        if cached and cached[1] > now:
            return cached[0]
        try:
            resp = await self.client.users_info(user=user)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            # Fail closed, and do not cache: the next try may get an answer.
            log.warning(
                "slack users.info for %s failed (%s): not treated as admin", user, _why(exc)
            )
            return False
        info = resp.get("user") or {}
        admin = bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
        self._cache[user] = (admin, now + ADMIN_CACHE_S)
        return admin


class Membership:
    """Is the bot a member of a channel (conversations.info ``is_member``), and its own
    @name (auth.test) for the "/invite @name" hint. Asked when a channel runs /start:
    a channel the bot was never invited to refuses every post (``not_in_channel``)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._handle = ""

    async def is_member(self, channel: str) -> bool | None:
        """True or False as Slack says; None when it could not be asked."""
        if channel.startswith("D"):
            return True  # a DM with the bot: the bot is in it by definition
        try:
            resp = await self.client.conversations_info(channel=channel)
        except SlackApiError as exc:
            error = _why(exc)
            if error == "channel_not_found":
                return False  # a private channel the bot is not in is invisible to it
            log.warning("slack conversations.info for %s failed (%s)", channel, error)
            return None
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack conversations.info for %s failed (%s)", channel, _why(exc))
            return None
        info = resp.get("channel") or {}
        return bool(info.get("is_member"))

    async def handle(self) -> str:
        """The bot user's name, as /invite takes it ('' if Slack did not say)."""
        if not self._handle:
            try:
                resp = await self.client.auth_test()
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("slack auth.test failed (%s)", _why(exc))
                return ""
            self._handle = str(resp.get("user") or "")
        return self._handle


def _why(exc: BaseException) -> str:
    """A failure as an error code or class name: never a URL, header or token."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        return str(data.get("error") or f"HTTP {exc.response.status_code}")
    return type(exc).__name__


# -- alert delivery ----------------------------------------------------------------------
class SlackSender:
    """The outbox's sender for Slack channels: chat.postMessage, classified."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, core: Core) -> None:
        self.client = client
        self.core = core

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        ts: str | None = None
        try:
            # Slack has no silent send; a follow-up goes into the first alert's thread.
            thread_ts = message.reply_to or message.thread
            for part in render(message, message.tz or self.core.settings.timezone):
                resp = await self.client.chat_postMessage(
                    channel=chat.chat_id,
                    text=part.text,
                    blocks=part.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                    thread_ts=thread_ts,
                )
                ts = ts or str(resp.get("ts") or "") or None
            if message.image:
                await upload_image(self.client, chat.chat_id, message)
        except SlackApiError as exc:
            return await self._refused(chat, exc)
        except TimeoutError:
            # Sent but unanswered: Slack may have posted it; retried, so it may duplicate.
            return Delivery(Outcome.RETRY, "slack timed out", uncertain=True)
        except (SlackClientError, aiohttp.ClientError) as exc:
            return Delivery(Outcome.RETRY, f"slack unreachable ({type(exc).__name__})")
        return Delivery(Outcome.SENT, message_id=ts)

    async def _refused(self, chat: ChatRef, exc: SlackApiError) -> Delivery:
        status = exc.response.status_code
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error") or "")
        if status == 429 or error == "ratelimited":
            headers = exc.response.headers or {}
            asked = retry_after_s(headers.get("Retry-After"), self.core.clock.now())
            return Delivery(Outcome.RETRY, "slack rate limit (429)", retry_after=asked or 1.0)
        if error in GONE_ERRORS:
            return Delivery(Outcome.GONE, f"slack: {error}", chat_gone=True)
        return Delivery(Outcome.RETRY, f"slack: {error or f'HTTP {status}'}")


async def upload_image(client: AsyncWebClient, channel: str, message: Message) -> None:
    """The message's picture into the channel, through the files API (upload v2)."""
    assert message.image is not None
    await client.files_upload_v2(
        channel=channel,
        content=message.image,
        filename="chart.png",
        title=message.title[:200],
    )


# -- commands and buttons ----------------------------------------------------------------
class SlackBot:
    """The bolt app, its verification at the door, and its sender."""

    def __init__(self, settings: Settings, core: Core) -> None:
        if not settings.slack_bot_token:
            raise ValueError("SLACK_BOT_TOKEN is not set")
        self.settings = settings
        self.core = core
        self.client = AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=str(settings.slack_api_base),
            timeout=max(1, int(settings.http_timeout_s)),
        )
        secret = settings.slack_signing_secret
        self._secret = secret.get_secret_value() if secret else ""
        self.app = AsyncApp(
            client=self.client,
            signing_secret=self._secret or "unused-in-socket-mode",
            # Checked in handle_http instead, on the injected clock, before any parsing.
            request_verification_enabled=False,
            # Ack first, then keep working: replies go out through response_url.
            process_before_response=False,
            logger=logging.getLogger("slack_bolt"),
        )
        self.admins = AdminCheck(self.client, settings.slack_admins, core.clock)
        self.membership = Membership(self.client)
        self.sender = SlackSender(self.client, core)
        # Replies take the token's slots (shared with alerts and every replica) first;
        # each channel's commands run in order, channels side by side.
        self.limiter = SharedLimiter(core.redis, limit_scope(settings), ratelimit.SLACK)
        self.order = ChatOrder()
        self._socket: AsyncSocketModeHandler | None = None
        self.app.command("/divergence")(self._on_command)
        self.app.command("/divbot")(self._on_command)
        self.app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_button)
        self.app.event("app_mention")(self._on_mention)

    # -- connections -----------------------------------------------------------------
    async def start(self) -> None:
        token = self.settings.slack_app_token
        if token:  # an empty SLACK_APP_TOKEN= line means HTTP mode
            self._socket = AsyncSocketModeHandler(
                self.app, token.get_secret_value(), web_client=self.client
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack: connected in Socket Mode")

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: verify the signature, then hand the request to bolt."""
        body = await request.read()
        problem = "no SLACK_SIGNING_SECRET configured" if not self._secret else None
        problem = problem or signature_problem(
            self._secret,
            self.core.clock.now().timestamp(),
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
            body,
        )
        if problem is not None:
            log.info("slack: rejected a request to /slack/events: %s", problem)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body.decode("utf-8"),
                query=request.query_string,
                headers=dict(request.headers),
            )
        except (UnicodeDecodeError, ValueError):
            return web.json_response({"error": "unreadable body"}, status=400)
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    # -- listeners -------------------------------------------------------------------
    async def _on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()  # within Slack's three seconds, whatever follows
        words = unescape(str(command.get("text") or "")).split()
        if command.get("command") == "/divergence":
            name, args = "divergence", words
        else:
            name, args = (words[0].lstrip("/").lower(), words[1:]) if words else ("help", [])
        await self._run(
            name,
            tuple(args),
            str(command.get("channel_id") or ""),
            str(command.get("user_id") or ""),
            respond,
        )

    async def _on_mention(self, event: dict[str, Any], say: AsyncSay) -> None:
        chat = f"slack:{event.get('channel')}"
        if self.settings.allowed_chats and chat not in self.settings.allowed_chats:
            return
        await say(text=MENTION_HINT, thread_ts=event.get("thread_ts") or event.get("ts"))

    async def _on_button(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        actions = body.get("actions") or [{}]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        user = str((body.get("user") or {}).get("id") or "")
        called = buttons.command(
            str(actions[0].get("value") or "")
        )  # /alert's, /watch's, /backtest's
        if called is None:
            await self._post(respond, reply("That button is not one of ours.", private=True))
            return
        await self._run(called[0], called[1], str(channel or ""), user, respond)

    async def _run(
        self, name: str, args: tuple[str, ...], channel: str, user: str, respond: AsyncRespond
    ) -> None:
        """Authorize, dispatch through the one command boundary, and post the reply;
        one channel's commands one after another, in the order they came."""
        chat = f"slack:{channel}"
        async with self.order.turn(chat):
            await self._run_in_turn(name, args, channel, user, respond)

    async def _run_in_turn(
        self, name: str, args: tuple[str, ...], channel: str, user: str, respond: AsyncRespond
    ) -> None:
        chat = f"slack:{channel}"
        try:
            if not CHAT_KEY.match(chat):
                answer = reply("This request came without a usable channel.", private=True)
            elif self.settings.allowed_chats and chat not in self.settings.allowed_chats:
                answer = reply(NOT_SERVED, private=True)
            elif len(args) > MAX_ARGS:
                answer = reply(f"Too many words: at most {MAX_ARGS}.", private=True)
            else:
                # Handlers may look at can_admin themselves (/start subscribes only for an
                # admin), so it is always worked out; users.info answers are cached.
                # A DM with the bot is the user's own chat, as a private chat on Telegram.
                can_admin = channel.startswith("D") or await self.admins.is_admin(user)
                member: bool | None = True
                name_of_bot = ""
                # Never "This chat gets …" in a channel the bot cannot post to.
                if name in ("start", "subscribe"):
                    member = await self.membership.is_member(channel)
                    name_of_bot = await self.membership.handle() if member is not True else ""
                cmd = Command(
                    "slack",
                    chat,
                    user,
                    name,
                    args,
                    can_admin=can_admin,
                    bot_member=member,
                    bot_handle=name_of_bot,
                )
                answer = await handle(self.core, cmd)
            await self._post(respond, answer, channel)
        except Exception:
            log.exception("slack: /%s in %s failed", name[:32], chat)
            await self._post(respond, reply("Sorry, that failed on our side.", private=True))

    async def _post(self, respond: AsyncRespond, answer: Message, channel: str = "") -> None:
        kind = "ephemeral" if answer.private else "in_channel"
        parts: list[SlackMessage] = render(answer, answer.tz or self.settings.timezone)
        chat = f"slack:{channel}"
        paced = bool(channel) and CHAT_KEY.match(chat) is not None
        for n, part in enumerate(parts):
            if n >= RESPONSE_URL_USES and answer.private:
                log.warning("slack: private reply cut after %d messages", RESPONSE_URL_USES)
                break
            post = self._poster(respond, part, kind, channel, through_api=n >= RESPONSE_URL_USES)
            if paced:  # the channel's slot, ahead of alerts, shared with every replica
                await send_reply_part(self.limiter, chat, False, post, _slack_wait, REPLY_TRIES)
            else:
                await post()
        if answer.image and not answer.private and channel:
            try:
                await upload_image(self.client, channel, answer)
            except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("slack: image upload to %s failed (%s)", channel, _why(exc))
                note = "The chart could not be posted: invite the bot to this channel."
                await respond(text=note, response_type="ephemeral", replace_original=False)

    def _poster(
        self, respond: AsyncRespond, part: SlackMessage, kind: str, channel: str, through_api: bool
    ) -> Callable[[], Awaitable[None]]:
        """One part of a reply: by response_url (its first five uses), then chat.postMessage."""

        async def post() -> None:
            if through_api:  # response_url is spent: the rest through the Web API
                await self.client.chat_postMessage(
                    channel=channel, text=part.text, blocks=part.blocks, unfurl_links=False
                )
                return
            result = await respond(
                text=part.text, blocks=part.blocks, response_type=kind, replace_original=False
            )
            if result.status_code != 200:
                log.warning("slack: response_url answered HTTP %d", result.status_code)

        return post


def _slack_wait(exc: Exception) -> float | None:
    """A 429 from Slack's Web API: how long it asks to wait (else None: not a rate limit)."""
    if isinstance(exc, SlackApiError) and exc.response.status_code == 429:
        headers = {str(k).lower(): str(v) for k, v in (exc.response.headers or {}).items()}
        return retry_after_s(headers.get("retry-after"), None) or 1.0
    return None


# -- wiring into the bot's aiohttp app ----------------------------------------------------
SLACK = web.AppKey("slack", SlackBot)


def mount(
    app: web.Application,
    settings: Settings,
    core_of: Callable[[web.Application], Core],
    senders_of: Callable[[web.Application], dict[str, Sender]],
) -> None:
    """Add Slack to the bot's app: the events route (HTTP mode) and the bot's lifecycle.

    Call before the app starts, after the context that builds the core.
    """
    if settings.slack_signing_secret:

        async def events(request: web.Request) -> web.Response:
            return await request.app[SLACK].handle_http(request)

        app.router.add_post("/slack/events", events)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        bot = SlackBot(settings, core_of(app))
        app[SLACK] = bot
        senders = senders_of(app)
        senders["slack"] = bot.sender
        await bot.start()
        yield
        senders.pop("slack", None)
        await bot.close()

    app.cleanup_ctx.append(lifecycle)


# -- the plug-in (bot.transports.base.Transport) -------------------------------------------
class SlackPlugin:
    """Slack as a `Transport`: a thin adapter over `SlackBot`, which it builds and starts
    with the core (so behaviour is SlackBot's own, as `mount` above wires it)."""

    platform = "slack"
    limits = ratelimit.SLACK

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limit_scope = limit_scope(settings)  # replicas on this token share its windows
        self.running: SlackBot | None = None

    @classmethod
    def configured(cls, settings: Settings) -> SlackPlugin | None:
        return cls(settings) if settings.slack_bot_token else None

    def sender(self) -> SlackSender:
        if self.running is None:
            raise RuntimeError("slack: not started")
        return self.running.sender

    def mount(self, app: web.Application) -> None:
        if self.settings.slack_signing_secret:  # HTTP mode; Socket Mode needs no route
            app.router.add_post("/slack/events", self._events)

    async def _events(self, request: web.Request) -> web.Response:
        if self.running is None:
            return web.Response(status=503)
        return await self.running.handle_http(request)

    async def start(self, core: Core) -> None:
        bot = SlackBot(self.settings, core)
        await bot.start()
        self.running = bot

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.close()
            self.running = None

    def is_group(self, chat: ChatRef) -> bool:
        """A channel; a direct message with the bot (D…) is private. Slack paces both
        alike (no per-group limit), so this only answers the question."""
        return not chat.chat_id.startswith("D")

    async def can_admin(self, chat: ChatRef, user: str) -> bool:
        """As for a command: in a DM the user's own chat, else SLACK_ADMINS or a
        workspace admin/owner (users.info, cached)."""
        if self.running is None:
            return False
        return not self.is_group(chat) or await self.running.admins.is_admin(user)

    async def ready(self) -> bool:
        """auth.test answers ok."""
        if self.running is None:
            return False
        try:
            resp = await self.running.client.auth_test()
        except (SlackClientError, aiohttp.ClientError, TimeoutError):
            return False
        return bool(resp.get("ok"))
