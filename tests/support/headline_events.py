"""A headlines watcher over in-memory feeds, for transport tests of headline events
(issue 18.1): each feed returns the stories a test gives it, no HTTP involved."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import REPO_ROOT
from bot.headlines.classifier import load_rules
from bot.headlines.story import Headline
from bot.sources.headline_feeds import Fetched
from bot.wiring import Core
from jobs.headlines import HeadlinesJob

# One event as CSRC and SCMP would headline it (SYNTHETIC wording).
MARGIN_CSRC = "经中国证监会批准，沪深北交易所将融资保证金最低比例从80%提高至100%"
MARGIN_SCMP = "China raises margin requirement for new financing purchases to 100%"


@dataclass
class ListFeed:
    """A feed that returns whatever stories it holds now."""

    id: str
    name: str
    items: list[Headline] = field(default_factory=list)
    interval: timedelta = timedelta(minutes=5)

    def wake_at(self, now: datetime) -> datetime | None:
        return None

    async def fetch(self, now: datetime) -> Fetched:
        return Fetched(list(self.items))

    def publish(self, title: str, at: datetime, n: int) -> None:
        link = f"https://news.example/{self.id}/{n}"
        self.items.append(Headline(self.id, self.name, title, link, None, at, "zh"))


def event_job(core: Core, *feeds: ListFeed) -> HeadlinesJob:
    return HeadlinesJob(
        list(feeds),
        load_rules(REPO_ROOT / "seeds" / "headline_rules.toml"),
        core.headlines,
        core.service,
        core.health,
        max_age=timedelta(hours=48),
        max_backoff=timedelta(hours=1),
    )
