"""Slack set-up: the manifest generated from the registry, settings, the route on the app."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.cmdref import for_platform
from bot.transports.slack_manifest import events_url, manifest
from handlers.registry import COMMANDS


def test_manifest_lists_both_slash_commands_scopes_and_urls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["slack-manifest", "--url", "https://bot.example.com/"]) == 0
    doc = json.loads(capsys.readouterr().out)
    url = "https://bot.example.com/slack/events"
    commands = {c["command"]: c for c in doc["features"]["slash_commands"]}
    assert set(commands) == {"/divergence", "/divbot"}
    assert all(c["url"] == url for c in commands.values())
    hint = commands["/divbot"]["usage_hint"]
    for spec in COMMANDS.values():  # every registered command, with its usage
        assert spec.name in hint
        usage = for_platform(spec.usage, "telegram")
        assert usage.removeprefix(f"/{spec.name}").strip() in hint
    assert "\ue000" not in json.dumps(doc, ensure_ascii=False)  # no command mark left
    assert {"commands", "chat:write", "files:write", "users:read", "channels:read"} <= set(
        doc["oauth_config"]["scopes"]["bot"]
    )
    assert doc["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert doc["settings"]["event_subscriptions"]["request_url"] == url
    assert doc["settings"]["socket_mode_enabled"] is False


def test_socket_mode_manifest_has_no_request_urls() -> None:
    doc = manifest(None, socket_mode=True)
    assert doc["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in doc["settings"]["interactivity"]
    assert all("url" not in c for c in doc["features"]["slash_commands"])


@pytest.mark.parametrize(
    "bad", ["http://bot.example.com", "bot.example.com", "https://", "https://x.io/?a=1"]
)
def test_a_bad_url_is_one_line_and_exit_2(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slack-manifest", "--url", bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slack-manifest: ")
    assert err.count("\n") == 1


def test_url_needed_unless_socket_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slack-manifest"]) == 2
    assert "--url" in capsys.readouterr().err


def test_events_url_keeps_a_prefix_and_an_explicit_path() -> None:
    assert events_url("https://h.io/bot") == "https://h.io/bot/slack/events"
    assert events_url("https://h.io/slack/events") == "https://h.io/slack/events"


def test_a_bot_token_alone_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.config import exit_on_bad_config

    with pytest.raises(SystemExit) as stop:
        exit_on_bad_config(_env_file=None, slack_bot_token="xoxb-1-2-secretvalue")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET" in err
    assert "secretvalue" not in err


def test_the_bot_app_mounts_slack_events_when_configured() -> None:
    from bot.app import build_app
    from bot.config import Settings

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, slack_bot_token="xoxb-1-2-x", slack_signing_secret="s3cret"
    )
    routes = {r.resource.canonical for r in build_app(settings).router.routes() if r.resource}
    assert "/slack/events" in routes
    plain = build_app(Settings(_env_file=None))  # type: ignore[call-arg]
    assert "/slack/events" not in {
        r.resource.canonical for r in plain.router.routes() if r.resource
    }
