"""Bundled headlines as feeds: what `divbot replay` polls for the January 2026 story.

Reads seeds/headlines_january2026.toml (SYNTHETIC headlines built from the reported
events) and serves, per feed id, every item published up to the simulated time, the way
a live feed keeps yesterday's items at the bottom: the watcher's dedup is what keeps each
story to one alert. `wake_at` tells the watcher when the next item appears, so the replay
runs at the stories' own times rather than polling every few minutes for a month.
"""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from bot.headlines.story import Headline
from bot.headlines.text import clean
from bot.sources.headline_feeds import FeedConfig, Fetched


class ReplayFeed:
    """One feed's items, released at their publish times."""

    def __init__(self, cfg: FeedConfig, items: list[Headline], interval: timedelta) -> None:
        self.cfg = cfg
        self.id = cfg.id
        self.name = cfg.name
        self.interval = interval
        self.items = sorted(items, key=lambda h: h.published.timestamp() if h.published else 0.0)
        self._times = [h.published for h in self.items if h.published is not None]

    def wake_at(self, now: datetime) -> datetime | None:
        i = bisect.bisect_right(self._times, now)
        return self._times[i] if i < len(self._times) else None

    async def fetch(self, now: datetime) -> Fetched:
        i = bisect.bisect_right(self._times, now)
        return Fetched(list(reversed(self.items[:i])))  # newest first, as feeds list them


def load_replay_feeds(
    path: Path, feeds: Mapping[str, FeedConfig], interval: timedelta = timedelta(hours=6)
) -> list[ReplayFeed]:
    """One ReplayFeed per feed id used in the file; ids must exist in seeds/feeds.toml."""
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    by_feed: dict[str, list[Headline]] = {}
    for i, item in enumerate(doc.get("headline", [])):
        fid = item.get("feed")
        cfg = feeds.get(fid) if isinstance(fid, str) else None
        published = item.get("published")
        title = clean(str(item.get("title", "")))
        if cfg is None or not isinstance(published, datetime) or published.tzinfo is None:
            raise ValueError(f"{path.name} headline {i}: needs a known feed and an aware time")
        if not title:
            raise ValueError(f"{path.name} headline {i}: empty title")
        link = item.get("link")
        headline = Headline(
            cfg.id,
            cfg.name,
            title,
            str(link) if link else None,
            str(item.get("guid") or link or "") or None,
            published,
            cfg.language,
        )
        by_feed.setdefault(cfg.id, []).append(headline)
    return [ReplayFeed(feeds[fid], items, interval) for fid, items in sorted(by_feed.items())]
