"""Durable state on Redis: rules, their armed state, subscriptions, mutes, quotes, closes.

The store takes its client as a parameter (a real ``redis.asyncio.Redis``, or fakeredis's
in-process twin when no REDIS_URL is set); the key schema is in bot.state.keys. Every method is
a small number of round trips: bulk reads use pipelines or HGETALL, never a key scan.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from redis.asyncio import Redis

from bot.models import DailyCloses, Family, Quote, Rule, SourceHealth
from bot.state import keys
from bot.state.atomic import Batch
from bot.state.codec import quote_from_json, quote_to_json

RedisClient = Redis
RULE_BATCH = 1000  # rules per HSCAN page when the engine is rebuilt (rule_batches)
CLOSES_CHUNK = 500  # instruments' closes per pipelined round trip at start-up


class Store:
    """Typed access to the bot's Redis state."""

    def __init__(self, redis: Redis) -> None:
        # Clients are opened with decode_responses=True, so replies are str; redis-py's
        # annotations can't express that, hence Any.
        self.redis: Any = redis

    # -- rules -----------------------------------------------------------------
    async def new_rule_id(self) -> str:
        return f"r{await self.redis.incr(keys.RULE_SEQ)}"

    async def save_rule(self, rule: Rule) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.RULES, rule.id, json.dumps(rule.to_json()))
            pipe.sadd(keys.owner_rules(rule.owner), rule.id)
            await pipe.execute()

    async def delete_rule(self, rule: Rule) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.RULES, rule.id)
            pipe.srem(keys.owner_rules(rule.owner), rule.id)
            pipe.hdel(keys.RULE_STATE, keys.rule_side(rule.id, 1), keys.rule_side(rule.id, -1))
            pipe.hdel(keys.RULE_FIRED, rule.id)
            await pipe.execute()

    async def get_rule(self, rule_id: str) -> Rule | None:
        raw = await self.redis.hget(keys.RULES, rule_id)
        return Rule.from_json(json.loads(raw)) if raw else None

    async def all_rules(self) -> list[Rule]:
        raw: dict[str, str] = await self.redis.hgetall(keys.RULES)
        return [Rule.from_json(json.loads(v)) for v in raw.values()]

    async def rule_batches(
        self, batch: int = RULE_BATCH
    ) -> AsyncIterator[tuple[list[Rule], dict[str, dict[int, bool]]]]:
        """Every rule with its saved armed states, about `batch` rules at a time (HSCAN):
        a start-up holds one batch of raw JSON, not 100,000 rules' worth, and no single
        reply is big enough to run into the client's socket timeout. A rule changed
        during the scan may come twice (HSCAN's guarantee is at least once)."""
        cursor = 0
        while True:
            cursor, raw = await self.redis.hscan(keys.RULES, cursor, count=batch)
            rules = [Rule.from_json(json.loads(v)) for v in raw.values()]
            del raw
            states: dict[str, dict[int, bool]] = {}
            if rules:
                fields = [keys.rule_side(r.id, side) for r in rules for side in (1, -1)]
                values = await self.redis.hmget(keys.RULE_STATE, fields)
                for field, value in zip(fields, values, strict=True):
                    if value is not None:
                        rule_id, side = field.rsplit(":", 1)
                        states.setdefault(rule_id, {})[int(side)] = value == "1"
                yield rules, states
            if int(cursor) == 0:
                return

    async def rules_of(self, owner: str) -> list[Rule]:
        ids = sorted(await self.redis.smembers(keys.owner_rules(owner)), key=_rule_order)
        if not ids:
            return []
        raws = await self.redis.hmget(keys.RULES, ids)
        return [Rule.from_json(json.loads(r)) for r in raws if r]

    async def count_rules(self, chat: str) -> int:
        return int(await self.redis.scard(keys.chat_rules(chat)))

    async def save_states(self, changes: list[tuple[str, int, bool]]) -> None:
        if changes:
            mapping = {keys.rule_side(r, s): "1" if armed else "0" for r, s, armed in changes}
            await self.redis.hset(keys.RULE_STATE, mapping=mapping)

    async def load_states(self) -> dict[str, dict[int, bool]]:
        raw: dict[str, str] = await self.redis.hgetall(keys.RULE_STATE)
        out: dict[str, dict[int, bool]] = {}
        for field, value in raw.items():
            rule_id, side = field.rsplit(":", 1)
            out.setdefault(rule_id, {})[int(side)] = value == "1"
        return out

    @staticmethod
    def stage_quote_step(
        batch: Batch,
        states: list[tuple[str, int, bool]],
        quote: Quote,
        fired: list[tuple[str, float]],
        close: tuple[str, date, float] | None,
    ) -> None:
        """Add one evaluated quote's writes to `batch` (applied with its alerts' records):
        armed states, the quote, cooldown clocks, the session's close."""
        for rule_id, side, armed in states:
            batch.call("HSET", keys.RULE_STATE, keys.rule_side(rule_id, side), int(armed))
        batch.call("SET", keys.quote(quote.instrument), quote_to_json(quote))
        for rule_id, epoch in fired:
            batch.call("HSET", keys.RULE_FIRED, rule_id, str(epoch))
        if close is not None:
            instrument, session, price = close
            batch.call("HSET", keys.daily(instrument), session.isoformat(), repr(price))

    async def set_fired(self, rule_id: str, epoch: float) -> None:
        await self.redis.hset(keys.RULE_FIRED, rule_id, str(epoch))

    async def load_fired(self) -> dict[str, float]:
        raw: dict[str, str] = await self.redis.hgetall(keys.RULE_FIRED)
        return {k: float(v) for k, v in raw.items()}

    # -- subscriptions and mutes ----------------------------------------------
    async def subscribe(self, chat: str, family: Family) -> bool:
        return bool(await self.redis.sadd(keys.subscribers(family.value), keys.valid_chat(chat)))

    async def unsubscribe(self, chat: str, family: Family) -> bool:
        return bool(await self.redis.srem(keys.subscribers(family.value), chat))

    async def subscribers(self, family: Family) -> set[str]:
        return set(await self.redis.smembers(keys.subscribers(family.value)))

    async def subscriptions(self, chat: str) -> list[Family]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for fam in Family:
                pipe.sismember(keys.subscribers(fam.value), chat)
            flags = await pipe.execute()
        return [fam for fam, on in zip(Family, flags, strict=True) if on]

    async def mute(self, chat: str, until_epoch: float, seconds: int) -> None:
        await self.redis.set(keys.chat_mute(chat), str(until_epoch), ex=max(1, seconds))

    async def unmute(self, chat: str) -> bool:
        return bool(await self.redis.delete(keys.chat_mute(chat)))

    async def muted_until(self, chat: str) -> float | None:
        raw = await self.redis.get(keys.chat_mute(chat))
        return float(raw) if raw else None

    async def mute_rule(self, chat: str, rule_id: str, until_epoch: float, seconds: int) -> None:
        await self.redis.set(keys.rule_mute(chat, rule_id), str(until_epoch), ex=max(1, seconds))

    async def rule_muted_until(self, chat: str, rule_id: str) -> float | None:
        raw = await self.redis.get(keys.rule_mute(chat, rule_id))
        return float(raw) if raw else None

    # -- chats that left or moved -----------------------------------------------
    async def deactivate(self, chat: str) -> list[Family]:
        """The chat blocked or removed the bot: drop it from every family, remembering
        which, until it comes back with /start. A second call keeps the first list."""
        families = await self.subscriptions(chat)
        async with self.redis.pipeline(transaction=True) as pipe:
            for family in families:
                pipe.srem(keys.subscribers(family.value), chat)
            pipe.set(keys.chat_dormant(chat), ",".join(f.value for f in families), nx=True)
            await pipe.execute()
        return families

    async def is_dormant(self, chat: str) -> bool:
        return bool(await self.redis.exists(keys.chat_dormant(chat)))

    async def reactivate(self, chat: str) -> list[Family] | None:
        """Undo `deactivate`: resubscribe the remembered families. None if not dormant."""
        raw = await self.redis.getdel(keys.chat_dormant(chat))
        if raw is None:
            return None
        known = {f.value for f in Family}
        families = [Family(name) for name in raw.split(",") if name in known]
        for family in families:
            await self.subscribe(chat, family)
        return families

    async def move_chat(self, old: str, new: str) -> list[Rule]:
        """A Telegram group became a supergroup: its rules, subscriptions, mute and
        dormancy follow it to the new chat key. Returns the moved rules."""
        keys.valid_chat(new)
        rules = [replace(r, owner=new) for r in await self.rules_of(old)]
        families = await self.subscriptions(old)
        mute_until = await self.redis.get(keys.chat_mute(old))
        mute_ttl = int(await self.redis.ttl(keys.chat_mute(old)))
        dormant = await self.redis.get(keys.chat_dormant(old))
        async with self.redis.pipeline(transaction=True) as pipe:
            for rule in rules:
                pipe.hset(keys.RULES, rule.id, json.dumps(rule.to_json()))
            if rules:
                pipe.sadd(keys.chat_rules(new), *(r.id for r in rules))
            pipe.delete(keys.chat_rules(old))
            for family in families:
                pipe.srem(keys.subscribers(family.value), old)
                pipe.sadd(keys.subscribers(family.value), new)
            if mute_until is not None and mute_ttl > 0:
                pipe.set(keys.chat_mute(new), mute_until, ex=mute_ttl)
            pipe.delete(keys.chat_mute(old))
            if dormant is not None:
                pipe.set(keys.chat_dormant(new), dormant)
            pipe.delete(keys.chat_dormant(old))
            await pipe.execute()
        return rules

    # -- market state ----------------------------------------------------------
    async def save_quote(self, quote: Quote) -> None:
        await self.redis.set(keys.quote(quote.instrument), quote_to_json(quote))

    async def load_quotes(self, instruments: list[str]) -> dict[str, Quote]:
        if not instruments:
            return {}
        raws = await self.redis.mget([keys.quote(i) for i in instruments])
        return {i: quote_from_json(r) for i, r in zip(instruments, raws, strict=True) if r}

    async def put_closes(self, instrument: str, pairs: list[tuple[date, float]]) -> None:
        if pairs:
            mapping = {d.isoformat(): repr(c) for d, c in pairs}
            await self.redis.hset(keys.daily(instrument), mapping=mapping)

    async def load_closes(self, instrument: str) -> DailyCloses:
        raw: dict[str, str] = await self.redis.hgetall(keys.daily(instrument))
        return _closes(raw)

    async def load_closes_of(
        self, instruments: list[str], chunk: int = CLOSES_CHUNK
    ) -> dict[str, DailyCloses]:
        """Every instrument's closes, `chunk` instruments a round trip (a start-up with
        5,000 instruments watched makes ten, not 5,000)."""
        out: dict[str, DailyCloses] = {}
        for start in range(0, len(instruments), chunk):
            part = instruments[start : start + chunk]
            async with self.redis.pipeline(transaction=False) as pipe:
                for inst in part:
                    pipe.hgetall(keys.daily(inst))
                raws = await pipe.execute()
            out.update((inst, _closes(raw)) for inst, raw in zip(part, raws, strict=True))
        return out

    # -- health and counters ---------------------------------------------------
    async def save_health(self, *healths: SourceHealth) -> None:
        """Mirror sources' health, so any replica's /status shows the leader's."""
        if healths:
            mapping = {h.name: json.dumps(_health_doc(h)) for h in healths}
            await self.redis.hset(keys.HEALTH, mapping=mapping)

    async def load_health(self) -> dict[str, dict[str, Any]]:
        raw: dict[str, str] = await self.redis.hgetall(keys.HEALTH)
        return {k: json.loads(v) for k, v in raw.items()}

    async def stored_health(self) -> list[SourceHealth]:
        out = []
        for name, doc in (await self.load_health()).items():
            last_ok, checked = doc.get("last_ok"), doc.get("last_checked")
            out.append(
                SourceHealth(
                    name,
                    bool(doc.get("ok")),
                    str(doc.get("reason") or ""),
                    datetime.fromisoformat(last_ok) if last_ok else None,
                    datetime.fromisoformat(checked) if checked else None,
                    int(doc.get("failures") or 0),
                )
            )
        return out

    async def count(self, name: str, by: int = 1) -> None:
        await self.redis.hincrby(keys.STATS, name, by)

    async def stats(self) -> dict[str, int]:
        raw: dict[str, str] = await self.redis.hgetall(keys.STATS)
        return {k: int(v) for k, v in raw.items()}


def _closes(raw: dict[str, str]) -> DailyCloses:
    return DailyCloses.from_pairs([(date.fromisoformat(k), float(v)) for k, v in raw.items()])


def _health_doc(health: SourceHealth) -> dict[str, Any]:
    return {
        "ok": health.ok,
        "reason": health.reason,
        "last_ok": health.last_ok.isoformat() if health.last_ok else None,
        "last_checked": health.last_checked.isoformat() if health.last_checked else None,
        "failures": health.failures,
    }


def _rule_order(rule_id: str) -> int:
    return int(rule_id[1:])
