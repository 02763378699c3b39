"""Keeping every replica's engine in step with the rules in Redis.

Commands run on whichever replica Telegram or Slack reaches, but only the leader's engine
evaluates quotes. So every rule change a command makes (add, remove, pause, resume, a
chat that moved) is appended to the stream ``divbot:rules:changes`` with the replica that
made it, and every replica follows the stream and re-reads those rules into its engine.
The stream is capped; a replica that fell behind the cap (a long Redis outage) reloads
its whole engine instead.

Armed states, last quotes, cooldown clocks and closes change only on the leader, which
bumps ``divbot:engine:version`` each time it writes them. A replica that becomes leader
compares that counter with the one it last saw, and reloads its engine when another
leader wrote in between (bot.rules.service.AlertService.take_over).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.state import keys

if TYPE_CHECKING:
    from bot.rules.service import AlertService

log = logging.getLogger(__name__)
CHANGES_CAP = 10_000  # stream entries kept (approximately)
BACKOFF_S = (0.1, 5.0)
START = "0-0"


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RuleChanges:
    """The change stream: written by commands, read by every replica."""

    def __init__(self, redis: Any, replica: str) -> None:
        self.redis = redis
        self.replica = replica

    async def note(self, rule_ids: list[str]) -> None:
        if rule_ids:
            await self.redis.xadd(
                keys.RULE_CHANGES,
                {"rules": ",".join(rule_ids), "by": self.replica},
                maxlen=CHANGES_CAP,
                approximate=True,
            )

    async def head(self) -> str:
        """The id of the latest change (START when there is none)."""
        last = await self.redis.xrevrange(keys.RULE_CHANGES, count=1)
        return str(last[0][0]) if last else START

    async def missed_since(self, cursor: str) -> bool:
        """True when changes after `cursor` were trimmed away before anyone read them
        (Redis 7 keeps the largest id it ever trimmed)."""
        if not await self.redis.exists(keys.RULE_CHANGES):
            return False
        info = await self.redis.xinfo_stream(keys.RULE_CHANGES)
        trimmed = str(info.get("max-deleted-entry-id") or START)
        return _id(trimmed) > _id(cursor)

    async def read(self, after: str, block_ms: int) -> list[tuple[str, list[str], str]]:
        """Changes after `after`: (entry id, rule ids, replica that made them)."""
        batches = await self.redis.xread({keys.RULE_CHANGES: after}, count=500, block=block_ms)
        out = []
        for _stream, entries in batches or []:
            for entry_id, fields in entries:
                rules = [r for r in fields.get("rules", "").split(",") if r]
                out.append((str(entry_id), rules, fields.get("by", "")))
        return out


async def follow(service: AlertService, changes: RuleChanges, block_ms: int = 1000) -> None:
    """Apply other replicas' rule changes to this replica's engine, until cancelled.
    `block_ms` stays below redis-py's socket timeout (5 s)."""
    failures = 0
    verify = True  # at start and after an error: was anything trimmed before we read it?
    while True:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # redis-py can swallow a cancellation inside a blocking read: honour it here.
            raise asyncio.CancelledError
        try:
            if verify and await changes.missed_since(service.changes_seen):
                log.warning("rule changes were trimmed before this replica read them: reloading")
                await service.reload()
            verify = False
            for entry_id, rule_ids, by in await changes.read(service.changes_seen, block_ms):
                if by != changes.replica:  # our own changes are in our engine already
                    for rule_id in rule_ids:
                        await service.apply_change(rule_id)
                service.changes_seen = entry_id
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failures += 1
            verify = True
            pause = min(BACKOFF_S[1], BACKOFF_S[0] * 2 ** (failures - 1))
            log.warning(
                "following rule changes failed (%s); again in %.1fs", type(exc).__name__, pause
            )
            await asyncio.sleep(pause)
