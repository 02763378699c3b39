"""A headline story as an Alert: the title in its own language, what it is, where from.

Everything from outside (title, link, source name) goes into the Message as plain text;
the words we add ("Category", "tightening") carry no markup either, so renderers can
escape the whole message and a title like "<!channel> & co" stays harmless text.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from bot.cmdref import ref
from bot.headlines.classifier import Classification
from bot.headlines.story import Headline, story_alert_id
from bot.models import Alert, Family, Message

KEYWORD_ONLY = "your keywords"


def headline_alert(h: Headline, found: Classification, now: datetime) -> Alert:
    primary = found.primary
    if primary is None:
        category, severity, direction = KEYWORD_ONLY, "info", "neutral"
    else:
        category = ", ".join(m.label for m in found.matches)
        severity, direction = primary.severity, primary.direction
    at = h.published or now
    message = Message(
        title=h.title,
        fields=[("Category", category), ("Severity", severity), ("Direction", direction)],
        lines=[h.link] if h.link else [],
        source=h.source_name,
        at=at,
    )
    return Alert(
        id=story_alert_id(h),
        family=Family.HEADLINES,
        message=message,
        at=at,
        severity=primary.severity if primary else "info",
    )


def headline_summary(source: str, alerts: list[Alert], now: datetime, top: int) -> Alert:
    """Many new stories from one feed in one poll, as one message: the count and the most
    severe titles (each story is also listed in /headlines)."""
    ranked = sorted(alerts, key=lambda a: -{"critical": 2, "warning": 1}.get(a.severity, 0))
    lines = [f"{a.severity}: {a.message.title}" for a in ranked[:top]]
    if len(alerts) > top:
        lines.append(f"… and {len(alerts) - top} more: {ref('headlines')}")
    digest = hashlib.sha1("|".join(a.id for a in alerts).encode()).hexdigest()[:16]  # noqa: S324
    return Alert(
        id=f"hlsum{digest}",
        family=Family.HEADLINES,
        message=Message(
            title=f"{len(alerts)} more headlines from {source}", lines=lines, source=source, at=now
        ),
        at=now,
        severity=ranked[0].severity if ranked else "info",
    )
