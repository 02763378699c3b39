"""A headline as every source delivers it, and the keys that make it one story.

A story is known by up to three keys: its GUID (scoped to the feed that issued it, since
short numeric GUIDs collide across publishers), its canonical link and its normalised
title. Any one key already seen means the story was seen. The alert id comes from the
most portable key (title, then link, then GUID), so two feeds or two replicas carrying
the same story produce the same id and the outbox queues it once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from bot.headlines.text import canonical_link, title_key


@dataclass(frozen=True, slots=True)
class Headline:
    """One validated story: plain-text title in its original language, absolute link."""

    source: str  # feed id from seeds/feeds.toml, e.g. "csrc"
    source_name: str  # what a trader calls it, e.g. "CSRC"
    title: str
    link: str | None
    guid: str | None
    published: datetime | None  # aware; None when the feed gave no date
    language: str = "en"

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "source_name": self.source_name,
            "title": self.title,
            "link": self.link,
            "guid": self.guid,
            "published": self.published.isoformat() if self.published else None,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Headline:
        published = d.get("published")
        link, guid = d.get("link"), d.get("guid")
        return cls(
            source=str(d["source"]),
            source_name=str(d["source_name"]),
            title=str(d["title"]),
            link=str(link) if link else None,
            guid=str(guid) if guid else None,
            published=datetime.fromisoformat(str(published)) if published else None,
            language=str(d.get("language", "en")),
        )


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:20]  # noqa: S324 - a key, not a secret


def story_keys(h: Headline) -> list[str]:
    """The dedup keys of a story, most portable first: title:…, link:…, guid:…."""
    out = []
    title = title_key(h.title)
    if title:
        out.append(f"title:{_digest(title)}")
    link = canonical_link(h.link) if h.link else None
    if link:
        out.append(f"link:{_digest(link)}")
    if h.guid:
        out.append(f"guid:{_digest(h.source + '|' + h.guid)}")
    return out


def story_alert_id(h: Headline) -> str:
    """Deterministic alert id: the same story from any feed or replica gets the same one."""
    keys = story_keys(h)
    basis = keys[0] if keys else f"raw:{_digest(h.source + '|' + h.title)}"
    return "hl" + hashlib.sha1(basis.encode()).hexdigest()[:14]  # noqa: S324
