"""Single market days declared open or closed against the calendar, kept in Redis.

Operators declare them (`/closure`, `divbot calendars`); the provider does when a market
that should trade shows no trade, or one that should not does (``jobs.trading_day``).
Each is a ``DayOverride`` applied to the replica's ``Market`` objects; every replica
reloads them from Redis at start-up and each minute (``jobs.calendars``), so they survive
restarts and reach the leader whichever replica took the command.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from redis.asyncio import Redis

from bot.market.sessions import DayOverride, Market
from bot.state import keys


class MarketDays:
    def __init__(self, redis: Redis, markets: dict[str, Market]) -> None:
        # decode_responses=True: replies are str, which redis-py's annotations can't say.
        self.redis: Any = redis
        self.markets = markets

    async def load(self) -> dict[str, dict[date, DayOverride]]:
        """Read every override from Redis and apply it to the markets."""
        raw: dict[str, str] = await self.redis.hgetall(keys.MARKET_DAYS)
        by_code: dict[str, dict[date, DayOverride]] = {code: {} for code in self.markets}
        for field, value in raw.items():
            code, _, iso = field.partition(":")
            if code not in by_code:
                continue
            try:
                day = date.fromisoformat(iso)
                by_code[code][day] = DayOverride.from_json(day, json.loads(value))
            except (ValueError, KeyError, TypeError):
                continue  # written by a newer or broken replica: the calendar stands
        for code, overrides in by_code.items():
            self.markets[code].replace_overrides(overrides)
        return by_code

    async def declare(self, code: str, override: DayOverride) -> None:
        await self.redis.hset(
            keys.MARKET_DAYS,
            keys.market_day(code, override.day.isoformat()),
            json.dumps(override.to_json()),
        )
        self.markets[code].set_override(override)

    async def clear(self, code: str, day: date) -> bool:
        removed = await self.redis.hdel(keys.MARKET_DAYS, keys.market_day(code, day.isoformat()))
        self.markets[code].clear_override(day)
        return bool(removed)
