"""Block Kit for Slack: a platform-neutral Message becomes one or more Slack messages.

Owns the Slack look of a message (a header for the title, or a section when the title is
an error or longer than a header takes; sections with fields for the numbers, a context
line for source and time, an actions block for buttons, a plain ``text`` fallback for
notifications) and Slack's limits: at most 50 blocks per message, 3,000 characters per
section text, 10 fields per section, 150 characters per header, 75 per button label. A
message over those limits is split into several Slack messages, never truncated silently.

Every string that reaches Slack is escaped (``&``, ``<``, ``>`` become entities), so
outside text such as ``<!channel>`` or ``<https://evil|click>`` renders as typed and
notifies no one. Only this module builds markup; the message itself is plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot import cmdref, fmt
from bot.models import Message

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2000
MAX_HEADER_CHARS = 150
MAX_BUTTON_LABEL = 75
MAX_BUTTONS = 25  # elements in one actions block
MAX_TEXT_CHARS = 3000  # the notification fallback; Slack allows more, a preview needs less
FENCE = "```"
ACTION_PREFIX = "divbot:"  # action_id of our buttons; the value carries the action itself

Block = dict[str, Any]


@dataclass
class SlackMessage:
    """One chat.postMessage / response_url payload: blocks plus the plain-text fallback."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def escape(text: str) -> str:
    """Slack's three control characters as entities: the rest of the text is left alone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip_escaped(raw: str, limit: int) -> str:
    """Escape `raw`, cutting it so the escaped form fits `limit` (never mid-entity)."""
    out = escape(raw)
    if len(out) <= limit:
        return out
    kept: list[str] = []
    size = 0
    for char in raw:
        piece = escape(char)
        if size + len(piece) > limit - 1:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + "…"


def _pieces(line: str, limit: int) -> list[str]:
    """An escaped line cut into pieces no longer than `limit`, never inside an entity."""
    out: list[str] = []
    while len(line) > limit:
        cut = limit
        amp = line.rfind("&", max(0, cut - 5), cut)
        if amp != -1 and ";" not in line[amp:cut]:
            cut = amp  # an entity straddles the cut: end the piece before it
        out.append(line[:cut])
        line = line[cut:]
    out.append(line)
    return out


def _text_sections(lines: list[str], preformatted: bool) -> list[Block]:
    """Lines packed into as few mrkdwn sections as the 3,000-character limit allows."""
    wrap = len(FENCE) * 2 + 2 if preformatted else 0  # ```\n … \n```
    room = MAX_SECTION_CHARS - wrap
    chunks: list[list[str]] = []
    size = 0
    for raw in lines:
        for piece in _pieces(escape(raw), room):
            extra = len(piece) + (1 if chunks and chunks[-1] else 0)
            if not chunks or size + extra > room:
                chunks.append([piece])
                size = len(piece)
            else:
                chunks[-1].append(piece)
                size += extra
    blocks = []
    for chunk in chunks:
        body = "\n".join(chunk)
        if preformatted:
            body = f"{FENCE}\n{body}\n{FENCE}"
        elif not body.strip():
            body = " "  # Slack rejects an empty section text
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
    return blocks


def _field_sections(pairs: list[tuple[str, str]]) -> list[Block]:
    blocks = []
    for start in range(0, len(pairs), MAX_FIELDS):
        fields = [
            {
                "type": "mrkdwn",
                "text": f"*{_clip_escaped(name, 100)}*\n"
                + _clip_escaped(value, MAX_FIELD_CHARS - 110),
            }
            for name, value in pairs[start : start + MAX_FIELDS]
        ]
        blocks.append({"type": "section", "fields": fields})
    return blocks


def _context(message: Message, tz: str) -> Block | None:
    parts = []
    if message.source:
        parts.append(f"source: {message.source}")
    if message.at:
        parts.append(fmt.when(message.at, tz))
    if not parts:
        return None
    text = _clip_escaped(" · ".join(parts), MAX_SECTION_CHARS)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _actions(message: Message) -> list[Block]:
    blocks = []
    for start in range(0, len(message.buttons), MAX_BUTTONS):
        elements = [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": _clip_escaped(b.label, MAX_BUTTON_LABEL)},
                "action_id": f"{ACTION_PREFIX}{b.action}"[:255],
                "value": b.action,
            }
            for b in message.buttons[start : start + MAX_BUTTONS]
        ]
        blocks.append({"type": "actions", "elements": elements})
    return blocks


def _title(message: Message) -> Block:
    """A header for a short title; an error (private) or a title over the header's 150
    characters goes in a section instead (3,000), so no usage hint or headline is cut."""
    escaped = escape(message.title)
    if not message.private and len(escaped) <= MAX_HEADER_CHARS:
        # plain_text is shown as typed (no mentions, no links) but Slack still decodes
        # the three entities in it, so the header is escaped like everything else.
        return {"type": "header", "text": {"type": "plain_text", "text": escaped}}
    text = _clip_escaped(message.title, MAX_SECTION_CHARS)  # a title is one line
    return {"type": "section", "text": {"type": "mrkdwn", "text": text or " "}}


def fallback_text(message: Message) -> str:
    """The notification and screen-reader text: title and a first few lines, escaped."""
    lines = [message.title]
    lines.extend(f"{name} {value}" for name, value in message.fields)
    lines.extend(message.lines)
    return _clip_escaped("\n".join(lines), MAX_TEXT_CHARS)


def render(message: Message, tz: str = "Asia/Shanghai") -> list[SlackMessage]:
    """The Slack messages for one Message, in order; usually exactly one."""
    message = cmdref.localize(message, "slack")  # /divbot alert rm r7, never /alert rm r7
    header = _title(message)
    # A field too long for a field (a name over 100, a value over 1,890 characters once
    # escaped) is shown whole as text instead of being cut.
    fits = [
        (name, value)
        for name, value in message.fields
        if len(escape(name)) <= 100 and len(escape(value)) <= MAX_FIELD_CHARS - 110
    ]
    long = [f"{name}: {value}" for name, value in message.fields if (name, value) not in fits]
    body: list[Block] = _field_sections(fits)
    body += _text_sections(long, False)
    body += _text_sections(message.lines, message.preformatted)
    tail: list[Block] = []
    context = _context(message, tz)
    if context:
        tail.append(context)
    tail += _actions(message)

    blocks = [header, *body, *tail]
    if len(blocks) <= MAX_BLOCKS:
        return [SlackMessage(fallback_text(message), blocks)]

    # Too many blocks: the header opens the first message, context and buttons close the
    # last; the body fills messages of at most 50 blocks in between.
    pages: list[list[Block]] = [[header]]
    for block in body:
        if len(pages[-1]) >= MAX_BLOCKS:
            pages.append([])
        pages[-1].append(block)
    if len(pages[-1]) + len(tail) > MAX_BLOCKS:
        pages.append([])
    pages[-1].extend(tail)
    total = len(pages)
    out = []
    for n, page in enumerate(pages, 1):
        note = "" if n == 1 else f" ({n}/{total})"
        text = _clip_escaped(message.title + note, MAX_TEXT_CHARS)
        out.append(SlackMessage(text if n > 1 else fallback_text(message), page))
    return out
