"""A chat's macro filters: hear a print only when it surprises by N units, or a streak
starts or ends (``/macro alert PPI surprise 0.3``, ``/macro alert PPI streak``).

Stored per chat in Redis (``divbot:chat:{chat}:macrorules``: indicator -> JSON). A chat
with no filter for an indicator hears every print of it; with one, a print reaches it
when any condition set holds. Filters gate prints only: reminders and late notices still
come, so a filtered chat is never surprised by a release it did not know was due.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from bot.fmt import excerpt
from bot.macro.stats import StreakChange
from bot.state import keys

MAX_SURPRISE = 50.0


@dataclass(frozen=True, slots=True)
class MacroFilter:
    indicator: str
    surprise: float | None = None  # at least this far from consensus, in the print's units
    streak: bool = False  # when a streak starts or ends

    def matches(self, surprise: float | None, change: StreakChange | None) -> bool:
        if (
            self.surprise is not None
            and surprise is not None
            and (abs(surprise) >= self.surprise - 1e-9)
        ):
            return True
        return bool(self.streak and change is not None and (change.started or change.ended))

    def describe(self) -> str:
        parts = []
        if self.surprise is not None:
            parts.append(f"surprise of {self.surprise:g} or more")
        if self.streak:
            parts.append("a streak starts or ends")
        return f"{self.indicator}: only when " + " or ".join(parts)


def check_surprise(text: str) -> float:
    """A surprise threshold from user text; ValueError with a readable reason."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{excerpt(text)} is not a number") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SURPRISE:
        raise ValueError(f"the surprise threshold must be above 0 and at most {MAX_SURPRISE:g}")
    return value


async def get_filters(redis: Any, chat: str) -> dict[str, MacroFilter]:
    raw: dict[str, str] = await redis.hgetall(keys.macro_rules(chat))
    out = {}
    for indicator, text in raw.items():
        doc = json.loads(text)
        out[indicator] = MacroFilter(indicator, doc.get("surprise"), bool(doc.get("streak")))
    return out


async def add_condition(
    redis: Any, chat: str, indicator: str, surprise: float | None = None, streak: bool = False
) -> MacroFilter:
    """Add a condition to the chat's filter for `indicator` (values already validated)."""
    current = (await get_filters(redis, chat)).get(indicator, MacroFilter(indicator))
    updated = MacroFilter(
        indicator,
        surprise if surprise is not None else current.surprise,
        streak or current.streak,
    )
    doc = {"surprise": updated.surprise, "streak": updated.streak}
    await redis.hset(keys.macro_rules(chat), indicator, json.dumps(doc))
    return updated


async def clear(redis: Any, chat: str, indicator: str) -> bool:
    return bool(await redis.hdel(keys.macro_rules(chat), indicator))
