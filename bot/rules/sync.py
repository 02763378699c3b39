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
from typing import Protocol

from bot.state.rule_changes import RuleChanges

log = logging.getLogger(__name__)
BACKOFF_S = (0.1, 5.0)


class Follower(Protocol):
    """What follows the change stream: the live rule book (bot.rules.live.LiveRules)."""

    changes_seen: str

    async def reload(self) -> None: ...

    async def apply_change(self, rule_id: str) -> None: ...


async def follow(service: Follower, changes: RuleChanges, block_ms: int = 1000) -> None:
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
