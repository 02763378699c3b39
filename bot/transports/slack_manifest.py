"""The Slack app manifest, generated from the command registry: one paste installs the app.

Owns what Slack must know about the bot: its name, the two slash commands with usage
hints taken from ``handlers.registry``, the bot scopes it needs, and where Slack sends
commands, button clicks and events (``<url>/slack/events``, or Socket Mode).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from bot import cmdref
from handlers.registry import COMMANDS

EVENTS_PATH = "/slack/events"
BOT_SCOPES = [
    "commands",  # /divergence and /divbot
    "chat:write",  # replies and alerts
    "files:write",  # charts (files.getUploadURLExternal / completeUploadExternal)
    "users:read",  # users.info: is this user a workspace admin or owner?
    "channels:read",  # conversations.info: is the bot in this public channel? (/divbot start)
    "groups:read",  # the same for a private channel
    "app_mentions:read",  # @divbot gets a pointer to the commands
]
DIVERGENCE_FALLBACK = ("[args]", "how far China tech has run ahead of the economy and US tech")


def events_url(base: str) -> str:
    """The request URL for everything Slack sends: ``https://host[/prefix]/slack/events``."""
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"--url must be an https:// address Slack can reach, got {base!r}")
    if parts.query or parts.fragment:
        raise ValueError("--url takes no query string or fragment")
    path = parts.path.rstrip("/")
    if not path.endswith(EVENTS_PATH):
        path += EVENTS_PATH
    return f"https://{parts.netloc}{path}"


def _hint(usage: str, name: str) -> str:
    """'/alert add|rm …' -> 'add|rm …' (the part after the command word)."""
    return cmdref.for_platform(usage, "telegram").removeprefix(f"/{name}").strip()


def manifest(
    url: str | None, *, socket_mode: bool = False, name: str = "Divergence Bot"
) -> dict[str, Any]:
    """The manifest as a dict; `url` is required unless the app runs in Socket Mode."""
    if url is None and not socket_mode:
        raise ValueError("give --url https://your-bot.example.com, or --socket-mode")
    request_url = events_url(url) if url is not None else None

    spec = COMMANDS.get("divergence")
    if spec is not None:
        divergence_hint, divergence_summary = (
            _hint(spec.usage, spec.name),
            cmdref.for_platform(spec.summary, "slack"),
        )
    else:  # the command lands in its own issue; the slash command exists already
        divergence_hint, divergence_summary = DIVERGENCE_FALLBACK
    divbot_hint = " | ".join(
        f"{s.name} {_hint(s.usage, s.name)}".strip() for s in COMMANDS.values()
    )
    commands = [
        {
            "command": "/divergence",
            "description": divergence_summary[:2000],
            "usage_hint": divergence_hint[:1000] or "[args]",
            "should_escape": False,
        },
        {
            "command": "/divbot",
            "description": "Divergence Bot: " + ", ".join(COMMANDS)[:1900],
            "usage_hint": divbot_hint[:1000],
            "should_escape": False,
        },
    ]
    if request_url is not None:
        for command in commands:
            command["url"] = request_url

    settings: dict[str, Any] = {
        "interactivity": {"is_enabled": True},
        "event_subscriptions": {"bot_events": ["app_mention"]},
        "org_deploy_enabled": False,
        "socket_mode_enabled": socket_mode,
        "token_rotation_enabled": False,
    }
    if request_url is not None:
        settings["interactivity"]["request_url"] = request_url
        settings["event_subscriptions"]["request_url"] = request_url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Alerts on China tech (STAR 50, Hang Seng TECH) vs the Nasdaq-100",
            "background_color": "#1d2b3a",
        },
        "features": {
            "bot_user": {"display_name": "divbot", "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": settings,
    }


def manifest_json(url: str | None, *, socket_mode: bool = False) -> str:
    return json.dumps(manifest(url, socket_mode=socket_mode), indent=2, ensure_ascii=False)
