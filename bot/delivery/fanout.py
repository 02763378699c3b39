"""Alert records and their fan-out: from one durable record to one delivery per chat.

An alert is *raised* by writing its record in the same atomic, fenced batch as the state
change that raised it (bot.state.atomic): the record holds the alert and, when the raiser
narrowed it (a chat's headline categories, macro filters), the chats it is for. From then
on the alert cannot be lost: until every chat is handled the record stays in
``divbot:alerts:owed`` and `/status` counts it as owed.

*Fanning out* turns the record into deliveries: for each chat in order (the record's
audience, or the owner of a chat's own rule, or the family's subscribers) it skips a
chat that is gone or muted and hands the rest to the noise gate (grouping, quiet hours,
flap protection), which queues them in the outbox. It is resumable and idempotent:

- chats are handled `CHECKPOINT` at a time, side by side, and a cursor (the last chat of
  the block) is written after each block, so a fan-out that dies resumes after it;
- a lease names the consumer fanning the record out; it is taken in the raising batch
  itself, renewed at each checkpoint, and lapses `LEASE_MS` after its holder dies, when
  any replica's `recover` takes the record over (its own records from a previous life
  at once);
- a chat handled twice (the chats after the last checkpoint) is harmless: the gate and
  the outbox queue once per (alert, chat). What can repeat is bookkeeping only: a history
  line or a muted count for at most `CHECKPOINT` chats.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from bot.clock import Clock
from bot.models import HOUSE, Alert
from bot.ops import crashpoint
from bot.state import keys
from bot.state.atomic import Batch
from bot.state.codec import alert_from_json, alert_to_json
from bot.state.store import Store

log = logging.getLogger(__name__)
RECORD_TTL_S = 7 * 86400  # the `recorded` claim: a retried raise within a week is a no-op
LEASE_MS = 5_000
CHECKPOINT = 50
RECOVER_S = 1.0

# Renew the lease if this consumer holds it (or nobody does); 0 when another took it over.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[4], ARGV[3]) end
return 1
"""
# Done: forget the record, its cursor and its lease, unless another consumer holds it.
_DONE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1
"""
# Take a record whose lease lapsed.
_TAKE = """
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then return 0 end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


def record(
    batch: Batch, alert: Alert, audience: Iterable[str] | None, consumer: str, now: float
) -> None:
    """Add `alert`'s durable record to `batch` (the batch that makes its state change)."""
    doc = {
        "alert": alert_to_json(alert),
        "audience": sorted(set(audience)) if audience is not None else None,
        "at": round(now, 3),
    }
    batch.claim(keys.alert_recorded(alert.id), RECORD_TTL_S)
    batch.call("HSET", keys.ALERTS_OWED, alert.id, json.dumps(doc, separators=(",", ":")))
    batch.call("SET", keys.alert_lease(alert.id), consumer, "PX", LEASE_MS)
    batch.call("HINCRBY", keys.STATS, "alerts_fired", 1)


class Admission(Protocol):
    """Where a fanned-out (alert, chat) goes: the noise gate (bot.chat.gate.Gate)."""

    async def admit(self, alert: Alert, chat: str, fence: str | None = None) -> bool: ...


class History(Protocol):
    async def record(self, chat: str, alert: Alert, status: str, detail: str = "") -> None: ...


class FanOut:
    def __init__(
        self,
        redis: Any,
        store: Store,
        gate: Admission,
        history: History,
        clock: Clock,
        consumer: str,
    ) -> None:
        self.redis = redis
        self.store = store
        self.gate = gate
        self.history = history
        self.clock = clock
        self.consumer = consumer
        self._expanding: set[str] = set()
        # Raised by this process and about to be expanded by their raiser: not recovery's.
        self._reserved: set[str] = set()

    def reserve(self, alert_ids: Iterable[str]) -> None:
        self._reserved.update(alert_ids)

    def release(self, alert_ids: Iterable[str]) -> None:
        self._reserved.difference_update(alert_ids)

    async def owed(self) -> int:
        """Alerts recorded but not yet handed to every chat."""
        return int(await self.redis.hlen(keys.ALERTS_OWED))

    async def expand(self, alert_id: str) -> list[str]:
        """Fan one recorded alert out (or finish a fan-out that stopped). Returns the chats
        this run handed to the gate; [] when the record is gone (done) or another
        consumer holds it."""
        if alert_id in self._expanding:
            return []
        self._expanding.add(alert_id)
        try:
            return await self._expand(alert_id)
        finally:
            self._expanding.discard(alert_id)

    async def _expand(self, alert_id: str) -> list[str]:
        raw = await self.redis.hget(keys.ALERTS_OWED, alert_id)
        if raw is None:
            return []
        if not await self._renew(alert_id, ""):
            return []
        doc = json.loads(raw)
        alert = alert_from_json(doc["alert"])
        cursor = await self.redis.hget(keys.ALERTS_CURSOR, alert_id)
        targets = await self._targets(alert, doc.get("audience"))
        todo = [chat for chat in targets if cursor is None or chat > cursor]
        admitted: list[str] = []
        # A block of chats at a time, side by side (each chat's own steps stay in order);
        # the checkpoint after a block names its last chat, so every chat up to the
        # cursor is done.
        for start in range(0, len(todo), CHECKPOINT):
            block = todo[start : start + CHECKPOINT]
            handed = await asyncio.gather(*(self._one(alert, chat) for chat in block))
            admitted += [chat for chat, ok in zip(block, handed, strict=True) if ok]
            if start + CHECKPOINT < len(todo):
                if not await self._renew(alert_id, block[-1]):
                    log.warning("alert %s: fan-out taken over by another replica", alert_id)
                    return admitted
                crashpoint.reached("fanout-checkpoint")
        await self.redis.eval(
            _DONE,
            3,
            keys.alert_lease(alert_id),
            keys.ALERTS_OWED,
            keys.ALERTS_CURSOR,
            self.consumer,
            alert_id,
        )
        crashpoint.reached("fanned-out")
        return admitted

    async def _renew(self, alert_id: str, cursor: str) -> bool:
        return bool(
            await self.redis.eval(
                _RENEW,
                2,
                keys.alert_lease(alert_id),
                keys.ALERTS_CURSOR,
                self.consumer,
                LEASE_MS,
                cursor,
                alert_id,
            )
        )

    async def _targets(self, alert: Alert, audience: list[str] | None) -> list[str]:
        if audience is not None:
            return sorted(audience)
        if alert.owner and alert.owner != HOUSE:
            return [alert.owner]
        return sorted(await self.store.subscribers(alert.family))

    async def _one(self, alert: Alert, chat: str) -> bool:
        """Hand (alert, chat) to the gate unless the chat is gone or muted."""
        now = self.clock.now().timestamp()
        if chat == alert.owner and await self.store.is_dormant(chat):
            return False  # it blocked or removed the bot; /start brings it back
        until = await self.store.muted_until(chat)
        if alert.rule_id and not (until and until > now):
            until = await self.store.rule_muted_until(chat, alert.rule_id)
        if until and until > now:
            await self.store.count("muted")
            await self.history.record(chat, alert, "muted")
            return False
        return await self.gate.admit(alert, chat, None)

    async def recover(self) -> int:
        """Finish the fan-outs nobody holds: a dead consumer's once its lease lapsed, this
        consumer's own from a previous life (same name) at once. Returns records finished."""
        finished = 0
        for alert_id in await self.redis.hkeys(keys.ALERTS_OWED):
            if alert_id in self._expanding or alert_id in self._reserved:
                continue
            took = await self.redis.eval(
                _TAKE,
                2,
                keys.alert_lease(alert_id),
                keys.ALERTS_OWED,
                self.consumer,
                alert_id,
                LEASE_MS,
            )
            if took:
                log.info("alert %s: resuming its fan-out", alert_id)
                await self.expand(alert_id)
                finished += 1
        return finished

    async def keep_recovering(self, interval_s: float = RECOVER_S) -> None:
        """Run on every replica: finish abandoned fan-outs within seconds."""
        failures = 0
        while True:
            try:
                await self.recover()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis unreachable: try again, backing off
                failures += 1
                log.warning("fan-out recovery: %s", type(exc).__name__)
            await asyncio.sleep(min(5.0, interval_s * 2 ** min(failures, 3)))
