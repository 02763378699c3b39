"""What to watch next, for /divergence and the digest: the latest tightening headline and
the next scheduled release, both as of the snapshot's time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot import fmt
from bot.headlines.store import LATEST_CAP, HeadlineStore
from bot.macro.calendar import ReleaseCalendar

MAX_TITLE = 72


def _short(text: str) -> str:
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"


async def watch_line(
    headlines: HeadlineStore, releases: ReleaseCalendar, tz: str, as_of: datetime
) -> str | None:
    """'15 Jan: <tightening headline> · next: GDP Q4 2025, Mon 19 Jan 10:00 CST', or None."""
    parts = []
    for item in await headlines.latest(limit=LATEST_CAP):
        published = item.headline.published
        if item.direction == "tightening" and published is not None and published <= as_of:
            local = published.astimezone(ZoneInfo(tz))
            parts.append(f"{local:%d %b}: {_short(item.headline.title)}")
            break
    upcoming = [e for e in await releases.entries() if e.at > as_of]
    if upcoming:
        nxt = upcoming[0]
        parts.append(f"next: {nxt.title}, {fmt.when(nxt.at, tz)}")
    return " · ".join(parts) or None
