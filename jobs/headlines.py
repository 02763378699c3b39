"""The headlines watcher: polls each feed on its own interval, alerts once per story.

Schedule: every feed has a due time; `next_run` is the earliest. A good poll schedules
the feed one interval later (or at the next item a replay feed knows of); a failed one
backs off exponentially (interval x 2^failures, at least what Retry-After asked, at most
the configured cap) and marks the feed unhealthy with the reason, while the other feeds
go on. Feeds due together are fetched concurrently.

Per story: too old -> ignored; seen before under any key (GUID, canonical link,
normalised title) -> ignored, across feeds and restarts (keys in Redis); otherwise it is
classified and, if it matches a category or some subscribed chat's own keyword, it
becomes one HEADLINES alert for the chats whose preferences want it. The story is marked
seen in the same atomic, fenced write as its alert's record (bot.state.atomic), with the
event it opens or joins and its /headlines listing, so a crash or a change of leader
between them cannot lose the story.

Events, not articles (issue 18.1): a classified story whose signature (bot.headlines.event)
matches an event opened within EVENT_WINDOW is a *follow-up*: it is listed in /headlines
under the event, and goes out as a reply in the first alert's thread (Telegram
reply_parameters, Slack thread_ts: the rules' follow-up mechanism) carrying "also: SCMP
18:10, RTHK 18:25" and the event's own category and severity, at info urgency so it never
breaks through quiet hours. Otherwise it opens a new event and alerts as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import aiohttp

from bot.config import Settings
from bot.headlines.alert import event_alert, headline_alert, headline_followup, headline_summary
from bot.headlines.classifier import Classification, Classifier, load_rules
from bot.headlines.event import EVENT_WINDOW
from bot.headlines.store import EventRecord, HeadlinePrefs, HeadlineStore, LatestItem
from bot.headlines.story import Headline, story_keys
from bot.headlines.text import fold
from bot.models import Alert, Family
from bot.ops.health import HealthBoard
from bot.rules.service import AlertService
from bot.sources.headline_feeds import FeedBook, FeedError, FeedSource, Fetched, load_feeds
from bot.sources.replay_headlines import load_replay_feeds
from bot.state.atomic import Batch


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def headlines(self) -> HeadlineStore: ...

    @property
    def health(self) -> HealthBoard: ...

    @property
    def service(self) -> AlertService: ...

    @property
    def settings(self) -> Settings: ...


log = logging.getLogger(__name__)
SOON = timedelta(seconds=1)
# New stories one feed may alert one by one in one poll (most severe first); the rest of
# that poll's matches arrive as one summary with the count and the top titles.
MAX_STORIES_PER_POLL = 10
SUMMARY_TOP = 5
RANK = {"critical": 2, "warning": 1, "info": 0}


class HeadlineFeed(Protocol):
    id: str
    name: str
    interval: timedelta

    def wake_at(self, now: datetime) -> datetime | None:
        """When the feed knows a new item appears (replay), or None (live: poll)."""
        ...

    async def fetch(self, now: datetime) -> Fetched:
        """The feed's current items; raise FeedError when it answered badly."""
        ...


def health_name(feed_id: str) -> str:
    return f"feed:{feed_id}"


class HeadlinesJob:
    name = "headlines"

    def __init__(
        self,
        feeds: Sequence[HeadlineFeed],
        classifier: Classifier,
        store: HeadlineStore,
        service: AlertService,
        health: HealthBoard,
        *,
        max_age: timedelta,
        max_backoff: timedelta,
        tz: str = "Asia/Shanghai",
    ) -> None:
        self.feeds = list(feeds)
        self.classifier = classifier
        self.store = store
        self.service = service
        self.health = health
        self.max_age = max_age
        self.max_backoff = max_backoff
        self.tz = tz  # the times in a follow-up's "also:" line
        self.due: dict[str, datetime] = {}
        self.failures: dict[str, int] = {}

    def next_run(self, now: datetime) -> datetime | None:
        if not self.feeds:
            return None
        # A feed never polled is due at once; nothing is scheduled at or before `now`.
        return max(min(self.due.get(f.id, now) for f in self.feeds), now + SOON)

    async def run_once(self, now: datetime) -> None:
        due = [f for f in self.feeds if self.due.get(f.id, now) <= now]
        results = await asyncio.gather(*(self._poll(f, now) for f in due))
        prefs: dict[str, HeadlinePrefs] | None = None
        for feed, fetched in zip(due, results, strict=True):
            # The most severe first, and within a severity in the order the stories
            # happened (undated ones as the feed lists them, newest first by convention).
            ordered = sorted(reversed(fetched), key=lambda h: h.published or now)
            classified = [(h, self.classifier.classify(h.title)) for h in ordered]
            classified.sort(key=lambda c: -RANK.get(_severity(c[1]), 0))
            alone = 0
            rest: list[tuple[Batch, Alert, set[str]]] = []
            for headline, found in classified:
                if prefs is None:
                    prefs = await self._subscriber_prefs()
                keys = self._new_story_keys(headline, now)
                if not keys or await self.store.seen_before(keys):
                    continue
                # The story marked seen, its event and its /headlines listing, and its
                # alert's record: one atomic write, so a crash or a lost leadership loses
                # none of them alone.
                batch = Batch()
                self.store.stage_sighting(batch, keys)
                alert = await self._record(headline, found, now, batch)
                folded = fold(headline.title)
                wanted = {c for c, p in prefs.items() if p.wants(found, folded)}
                if not wanted:
                    await self.service.write_or_keep("headline", batch)
                elif alone >= MAX_STORIES_PER_POLL:
                    rest.append((batch, alert, wanted))
                elif (
                    await self.service.raise_or_keep(
                        "headline", alert, audience=wanted, batch=batch
                    )
                    is not None
                ):
                    alone += 1
            if rest:  # a flood: the rest of this feed's poll as one summary
                summary = headline_summary(feed.name, [a for _, a, _ in rest], now, SUMMARY_TOP)
                batch = Batch()
                for story, _, _ in rest:
                    batch.claims += story.claims
                    batch.commands += story.commands
                wanted_any = set().union(*(w for _, _, w in rest))
                await self.service.raise_or_keep(
                    "headline summary", summary, audience=wanted_any, batch=batch
                )
                log.warning("feed %s: %d more new stories summarised", feed.id, len(rest))

    def _new_story_keys(self, h: Headline, now: datetime) -> list[str]:
        """The story's keys, or [] for old news (the seen keys' TTL is longer than this age)."""
        if h.published is not None and now - h.published > self.max_age:
            return []
        return story_keys(h)

    async def _poll(self, feed: HeadlineFeed, now: datetime) -> list[Headline]:
        name = health_name(feed.id)
        try:
            fetched = await feed.fetch(now)
        except FeedError as exc:
            self._back_off(feed, now, exc.retry_after_s)
            self.health.bad(name, exc.reason, now)
            log.warning("feed %s: %s", feed.id, exc.reason)
            return []
        except Exception as exc:  # our bug, not the feed's: keep the other feeds going
            log.exception("feed %s: poll failed", feed.id)
            self._back_off(feed, now, None)
            self.health.bad(name, f"internal error ({type(exc).__name__})", now)
            return []
        self.failures[feed.id] = 0
        nxt = now + feed.interval
        wake = feed.wake_at(now)
        self.due[feed.id] = min(nxt, wake) if wake is not None else nxt
        if fetched.problem:
            self.health.bad(name, fetched.problem, now)
        else:
            self.health.ok(name, now)
        return fetched.headlines

    def _back_off(self, feed: HeadlineFeed, now: datetime, asked_s: float | None) -> None:
        failures = self.failures.get(feed.id, 0) + 1
        self.failures[feed.id] = failures
        cap = max(self.max_backoff, feed.interval)
        delay = min(feed.interval * 2 ** min(failures, 16), cap)
        if asked_s is not None:
            delay = max(delay, min(timedelta(seconds=asked_s), cap))
        self.due[feed.id] = now + delay

    async def _subscriber_prefs(self) -> dict[str, HeadlinePrefs]:
        chats = await self.service.store.subscribers(Family.HEADLINES)
        return {chat: await self.store.prefs(chat) for chat in sorted(chats)}

    async def _record(
        self, h: Headline, found: Classification, now: datetime, batch: Batch
    ) -> Alert:
        """The story's alert, as a new event or a follow-up of an open one; a matched story
        is listed in /headlines either way. Its writes (the event, the listing) go into
        `batch`, applied with the alert's record."""
        alert = headline_alert(h, found, now)
        primary = found.primary
        signature = self.classifier.signature(h.title, found)
        if primary is None or signature is None:
            return alert  # a chat's keyword only: no event
        at = h.published or now
        event = await self.store.find_event(signature, now, EVENT_WINDOW)
        follow_up = event is not None
        if event is None:
            event = EventRecord(
                id=alert.id,
                signature=signature,
                label=primary.label,
                severity=primary.severity,
                direction=primary.direction,
                day=at.date(),
                title=h.title,
                reports=[(h.source_name, at)],
            )
            self.store.stage_event(batch, event, now)
            alert = event_alert(alert, event)
        else:
            event.reports.append((h.source_name, at))
            self.store.stage_event(batch, event, now)
            alert = headline_followup(h, event, now, self.tz)
            log.info("headline %s folded into event %s", alert.id, event.id)
        self.store.stage_latest(
            batch,
            LatestItem(
                h,
                tuple(m.category for m in found.matches),
                tuple(m.label for m in found.matches),
                event.severity,
                event.direction,
                event=event.id,
                follow_up=follow_up,
            ),
        )
        return alert


def _severity(found: Classification) -> str:
    return found.matches[0].severity if found.matches else "info"


def build_live_job(core: Needs, http: aiohttp.ClientSession) -> HeadlinesJob:
    """The watcher over seeds/feeds.toml, each base URL overridable by FEED_BASE_OVERRIDES."""
    settings = core.settings
    book: FeedBook = load_feeds(settings.seeds_dir / "feeds.toml", settings.feed_base_overrides)
    store = core.headlines
    feeds = [
        FeedSource(cfg, http, store, timeout_s=settings.http_timeout_s, max_bytes=book.max_bytes)
        for cfg in book.feeds
    ]
    return HeadlinesJob(
        feeds,
        load_rules(settings.seeds_dir / "headline_rules.toml"),
        store,
        core.service,
        core.health,
        max_age=book.max_age,
        max_backoff=timedelta(seconds=book.max_backoff_s),
        tz=settings.timezone,
    )


def build_replay_job(core: Needs, path: Path | None = None) -> HeadlinesJob:
    """The watcher over the bundled SYNTHETIC January 2026 headlines, for `divbot replay`."""
    settings = core.settings
    book = load_feeds(settings.seeds_dir / "feeds.toml")
    feeds = load_replay_feeds(
        path or settings.seeds_dir / "headlines_january2026.toml", {f.id: f for f in book.feeds}
    )
    return HeadlinesJob(
        feeds,
        load_rules(settings.seeds_dir / "headline_rules.toml"),
        core.headlines,
        core.service,
        core.health,
        max_age=book.max_age,
        max_backoff=timedelta(seconds=book.max_backoff_s),
        tz=settings.timezone,
    )
