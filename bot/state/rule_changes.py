"""The rule change stream ``divbot:rules:changes``: which rules a command (or a moved
chat, or flap protection) changed, and on which replica. Written through this class,
read by every replica's engine (bot.rules.sync.follow). Capped; trimmed ids are known."""

from __future__ import annotations

from typing import Any

from bot.state import keys

CHANGES_CAP = 10_000  # stream entries kept (approximately)
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
