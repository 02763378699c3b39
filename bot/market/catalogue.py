"""The shared catalogue of instruments chats added, and each chat's watchlist, in Redis.

Owns which instruments exist beyond seeds/watchlist.toml and who watches what:

- `divbot:catalogue` (hash): instrument key -> the instrument as JSON, written only after
  the instrument was found and validated (bot.market.finder); read back through the same
  checks (key, secid, calendar), so a bad entry is skipped and logged, never used.
- `divbot:chat:{chat}:watching` (set): the instruments a chat watches (seed or added).
- `divbot:catalogue:watchers` (hash): how many chats watch each added instrument; when
  the last one stops, the instrument leaves the catalogue (and the quote polls).
- `divbot:catalogue:version`: bumped on every catalogue change; every replica's
  `keep_synced` loop compares it once a second and loads the catalogue into its own
  `Watchlist`, so a command on any replica and the leader's quotes watcher and engine
  know a new instrument within a second, with no restart.

Caps (WATCH_MAX_PER_CHAT, WATCH_MAX_TOTAL) are checked in the same Lua script that
writes, so two chats adding at once cannot overshoot them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from redis.asyncio import Redis

from bot.market.baskets import Basket
from bot.market.watchlist import Watchlist
from bot.models import INSTRUMENT_KEY, Instrument
from bot.sources.search import CALENDAR, SECID
from bot.state import keys

log = logging.getLogger(__name__)
SYNC_EVERY_S = 1.0
CALENDARS = frozenset(CALENDAR.values())

# KEYS: catalogue, watchers, version, chat set. ARGV: key, json ("" = a seed instrument),
# per-chat cap, total cap. Returns "ok", "already", "chat-full" or "full".
_ADD = """
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then return 'already' end
if redis.call('SCARD', KEYS[4]) >= tonumber(ARGV[3]) then return 'chat-full' end
if ARGV[2] ~= '' then
  if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
    if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 'full' end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    redis.call('INCR', KEYS[3])
  end
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
end
redis.call('SADD', KEYS[4], ARGV[1])
return 'ok'
"""
# KEYS as above. ARGV: key. Returns "gone" (left the catalogue), "ok" or "not-watched".
_REMOVE = """
if redis.call('SREM', KEYS[4], ARGV[1]) == 0 then return 'not-watched' end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'ok' end
if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('INCR', KEYS[3])
  return 'gone'
end
return 'ok'
"""

Added = Literal["ok", "already", "chat-full", "full"]
Removed = Literal["ok", "gone", "not-watched"]


def to_json(inst: Instrument) -> str:
    low, high = inst.band
    return json.dumps(
        {
            "key": inst.key,
            "name": inst.name,
            "calendar": inst.calendar,
            "eastmoney": inst.eastmoney,
            "yahoo": inst.yahoo,
            "band": [low, high if math.isfinite(high) else None],
            "aliases": list(inst.aliases),
        },
        ensure_ascii=False,
    )


def from_json(text: str) -> Instrument:
    """An instrument from its catalogue entry; ValueError when any field is not valid."""
    raw: Any = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    key, name, calendar = raw.get("key"), raw.get("name"), raw.get("calendar")
    secid, yahoo = raw.get("eastmoney"), raw.get("yahoo")
    if not isinstance(key, str) or not INSTRUMENT_KEY.match(key):
        raise ValueError("bad key")
    if not isinstance(name, str) or not 0 < len(name) <= 40:
        raise ValueError("bad name")
    if calendar not in CALENDARS:
        raise ValueError("bad calendar")
    if secid is not None and not (isinstance(secid, str) and SECID.match(secid)):
        raise ValueError("bad secid")
    if yahoo is not None and not (isinstance(yahoo, str) and 0 < len(yahoo) <= 16):
        raise ValueError("bad yahoo symbol")
    if secid is None and yahoo is None:
        raise ValueError("no provider id")
    low, high = raw.get("band") or [0.0, None]
    band = (float(low), math.inf if high is None else float(high))
    if not 0 <= band[0] < band[1]:
        raise ValueError("bad band")
    aliases = tuple(str(a)[:40] for a in raw.get("aliases") or [] if str(a))
    return Instrument(key, name, str(calendar), "stock", secid, yahoo, band, aliases)


@dataclass
class Catalogue:
    redis: Redis
    version: str | None = None  # the catalogue version this replica's watchlist has
    # the baskets this replica knows (their instruments are in the watchlist too)
    baskets: dict[str, Basket] = field(default_factory=dict)

    async def add_basket(self, basket: Basket) -> bool:
        """Store a basket; False when one with that key exists."""
        if not await self.redis.hsetnx(keys.BASKETS, basket.key, basket.to_json()):
            return False
        await self.redis.incr(keys.CATALOGUE_VERSION)
        return True

    async def remove_basket(self, key: str) -> None:
        await self.redis.hdel(keys.BASKETS, key)
        await self.redis.incr(keys.CATALOGUE_VERSION)

    def _keys(self, chat: str) -> list[str]:
        return [
            keys.CATALOGUE,
            keys.CATALOGUE_WATCHERS,
            keys.CATALOGUE_VERSION,
            keys.chat_watching(chat),
        ]

    async def add(
        self, chat: str, inst: Instrument, seeded: bool, per_chat: int, total: int
    ) -> Added:
        """`chat` watches `inst` (added to the catalogue unless it is a seed instrument)."""
        entry = "" if seeded else to_json(inst)
        args: list[str | int] = [inst.key, entry, per_chat, total]
        result = await self.redis.eval(_ADD, 4, *self._keys(chat), *args)
        return str(result)  # type: ignore[return-value]

    async def remove(self, chat: str, key: str) -> Removed:
        result = await self.redis.eval(_REMOVE, 4, *self._keys(chat), key)
        return str(result)  # type: ignore[return-value]

    async def watching(self, chat: str) -> list[str]:
        members: set[str] = await self.redis.smembers(keys.chat_watching(chat))  # type: ignore[assignment]
        return sorted(members)

    async def size(self) -> int:
        return int(await self.redis.hlen(keys.CATALOGUE))

    async def sync(self, watchlist: Watchlist) -> bool:
        """Bring `watchlist` in step with the catalogue if it changed; True if it did."""
        version: str | None = await self.redis.get(keys.CATALOGUE_VERSION)  # type: ignore[assignment]
        if version == self.version:
            return False
        entries: dict[str, str] = await self.redis.hgetall(keys.CATALOGUE)  # type: ignore[assignment]
        wanted: dict[str, Instrument] = {}
        for key, text in entries.items():
            try:
                inst = from_json(text)
            except (ValueError, TypeError) as exc:
                log.warning("catalogue entry %r skipped: %s", key[:16], exc)
                continue
            if inst.key == key and inst.key not in watchlist.seeded:
                wanted[key] = inst
        baskets = await self._baskets(set(wanted) | set(watchlist.seeded))
        keep = set(wanted) | set(baskets)
        for inst in list(watchlist):
            if inst.key not in watchlist.seeded and inst.key not in keep:
                watchlist.remove(inst.key)
        for inst in [*wanted.values(), *(b.instrument() for b in baskets.values())]:
            if inst.key not in watchlist:
                watchlist.add(inst)
        self.baskets = baskets
        self.version = version
        return True

    async def _baskets(self, known: set[str]) -> dict[str, Basket]:
        """Valid baskets whose members all exist (a member no chat watches any more
        leaves its basket dormant until someone watches it again)."""
        entries: dict[str, str] = await self.redis.hgetall(keys.BASKETS)  # type: ignore[assignment]
        out: dict[str, Basket] = {}
        for key, text in entries.items():
            try:
                basket = Basket.from_json(text)
            except (ValueError, TypeError) as exc:
                log.warning("basket entry %r skipped: %s", key[:16], exc)
                continue
            if basket.key == key and key not in known and set(basket.members) <= known:
                out[key] = basket
        return out

    async def keep_synced(self, watchlist: Watchlist) -> None:
        """Every replica, until cancelled: another replica's /watch reaches this one."""
        while True:
            try:
                await self.sync(watchlist)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("catalogue sync failed (%s); again in 1s", type(exc).__name__)
            await asyncio.sleep(SYNC_EVERY_S)
