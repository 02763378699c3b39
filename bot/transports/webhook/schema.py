"""What a webhook endpoint receives: the alert as JSON (schema 1), or as a Discord message.

Owns the body of every POST; the sender signs and sends it. Both are built from the
alert the outbox delivers and the message as the chat gets it (bot.chat.gate).

**Schema 1** (``format=json``, the default), one JSON object per alert, UTF-8::

    {
      "schema": 1,
      "id": "5d1c0e6f2a9b4c11",      # the alert's id: the same on every retry; dedupe on it
      "chat": "webhook:desk",         # the endpoint it was sent to
      "family": "moves",              # moves | spreads | headlines | macro | digest | ops
      "severity": "info",             # info | warning | critical
      "rule_id": "r12",               # the rule that fired, or null
      "title": "STAR 50 +3.1% on the day",
      "lines": ["Rule r12: STAR 50 1d up 3%"],
      "fields": [{"name": "STAR 50", "value": "1,479.20"}, {"name": "1D", "value": "+3.1%"}],
      "source": "eastmoney",          # where the data came from, or null
      "at": "2026-01-13T02:45:00Z",   # when it happened, UTC, ISO 8601
      "preformatted": false           # true: `lines` are an aligned table (monospace)
    }

Every string is plain text, never markup: a receiver that renders it must escape it.
Fields keep their order (a list, not an object). Buttons and images (the /divergence
chart) are not sent; the digest's table is in ``lines``. New keys may be added within
schema 1; a change to an existing key's meaning raises ``schema``.

**Discord** (``format=discord``): ``content`` is the title; one embed carries the lines
(a code block when preformatted), the fields (inline, at most 25), the source as its
footer, the time as its timestamp, and a colour by severity. Outside text is escaped
for Discord's markdown, ``allowed_mentions`` is empty (a headline reading ``@everyone``
pings no one), and every part is clipped to Discord's limits (content 2,000 characters,
description 4,096, field name 256 and value 1,024, footer 2,048, 6,000 per embed).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from bot import cmdref
from bot.models import Alert, Message

SCHEMA = 1
CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBED_LIMIT = 6000
MAX_FIELDS = 25
COLOURS = {"info": 0x3B82F6, "warning": 0xF59E0B, "critical": 0xDC2626}
_MARKDOWN = re.compile(r"([\\*_~`|<>\[\]()#-])")
_FENCE = "```"


def _utc(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def content_id(message: Message) -> str:
    """An id for a message sent without an alert: a digest of what it says."""
    raw = json.dumps([message.title, message.lines, message.fields, _utc(message.at)])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def alert_json(chat: str, message: Message, alert: Alert | None) -> dict[str, Any]:
    """Schema 1. Without an alert (a message sent outside the outbox): an id digested
    from the content, family and rule_id null, severity info."""
    message = cmdref.localize(message, "webhook")
    at = message.at or (alert.at if alert else None)
    return {
        "schema": SCHEMA,
        "id": alert.id if alert else content_id(message),
        "chat": chat,
        "family": alert.family.value if alert else None,
        "severity": alert.severity if alert else "info",
        "rule_id": alert.rule_id if alert else None,
        "title": message.title,
        "lines": list(message.lines),
        "fields": [{"name": name, "value": value} for name, value in message.fields],
        "source": message.source,
        "at": _utc(at),
        "preformatted": message.preformatted,
    }


def escape_markdown(text: str) -> str:
    """Discord's markdown characters backslash-escaped: the text shows as typed, and a
    masked link ``[click](https://…)`` stays text."""
    return _MARKDOWN.sub(r"\\\1", text)


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters, never ending on a lone escaping backslash."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + "…"


def _description(message: Message, room: int) -> str:
    if not message.lines:
        return ""
    if message.preformatted:
        # Inside a code block nothing is markdown; only a closing fence would end it.
        body = "\n".join(line.replace(_FENCE, "`\u200b``") for line in message.lines)
        inner = _clip(body, max(1, room - 2 * len(_FENCE) - 2))
        return f"{_FENCE}\n{inner}\n{_FENCE}"
    return _clip("\n".join(escape_markdown(line) for line in message.lines), room)


def discord_json(message: Message, alert: Alert | None) -> dict[str, Any]:
    """A Discord ``execute webhook`` body: content, one embed, no mentions."""
    message = cmdref.localize(message, "webhook")
    embed: dict[str, Any] = {}
    used = 0
    fields = []
    for name, value in message.fields[:MAX_FIELDS]:
        shown_name = _clip(escape_markdown(name), FIELD_NAME_LIMIT) or "\u200b"
        shown_value = _clip(escape_markdown(value), FIELD_VALUE_LIMIT) or "\u200b"
        used += len(shown_name) + len(shown_value)
        fields.append({"name": shown_name, "value": shown_value, "inline": True})
    if message.source:
        embed["footer"] = {"text": _clip(message.source, FOOTER_LIMIT)}
        used += len(embed["footer"]["text"])
    description = _description(message, min(DESCRIPTION_LIMIT, EMBED_LIMIT - used))
    if description:
        embed["description"] = description
    if fields:
        embed["fields"] = fields
    at = message.at or (alert.at if alert else None)
    if embed and at is not None:
        embed["timestamp"] = _utc(at)
    if embed:
        embed["color"] = COLOURS.get(alert.severity if alert else "info", COLOURS["info"])
    body: dict[str, Any] = {
        "content": _clip(escape_markdown(message.title), CONTENT_LIMIT),
        "allowed_mentions": {"parse": []},
    }
    if embed:
        body["embeds"] = [embed]
    return body


def encode(body: dict[str, Any]) -> bytes:
    """The bytes that are signed and sent: compact JSON, UTF-8 (non-ASCII kept)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
