"""A headline story as an Alert: the title in its own language, what it is, where from.

Everything from outside (title, link, source name) goes into the Message as plain text;
the words we add ("Category", "tightening") carry no markup either, so renderers can
escape the whole message and a title like "<!channel> & co" stays harmless text.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.cmdref import ref
from bot.headlines.classifier import Classification
from bot.headlines.store import EventRecord
from bot.headlines.story import Headline, story_alert_id
from bot.models import Alert, Family, Message

KEYWORD_ONLY = "your keywords"


def event_rule_id(event_id: str) -> str:
    """The rule id an event's reports thread under (bot.chat.routing's follow-ups):
    "ev" + the event's digest (bot.state.keys.EVENT_RULE_ID), never a rule's "r12"."""
    return "ev" + event_id.removeprefix("hl")


def event_alert(alert: Alert, event: EventRecord) -> Alert:
    """The first report of an event: the story's alert, threading the follow-ups."""
    return replace(alert, rule_id=event_rule_id(event.id), session=event.day)


def also_line(event: EventRecord, tz: str) -> str:
    """ "also: SCMP 18:10, RTHK 18:25": the later reports, with their times in `tz`."""
    zone = ZoneInfo(tz)
    return "also: " + ", ".join(f"{s} {at.astimezone(zone):%H:%M}" for s, at in event.reports[1:])


def headline_followup(h: Headline, event: EventRecord, now: datetime, tz: str) -> Alert:
    """A later report of an event: a reply in the first alert's thread, never urgent (it
    waits out quiet hours), carrying the event's category and severity, not its own."""
    at = h.published or now
    first_source, first_at = event.reports[0]
    zone = ZoneInfo(tz)
    lines = [
        f"Follow-up: first reported by {first_source} at {first_at.astimezone(zone):%H:%M}",
        also_line(event, tz),
    ]
    if h.link:
        lines.append(h.link)
    message = Message(
        title=h.title,
        fields=[
            ("Category", event.label),
            ("Severity", event.severity),
            ("Direction", event.direction),
        ],
        lines=lines,
        source=h.source_name,
        at=at,
    )
    return Alert(
        id=story_alert_id(h),
        family=Family.HEADLINES,
        message=message,
        at=at,
        severity="info",
        rule_id=event_rule_id(event.id),
        session=event.day,
    )


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


def story_lines(alert: Alert) -> list[str]:
    """One story in a grouped message: its title, then severity · category · link."""
    fields = dict(alert.message.fields)
    link = next((line for line in alert.message.lines if line.startswith("http")), None)
    about = " · ".join(
        part
        for part in (fields.get("Severity", alert.severity), fields.get("Category"), link)
        if part
    )
    return [f"• {alert.message.title}", f"  {about}"]


def headline_summary(source: str, alerts: list[Alert], now: datetime, top: int) -> Alert:
    """Many new stories from one feed in one poll, as one message: the count and the most
    severe titles (each story is also listed in /headlines)."""
    ranked = sorted(alerts, key=lambda a: -{"critical": 2, "warning": 1}.get(a.severity, 0))
    lines: list[str] = []
    for a in ranked[:top]:
        lines.extend(story_lines(a))
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
