"""The outbox: every (alert, chat) delivery is written to a Redis stream before it is sent.

- ``enqueue`` is idempotent per (alert, chat): ``SET NX`` on an enqueue key guards the
  ``XADD``, so the same crossing seen twice (a retry, a second replica) queues once.
- Senders read through the consumer group ``senders`` and ``XACK`` only after the
  platform accepted the message; a ``sent`` key per (alert, chat) turns a re-read after
  a crash into a no-op.
- A chat that moved (Telegram group -> supergroup) has its state moved by ``on_moved``
  and the delivery re-queued to the new chat id.
- A retryable failure leaves the entry pending with a due time; a permanent one (chat
  gone) or too many attempts moves it to the dead-letter stream shown in /status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot import keys
from bot.clock import Clock
from bot.codec import alert_from_json, alert_to_json
from bot.models import Alert, ChatRef
from bot.transports.base import Delivery, Outcome, Sender

log = logging.getLogger(__name__)
RETRY_DUE = f"{keys.OUTBOX}:due"  # zset: entry id -> epoch when it may be retried
ATTEMPTS = f"{keys.OUTBOX}:attempts"  # hash: entry id -> attempts so far
DEDUP_TTL_S = 7 * 86400


class Outbox:
    def __init__(
        self, redis: Redis, clock: Clock, consumer: str = "main", max_attempts: int = 8
    ) -> None:
        self.redis: Any = redis  # decode_responses=True: replies are str
        self.clock = clock
        self.consumer = consumer
        self.max_attempts = max_attempts
        # Set by build_core to AlertService.move_chat (the engine must learn the new owner).
        self.on_moved: Callable[[str, str], Awaitable[None]] | None = None

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(keys.OUTBOX, keys.OUTBOX_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(self, alert: Alert, chat: str) -> bool:
        """Queue one delivery; False when this (alert, chat) was queued before."""
        first = await self.redis.set(keys.enqueued(alert.id, chat), "1", nx=True, ex=DEDUP_TTL_S)
        if not first:
            return False
        await self.redis.xadd(keys.OUTBOX, {"chat": chat, "alert": alert_to_json(alert)})
        return True

    async def pending(self) -> int:
        info = await self.redis.xpending(keys.OUTBOX, keys.OUTBOX_GROUP)
        backlog = 0
        groups = await self.redis.xinfo_groups(keys.OUTBOX)
        for group in groups:
            if group["name"] == keys.OUTBOX_GROUP:
                backlog = int(group.get("lag") or 0)
        return int(info["pending"]) + backlog

    async def dead(self) -> int:
        return int(await self.redis.xlen(keys.OUTBOX_DEAD))

    async def deliver(self, senders: Mapping[str, Sender], count: int = 100) -> int:
        """One pass: send what is new and what is due again. Returns deliveries sent."""
        sent = 0
        due_ids = await self.redis.zrangebyscore(
            RETRY_DUE, 0, self.clock.now().timestamp(), start=0, num=count
        )
        if due_ids:
            claimed = await self.redis.xclaim(
                keys.OUTBOX, keys.OUTBOX_GROUP, self.consumer, 0, due_ids
            )
            for entry_id, fields in claimed:
                await self.redis.zrem(RETRY_DUE, entry_id)
                sent += await self._handle(entry_id, fields, senders)
        batches = await self.redis.xreadgroup(
            keys.OUTBOX_GROUP, self.consumer, {keys.OUTBOX: ">"}, count=count
        )
        for _stream, entries in batches or []:
            for entry_id, fields in entries:
                sent += await self._handle(entry_id, fields, senders)
        return sent

    async def _handle(
        self, entry_id: str, fields: dict[str, str], senders: Mapping[str, Sender]
    ) -> int:
        chat, alert = fields["chat"], alert_from_json(fields["alert"])
        if await self.redis.exists(keys.sent(alert.id, chat)):
            await self._done(entry_id)
            return 0
        ref = ChatRef.parse(chat)
        sender = senders.get(ref.platform)
        if sender is None:
            result = Delivery(Outcome.RETRY, f"no {ref.platform} transport running")
        else:
            try:
                result = await sender.send(ref, alert.message)
            except Exception as exc:  # a transport bug must not lose the delivery
                log.exception("alert %s to %s: transport raised", alert.id, chat)
                result = Delivery(Outcome.RETRY, f"transport error: {type(exc).__name__}")
        if result.outcome is Outcome.SENT:
            await self.redis.set(keys.sent(alert.id, chat), "1", ex=DEDUP_TTL_S)
            await self._done(entry_id)
            log.info("alert %s delivered to %s", alert.id, chat)
            return 1
        if result.outcome is Outcome.MOVED and await self._moved(alert, chat, result):
            await self._done(entry_id)
            return 0
        attempts = int(await self.redis.hincrby(ATTEMPTS, entry_id, 1))
        if result.outcome is Outcome.GONE or attempts >= self.max_attempts:
            await self.redis.xadd(
                keys.OUTBOX_DEAD, {"chat": chat, "alert": fields["alert"], "reason": result.reason}
            )
            await self._done(entry_id)
            log.warning("alert %s to %s dead-lettered: %s", alert.id, chat, result.reason)
            return 0
        delay = result.retry_after if result.retry_after is not None else min(300, 2**attempts)
        await self.redis.zadd(RETRY_DUE, {entry_id: self.clock.now().timestamp() + delay})
        log.info("alert %s to %s: retry in %.1fs (%s)", alert.id, chat, delay, result.reason)
        return 0

    async def _moved(self, alert: Alert, chat: str, result: Delivery) -> bool:
        """Move the chat's state to its new id and queue the delivery there."""
        ref = ChatRef.parse(chat)
        try:
            new_chat = ChatRef.parse(f"{ref.platform}:{result.new_chat_id}").key
        except ValueError:
            return False  # no usable new id: handled below like any failed attempt
        if self.on_moved is not None:
            await self.on_moved(chat, new_chat)
        await self.enqueue(alert, new_chat)
        log.info("alert %s: chat %s moved to %s, re-queued", alert.id, chat, new_chat)
        return True

    async def _done(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(keys.OUTBOX, keys.OUTBOX_GROUP, entry_id)
            pipe.xdel(keys.OUTBOX, entry_id)
            pipe.hdel(ATTEMPTS, entry_id)
            await pipe.execute()
