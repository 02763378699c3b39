"""Each chat's time zone: what /timezone sets and every time shown in that chat uses.

Stored in Redis under ``divbot:chat:{chat}:tz`` (bot.state.keys.chat_tz); a chat that never set
one sees Asia/Shanghai (Beijing time, the market most of the story happens in).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.fmt import excerpt
from bot.state import keys

DEFAULT_TZ = "Asia/Shanghai"


def valid_timezone(name: str) -> str | None:
    """The canonical IANA name for `name` (case-insensitive), or None when it is not one."""
    if not name or len(name) > 64 or not all(c.isalnum() or c in "/_+-" for c in name):
        return None
    wanted = name.lower()
    match = next((z for z in available_timezones() if z.lower() == wanted), None)
    if match is None:
        return None
    try:
        ZoneInfo(match)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return match


async def chat_timezone(redis: Any, chat: str) -> str:
    """The chat's IANA time zone, or the default when it has none (or a stale one)."""
    stored = await redis.get(keys.chat_tz(chat))
    return stored if stored and valid_timezone(stored) == stored else DEFAULT_TZ


async def set_chat_timezone(redis: Any, chat: str, name: str) -> str:
    """Store a validated zone; ValueError when `name` is not an IANA zone."""
    zone = valid_timezone(name)
    if zone is None:
        raise ValueError(f"{excerpt(name)} is not a time zone")
    await redis.set(keys.chat_tz(chat), zone)
    return zone
