"""What fired in a chat, and what became of it: the record behind /history.

Each (chat, alert) is one entry, written when the alert reaches the chat's gate and
updated as it moves on: ``queued`` → ``delivered`` or ``failed``; ``grouped`` or
``held`` → ``delivered`` (in a group / in the quiet-hours summary); or, finally, ``muted``,
``off`` or ``paused`` (flap protection). Kept in Redis (a sorted set of ids by the time
they fired, and a hash of entries), capped per chat, so it survives restarts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.models import Alert, Family
from bot.state import keys

STATUSES = ("queued", "delivered", "held", "grouped", "muted", "off", "paused", "failed")
_RECORD = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  redis.call('HDEL', KEYS[2], unpack(old))
end
return 1
"""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    alert_id: str
    at: datetime
    family: Family
    title: str
    status: str
    detail: str = ""
    rule_id: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.alert_id,
                "at": self.at.isoformat(),
                "family": self.family.value,
                "title": self.title,
                "status": self.status,
                "detail": self.detail,
                "rule": self.rule_id,
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> HistoryEntry:
        d = json.loads(raw)
        return cls(
            alert_id=str(d["id"]),
            at=datetime.fromisoformat(d["at"]),
            family=Family(d["family"]),
            title=str(d["title"]),
            status=str(d["status"]),
            detail=str(d.get("detail") or ""),
            rule_id=d.get("rule"),
        )


class AlertHistory:
    def __init__(self, redis: Any, cap: int) -> None:
        self.redis = redis
        self.cap = cap

    async def record(self, chat: str, alert: Alert, status: str, detail: str = "") -> None:
        entry = HistoryEntry(
            alert.id, alert.at, alert.family, alert.message.title, status, detail, alert.rule_id
        )
        await self.redis.eval(
            _RECORD,
            2,
            keys.chat_history(chat),
            keys.chat_history_items(chat),
            alert.at.timestamp(),
            alert.id,
            entry.to_json(),
            self.cap,
        )

    async def update(self, chat: str, alert_id: str, status: str, detail: str = "") -> bool:
        """Change an entry's status; False when it is not (or no longer) in the history."""
        raw = await self.redis.hget(keys.chat_history_items(chat), alert_id)
        if raw is None or await self.redis.zscore(keys.chat_history(chat), alert_id) is None:
            return False
        old = HistoryEntry.from_json(raw)
        new = HistoryEntry(old.alert_id, old.at, old.family, old.title, status, detail, old.rule_id)
        await self.redis.hset(keys.chat_history_items(chat), alert_id, new.to_json())
        return True

    async def latest(self, chat: str, n: int, family: Family | None = None) -> list[HistoryEntry]:
        """The newest `n` entries (of one family, when given), newest first."""
        ids = await self.redis.zrevrange(keys.chat_history(chat), 0, self.cap - 1)
        if not ids:
            return []
        raws = await self.redis.hmget(keys.chat_history_items(chat), ids)
        out = []
        for raw in raws:
            if raw is None:
                continue
            entry = HistoryEntry.from_json(raw)
            if family is None or entry.family is family:
                out.append(entry)
                if len(out) >= n:
                    break
        return out
