"""A Message as Telegram HTML: escaped, split under Telegram's length limit, with buttons.

Layout: the title in bold; fields as aligned ``name  value`` lines (the names padded in
monospace so the values line up); the lines, in one ``<pre>`` block when the message is
a table; and a last italic line with the source and the time in the bot's time zone.
Every piece of text is escaped here and nowhere else; command references are written
as Telegram's ``/command`` (bot.cmdref). Long messages are split between
lines, never inside a tag: a ``<pre>`` block cut in two is closed and reopened.
The same rows render as plain text, for the resend after an entity-parse error.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import cmdref, fmt
from bot.models import Button, Message

MESSAGE_LIMIT = 4096  # characters, as Telegram counts them (UTF-16 code units)
CAPTION_LIMIT = 1024
ROW_BUTTONS = 4
CALLBACK_DATA_LIMIT = 64  # bytes
# Room kept in a part for <pre></pre> and a joining newline around an overlong line.
_TAG_ROOM = len("<pre></pre>") + 1


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a message, as HTML and as plain text."""

    html: str
    plain: str
    pre: bool = False


def tg_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def rows_of(message: Message, tz: str) -> list[Row]:
    message = cmdref.localize(message, "telegram")
    rows = [Row(f"<b>{_escape(message.title)}</b>", message.title)]
    if message.fields:
        width = max(len(name) for name, _ in message.fields)
        for name, value in message.fields:
            padded = name.ljust(width)
            rows.append(
                Row(f"<code>{_escape(padded)}</code>  {_escape(value)}", f"{padded}  {value}")
            )
    rows.extend(Row(_escape(line), line, message.preformatted) for line in message.lines)
    footer = " · ".join(
        part for part in (message.source, fmt.when(message.at, tz) if message.at else None) if part
    )
    if footer:
        rows.append(Row(f"<i>{_escape(footer)}</i>", footer))
    return rows


def _chunks(text: str, budget: int, escape: bool) -> list[str]:
    """Cut one overlong line so each piece, once escaped, fits in `budget`."""
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        cost = tg_len(_escape(char) if escape else char)
        if current and used + cost > budget:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    pieces.append("".join(current))
    return pieces


def _fit(rows: list[Row], limit: int, as_html: bool) -> list[tuple[str, bool]]:
    """(text, pre) lines, with any line longer than a whole part cut into pieces."""
    out: list[tuple[str, bool]] = []
    budget = limit - _TAG_ROOM
    for row in rows:
        text = row.html if as_html else row.plain
        if tg_len(text) <= budget:
            out.append((text, row.pre))
            continue
        # Only plain lines and table lines can be this long; cut the raw text, then escape.
        for piece in _chunks(row.plain, budget, escape=as_html):
            out.append((_escape(piece) if as_html else piece, row.pre))
    return out


def _join(lines: list[tuple[str, bool]], as_html: bool) -> str:
    blocks = []
    for pre, group in itertools.groupby(lines, key=lambda line: line[1]):
        body = "\n".join(text for text, _ in group)
        blocks.append(f"<pre>{body}</pre>" if pre and as_html else body)
    return "\n".join(blocks)


def split(rows: list[Row], limit: int = MESSAGE_LIMIT, as_html: bool = True) -> list[str]:
    """Join rows into parts of at most `limit`, cutting only between lines."""
    parts: list[str] = []
    current: list[tuple[str, bool]] = []
    for line in _fit(rows, limit, as_html):
        if current and tg_len(_join([*current, line], as_html)) > limit:
            parts.append(_join(current, as_html))
            current = []
        current.append(line)
    if current:
        parts.append(_join(current, as_html))
    return parts


def render_html(message: Message, tz: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    return split(rows_of(message, tz), limit, as_html=True)


def render_plain(message: Message, tz: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    return split(rows_of(message, tz), limit, as_html=False)


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    """Inline buttons, up to ROW_BUTTONS a row (an alert's two or three make one row; the
    /alerts listing's one per rule wrap); an action too long for callback_data is left out."""
    kept = [
        InlineKeyboardButton(cmdref.for_platform(b.label, "telegram"), callback_data=b.action)
        for b in buttons
        if len(b.action.encode()) <= CALLBACK_DATA_LIMIT
    ]
    rows = [kept[i : i + ROW_BUTTONS] for i in range(0, len(kept), ROW_BUTTONS)]
    return InlineKeyboardMarkup(rows) if rows else None
