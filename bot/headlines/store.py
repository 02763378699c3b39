"""Headline state in Redis: stories seen, the latest matches, feed validators, chat prefs.

Keys are built in bot.state.keys (see its table). Seen-story keys carry a TTL longer than the
watcher's maximum story age, so a story that could still be polled is remembered across
restarts, and memory stays bounded. A chat's own keywords are stored folded (width and
case removed), exactly as they are matched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bot.headlines.classifier import SEVERITIES, Classification, Severity, severity_rank
from bot.headlines.event import Signature, same_event
from bot.headlines.story import Headline
from bot.state import keys
from bot.state.atomic import Batch

LATEST_CAP = 200
MAX_KEYWORDS = 20
EVENT_TTL_S = 2 * 86400  # past the event window and the follow-ups' first-message key


@dataclass(slots=True)
class EventRecord:
    """One event: its signature, what its first report said, and every report of it."""

    id: str
    signature: Signature
    label: str
    severity: Severity
    direction: str
    day: date  # the session follow-ups thread under (bot.chat.routing first messages)
    title: str
    reports: list[tuple[str, datetime]]  # (source name, published), first report first

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "signature": self.signature.to_json(),
                "label": self.label,
                "severity": self.severity,
                "direction": self.direction,
                "day": self.day.isoformat(),
                "title": self.title,
                "reports": [[s, at.isoformat()] for s, at in self.reports],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> EventRecord:
        d = json.loads(raw)
        severity: Severity = d["severity"] if d["severity"] in SEVERITIES else "info"
        return cls(
            id=str(d["id"]),
            signature=Signature.from_json(d["signature"]),
            label=str(d["label"]),
            severity=severity,
            direction=str(d["direction"]),
            day=date.fromisoformat(d["day"]),
            title=str(d["title"]),
            reports=[(str(s), datetime.fromisoformat(at)) for s, at in d["reports"]],
        )


@dataclass(frozen=True, slots=True)
class HeadlinePrefs:
    """What one chat wants from headlines: categories (None = all), a floor, keywords."""

    categories: frozenset[str] | None = None
    min_severity: Severity = "info"
    keywords: tuple[str, ...] = field(default_factory=tuple)

    def keyword_in(self, folded_title: str) -> str | None:
        return next((k for k in self.keywords if k in folded_title), None)

    def wants(self, found: Classification, folded_title: str) -> bool:
        """A chat's own keyword always lets a story through; otherwise a category it
        follows must match at or above its minimum severity."""
        if self.keyword_in(folded_title):
            return True
        floor = severity_rank(self.min_severity)
        return any(
            severity_rank(m.severity) >= floor
            for m in found.matches
            if self.categories is None or m.category in self.categories
        )


@dataclass(frozen=True, slots=True)
class LatestItem:
    """One matched story as /headlines lists it."""

    headline: Headline
    categories: tuple[str, ...]
    labels: tuple[str, ...]
    severity: Severity
    direction: str
    event: str | None = None  # the event it reports (bot.headlines.event)
    follow_up: bool = False  # a later report of that event, folded into its first

    def to_json(self) -> str:
        return json.dumps(
            {
                "headline": self.headline.to_json(),
                "categories": list(self.categories),
                "labels": list(self.labels),
                "severity": self.severity,
                "direction": self.direction,
                "event": self.event,
                "follow_up": self.follow_up,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> LatestItem:
        d = json.loads(raw)
        severity: Severity = d["severity"] if d["severity"] in SEVERITIES else "info"
        return cls(
            headline=Headline.from_json(d["headline"]),
            categories=tuple(d["categories"]),
            labels=tuple(d["labels"]),
            severity=severity,
            direction=str(d["direction"]),
            event=str(d["event"]) if d.get("event") else None,
            follow_up=bool(d.get("follow_up", False)),
        )


class HeadlineStore:
    def __init__(self, redis: Redis, seen_ttl_s: int = 30 * 86400) -> None:
        self.redis: Any = redis  # decode_responses=True: replies are str
        self.seen_ttl_s = seen_ttl_s

    # -- once per story --------------------------------------------------------
    def stage_sighting(self, batch: Batch, story_keys: list[str]) -> None:
        """Claim every key of a story in an atomic batch (bot.state.atomic): the batch
        applies only if none was seen before."""
        for key in story_keys:
            batch.claim(keys.headline_seen(key), self.seen_ttl_s)

    async def seen_before(self, story_keys: list[str]) -> bool:
        """A story seen before under any key. Its keys' TTLs are refreshed and its new
        variants marked, so a later variant (same title, new link) is recognised too."""
        redis_keys = [keys.headline_seen(k) for k in story_keys]
        if not await self.redis.exists(*redis_keys):
            return False
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in redis_keys:
                pipe.set(key, "1", ex=self.seen_ttl_s)
            await pipe.execute()
        return True

    # -- events ----------------------------------------------------------------------
    async def find_event(
        self, signature: Signature, now: datetime, window: timedelta
    ) -> EventRecord | None:
        """The open event (opened within `window`) this signature reports, the oldest
        first, or None."""
        cutoff = (now - window).timestamp()
        await self.redis.zremrangebyscore(keys.HEADLINE_EVENTS, "-inf", f"({cutoff}")
        ids: list[str] = await self.redis.zrange(keys.HEADLINE_EVENTS, 0, -1)
        if not ids:
            return None
        raws: list[str | None] = await self.redis.mget([keys.headline_event(i) for i in ids])
        for raw in raws:
            if raw is None:
                continue
            event = EventRecord.from_json(raw)
            if same_event(event.signature, signature):
                return event
        return None

    @staticmethod
    def stage_event(batch: Batch, event: EventRecord, opened: datetime) -> None:
        """`save_event` as commands of an atomic batch (with the alert that reports it)."""
        batch.call("SET", keys.headline_event(event.id), event.to_json(), "EX", EVENT_TTL_S)
        batch.call("ZADD", keys.HEADLINE_EVENTS, "NX", opened.timestamp(), event.id)

    # -- latest matches --------------------------------------------------------
    @staticmethod
    def stage_latest(batch: Batch, item: LatestItem) -> None:
        """`push_latest` as commands of an atomic batch."""
        batch.call("LPUSH", keys.HEADLINES_LATEST, item.to_json())
        batch.call("LTRIM", keys.HEADLINES_LATEST, 0, LATEST_CAP - 1)

    async def push_latest(self, item: LatestItem) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(keys.HEADLINES_LATEST, item.to_json())
            pipe.ltrim(keys.HEADLINES_LATEST, 0, LATEST_CAP - 1)
            await pipe.execute()

    async def latest(self, category: str | None = None, limit: int = 10) -> list[LatestItem]:
        raws: list[str] = await self.redis.lrange(keys.HEADLINES_LATEST, 0, LATEST_CAP - 1)
        out = []
        for raw in raws:
            item = LatestItem.from_json(raw)
            if category is None or category in item.categories:
                out.append(item)
                if len(out) >= limit:
                    break
        return out

    # -- conditional GET validators -------------------------------------------
    async def validators(self, source: str) -> dict[str, str]:
        raw: dict[str, str] = await self.redis.hgetall(keys.feed_validators(source))
        return raw

    async def save_validators(self, source: str, etag: str | None, modified: str | None) -> None:
        key = keys.feed_validators(source)
        mapping = {k: v for k, v in (("etag", etag), ("last_modified", modified)) if v}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if mapping:
                pipe.hset(key, mapping=mapping)
            await pipe.execute()

    # -- per-chat preferences --------------------------------------------------
    async def prefs(self, chat: str) -> HeadlinePrefs:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(keys.chat_headlines(chat))
            pipe.smembers(keys.chat_keywords(chat))
            raw, words = await pipe.execute()
        cats = raw.get("categories", "*")
        floor: Severity = raw.get("min_severity", "info")
        return HeadlinePrefs(
            categories=None if cats == "*" else frozenset(c for c in cats.split(",") if c),
            min_severity=floor if floor in SEVERITIES else "info",
            keywords=tuple(sorted(words)),
        )

    async def set_filter(
        self, chat: str, categories: frozenset[str] | None, min_severity: Severity
    ) -> None:
        value = "*" if categories is None else ",".join(sorted(categories))
        await self.redis.hset(
            keys.chat_headlines(chat), mapping={"categories": value, "min_severity": min_severity}
        )

    async def clear_filter(self, chat: str) -> None:
        await self.redis.delete(keys.chat_headlines(chat))

    async def add_keywords(self, chat: str, words: list[str]) -> int:
        return int(await self.redis.sadd(keys.chat_keywords(chat), *words)) if words else 0

    async def remove_keywords(self, chat: str, words: list[str]) -> int:
        return int(await self.redis.srem(keys.chat_keywords(chat), *words)) if words else 0

    async def clear_keywords(self, chat: str) -> int:
        return int(await self.redis.delete(keys.chat_keywords(chat)))

    async def keywords(self, chat: str) -> list[str]:
        return sorted(await self.redis.smembers(keys.chat_keywords(chat)))
