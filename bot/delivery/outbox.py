"""The outbox: every (alert, chat) delivery is written to a Redis stream before it is sent.

- ``enqueue`` is one script: ``SET NX`` on an enqueue key, then ``XADD``. So it is
  idempotent per (alert, chat) — the same crossing seen twice, or a command redis-py
  re-sent after a dropped connection, queues once — and, given the leader's token, it is
  fenced: a stale leader's enqueue is refused (bot.state.leader).
- Senders read through the consumer group ``senders`` and ``XACK`` only after the
  platform accepted the message; a ``sent`` key per (alert, chat) turns a re-read after
  a crash into a no-op.
- A chat that moved (Telegram group -> supergroup) has its state moved by the routing
  and the delivery re-queued to the new chat id.
- A retryable failure leaves the entry pending with a due time; a permanent one (chat
  gone), or too many attempts on a delivery older than an hour, moves it to the
  dead-letter stream shown in /status.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.clock import Clock
from bot.delivery.sending import Delivery, Outcome, Sender, send_entry
from bot.models import Alert, ChatRef, Message
from bot.ops.metrics import Metrics
from bot.state import keys
from bot.state.atomic import StaleLeader
from bot.state.codec import alert_from_json, alert_to_json
from bot.state.leader import LEADER

log = logging.getLogger(__name__)
RETRY_DUE = keys.OUTBOX_RETRY_DUE  # zset: entry id -> epoch when it may be retried
ATTEMPTS = keys.OUTBOX_ATTEMPTS  # hash: entry id -> attempts so far
DEDUP_TTL_S = 7 * 86400
_ENQUEUE = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('XADD', KEYS[3], '*', 'chat', ARGV[3], 'alert', ARGV[4], 'queued', ARGV[5])
return 1
"""


@dataclass(slots=True)
class OutboxEntry:
    """One queued delivery: a stream entry id, its chat and the alert (raw and parsed)."""

    id: str
    chat: str
    raw: str
    queued: float | None = None  # epoch seconds on the enqueuer's clock
    alert: Alert = field(init=False)

    def __post_init__(self) -> None:
        self.alert = alert_from_json(self.raw)


class Routing(Protocol):
    """What the delivery loop asks about each entry (bot.chat.routing.SendRouting)."""

    async def prepare(self, entry: OutboxEntry) -> Message:
        """The message as this chat gets it (zone, silent level, topic, reply)."""
        ...

    async def settled(self, entry: OutboxEntry, result: Delivery) -> None:
        """An entry is finished: delivered, or dead-lettered."""
        ...

    async def moved(self, old: str, new: str) -> None:
        """The chat has a new id: its state follows it."""
        ...


class PlainRouting:
    """Routing that changes nothing: the message as queued, no bookkeeping."""

    async def prepare(self, entry: OutboxEntry) -> Message:
        return entry.alert.message

    async def settled(self, entry: OutboxEntry, result: Delivery) -> None:
        return None

    async def moved(self, old: str, new: str) -> None:
        return None


class Outbox:
    def __init__(
        self,
        redis: Redis,
        clock: Clock,
        consumer: str = "main",
        max_attempts: int = 8,
        metrics: Metrics | None = None,
        give_up_after_s: float = 3600.0,
        routing: Routing | None = None,
    ) -> None:
        self.metrics = metrics
        self.redis: Any = redis  # decode_responses=True: replies are str
        self.clock = clock
        self.consumer = consumer
        self.max_attempts = max_attempts
        self.give_up_after_s = give_up_after_s
        self.routing: Routing = routing or PlainRouting()

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(keys.OUTBOX, keys.OUTBOX_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def enqueue(self, alert: Alert, chat: str, fence: str | None = None) -> bool:
        """Queue one delivery; False when this (alert, chat) was queued before.

        With `fence` (the leader's token), raise StaleLeader unless it is still current.
        """
        result = await self.redis.eval(
            _ENQUEUE,
            3,
            LEADER,
            keys.enqueued(alert.id, chat),
            keys.OUTBOX,
            fence or "",
            DEDUP_TTL_S,
            chat,
            alert_to_json(alert),
            f"{self.clock.now().timestamp():.3f}",
        )
        if result == -1:
            raise StaleLeader(f"enqueue of alert {alert.id} refused: leadership lost")
        return bool(result)

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

    async def retrying(self) -> int:
        """Queued deliveries that failed at least once and wait for another attempt."""
        return int(await self.redis.hlen(ATTEMPTS))

    # -- reading -----------------------------------------------------------------
    def _entries(self, raw: list[tuple[str, dict[str, str]]]) -> list[OutboxEntry]:
        out = []
        for entry_id, fields in raw:
            if not fields:  # trimmed or deleted under us: nothing left to send
                continue
            queued = float(fields["queued"]) if fields.get("queued") else None
            out.append(OutboxEntry(entry_id, fields["chat"], fields["alert"], queued))
        return out

    async def read(self, count: int, block_ms: int | None = None) -> list[OutboxEntry]:
        """New entries for this consumer (they stay pending until settled)."""
        batches = await self.redis.xreadgroup(
            keys.OUTBOX_GROUP, self.consumer, {keys.OUTBOX: ">"}, count=count, block=block_ms
        )
        return [e for _stream, raw in batches or [] for e in self._entries(raw)]

    async def read_own(self, after: str, count: int) -> tuple[list[OutboxEntry], str | None]:
        """Entries this consumer name read before (a previous life of this replica) and
        never settled, with ids after `after`; and the id to continue from (None: done)."""
        batches = await self.redis.xreadgroup(
            keys.OUTBOX_GROUP, self.consumer, {keys.OUTBOX: after}, count=count
        )
        raw = [item for _stream, items in batches or [] for item in items]
        return self._entries(raw), (raw[-1][0] if raw else None)

    async def beat(self, ttl_s: float) -> None:
        """This consumer is alive (its deliveries are not to be claimed) for `ttl_s`."""
        await self.redis.set(keys.consumer_alive(self.consumer), "1", px=int(ttl_s * 1000))

    async def claim_from_dead(self, count: int = 500, min_idle_ms: int = 1000) -> list[OutboxEntry]:
        """Entries held by consumers whose heartbeat has lapsed (a replica that died or
        restarted under a new REPLICA_ID): claimed at once rather than after the idle
        timeout; an emptied dead consumer is removed from the group."""
        out: list[OutboxEntry] = []
        for info in await self.redis.xinfo_consumers(keys.OUTBOX, keys.OUTBOX_GROUP):
            name = str(info.get("name"))
            if name == self.consumer or len(out) >= count:
                continue
            if await self.redis.exists(keys.consumer_alive(name)):
                continue
            if int(info.get("pending", 0)) == 0:
                if float(info.get("idle", 0)) > 60_000:  # long gone and holding nothing
                    await self.redis.xgroup_delconsumer(keys.OUTBOX, keys.OUTBOX_GROUP, name)
                continue
            pending = await self.redis.xpending_range(
                keys.OUTBOX, keys.OUTBOX_GROUP, "-", "+", count - len(out), name
            )
            ids = [p["message_id"] for p in pending]
            if ids:
                raw = await self.redis.xclaim(
                    keys.OUTBOX, keys.OUTBOX_GROUP, self.consumer, min_idle_ms, ids
                )
                out += self._entries(raw)
                log.info("claimed %d deliveries from %s (no heartbeat)", len(raw), name)
        return out

    async def claim_abandoned(self, min_idle_ms: int, count: int = 500) -> list[OutboxEntry]:
        """Entries a dead or stalled consumer read but never settled (XAUTOCLAIM)."""
        _next, raw, *_deleted = await self.redis.xautoclaim(
            keys.OUTBOX, keys.OUTBOX_GROUP, self.consumer, min_idle_ms, "0-0", count=count
        )
        return self._entries(raw)

    async def touch(self, entry_ids: list[str]) -> None:
        """Reset the idle time of entries this consumer still holds, so no one claims them."""
        if entry_ids:
            await self.redis.xclaim(
                keys.OUTBOX, keys.OUTBOX_GROUP, self.consumer, 0, entry_ids, justid=True
            )

    # -- sending and settling ----------------------------------------------------
    async def delivered(self, entries: list[OutboxEntry]) -> set[str]:
        """Ids of the entries whose (alert, chat) has its `sent` marker: one round trip."""
        if not entries:
            return set()
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                pipe.exists(keys.sent(entry.alert.id, entry.chat))
            found = await pipe.execute()
        return {entry.id for entry, hit in zip(entries, found, strict=True) if hit}

    async def prepare(self, entry: OutboxEntry) -> Message | None:
        """The entry's message as its chat should get it (zone, level, topic, thread),
        made ahead of the send so that the send, once the rate limits let it go, is one
        request and nothing else. None if it cannot be made now: `send` then makes it
        itself, and a failure there counts as that attempt's."""
        try:
            return await self.routing.prepare(entry)
        except Exception:
            return None

    async def send(
        self,
        entry: OutboxEntry,
        senders: Mapping[str, Sender],
        *,
        checked: bool = False,
        message: Message | None = None,
    ) -> Delivery:
        """Send one entry, unless it was delivered already (a re-read after a crash).
        `checked`: the caller looked for the `sent` marker when it read the entry;
        `message`: made by `prepare` (None: made here)."""
        if not checked and await self.redis.exists(keys.sent(entry.alert.id, entry.chat)):
            return Delivery(Outcome.SENT, "already delivered", duplicate=True)
        ref = ChatRef.parse(entry.chat)
        sender = senders.get(ref.platform)
        if sender is None:
            return Delivery(Outcome.RETRY, f"no {ref.platform} transport running")
        try:
            if message is None:
                message = await self.routing.prepare(entry)
            return await send_entry(sender, ref, message, entry.alert)
        except Exception as exc:  # a transport bug must not lose the delivery
            log.exception("alert %s to %s: transport raised", entry.alert.id, entry.chat)
            return Delivery(Outcome.RETRY, f"transport error: {type(exc).__name__}")

    async def settle(self, entry: OutboxEntry, result: Delivery) -> float | None:
        """Record how a send went. Returns the retry delay in seconds, or None when the
        entry is finished (delivered, or dead-lettered)."""
        platform = entry.chat.split(":", 1)[0]
        if self.metrics is not None:
            outcome = result.outcome.value
            if result.duplicate:
                outcome = "duplicate"
            elif result.uncertain:
                outcome = "uncertain"
            self.metrics.deliveries.labels(platform, outcome).inc()
        if result.outcome is Outcome.SENT:
            await self.redis.set(keys.sent(entry.alert.id, entry.chat), "1", ex=DEDUP_TTL_S)
            await self._done(entry.id, counted="duplicates" if result.duplicate else "sent")
            log.info("alert %s delivered to %s", entry.alert.id, entry.chat)
            await self._finished(entry, result)
            return None
        if result.outcome is Outcome.MOVED and await self._moved(entry.alert, entry.chat, result):
            await self._done(entry.id)
            return None
        attempts = int(await self.redis.hincrby(ATTEMPTS, entry.id, 1))
        # A platform down for minutes (5xx, timeouts) must delay, not dead-letter: give up
        # after max_attempts only once the delivery is also older than give_up_after_s.
        now = self.clock.now().timestamp()
        age_s = now - entry.queued if entry.queued is not None else float("inf")
        if result.outcome is Outcome.GONE or (
            attempts >= self.max_attempts and age_s >= self.give_up_after_s
        ):
            await self.redis.xadd(
                keys.OUTBOX_DEAD, {"chat": entry.chat, "alert": entry.raw, "reason": result.reason}
            )
            await self._done(entry.id)
            log.warning(
                "alert %s to %s dead-lettered after %d attempts: %s",
                entry.alert.id,
                entry.chat,
                attempts,
                result.reason,
            )
            await self._finished(entry, result)
            return None
        delay = result.retry_after if result.retry_after is not None else min(300, 2**attempts)
        delay = max(delay, 0.1)  # never "again at once": a pass of the loop ends
        await self.redis.zadd(RETRY_DUE, {entry.id: now + delay})
        log.info(
            "alert %s to %s: retry in %.1fs (%s)", entry.alert.id, entry.chat, delay, result.reason
        )
        return delay

    async def retry_due(self, entries: list[OutboxEntry]) -> dict[str, float]:
        """When each of these entries may be tried again (epoch seconds on the outbox's
        clock), for those that failed and wait: a restarted loop honours a 429's
        retry_after instead of sending at once."""
        if not entries:
            return {}
        scores = await self.redis.zmscore(RETRY_DUE, [e.id for e in entries])
        return {e.id: float(due) for e, due in zip(entries, scores, strict=True) if due is not None}

    async def _finished(self, entry: OutboxEntry, result: Delivery) -> None:
        try:
            await self.routing.settled(entry, result)
        except Exception:  # bookkeeping (history, reply ids) must not undo a settled entry
            log.exception("alert %s to %s: after-delivery hook failed", entry.alert.id, entry.chat)

    async def _moved(self, alert: Alert, chat: str, result: Delivery) -> bool:
        """Move the chat's state to its new id and queue the delivery there."""
        ref = ChatRef.parse(chat)
        try:
            new_chat = ChatRef.parse(f"{ref.platform}:{result.new_chat_id}").key
        except ValueError:
            return False  # no usable new id: handled below like any failed attempt
        await self.routing.moved(chat, new_chat)
        await self.enqueue(alert, new_chat)
        log.info("alert %s: chat %s moved to %s, re-queued", alert.id, chat, new_chat)
        return True

    async def _done(self, entry_id: str, counted: str | None = None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(keys.OUTBOX, keys.OUTBOX_GROUP, entry_id)
            pipe.xdel(keys.OUTBOX, entry_id)
            pipe.hdel(ATTEMPTS, entry_id)
            pipe.zrem(RETRY_DUE, entry_id)
            if counted is not None:  # /status: deliveries sent (and re-reads found sent)
                pipe.hincrby(keys.STATS, counted, 1)
            await pipe.execute()
