"""Webhook settings (bot/config.py with bot/transports/webhook/config.py): each bad value
stops `divbot` with one line naming the variable and never the URL or a secret; the chat
key `webhook:<name>` is a chat like any other."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.models import CHAT_KEY, ChatRef, Family
from bot.state import keys
from bot.transports.webhook.config import endpoints
from bot.transports.webhook.transport import WebhookTransport
from tests.unit.test_config import run_divbot

KEY = "synthetic-webhook-key-0123456789"
CREDENTIAL = "tok_SyntheticCredential9876"  # what a Discord URL's path carries
HOOK = f"https://discord.example/api/webhooks/1/{CREDENTIAL}"


@pytest.mark.parametrize(
    ("env", "expect"),
    [
        ({"WEBHOOKS": f"desk={HOOK.replace('https', 'ftp')}"}, "WEBHOOKS: desk: the URL must be"),
        ({"WEBHOOKS": f"desk={HOOK} x"}, "WEBHOOKS: desk: the URL must be an http(s) URL with no"),
        ({"WEBHOOKS": f"desk=https://:{CREDENTIAL}@/x"}, "WEBHOOKS: desk: the URL must be"),
        ({"WEBHOOKS": f"my-desk={HOOK}"}, "WEBHOOKS: entry 1: comma-separated NAME=URL"),
        ({"WEBHOOKS": f"a={HOOK},a={HOOK}"}, "WEBHOOKS: a is named twice"),
        ({"WEBHOOKS": f"a={HOOK};format=slack"}, "WEBHOOKS: a: format is json or discord"),
        ({"WEBHOOKS": f"a={HOOK};families=ops"}, "WEBHOOKS: a: unknown family 'ops'"),
        ({"WEBHOOKS": f"a={HOOK};group=301"}, "WEBHOOKS: a: group is 0 to 300 seconds"),
        ({"WEBHOOKS": f"a={HOOK};retries=3"}, "WEBHOOKS: a: unknown option 'retries'"),
        ({"WEBHOOKS": f"a={HOOK};format"}, "WEBHOOKS: a: option 'format' needs a value"),
        ({"WEBHOOKS": f"desk={HOOK}"}, "WEBHOOK_SECRETS: desk has no signing secret"),
        ({"WEBHOOKS": f"desk={HOOK}", "WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET: at least 16"),
        (
            {"WEBHOOKS": f"desk={HOOK}", "WEBHOOK_SECRETS": f"other={KEY}"},
            "WEBHOOK_SECRETS: other is not an endpoint in WEBHOOKS",
        ),
        (
            {"WEBHOOKS": f"desk={HOOK}", "WEBHOOK_SECRETS": "desk=short"},
            "WEBHOOK_SECRETS: desk: a secret of at least 16 characters",
        ),
        ({"WEBHOOK_FAMILIES": "moves,weather"}, "WEBHOOK_FAMILIES: unknown family 'weather'"),
    ],
)
def test_a_bad_webhook_setting_is_one_line_naming_it(env: dict[str, str], expect: str) -> None:
    result = run_divbot("check-config", **env)
    assert result.returncode == 2, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert expect in line
    for secret in (CREDENTIAL, "short", KEY):
        assert secret not in line  # neither the URL's credential nor any key


def test_good_webhook_settings_pass_and_resolve_each_endpoints_key() -> None:
    result = run_divbot(
        "check-config",
        WEBHOOKS=f"desk=https://hooks.example/d,disc={HOOK};format=discord",
        WEBHOOK_SECRETS=f"desk={KEY}",
    )
    assert result.returncode == 0, result.stderr  # a Discord endpoint may go unsigned
    own = "another-synthetic-key-for-desk2"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        webhooks="desk=https://hooks.example/d;group=10, desk2=http://10.0.0.5/h;families=digest",
        webhook_secret=KEY,
        webhook_secrets=f"desk2={own}",
        webhook_families="moves,macro",
    )
    found = endpoints(settings)
    assert found["desk"].secret == KEY.encode()
    assert found["desk"].families == (Family.MOVES, Family.MACRO)
    assert found["desk"].group_s == 10
    assert found["desk2"].secret == own.encode()
    assert found["desk2"].families == (Family.DIGEST,)
    assert found["desk2"].format == "json"
    for text in (repr(settings), repr(found), str(settings.model_dump())):
        assert KEY not in text
        assert own not in text
        assert "hooks.example" not in text


def test_no_endpoints_no_transport() -> None:
    assert WebhookTransport.configured(Settings(_env_file=None)) is None  # type: ignore[call-arg]
    empty = Settings(_env_file=None, webhooks="", webhook_secret="")  # type: ignore[call-arg]
    assert WebhookTransport.configured(empty) is None  # WEBHOOKS= in .env


def test_webhook_chat_keys_are_chats() -> None:
    assert CHAT_KEY.match("webhook:desk_2")
    assert ChatRef.parse("webhook:desk").platform == "webhook"
    assert keys.valid_chat("webhook:desk") == "webhook:desk"
    for bad in ("webhook:", "webhook:my-desk", "webhooks:desk", "webhook:a b"):
        assert not CHAT_KEY.match(bad)
    settings = Settings(_env_file=None, operator_chats="webhook:ops")  # type: ignore[call-arg]
    assert settings.operator_chats == ["webhook:ops"]
