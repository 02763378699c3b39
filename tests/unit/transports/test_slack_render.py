"""Block Kit rendering: Slack's limits respected by splitting, outside text made inert."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Button, Message
from bot.transports.slack_render import (
    MAX_BLOCKS,
    MAX_FIELDS,
    MAX_HEADER_CHARS,
    MAX_SECTION_CHARS,
    SlackMessage,
    escape,
    render,
)


def _texts(msg: SlackMessage) -> list[str]:
    found = [msg.text]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(msg.blocks)
    return found


def _within_limits(parts: list[SlackMessage]) -> None:
    for part in parts:
        assert 1 <= len(part.blocks) <= MAX_BLOCKS
        for block in part.blocks:
            if block["type"] == "section":
                if "text" in block:
                    assert 0 < len(block["text"]["text"]) <= MAX_SECTION_CHARS
                assert len(block.get("fields", [])) <= MAX_FIELDS
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= MAX_HEADER_CHARS


def _inert(parts: list[SlackMessage]) -> None:
    for part in parts:
        for text in _texts(part):
            assert "<" not in text, text
            assert ">" not in text, text
            rest = text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")
            assert "&" not in rest, text


def test_a_plain_alert_is_one_message_with_every_part() -> None:
    message = Message(
        title="STAR 50 +3.2% today",
        lines=["Rule r1: STAR 50 1d up 3%"],
        fields=[("STAR 50", "1,506.86"), ("1D", "+3.2%")],
        source="eastmoney",
        at=datetime(2026, 1, 12, 2, 0, tzinfo=UTC),
        buttons=[Button("Mute 1h", "mute:r1:3600"), Button("Remove rule", "rm:r1")],
    )
    (part,) = render(message)
    assert [b["type"] for b in part.blocks] == [
        "header",
        "section",
        "section",
        "context",
        "actions",
    ]
    assert part.blocks[1]["fields"][0] == {"type": "mrkdwn", "text": "*STAR 50*\n1,506.86"}
    assert part.blocks[3]["elements"][0]["text"] == "source: eastmoney · Mon 12 Jan 10:00 CST"
    assert part.text.startswith("STAR 50 +3.2% today\nSTAR 50 1,506.86")
    buttons = part.blocks[4]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("divbot:mute:r1:3600", "mute:r1:3600"),
        ("divbot:rm:r1", "rm:r1"),
    ]


def test_eighty_lines_split_into_sections_under_3000_characters() -> None:
    lines = [f"{n:02d} " + "y" * 120 for n in range(80)]
    (part,) = render(Message(title="Eighty", lines=lines))
    _within_limits([part])
    sections = [b["text"]["text"] for b in part.blocks if b["type"] == "section"]
    assert len(sections) == 4  # 80 × 124 characters, at most 3,000 each
    assert "\n".join(sections).split("\n") == lines


def test_hundreds_of_lines_and_fields_split_into_several_messages() -> None:
    lines = ["z" * 2900 for _ in range(120)]  # one section each: 121+ blocks
    fields = [(f"f{n}", str(n)) for n in range(35)]  # 4 field sections
    buttons = [Button("Mute 1h", "mute:r1:3600")]
    parts = render(Message(title="Huge", lines=lines, fields=fields, buttons=buttons))
    assert len(parts) == 3
    _within_limits(parts)
    assert parts[0].blocks[0]["type"] == "header"
    assert all(b["type"] != "header" for p in parts[1:] for b in p.blocks)
    assert parts[-1].blocks[-1]["type"] == "actions"
    assert parts[1].text == "Huge (2/3)"
    shown = [
        b["text"]["text"] for p in parts for b in p.blocks if b["type"] == "section" and "text" in b
    ]
    assert shown == lines
    got_fields = [f["text"] for p in parts for b in p.blocks for f in b.get("fields", [])]
    assert got_fields == [f"*f{n}*\n{n}" for n in range(35)]


def test_an_overlong_line_is_cut_never_inside_an_entity() -> None:
    line = "&" * 5000  # 25,000 characters once escaped
    (part,) = render(Message(title="t", lines=[line], preformatted=True))
    _within_limits([part])
    body = "".join(
        b["text"]["text"].removeprefix("```\n").removesuffix("\n```")
        for b in part.blocks
        if b["type"] == "section"
    )
    assert body.replace("\n", "") == "&amp;" * 5000


def test_mentions_links_and_ampersands_are_inert_everywhere() -> None:
    message = Message(
        title="<!channel> & <!here>",
        lines=["<https://evil.example|click> <@U123> <#C123>", "a > b & c < d"],
        fields=[("<!everyone>", "<b>1 & 2</b>")],
        source="<!subteam^S123>",
        buttons=[Button("<!channel>", "rm:r1")],
    )
    parts = render(message)
    _inert(parts)
    assert parts[0].blocks[0]["text"]["text"] == "&lt;!channel&gt; &amp; &lt;!here&gt;"


def test_a_title_longer_than_a_header_is_a_whole_section_not_cut() -> None:
    """Issue 17.6: headline titles in alerts were cut at 150 and shown nowhere else."""
    (part,) = render(Message(title="<" * 400))
    first = part.blocks[0]
    assert first["type"] == "section"
    assert first["text"]["text"] == "&lt;" * 400
    (short,) = render(Message(title="<" * 37))
    assert short.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "&lt;" * 37},
    }
    assert len(short.blocks[0]["text"]["text"]) <= MAX_HEADER_CHARS


def test_a_field_too_long_for_a_field_is_shown_whole_as_text() -> None:
    (part,) = render(Message(title="t", fields=[("a", "1"), ("story", "x" * 2500)]))
    shown = "".join(b["text"]["text"] for b in part.blocks if "text" in b)
    assert "story: " + "x" * 2500 in shown
    assert part.blocks[1]["fields"][0]["text"] == "*a*\n1"


def test_an_error_is_a_section_with_its_usage_hint_whole() -> None:
    """Issue 17.6: errors were header blocks (150 characters), so a usage hint was cut."""
    hint = "usage: /divbot alert add SYMBOL WINDOW up|down|either PCT · " * 5
    (part,) = render(Message(title=f"threshold must be a number, got 'abc'; {hint}", private=True))
    assert [b["type"] for b in part.blocks] == ["section"]
    assert part.blocks[0]["text"]["text"].endswith(hint.replace("<", "&lt;"))


def test_escape_is_only_the_three_characters() -> None:
    assert escape("a&b<c>d \"e\" 'f' *g*") == "a&amp;b&lt;c&gt;d \"e\" 'f' *g*"


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=300),
    lines=st.lists(st.text(max_size=4000), max_size=80),
    fields=st.lists(st.tuples(st.text(max_size=50), st.text(max_size=3000)), max_size=25),
    preformatted=st.booleans(),
)
def test_any_message_renders_within_limits_and_inert(
    title: str, lines: list[str], fields: list[tuple[str, str]], preformatted: bool
) -> None:
    parts = render(Message(title=title, lines=lines, fields=fields, preformatted=preformatted))
    _within_limits(parts)
    _inert(parts)
    json.dumps([p.payload() for p in parts])  # serialisable as Slack expects
