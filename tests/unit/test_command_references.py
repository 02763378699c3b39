"""Command references in the user's own platform's syntax (issue 17, item 4 / Deliver 3).

Slack rejects `/help`; it takes `/divbot help` (and `/divergence`). Every text that tells a
user what to type marks the command with bot.cmdref.ref, and each renderer writes it for
its platform. Two checks: the renderers turn a mark into each platform's syntax, and no
string in the bot's source spells a command the Telegram way by hand (a log line, a
docstring or a comment may), so a new reply cannot forget the mark. The end-to-end scan of
every reply of every command is tests/wire/handlers/test_platform_words.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot import cmdref
from bot.models import Button, Message
from bot.transports.console import render_text
from bot.transports.slack_render import render
from bot.transports.telegram_render import keyboard, render_html
from bot.transports.webhook.schema import alert_json, discord_json
from handlers.registry import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
# A command typed the Telegram way: a slash at the start of a word, then a command name
# (but /divergence, which Slack takes as it is).
NAMES = "|".join(sorted((n for n in COMMANDS if n != "divergence"), key=len, reverse=True))
BARE = re.compile(rf"(?:^|[\s(\"'`:;,·|])/({NAMES})\b")
LOG_CALLS = frozenset({"debug", "info", "warning", "error", "exception", "critical", "log"})


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _log_arguments(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LOG_CALLS
        ):
            for arg in node.args:
                out.update(id(n) for n in ast.walk(arg))
    return out


def test_no_string_in_the_bot_spells_a_command_by_hand() -> None:
    found = []
    for folder in ("bot", "handlers", "jobs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            skip = _docstrings(tree) | _log_arguments(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in skip
                    and BARE.search(node.value)
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:70]!r}")
    assert not found, "mark these with bot.cmdref.ref:\n" + "\n".join(found)


def test_the_check_finds_a_bare_command() -> None:
    assert BARE.search("remove with /alert rm r7")
    assert BARE.search("/help")
    assert not BARE.search("1d/mtd/ytd, Asia/Hong_Kong, seeds/closures.toml")


MESSAGE = Message(
    title=f"Added rule r7; {cmdref.ref('help alert')}",
    lines=[f"remove with {cmdref.ref('alert rm r7')}", f"or {cmdref.ref('divergence 1y')}"],
    fields=[("next", cmdref.ref("quote"))],
    buttons=[Button(f"Help {cmdref.ref('help')}", "rm:r7")],
    source=f"see {cmdref.ref('status')}",
)


def test_slack_gets_divbot_and_its_own_divergence_command() -> None:
    payload = str([m.payload() for m in render(MESSAGE)])
    assert "/divbot alert rm r7" in payload
    assert "/divbot help alert" in payload
    assert "/divergence 1y" in payload
    assert "/divbot divergence" not in payload
    assert "/divbot quote" in payload
    assert "/divbot status" in payload
    assert "Help /divbot help" in payload
    assert not BARE.search(payload.replace("/divbot ", "").replace("/divergence", ""))
    assert cmdref.OPEN not in payload
    assert cmdref.CLOSE not in payload


def test_telegram_the_console_and_webhooks_get_the_slash_command() -> None:
    texts = [
        "\n".join(render_html(MESSAGE, "UTC")),
        render_text(MESSAGE),
        str(alert_json("webhook:a", MESSAGE, None)),
        str(discord_json(MESSAGE, None)),
    ]
    board = keyboard(MESSAGE.buttons)
    assert board is not None
    texts.append(board.inline_keyboard[0][0].text)
    for text in texts:
        assert "/divbot" not in text
        assert "/alert rm r7" in text or "Help /help" in text, text
        assert cmdref.OPEN not in text
        assert cmdref.CLOSE not in text


def test_outside_text_cannot_forge_a_reference() -> None:
    assert cmdref.for_platform(f"{cmdref.OPEN}x", "slack") == "x"
    from bot.fmt import excerpt

    assert cmdref.OPEN not in excerpt(cmdref.ref("help"))
