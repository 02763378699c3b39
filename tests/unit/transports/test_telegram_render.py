"""The Telegram renderer and the small parsers: escaping, splitting, buttons, commands."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from bot.logs import RedactSecrets
from bot.models import Button, Message
from bot.transports.telegram import button_args, parse_command
from bot.transports.telegram_render import (
    MESSAGE_LIMIT,
    keyboard,
    render_html,
    render_plain,
    tg_len,
)
from tests.fakes.telegram_api import TOKEN

TZ = "Asia/Shanghai"
TAG = re.compile(r"</?([a-z]+)>")


def balanced(part: str) -> bool:
    stack: list[str] = []
    for match in TAG.finditer(part):
        name = match.group(1)
        if match.group(0).startswith("</"):
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


def test_layout_title_fields_lines_footer() -> None:
    message = Message(
        title="STAR 50 +3.2% on the day",
        fields=[("STAR 50", "1,506.86"), ("1D", "+3.2%")],
        lines=["Rule r1: STAR 50 1d up 3%"],
        source="eastmoney",
        at=datetime(2026, 1, 19, 7, 0, tzinfo=UTC),
    )
    [html] = render_html(message, TZ)
    assert html == (
        "<b>STAR 50 +3.2% on the day</b>\n"
        "<code>STAR 50</code>  1,506.86\n"
        "<code>1D     </code>  +3.2%\n"
        "Rule r1: STAR 50 1d up 3%\n"
        "<i>eastmoney · Mon 19 Jan 15:00 CST</i>"
    )
    [plain] = render_plain(message, TZ)
    assert "<" not in plain
    assert plain.splitlines()[0] == "STAR 50 +3.2% on the day"


def test_every_dynamic_string_is_escaped() -> None:
    message = Message(
        title="CSRC: <b>margin</b> & HFT > 300 orders/s",
        fields=[("A&B", "<1%>")],
        lines=["<script>alert(1)</script> & co"],
        source="<rss>",
    )
    [html] = render_html(message, TZ)
    assert "&lt;b&gt;margin&lt;/b&gt; &amp; HFT &gt; 300" in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    assert {m.group(1) for m in TAG.finditer(html)} <= {"b", "i", "code"}


def test_long_table_splits_between_lines_and_reopens_pre() -> None:
    lines = [f"{i:04d} " + "x" * 44 for i in range(100)]  # 100 lines of 49: ~5,000 chars
    parts = render_html(Message(title="Big table", lines=lines, preformatted=True), TZ)
    assert len(parts) == 2
    for part in parts:
        assert tg_len(part) <= MESSAGE_LIMIT
        assert balanced(part)
    assert parts[1].startswith("<pre>")
    assert parts[0].endswith("</pre>")
    body = "\n".join(TAG.sub("", p) for p in parts).splitlines()
    assert body == ["Big table", *lines]  # nothing lost, nothing cut mid-line


def test_one_overlong_line_is_cut_without_breaking_an_entity() -> None:
    line = "&<" * 2500  # 5,000 characters, 22,500 once escaped
    parts = render_html(Message(title="t", lines=[line]), TZ)
    assert all(tg_len(p) <= MESSAGE_LIMIT for p in parts)
    joined = "".join(p.removeprefix("<b>t</b>\n") for p in parts)
    assert joined == line.replace("&", "&amp;").replace("<", "&lt;")


def test_utf16_length_counts_emoji_twice() -> None:
    assert tg_len("📈") == 2
    parts = render_html(Message(title="t", lines=["📈" * 3000]), TZ)
    assert len(parts) == 2
    assert all(tg_len(p) <= MESSAGE_LIMIT for p in parts)


def test_keyboard_from_buttons() -> None:
    markup = keyboard([Button("Mute 1h", "mute:r1:3600"), Button("Remove rule", "rm:r1")])
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [
        ["mute:r1:3600", "rm:r1"]
    ]
    assert keyboard([]) is None
    assert keyboard([Button("too long", "x" * 65)]) is None  # callback_data is 64 bytes max


def test_parse_command() -> None:
    assert parse_command("/alert add STAR50 1d up 3", "OurBot") == (
        "alert",
        ("add", "STAR50", "1d", "up", "3"),
    )
    assert parse_command("/Help@ourbot alert", "OurBot") == ("help", ("alert",))
    assert parse_command("/help@OtherBot", "OurBot") is None
    assert parse_command("hello /help", "OurBot") is None
    assert parse_command("/", "OurBot") is None
    assert parse_command("/x" * 40, "OurBot") is None
    assert parse_command("", "OurBot") is None


def test_button_actions_map_to_alert_commands() -> None:
    assert button_args("mute:r12:3600") == ("mute", "r12", "1h")
    assert button_args("mute:r12:90") == ("mute", "r12", "90s")
    assert button_args("rm:r3") == ("rm", "r3")
    for bad in (None, "", "rm:x", "mute:r1", "mute:r1:1h", "drop:r1", "rm:r1:extra"):
        assert button_args(bad) is None


def test_redaction_filter_masks_tokens_in_messages_and_tracebacks() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: POST %s",
        (f"http://x/bot{TOKEN}/getMe",),
        None,
    )
    try:
        raise RuntimeError(f"failed for {TOKEN}")
    except RuntimeError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert RedactSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text
    assert "[redacted]" in record.getMessage()
