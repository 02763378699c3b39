"""Telegram through python-telegram-bot: updates in as Commands, Messages out as HTML.

Owns the PTB `Application` (started by hand inside bot.app's lifecycle, never
`run_polling`, which would own the event loop), long polling or the webhook route,
who may administer a chat (`getChatMember`, cached in Redis), the alert buttons, and
`TelegramSender`, which sends for the outbox and classifies every failure into an
Outcome. Commands themselves run through handlers.dispatch.handle, as on every platform,
concurrently across chats and in order within one (bot.transports.telegram_updates);
`TelegramTransport.reply` sends their answers part by part through the token's limits
shared with alerts and every replica, ahead of alerts (bot.delivery.shared_limits).
`TelegramPlugin` is the bot.transports.base.Transport the live app plugs in.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import os
import re
import secrets
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    Chat,
    ChatMember,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
    User,
)
from telegram import Message as TgMessage
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.cmdref import for_platform
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.deliverer import telegram_is_group
from bot.delivery.sending import Delivery, Outcome
from bot.delivery.shared_limits import SharedLimiter, send_reply_part, token_scope
from bot.models import ChatRef, Message
from bot.state import keys
from bot.state.store import Store
from bot.transports.telegram_render import (
    CAPTION_LIMIT,
    keyboard,
    render_html,
    render_plain,
    tg_len,
)
from bot.transports.telegram_updates import PerChatUpdateProcessor
from bot.wiring import Core
from handlers import buttons
from handlers.base import Command
from handlers.dispatch import handle
from handlers.registry import COMMANDS

log = logging.getLogger(__name__)
# Opt in to PTB 23's time periods as timedelta (retry_after): PTB 22 otherwise warns on
# every RetryAfter it builds. It reads the variable at each use, so setting it here works.
os.environ.setdefault("PTB_TIMEDELTA", "true")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
ALLOWED_UPDATES = ["message", "callback_query"]
ADMIN_CACHE_S = 60  # an admin demoted a minute ago may still change rules for that minute
UPDATE_SEEN_S = 86400  # Telegram stops redelivering a webhook update well within a day
POLL_TIMEOUT_S = 25
REPLY_TRIES = 20  # a reply's part refused with 429 this often (each waited out) is given up
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?$")
_SECRET_OK = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts

AppType = Application[Any, Any, Any, Any, Any, Any]


class TelegramStartupError(RuntimeError):
    """The bot cannot start on Telegram; the message is safe to print (no token)."""


# -- parsing -------------------------------------------------------------------------
def parse_command(text: str, username: str) -> tuple[str, tuple[str, ...]] | None:
    """'/alert@OurBot add …' -> ('alert', ('add', …)); None if not a command for us."""
    words = text.split()
    if not words:
        return None
    match = _COMMAND.match(words[0])
    if match is None:
        return None
    addressed = match.group(2)
    if addressed is not None and addressed.lower() != username.lower():
        return None  # meant for another bot in the group
    return match.group(1).lower(), tuple(words[1:])


def button_args(data: str | None) -> tuple[str, ...] | None:
    """An alert button's action as /alert arguments (handlers.buttons, as on Slack)."""
    return buttons.decode(data)


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or one derived from the token (the same on every replica)."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    assert settings.telegram_token is not None
    token = settings.telegram_token.get_secret_value().encode()
    return hmac.new(token, b"divbot telegram webhook", hashlib.sha256).hexdigest()


def webhook_url(settings: Settings) -> str | None:
    """TELEGRAM_WEBHOOK_URL; a bare origin gets our route's path appended."""
    url = settings.telegram_webhook_url
    if url is None:
        return None
    if url.path in (None, "", "/"):
        return str(url).rstrip("/") + WEBHOOK_PATH
    return str(url)


def limit_scope(settings: Settings) -> str:
    """The token's rate-limit scope in Redis (a hash of the token, never the token)."""
    assert settings.telegram_token is not None
    return token_scope("telegram", settings.telegram_token.get_secret_value())


def api_base(settings: Settings) -> str:
    return str(settings.telegram_api_base).rstrip("/")


# -- sending ---------------------------------------------------------------------------
Request = Callable[[], Awaitable[int]]  # one Bot API call; answers the message id
Runner = Callable[[Request], Awaitable[int]]  # runs one request (paced, retried, or not)


async def _direct(request: Request) -> int:
    return await request()


def _requests(
    bot: Bot,
    chat_id: int,
    message: Message,
    parts: list[str],
    mode: str | None,
    thread_id: int | None,
    reply_to: int | None,
) -> list[Request]:
    """The Bot API calls that send `message` as `parts`, in order, one message each."""
    silent = True if message.silent else None  # None: Telegram's default (with sound)
    markup: InlineKeyboardMarkup | None = keyboard(message.buttons)
    reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    requests: list[Request] = []
    if message.image is not None:
        image = message.image
        caption = parts[0] if len(parts) == 1 and tg_len(parts[0]) <= CAPTION_LIMIT else None
        photo_reply = reply

        async def photo() -> int:
            sent = await bot.send_photo(
                chat_id,
                image,
                caption=caption,
                parse_mode=mode if caption else None,
                reply_markup=markup if caption else None,
                message_thread_id=thread_id,
                reply_parameters=photo_reply,
                disable_notification=silent,
            )
            return sent.message_id

        requests.append(photo)
        if caption is not None:
            return requests
        reply = None
    for i, part in enumerate(parts):

        async def text(i: int = i, part: str = part) -> int:
            sent = await bot.send_message(
                chat_id,
                part,
                parse_mode=mode,
                reply_markup=markup if i == len(parts) - 1 else None,
                message_thread_id=thread_id,
                reply_parameters=reply if i == 0 else None,
                disable_notification=silent,
            )
            return sent.message_id

        requests.append(text)
    return requests


async def send_rendered(
    bot: Bot,
    chat_id: int,
    message: Message,
    tz: str,
    *,
    thread_id: int | None = None,
    reply_to: int | None = None,
    run: Runner = _direct,
) -> int:
    """Send a Message as HTML (split, with buttons), each message through `run`; from the
    first one Telegram cannot parse, as plain text. Returns the last message id; raises
    TelegramError. A part that went out is never sent again here."""
    requests = _requests(
        bot, chat_id, message, render_html(message, tz), ParseMode.HTML, thread_id, reply_to
    )
    sent = 0
    for i, request in enumerate(requests):
        try:
            sent = await run(request)
        except BadRequest as exc:
            if "parse entities" not in exc.message.lower():
                raise
            log.warning(
                "chat %s: Telegram could not parse our HTML (%s); the rest as plain text",
                chat_id,
                exc.message,
            )
            plain = _requests(
                bot, chat_id, message, render_plain(message, tz), None, thread_id, reply_to
            )
            # The parts already sent stay sent; the plain rendering splits alike.
            for rest in plain[i:] if i < len(plain) else plain[-1:]:
                sent = await run(rest)
            return sent
    return sent


def _retry_after_s(exc: RetryAfter) -> float:
    # PTB 22 returns int or timedelta depending on PTB_TIMEDELTA, warning in the int case.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(exc: TelegramError) -> Delivery:
    """What the outbox should do after Telegram refused a send."""
    if isinstance(exc, RetryAfter):
        return Delivery(Outcome.RETRY, "flood control (429)", retry_after=_retry_after_s(exc))
    if isinstance(exc, ChatMigrated):
        return Delivery(
            Outcome.MOVED, "group became a supergroup", new_chat_id=str(exc.new_chat_id)
        )
    if isinstance(exc, Forbidden):  # "Forbidden: bot was blocked by the user"
        return Delivery(Outcome.GONE, exc.message, chat_gone=True)
    if isinstance(exc, InvalidToken):
        return Delivery(Outcome.RETRY, "Telegram rejected the bot token")
    # BadRequest subclasses NetworkError, so it must be caught first: a 400 is permanent.
    if isinstance(exc, BadRequest):
        return Delivery(Outcome.GONE, f"bad request: {exc.message}")
    if isinstance(exc, TimedOut):
        # The request may have reached Telegram: retrying may duplicate, and that is the
        # policy (README, "Delivery guarantees"): a late duplicate beats a lost alert.
        return Delivery(Outcome.RETRY, "timed out: Telegram may have delivered it", uncertain=True)
    if isinstance(exc, NetworkError):
        return Delivery(Outcome.RETRY, f"network: {exc.message}")
    return Delivery(Outcome.RETRY, f"telegram error: {exc.message}")


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


class TelegramSender:
    """Sends the outbox's deliveries to Telegram chats; never raises a TelegramError."""

    platform = "telegram"

    def __init__(self, bot: Bot, store: Store, tz: str) -> None:
        self.bot = bot
        self.store = store
        self.tz = tz

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        try:
            chat_id = int(chat.chat_id)
        except ValueError:
            return Delivery(Outcome.GONE, "not a Telegram chat id")
        try:
            sent = await send_rendered(
                self.bot,
                chat_id,
                message,
                message.tz or self.tz,
                thread_id=_int_or_none(message.thread),
                reply_to=_int_or_none(message.reply_to),
            )
        except TelegramError as exc:
            return classify(exc)
        return Delivery(Outcome.SENT, message_id=str(sent))


# -- the transport ---------------------------------------------------------------------
async def check_token(settings: Settings) -> None:
    """getMe with TELEGRAM_TOKEN, before the bot touches anything else (bot.app calls it
    ahead of Redis): a rejected token stops the bot having written nothing."""
    if settings.telegram_token is None:
        return
    base = api_base(settings)
    bot = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
    )
    try:
        async with bot:  # initialize() asks getMe; leaving shuts the client down
            pass
    except InvalidToken:
        raise TelegramStartupError(
            "Telegram rejected TELEGRAM_TOKEN (getMe: unauthorized); check it with @BotFather"
        ) from None
    except TelegramError as exc:
        raise TelegramStartupError(
            f"cannot reach the Telegram Bot API at {base}: {exc.message}"
        ) from None


def build_application(settings: Settings, webhook: bool) -> AppType:
    if settings.telegram_token is None:
        raise TelegramStartupError("TELEGRAM_TOKEN is not set")
    base = api_base(settings)
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .job_queue(None)  # watchers are our own tasks on the injected clock
        # Chats' commands run side by side, each chat's in order (no chat waits on another).
        .concurrent_updates(PerChatUpdateProcessor())
    )
    if webhook:
        builder = builder.updater(None)
    return builder.build()


class TelegramTransport:
    """Telegram updates in, replies out; started and stopped by bot.app."""

    def __init__(self, settings: Settings, core: Core) -> None:
        self.settings = settings
        self.core = core
        self.url = webhook_url(settings)
        self.secret = webhook_secret(settings) if self.url else ""
        self.application = build_application(settings, webhook=self.url is not None)
        self.username = ""
        # The token's send limits, shared with alert delivery and every replica (Redis).
        self.limiter = SharedLimiter(core.redis, limit_scope(settings), ratelimit.TELEGRAM)
        app = self.application
        app.add_handler(TypeHandler(Update, self._alive), group=-1)
        app.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.StatusUpdate.MIGRATE, self._migrated
            )
        )
        # Only new messages: an edited "/alert add" must never run again.
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, self._on_message))
        app.add_handler(CallbackQueryHandler(self._on_button))
        app.add_error_handler(self._on_error)

    @property
    def bot(self) -> Bot:
        bot: Bot = self.application.bot
        return bot

    def sender(self) -> TelegramSender:
        return TelegramSender(self.bot, self.core.store, self.settings.timezone)

    async def start(self) -> None:
        if self.url and not _SECRET_OK.match(self.secret):
            raise TelegramStartupError(
                "TELEGRAM_WEBHOOK_SECRET: use 1-256 characters from A-Z, a-z, 0-9, _ and -"
            )
        try:
            await self.application.initialize()  # getMe
        except InvalidToken:
            raise TelegramStartupError(
                "Telegram rejected TELEGRAM_TOKEN (getMe: unauthorized); check it with @BotFather"
            ) from None
        except TelegramError as exc:
            raise TelegramStartupError(
                f"cannot reach the Telegram Bot API at {api_base(self.settings)}: {exc.message}"
            ) from None
        self.username = self.bot.username
        try:
            await self._begin()
        except TelegramError as exc:
            await self.stop()
            raise TelegramStartupError(f"Telegram start-up failed: {exc.message}") from None

    async def _begin(self) -> None:
        """Publish the command menu, start the dispatcher, then the webhook or polling."""
        await self.bot.set_my_commands(
            [
                BotCommand(spec.name, for_platform(spec.summary, "telegram")[:256])
                for spec in COMMANDS.values()
            ]
        )
        await self.application.start()
        if self.url:
            await self.bot.set_webhook(
                self.url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES
            )
            log.info("telegram: @%s on webhook %s", self.username, WEBHOOK_PATH)
        else:
            assert self.application.updater is not None
            await self.application.updater.start_polling(
                timeout=POLL_TIMEOUT_S,
                allowed_updates=ALLOWED_UPDATES,
                error_callback=self._polling_error,
            )
            log.info("telegram: @%s long polling", self.username)

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    def _polling_error(self, exc: TelegramError) -> None:
        # PTB's polling loop backs off (1s, growing to 30s) after each error; we only say why.
        if isinstance(exc, Conflict):
            log.warning("telegram: another process polls with this token (409); backing off")
            self.core.health.bad(
                "telegram", "another poller on this token (409)", self.core.clock.now()
            )
        else:
            log.warning("telegram: polling failed (%s); retrying", type(exc).__name__)

    # -- webhook --------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        """POST /telegram/webhook: check the secret header, drop redeliveries, queue."""
        given = request.headers.get(SECRET_HEADER, "")
        if not self.secret or not secrets.compare_digest(given.encode(), self.secret.encode()):
            log.warning("telegram webhook: refused a request without the secret token")
            return web.Response(status=403)
        try:
            data = await request.json()
            update_id = int(data["update_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("telegram webhook: body is not an update")
            return web.Response(status=400)
        first = await self.core.redis.set(
            keys.telegram_update(update_id), "1", nx=True, ex=UPDATE_SEEN_S
        )
        if not first:
            log.info("telegram update %d redelivered: acknowledged, not run again", update_id)
            return web.Response()
        update = Update.de_json(data, self.bot)
        await self.application.update_queue.put(update)
        return web.Response()

    # -- updates --------------------------------------------------------------------
    def _serves(self, chat_key: str) -> bool:
        allowed = self.settings.allowed_chats
        return not allowed or chat_key in allowed

    async def can_admin(self, chat: Chat, user: User | None, sender_chat: Chat | None) -> bool:
        """Private chats, group owners and admins (asked once a minute), anonymous admins."""
        if chat.type == Chat.PRIVATE:
            return True
        if sender_chat is not None and sender_chat.id == chat.id:
            return True  # an anonymous admin posts as the group itself
        if user is None:
            return False
        cache = keys.telegram_admin(f"telegram:{chat.id}", user.id)
        cached = await self.core.redis.get(cache)
        if cached is not None:
            return bool(cached == "1")
        try:
            member = await self.bot.get_chat_member(chat.id, user.id)
        except TelegramError as exc:
            log.warning(
                "telegram: getChatMember in %s failed (%s): not an admin",
                chat.id,
                type(exc).__name__,
            )
            return False  # fail closed, and don't cache the failure
        is_admin = member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR)
        await self.core.redis.set(cache, "1" if is_admin else "0", ex=ADMIN_CACHE_S)
        return is_admin

    async def _alive(self, _: Update, __: ContextTypes.DEFAULT_TYPE) -> None:
        self.core.health.ok("telegram", self.core.clock.now())  # an update came through

    async def _on_message(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.message
        if msg is None or msg.text is None:
            return
        parsed = parse_command(msg.text, self.username)
        chat_key = f"telegram:{msg.chat.id}"
        if parsed is None or not self._serves(chat_key):
            return
        name, args = parsed
        thread = msg.message_thread_id if msg.is_topic_message else None
        cmd = Command(
            platform="telegram",
            chat=chat_key,
            user=str(msg.from_user.id) if msg.from_user else "",
            name=name,
            args=args,
            can_admin=await self.can_admin(msg.chat, msg.from_user, msg.sender_chat),
            thread=str(thread) if thread is not None else None,
        )
        answer = await handle(self.core, cmd)
        in_group = msg.chat.type != Chat.PRIVATE
        await self.reply(
            msg.chat.id,
            answer,
            thread=thread,
            reply_to=msg.message_id if answer.private and in_group else None,
        )

    async def reply(
        self,
        chat_id: int,
        answer: Message,
        *,
        thread: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Send a command's answer through the token's limits, ahead of alerts: each part
        waits for its slot (priority over bulk delivery), a 429 holds the chat for every
        replica and sends that part again once it passed; parts already sent are never
        sent again, so the answer arrives whole and in order."""
        chat_key = f"telegram:{chat_id}"
        is_group = telegram_is_group(ChatRef.parse(chat_key))

        async def paced(request: Request) -> int:
            return await self._paced(chat_key, is_group, request)

        return await send_rendered(
            self.bot,
            chat_id,
            answer,
            answer.tz or self.settings.timezone,
            thread_id=thread,
            reply_to=reply_to,
            run=paced,
        )

    async def _paced(self, chat_key: str, is_group: bool, request: Request) -> int:
        def flood_wait(exc: Exception) -> float | None:
            return _retry_after_s(exc) if isinstance(exc, RetryAfter) else None

        return await send_reply_part(
            self.limiter, chat_key, is_group, request, flood_wait, REPLY_TRIES
        )

    async def _on_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        called = buttons.command(query.data)  # /alert's buttons, or a /watch candidate
        chat = query.message.chat if query.message is not None else None
        if (
            called is not None
            and called[0] == "backtest"
            and chat is not None
            and self._serves(f"telegram:{chat.id}")
        ):
            # A reading answered as a new message (text and chart), not under the alert.
            await self._button_command(query, chat, called[0], called[1])
            return
        if called is None or chat is None or not self._serves(f"telegram:{chat.id}"):
            await query.answer("This button no longer works.")
            return
        name, args = called
        answer = await handle(self.core, await self._pressed(query, chat, name, args))
        await query.answer(answer.title[:200], show_alert=answer.private)
        alert = query.message
        if answer.private or not isinstance(alert, TgMessage) or not alert.text:
            return
        # Say under the alert what was done and by whom; a removed rule loses its buttons.
        note = html.escape(f"{answer.title} by {query.from_user.first_name}", quote=False)
        try:
            await alert.edit_text(
                f"{alert.text_html}\n<i>{note}</i>",
                parse_mode=ParseMode.HTML,
                reply_markup=alert.reply_markup if args[0] == "mute" else None,
            )
        except TelegramError as exc:
            log.info("telegram: could not annotate alert in %s (%s)", chat.id, type(exc).__name__)

    async def _button_command(
        self, query: CallbackQuery, chat: Chat, name: str, args: tuple[str, ...]
    ) -> None:
        """A button that runs a reading command (a rule's *Backtest* under /alerts): the
        reply is a new message in the chat, as if the command had been typed."""
        await query.answer(f"/{name} {' '.join(args)}"[:200])
        answer = await handle(self.core, await self._pressed(query, chat, name, args))
        await send_rendered(self.bot, chat.id, answer, answer.tz or self.settings.timezone)

    async def _pressed(
        self, query: CallbackQuery, chat: Chat, name: str, args: tuple[str, ...]
    ) -> Command:
        """The command a button stands for, as the user who pressed it in `chat`."""
        return Command(
            platform="telegram",
            chat=f"telegram:{chat.id}",
            user=str(query.from_user.id),
            name=name,
            args=args,
            can_admin=await self.can_admin(chat, query.from_user, None),
        )

    async def _migrated(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.message
        if msg is not None and msg.migrate_to_chat_id:
            await self.core.rules.move_chat(
                f"telegram:{msg.chat.id}", f"telegram:{msg.migrate_to_chat_id}"
            )

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update %s failed", update_id, exc_info=context.error)


# -- the plug-in (bot.transports.base.Transport) -----------------------------------------
class TelegramPlugin:
    """Telegram as a `Transport`: a thin adapter over `TelegramTransport`, which it builds
    and starts with the core (so behaviour is TelegramTransport's own)."""

    platform = "telegram"
    limits = ratelimit.TELEGRAM

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limit_scope = limit_scope(settings)  # replicas on this token share its windows
        self.running: TelegramTransport | None = None
        self._sender: TelegramSender | None = None

    @classmethod
    def configured(cls, settings: Settings) -> TelegramPlugin | None:
        return cls(settings) if settings.telegram_token is not None else None

    def sender(self) -> TelegramSender:
        if self._sender is None:
            raise RuntimeError("telegram: not started")
        return self._sender

    def mount(self, app: web.Application) -> None:
        if self.settings.telegram_webhook_url is not None:
            app.router.add_post(WEBHOOK_PATH, self._webhook)

    async def _webhook(self, request: web.Request) -> web.Response:
        if self.running is None:
            return web.Response(status=503)
        return await self.running.webhook(request)

    async def start(self, core: Core) -> None:
        transport = TelegramTransport(self.settings, core)
        await transport.start()
        self.running, self._sender = transport, transport.sender()

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.stop()
            self.running = None

    def is_group(self, chat: ChatRef) -> bool:
        return telegram_is_group(chat)

    async def can_admin(self, chat: ChatRef, user: str) -> bool:
        """A private chat is its user's own; in a group, an owner or administrator
        (getChatMember, cached a minute), as for commands typed there."""
        if self.running is None or not chat.chat_id.lstrip("-").isdigit() or not user.isdigit():
            return False
        if not self.is_group(chat):
            return chat.chat_id == user
        group = Chat(id=int(chat.chat_id), type=Chat.SUPERGROUP)
        return await self.running.can_admin(group, User(int(user), "", is_bot=False), None)

    async def ready(self) -> bool:
        """getMe answers."""
        if self.running is None:
            return False
        try:
            await self.running.bot.get_me()
        except TelegramError:
            return False
        return True
