"""Send-time routing: what the delivery loop asks about each (alert, chat) it sends.

Before a send (`prepare`) a delivery gets the chat's time zone, its family's silent
level, its forum topic, and — for a rule that already fired this session — the id of the
first alert's message to reply to. After it (`settled`: delivered or given up) the first
message id is stored and the chat's /history updated. When the platform says the chat has
a new id (`moved`: a Telegram group became a supergroup) its rules, subscriptions and
settings follow it (the callable given at construction: bot.rules.live.LiveRules.move_chat).
When it says the chat is gone (`chat_gone`: blocked, kicked, archived, an endpoint's 404),
the chat goes dormant until /start (`on_gone`: bot.state.store.Store.deactivate), on
every platform alike.

It implements bot.delivery.outbox.Routing; it needs no outbox, so the outbox is built with
it and the pipeline has no loop: service -> gate -> outbox -> delivery loop -> routing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.chat.alert_history import AlertHistory
from bot.chat.prefs import Level, Prefs, ZoneCache
from bot.delivery.outbox import OutboxEntry
from bot.delivery.sending import Delivery, Outcome
from bot.models import Message
from bot.state import keys

log = logging.getLogger(__name__)
FIRST_MESSAGE_TTL_S = 2 * 86400  # a session is over well within two days


class SendRouting:
    def __init__(
        self,
        redis: Any,
        prefs: Prefs,
        history: AlertHistory,
        zones: ZoneCache,
        on_moved: Callable[[str, str], Awaitable[None]],
        on_gone: Callable[[str], Awaitable[object]],
    ) -> None:
        self.redis = redis
        self.prefs = prefs
        self.history = history
        self.zones = zones
        self.on_moved = on_moved
        self.on_gone = on_gone

    async def moved(self, old: str, new: str) -> None:
        await self.on_moved(old, new)

    async def prepare(self, entry: OutboxEntry) -> Message:
        """The message as this chat should get it: its zone, level, topic and thread."""
        alert, chat = entry.alert, entry.chat
        level: Level = await self.prefs.level(chat, alert.family)
        reply_to = None
        if alert.rule_id and alert.session:
            reply_to = await self.redis.get(
                keys.first_message(chat, alert.rule_id, alert.session.isoformat())
            )
        thread = None
        if chat.startswith("telegram:"):
            thread = await self.prefs.topic(chat, alert.family)
        return replace(
            alert.message,
            tz=await self.zones.get(chat),
            silent=level == "silent",
            reply_to=reply_to,
            thread=thread,
        )

    async def settled(self, entry: OutboxEntry, result: Delivery) -> None:
        """A delivery finished: delivered (SENT) or given up (dead-lettered)."""
        alert, chat = entry.alert, entry.chat
        if result.chat_gone:
            # One policy for every platform: the chat is dormant (no alert queued for it)
            # until someone there sends /start, which restores its subscriptions.
            await self.on_gone(chat)
            log.warning("chat %s is gone (%s): dormant until /start", chat, result.reason)
        if result.outcome is Outcome.SENT:
            if result.duplicate:
                return
            if alert.rule_id and alert.session and result.message_id:
                await self.redis.set(
                    keys.first_message(chat, alert.rule_id, alert.session.isoformat()),
                    result.message_id,
                    nx=True,
                    ex=FIRST_MESSAGE_TTL_S,
                )
            status, detail = "delivered", ""
        else:
            status, detail = "failed", result.reason[:200]
        if await self.history.update(chat, alert.id, status, detail):
            return
        raw = await self.redis.get(keys.noise_members(alert.id))
        if not raw:
            return
        how = "in the quiet-hours summary" if alert.id.startswith("qs") else "in a group"
        for member in raw.split(","):
            await self.history.update(chat, member, status, f"{how}; {detail}".strip("; "))
