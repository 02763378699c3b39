"""A chat's noise preferences in Redis: level per family, grouping window, quiet hours,
forum topic per family; and a small cache of chat time zones for delivery.

Levels: ``on`` (the default), ``silent`` (delivered without a notification sound) and
``off`` (not delivered; the alert is still written to the chat's history).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from bot.chat.quiet import QuietHours, QuietSpecError
from bot.chat.timezone import chat_timezone
from bot.clock import Clock
from bot.models import SUBSCRIBABLE, Family
from bot.state import keys

log = logging.getLogger(__name__)
Level = Literal["on", "silent", "off"]
LEVELS: tuple[Level, ...] = ("on", "silent", "off")
GROUP_FIELD = "group"
MAX_GROUP_S = 300


class Prefs:
    """Typed access to one bot's per-chat noise settings."""

    def __init__(self, redis: Any, default_group_s: int) -> None:
        self.redis = redis
        self.default_group_s = default_group_s

    async def levels(self, chat: str) -> dict[Family, Level]:
        raw: dict[str, str] = await self.redis.hgetall(keys.chat_notify(chat))
        out: dict[Family, Level] = {f: "on" for f in SUBSCRIBABLE}
        for fam in SUBSCRIBABLE:
            value = raw.get(fam.value)
            if value in LEVELS:
                out[fam] = value
        return out

    async def level(self, chat: str, family: Family) -> Level:
        value = await self.redis.hget(keys.chat_notify(chat), family.value)
        return value if value in LEVELS else "on"

    async def set_level(self, chat: str, family: Family, level: Level) -> None:
        await self.redis.hset(keys.chat_notify(chat), family.value, level)

    async def group_window(self, chat: str) -> int:
        raw = await self.redis.hget(keys.chat_notify(chat), GROUP_FIELD)
        if raw is not None and raw.isascii() and raw.isdigit() and int(raw) <= MAX_GROUP_S:
            return int(raw)
        return self.default_group_s

    async def set_group_window(self, chat: str, seconds: int) -> None:
        await self.redis.hset(keys.chat_notify(chat), GROUP_FIELD, str(seconds))

    async def quiet(self, chat: str) -> QuietHours | None:
        raw = await self.redis.get(keys.chat_quiet(chat))
        if not raw:
            return None
        try:
            return QuietHours.from_json(json.loads(raw))
        except (QuietSpecError, ValueError, KeyError, TypeError):
            log.warning("chat %s: stored quiet hours unreadable; treated as none", chat)
            return None

    async def set_quiet(self, chat: str, quiet: QuietHours | None) -> None:
        if quiet is None:
            await self.redis.delete(keys.chat_quiet(chat))
        else:
            await self.redis.set(keys.chat_quiet(chat), json.dumps(quiet.to_json()))

    async def topic(self, chat: str, family: Family) -> str | None:
        raw = await self.redis.hget(keys.chat_topics(chat), family.value)
        return raw if raw and raw.isascii() and raw.isdigit() else None

    async def set_topics(self, chat: str, families: list[Family], thread: str | None) -> None:
        """Route these families to a forum topic (or, with None, back to the main chat)."""
        if not families:
            return
        if thread is None:
            await self.redis.hdel(keys.chat_topics(chat), *(f.value for f in families))
        else:
            await self.redis.hset(
                keys.chat_topics(chat), mapping={f.value: thread for f in families}
            )


class ZoneCache:
    """Chat time zones for delivery, each remembered for a minute of the injected clock."""

    TTL_S = 60.0

    def __init__(self, redis: Any, clock: Clock) -> None:
        self.redis = redis
        self.clock = clock
        self._cache: dict[str, tuple[str, float]] = {}

    async def get(self, chat: str) -> str:
        now = self.clock.now().timestamp()
        hit = self._cache.get(chat)
        if hit is not None and hit[1] > now:
            return hit[0]
        tz = await chat_timezone(self.redis, chat)
        if len(self._cache) > 10_000:  # bounded: a busy bot forgets, it does not grow
            self._cache.clear()
        self._cache[chat] = (tz, now + self.TTL_S)
        return tz

    def forget(self, chat: str) -> None:
        self._cache.pop(chat, None)
