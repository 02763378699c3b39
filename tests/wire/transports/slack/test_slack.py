"""Slack end to end: signed requests into /slack/events on a real aiohttp server, bolt,
the command core on a real Redis, and replies/alerts reaching a fake Slack Web API over
loopback HTTP. Nothing here patches our code or bolt's internals."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.delivery.outbox import RETRY_DUE
from bot.delivery.sending import Outcome, Sender
from bot.models import Alert, Button, ChatRef, Family, Message
from bot.transports.slack import MENTION_HINT, NOT_SERVED, SLACK, SlackBot, mount
from bot.transports.telegram import TelegramTransport
from bot.wiring import Core, build_core
from handlers.dispatch import REFUSALS
from tests.conftest import RedisServer
from tests.fakes.slack_api import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    Failure,
    FakeSlack,
    signed_headers,
)
from tests.fakes.telegram_api import TOKEN as TG_TOKEN
from tests.fakes.telegram_api import FakeTelegram
from tests.support.delivering import deliver_now
from tests.support.headline_events import MARGIN_CSRC, MARGIN_SCMP, ListFeed, event_job
from tests.wire.handlers.test_commands import snapshot
from tests.wire.handlers.test_platform_words import BARE, SLACK_OWN, strings

CHANNEL = "C111"
CHAT = f"slack:{CHANNEL}"
ADMIN = "UADMIN"  # in SLACK_ADMINS
CORE = web.AppKey("core", Core)
SENDERS = web.AppKey("senders", dict[str, Sender])


@dataclass
class Harness:
    core: Core
    client: TestClient[web.Request, web.Application]
    fake: FakeSlack
    clock: SimClock
    settings: Settings

    @property
    def bot(self) -> SlackBot:
        return self.client.app[SLACK]  # type: ignore[index]

    def now_ts(self) -> str:
        return str(int(self.clock.now().timestamp()))

    async def post(
        self, body: bytes, *, ts: str | None = None, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        sent = headers if headers is not None else signed_headers(body, ts or self.now_ts())
        return await self.client.post(
            "/slack/events",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sent},
        )

    def command_body(
        self, text: str, *, command: str = "/divbot", user: str = ADMIN, channel: str = CHANNEL
    ) -> bytes:
        # The shape of shared/samples/slack/bolt_slash_command_body.json, with a
        # response_url on the fake.
        return urlencode(
            {
                "token": "verification_token",
                "team_id": "T111",
                "team_domain": "test-domain",
                "channel_id": channel,
                "channel_name": "china-tech",
                "user_id": user,
                "user_name": "trader",
                "command": command,
                "text": text,
                "api_app_id": "A111",
                "response_url": self.fake.response_url(),
                "trigger_id": "111.111.xxx",
            }
        ).encode()

    async def command(self, text: str, **kw: Any) -> dict[str, Any]:
        """Run a slash command; return the reply posted to its response_url."""
        before = len(self.fake.of("respond"))
        resp = await self.post(self.command_body(text, **kw))
        assert resp.status == 200, await resp.text()
        assert await resp.text() == ""  # a bare ack: the reply follows via response_url
        calls = await self.fake.wait_for("respond", before + 1)
        return [c for c in calls if c.method == "respond"][before].args

    def button_body(self, value: str, *, user: str = ADMIN) -> bytes:
        # The shape of shared/samples/slack/bolt_block_actions_payload.json.
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "trader", "team_id": "T111"},
            "api_app_id": "A111",
            "token": "verification_token",
            "container": {"type": "message", "message_ts": "111.222", "channel_id": CHANNEL},
            "trigger_id": "111.222.valid",
            "team": {"id": "T111", "domain": "workspace-domain"},
            "channel": {"id": CHANNEL, "name": "china-tech"},
            "response_url": self.fake.response_url(),
            "actions": [
                {
                    "action_id": f"divbot:{value}",
                    "block_id": "b",
                    "text": {"type": "plain_text", "text": "Button"},
                    "value": value,
                    "type": "button",
                    "action_ts": "1596530385.194939",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    async def button(self, value: str, **kw: Any) -> dict[str, Any]:
        before = len(self.fake.of("respond"))
        resp = await self.post(self.button_body(value, **kw))
        assert resp.status == 200
        calls = await self.fake.wait_for("respond", before + 1)
        return [c for c in calls if c.method == "respond"][before].args


def slack_settings(base: Settings, fake: FakeSlack, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": base.redis_url,
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_base": fake.api_base,
        "slack_admins": [ADMIN],
        **extra,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


async def open_harness(
    settings: Settings, redis: Redis, clock: SimClock, fake: FakeSlack
) -> Harness:
    core = await build_core(settings, redis, clock)
    app = web.Application()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        app[CORE], app[SENDERS] = core, {}
        yield

    app.cleanup_ctx.append(resources)
    mount(app, settings, lambda a: a[CORE], lambda a: a[SENDERS])  # what bot/app.py does
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return Harness(core, client, fake, clock, settings)


@pytest.fixture
async def harness(
    settings: Settings, redis_client: Redis, clock: SimClock, fake_slack: FakeSlack
) -> AsyncIterator[Harness]:
    h = await open_harness(slack_settings(settings, fake_slack), redis_client, clock, fake_slack)
    yield h
    await h.client.close()


def header(payload: dict[str, Any]) -> str:
    """The title: a header block, or for an error (ephemeral) the first section."""
    block = payload["blocks"][0]
    ephemeral = payload.get("response_type") == "ephemeral"
    assert block["type"] == ("section" if ephemeral else "header"), block
    return str(block["text"]["text"])


def section_texts(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]


# -- every command through /divbot -------------------------------------------------------
@pytest.mark.parametrize("channel", ["C999", "G999"])  # public (is_member false), private
async def test_start_in_a_channel_without_the_bot_says_how_to_invite_it(
    harness: Harness, redis_client: Redis, channel: str
) -> None:
    """Issue 17.5: `/divbot start` said "This chat gets: moves, …" in a channel the bot was
    never invited to; the first alert failed not_in_channel and nobody was told."""
    h = harness
    h.fake.outside.add(channel)
    before = await snapshot(redis_client)
    answer = await h.command("start", channel=channel)
    text = header(answer) + "\n" + "\n".join(section_texts(answer))
    assert answer["response_type"] == "ephemeral"
    assert "/invite @divbot" in text  # the bot's name, from auth.test
    assert "/divbot start" in text
    assert "This chat gets" not in text
    assert await h.core.store.subscriptions(f"slack:{channel}") == []
    assert await snapshot(redis_client) == before
    subscribed = await h.command("subscribe moves", channel=channel)
    assert "/invite @divbot" in "\n".join(section_texts(subscribed))
    assert await snapshot(redis_client) == before
    asked = [c.args.get("channel") for c in h.fake.of("conversations.info")]
    assert asked == [channel, channel]
    # Invited: the same command subscribes the channel.
    h.fake.outside.discard(channel)
    answer = await h.command("start", channel=channel)
    assert "This chat gets: moves, spreads, headlines, macro" in "\n".join(section_texts(answer))
    assert await h.core.store.subscriptions(f"slack:{channel}") != []


async def test_start_when_membership_cannot_be_checked_subscribes_nothing(
    harness: Harness, redis_client: Redis
) -> None:
    h = harness
    h.fake.fail("conversations.info", Failure(200, error="missing_scope"))
    answer = await h.command("start")
    assert "could not check" in "\n".join(section_texts(answer))
    assert await h.core.store.subscriptions(CHAT) == []


async def test_every_command_happy_path(harness: Harness) -> None:
    h = harness
    store = h.core.store

    help_ = await h.command("help")
    assert header(help_) == "Commands"
    assert help_["response_type"] == "in_channel"
    assert "/divbot alert add|rm|pause|resume|mute" in "\n".join(section_texts(help_))
    assert header(await h.command("")) == "Commands"  # bare /divbot is help
    assert header(await h.command("help alert")).startswith("/divbot alert: manage")

    start = await h.command("start")
    assert header(start) == "Divergence Bot"
    assert await store.subscriptions(CHAT) == [
        Family.MOVES,
        Family.SPREADS,
        Family.HEADLINES,
        Family.MACRO,
    ]

    quote = await h.command("quote STAR50 NDX")
    assert header(quote) == "Quotes"
    assert section_texts(quote)[0].startswith("```\n")  # the table is monospace

    added = await h.command("alert add STAR50 1d up 3")
    assert header(added) == "Added rule r1: STAR 50 1d up 3%"
    assert [r.id for r in await store.rules_of(CHAT)] == ["r1"]
    assert (
        "r1    STAR 50 1d up 3% · waiting for a first quote"
        in section_texts(await h.command("alerts"))[0]
    )
    assert header(await h.command("alert pause r1")) == "Rule r1 paused"
    assert header(await h.command("alert resume r1")) == "Rule r1 waiting for a first quote"
    assert header(await h.command("alert mute r1 2h")) == "Rule r1 muted here for 2h"
    assert await store.rule_muted_until(CHAT, "r1") is not None
    assert header(await h.command("alert rm r1")) == "Removed rule r1"
    assert await store.rules_of(CHAT) == []

    assert header(await h.command("unsubscribe headlines macro")) == (
        "Unsubscribed: headlines, macro"
    )
    assert header(await h.command("subscribe digest")) == "Subscribed: digest"
    assert await store.subscriptions(CHAT) == [Family.MOVES, Family.SPREADS, Family.DIGEST]
    assert header(await h.command("mute 2h")) == "Muted for 2h"
    assert await store.muted_until(CHAT) is not None
    assert header(await h.command("unmute")) == "Unmuted"
    status = await h.command("status")
    assert header(status) == "Status"
    assert "deliveries: 0 sent, 0 pending (0 retrying), 0 failed" in section_texts(status)[0]
    # /divbot with a leading slash on the command word works too
    assert header(await h.command("/help")) == "Commands"


async def test_divergence_slash_command_reaches_the_core(harness: Harness) -> None:
    answer = await harness.command("mtd", command="/divergence")
    assert answer["response_type"] == "in_channel"
    assert header(answer).startswith("China tech vs economy")
    bad = await harness.command("fortnight", command="/divergence")
    assert bad["response_type"] == "ephemeral"
    assert "fortnight" in header(bad)


@pytest.mark.parametrize(
    "text",
    [
        "alert add XYZ 1d up 3",
        "alert add STAR50 1d up -3",
        "alert add",
        "alert rm 12;DROP",
        "alert frobnicate",
        "quote NOPE",
        "subscribe weather",
        "unsubscribe",
        "mute forever",
        "unmute now",
        "status please",
        "help frobnicate",
    ],
)
async def test_bad_arguments_get_one_ephemeral_line_and_change_nothing(
    harness: Harness, redis_client: Redis, text: str
) -> None:
    before = await snapshot(redis_client)
    answer = await harness.command(text)
    assert answer["response_type"] == "ephemeral"
    assert answer["replace_original"] is False
    assert [b["type"] for b in answer["blocks"]] == ["section"]  # one line, nothing else
    assert "\n" not in header(answer)
    assert await snapshot(redis_client) == before


async def test_unknown_command_points_to_help(harness: Harness) -> None:
    answer = await harness.command("frobnicate now")
    assert answer["response_type"] == "ephemeral"
    assert header(answer) == "Unknown command /divbot frobnicate"
    assert section_texts(answer)[1:] == ["Try /divbot help for the list."]


# -- signatures ----------------------------------------------------------------------------
def _bad_requests(h: Harness, body: bytes) -> dict[str, dict[str, str]]:
    now = int(h.clock.now().timestamp())
    good = signed_headers(body, str(now))
    return {
        "wrong secret": signed_headers(body, str(now), secret="not-the-secret"),
        "no signature": {"X-Slack-Request-Timestamp": str(now)},
        "no timestamp": {"X-Slack-Signature": good["X-Slack-Signature"]},
        "no headers": {},
        "stale": signed_headers(body, str(now - 301)),
        "future": signed_headers(body, str(now + 301)),
        "non-numeric timestamp": signed_headers(body, "12e9"),
        "negative timestamp": signed_headers(body, "-1"),
        "malformed signature": {**good, "X-Slack-Signature": "v0=zz"},
        "v1 signature": {
            **good,
            "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1="),
        },
        "altered body": signed_headers(body.replace(b"up+3", b"up+9"), str(now)),
    }


async def test_bad_signatures_get_401_write_nothing_and_call_nothing(
    harness: Harness, redis_client: Redis
) -> None:
    h = harness
    body = h.command_body("alert add STAR50 1d up 3")  # would write a rule if accepted
    assert b"up+3" in body
    before = await snapshot(redis_client)
    for name, headers in _bad_requests(h, body).items():
        resp = await h.post(body, headers=headers)
        assert resp.status == 401, name
        assert await resp.json() == {"error": "invalid request"}, name
    # A request inside the five-minute window still passes (the edge is inclusive).
    edge = int(h.clock.now().timestamp()) - 300
    ok = await h.post(h.command_body("alerts"), ts=str(edge))
    assert ok.status == 200
    await h.fake.wait_for("respond")
    assert await snapshot(redis_client) == before
    # Only the good request reached Slack: no auth.test, users.info or reply for the rest.
    assert [c.method for c in h.fake.calls] == ["auth.test", "respond"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe not utf-8", "application/x-www-form-urlencoded"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (b'{"type": "event_callback", ', "application/json"),
    ],
)
async def test_unreadable_but_signed_body_is_a_4xx(
    harness: Harness, body: bytes, content_type: str
) -> None:
    resp = await harness.client.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": content_type, **signed_headers(body, harness.now_ts())},
    )
    assert 400 <= resp.status < 500
    assert harness.fake.calls == []


# -- authorization ---------------------------------------------------------------------------
async def test_unauthorised_user_is_refused_ephemerally(
    harness: Harness, redis_client: Redis
) -> None:
    h = harness
    h.fake.users["UNOBODY"] = {"is_admin": False, "is_owner": False}
    before = await snapshot(redis_client)
    for text in ("alert add STAR50 1d up 3", "subscribe moves", "mute 1h", "unmute"):
        answer = await h.command(text, user="UNOBODY")
        assert header(answer) == REFUSALS["slack"]
        assert answer["response_type"] == "ephemeral"
    assert await snapshot(redis_client) == before
    # users.info was asked once, then the answer was cached
    assert [c.args["user"] for c in h.fake.of("users.info")] == ["UNOBODY"]
    # read-only commands work for anyone
    assert header(await h.command("alerts", user="UNOBODY")).startswith("No alert rules")
    assert header(await h.command("help", user="UNOBODY")) == "Commands"
    assert len(h.fake.of("users.info")) == 1
    # the cache is brief: after it expires users.info is asked again
    h.clock.set(h.clock.now() + timedelta(minutes=6))
    await h.command("mute 1h", user="UNOBODY")
    assert len(h.fake.of("users.info")) == 2


async def test_workspace_admin_and_owner_may_change_the_channel(harness: Harness) -> None:
    h = harness
    h.fake.users["UWSADMIN"] = {"is_admin": True, "is_owner": False}
    h.fake.users["UOWNER"] = {"is_admin": False, "is_owner": True}
    assert header(await h.command("subscribe moves", user="UWSADMIN")) == "Subscribed: moves"
    assert header(await h.command("subscribe macro", user="UOWNER")) == "Subscribed: macro"
    # an unknown user (users.info error) is not an admin
    assert header(await h.command("subscribe digest", user="UGHOST")) == REFUSALS["slack"]
    # the configured admin needs no users.info at all
    await h.command("subscribe spreads")
    assert sorted(c.args["user"] for c in h.fake.of("users.info")) == [
        "UGHOST",
        "UOWNER",
        "UWSADMIN",
    ]


async def test_direct_message_with_the_bot_is_the_users_own_chat(harness: Harness) -> None:
    answer = await harness.command("subscribe moves", user="UNOBODY", channel="D123")
    assert header(answer) == "Subscribed: moves"
    assert await harness.core.store.subscriptions("slack:D123") == [Family.MOVES]
    assert harness.fake.of("users.info") == []


async def test_allowed_chats_keeps_other_channels_out(
    settings: Settings, redis_client: Redis, clock: SimClock, fake_slack: FakeSlack
) -> None:
    s = slack_settings(settings, fake_slack, allowed_chats=["slack:C999"])
    h = await open_harness(s, redis_client, clock, fake_slack)
    try:
        answer = await h.command("subscribe moves")
        assert header(answer) == NOT_SERVED
        assert answer["response_type"] == "ephemeral"
        assert await h.core.store.subscriptions(CHAT) == []
        assert header(await h.command("help", channel="C999")) == "Commands"
    finally:
        await h.client.close()


# -- buttons -------------------------------------------------------------------------------
async def test_alert_buttons_mute_and_remove_through_the_command_core(harness: Harness) -> None:
    h = harness
    await h.command("alert add STAR50 1d up 3")
    h.fake.users["UNOBODY"] = {"is_admin": False}
    refused = await h.button("rm:r1", user="UNOBODY")
    assert header(refused) == REFUSALS["slack"]
    assert refused["response_type"] == "ephemeral"
    assert [r.id for r in await h.core.store.rules_of(CHAT)] == ["r1"]

    muted = await h.button("mute:r1:3600")
    assert header(muted) == "Rule r1 muted here for 1h"
    until = await h.core.store.rule_muted_until(CHAT, "r1")
    assert until == h.clock.now().timestamp() + 3600
    assert header(await h.button("rm:r1")) == "Removed rule r1"
    assert await h.core.store.rules_of(CHAT) == []

    for value in ("rm:r1;x", "mute:r1:0", "mute:r1:99999999", "nuke:r1", "mute:abc:3600"):
        answer = await h.button(value)
        assert answer["response_type"] == "ephemeral", value


# -- outside text and long replies ---------------------------------------------------------------
def _all_text(payload: dict[str, Any]) -> list[str]:
    out = [payload["text"]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    out.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload["blocks"])
    return out


async def test_user_text_with_mentions_is_rendered_inert(harness: Harness) -> None:
    # Slack sends user text with its control characters as entities.
    answer = await harness.command("quote &lt;!channel&gt; &amp;")
    assert answer["response_type"] == "ephemeral"
    texts = _all_text(answer)
    assert any("&lt;!channel&gt;" in t for t in texts)
    for text in texts:
        assert "<" not in text
        assert ">" not in text


def _alert(alert_id: str, message: Message, family: Family = Family.MOVES) -> Alert:
    return Alert(
        id=alert_id, family=family, message=message, at=datetime(2026, 1, 12, 2, tzinfo=UTC)
    )


def _headline_message() -> Message:
    return Message(
        title="<!channel> STAR 50 +3.2% today & rising",
        lines=["Regulator: <https://evil.example|click here> & <@U123> <!here>"],
        fields=[("STAR 50 <b>", "1,506.86"), ("1D", "+3.2% & more")],
        source="feed <!everyone>",
        at=datetime(2026, 1, 12, 2, 0, tzinfo=UTC),
        buttons=[Button("Mute 1h", "mute:r1:3600"), Button("Remove rule", "rm:r1")],
    )


async def test_outside_text_in_alerts_reaches_slack_escaped(harness: Harness) -> None:
    h = harness
    delivery = await h.bot.sender.send(ChatRef("slack", CHANNEL), _headline_message())
    assert delivery.outcome is Outcome.SENT
    (call,) = h.fake.of("chat.postMessage")
    assert call.token == BOT_TOKEN
    texts = _all_text(call.args)
    for text in texts:
        assert "<" not in text, text
        assert ">" not in text, text
        stripped = text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")
        assert "&" not in stripped, text
    assert header(call.args) == "&lt;!channel&gt; STAR 50 +3.2% today &amp; rising"
    assert "&lt;https://evil.example|click here&gt;" in section_texts(call.args)[0]
    kinds = [b["type"] for b in call.args["blocks"]]
    assert kinds == ["header", "section", "section", "context", "actions"]
    buttons = call.args["blocks"][-1]["elements"]
    assert [b["value"] for b in buttons] == ["mute:r1:3600", "rm:r1"]


async def test_a_reply_of_80_lines_is_split_within_block_kit_limits(harness: Harness) -> None:
    lines = [f"line {n:02d} " + "x" * 90 + " & <!here>" for n in range(80)]
    message = Message(title="Eighty lines", lines=lines, preformatted=True)
    delivery = await harness.bot.sender.send(ChatRef("slack", CHANNEL), message)
    assert delivery.outcome is Outcome.SENT
    posts = harness.fake.of("chat.postMessage")
    assert len(posts) == 1
    blocks = posts[0].args["blocks"]
    assert len(blocks) <= 50
    sections = section_texts(posts[0].args)
    assert len(sections) >= 3  # 80 × ~115 characters do not fit one section
    for text in sections:
        assert len(text) <= 3000
        assert text.startswith("```\n")
        assert text.endswith("\n```")
    body = "\n".join(s.removeprefix("```\n").removesuffix("\n```") for s in sections)
    assert body.split("\n") == [
        line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for line in lines
    ]


# -- alert delivery through the outbox ---------------------------------------------------------
async def test_one_alert_reaches_a_slack_channel_and_a_telegram_chat(
    harness: Harness, redis_server: RedisServer
) -> None:
    """One running bot, one rule's alert: a Slack channel and a Telegram group both get it,
    each through its real transport and fake platform."""
    h = harness
    fake_tg = FakeTelegram()
    await fake_tg.start()
    both = h.settings.model_copy(
        update={"telegram_token": SecretStr(TG_TOKEN), "telegram_api_base": fake_tg.url}
    )
    telegram = TelegramTransport(both, h.core)
    await telegram.start()
    try:
        store = h.core.store
        await store.subscribe(CHAT, Family.MOVES)
        await store.subscribe("telegram:-1001", Family.MOVES)
        senders: dict[str, Sender] = {"slack": h.bot.sender, "telegram": telegram.sender()}
        queued = await h.core.service.dispatch(_alert("a1", _headline_message()))
        assert queued == [CHAT, "telegram:-1001"]
        assert await deliver_now(h.core.outbox, senders) == 2
        (sent,) = fake_tg.requests("sendMessage", chat_id=-1001)
        assert html.escape(_headline_message().title, quote=False) in str(sent.params["text"])
        (post,) = h.fake.of("chat.postMessage")
        assert post.args["channel"] == CHANNEL
        assert await deliver_now(h.core.outbox, senders) == 0  # delivered once, acked
    finally:
        await telegram.stop()
        await fake_tg.close()


async def test_429_waits_for_retry_after(harness: Harness, redis_client: Redis) -> None:
    h = harness
    await h.core.store.subscribe(CHAT, Family.MOVES)
    senders: dict[str, Sender] = {"slack": h.bot.sender}
    h.fake.fail("chat.postMessage", Failure(429, error="ratelimited", headers={"Retry-After": "7"}))
    await h.core.service.dispatch(_alert("a429", _headline_message()))
    assert await deliver_now(h.core.outbox, senders) == 0
    due = await redis_client.zrange(RETRY_DUE, 0, -1, withscores=True)
    assert [score for _id, score in due] == [h.clock.now().timestamp() + 7]
    h.clock.set(h.clock.now() + timedelta(seconds=6))
    assert await deliver_now(h.core.outbox, senders) == 0
    assert len(h.fake.of("chat.postMessage")) == 1  # not before Retry-After
    h.clock.set(h.clock.now() + timedelta(seconds=1))
    assert await deliver_now(h.core.outbox, senders) == 1
    assert len(h.fake.of("chat.postMessage")) == 2
    assert await h.core.store.subscriptions(CHAT) == [Family.MOVES]


async def test_not_in_channel_deactivates_that_channels_subscriptions(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    gone = "slack:C000"
    for family in (Family.MOVES, Family.SPREADS):
        await h.core.store.subscribe(gone, family)
    await h.core.store.subscribe(CHAT, Family.MOVES)
    h.fake.fail("chat.postMessage", Failure(200, error="not_in_channel"))  # C000 comes first
    await h.core.service.dispatch(_alert("agone", _headline_message()))
    with caplog.at_level(logging.INFO):
        assert await deliver_now(h.core.outbox, {"slack": h.bot.sender}) == 1
    assert [c.args["channel"] for c in h.fake.of("chat.postMessage")] == ["C000", CHANNEL]
    assert await h.core.store.subscriptions(gone) == []
    assert await h.core.store.subscriptions(CHAT) == [Family.MOVES]  # others untouched
    assert await h.core.outbox.dead() == 1
    assert "chat slack:C000 is gone (slack: not_in_channel): dormant until /start" in caplog.text
    assert await h.core.store.is_dormant(gone)  # one policy on every platform: /start restores
    for code in ("channel_not_found", "is_archived"):
        h.fake.fail("chat.postMessage", Failure(200, error=code))
        result = await h.bot.sender.send(ChatRef("slack", "C000"), _headline_message())
        assert result.outcome is Outcome.GONE
        assert result.chat_gone


async def test_5xx_and_other_errors_are_retried_with_backoff(harness: Harness) -> None:
    h = harness
    await h.core.store.subscribe(CHAT, Family.MOVES)
    senders: dict[str, Sender] = {"slack": h.bot.sender}
    h.fake.fail(
        "chat.postMessage",
        Failure(503, body="<html>Service Unavailable</html>"),
        Failure(200, error="internal_error"),
    )
    await h.core.service.dispatch(_alert("a5xx", _headline_message()))
    assert await deliver_now(h.core.outbox, senders) == 0  # 503: backoff 2s
    h.clock.set(h.clock.now() + timedelta(seconds=2))
    assert await deliver_now(h.core.outbox, senders) == 0  # internal_error: backoff 4s
    h.clock.set(h.clock.now() + timedelta(seconds=4))
    assert await deliver_now(h.core.outbox, senders) == 1
    assert len(h.fake.of("chat.postMessage")) == 3
    assert await h.core.outbox.dead() == 0
    assert await h.core.store.subscriptions(CHAT) == [Family.MOVES]


async def test_network_failure_is_a_retry(
    settings: Settings, redis_client: Redis, clock: SimClock, fake_slack: FakeSlack
) -> None:
    s = slack_settings(settings, fake_slack, slack_api_base="http://127.0.0.1:9/api/")
    h = await open_harness(s, redis_client, clock, fake_slack)
    try:
        result = await h.bot.sender.send(ChatRef("slack", CHANNEL), _headline_message())
        assert result.outcome is Outcome.RETRY
        assert result.reason.startswith("slack unreachable")
    finally:
        await h.client.close()


async def test_images_go_through_the_files_api(harness: Harness) -> None:
    h = harness
    png = b"\x89PNG\r\n\x1a\n synthetic chart bytes"
    message = Message(title="STAR 50 vs NDX", lines=["a chart"], image=png)
    result = await h.bot.sender.send(ChatRef("slack", CHANNEL), message)
    assert result.outcome is Outcome.SENT
    methods = [c.method for c in h.fake.calls]
    assert methods == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert h.fake.of("upload")[0].args["bytes"] == png
    assert h.fake.of("files.getUploadURLExternal")[0].args["length"] == str(len(png))
    assert h.fake.of("files.completeUploadExternal")[0].args["channel_id"] == CHANNEL


async def test_app_mention_gets_a_pointer(harness: Harness) -> None:
    body = json.dumps(
        {
            "token": "verification_token",
            "team_id": "T111",
            "api_app_id": "A111",
            "type": "event_callback",
            "event_id": "Ev1",
            "event_time": 1768183200,
            "event": {
                "type": "app_mention",
                "user": "U222",
                "text": "<@UBOT> hi",
                "ts": "1768183200.000100",
                "channel": CHANNEL,
            },
        }
    ).encode()
    resp = await harness.client.post(
        "/slack/events",
        data=body,
        headers={"Content-Type": "application/json", **signed_headers(body, harness.now_ts())},
    )
    assert resp.status == 200
    await harness.fake.wait_for("chat.postMessage")
    (post,) = harness.fake.of("chat.postMessage")
    assert post.args["text"] == MENTION_HINT
    assert post.args["thread_ts"] == "1768183200.000100"


# -- secrets --------------------------------------------------------------------------------
async def test_logs_hold_neither_the_bot_token_nor_the_signing_secret(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.DEBUG)  # the chattiest the libraries get
    body = h.command_body("alert add STAR50 1d up 3")
    await h.post(body, headers=signed_headers(body, h.now_ts(), secret="wrong"))
    await h.command("alert add STAR50 1d up 3")
    await h.command("subscribe moves", user="UGHOST")
    h.fake.fail("chat.postMessage", Failure(429, error="ratelimited", headers={"Retry-After": "1"}))
    h.fake.fail("chat.postMessage", Failure(200, error="invalid_auth"))
    results = [
        await h.bot.sender.send(ChatRef("slack", CHANNEL), _headline_message()) for _ in range(3)
    ]
    assert [r.outcome for r in results] == [Outcome.RETRY, Outcome.RETRY, Outcome.SENT]
    assert "Sending a request" in caplog.text  # slack_sdk's debug lines were captured
    for secret in (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN):
        assert secret not in caplog.text
        assert all(secret not in r.reason for r in results)
    assert BOT_TOKEN not in repr(h.settings)
    assert SIGNING_SECRET not in repr(h.settings)


# -- Socket Mode ------------------------------------------------------------------------------
async def test_socket_mode_serves_the_same_commands(
    settings: Settings, redis_client: Redis, clock: SimClock, fake_slack: FakeSlack
) -> None:
    s = slack_settings(settings, fake_slack, slack_app_token=APP_TOKEN, slack_signing_secret=None)
    h = await open_harness(s, redis_client, clock, fake_slack)
    try:
        (open_call,) = fake_slack.of("apps.connections.open")
        assert open_call.token == APP_TOKEN
        await fake_slack.wait_for("socket.open")
        payload = {
            "token": "verification_token",
            "team_id": "T111",
            "channel_id": CHANNEL,
            "user_id": ADMIN,
            "command": "/divbot",
            "text": "alert add STAR50 1d up 3",
            "api_app_id": "A111",
            "response_url": fake_slack.response_url(),
            "trigger_id": "1.2.3",
        }
        await fake_slack.push("slash_commands", payload, "env-1")
        await fake_slack.wait_for("respond")
        await fake_slack.wait_for("socket.ack")
        (ack,) = fake_slack.of("socket.ack")
        assert ack.args["envelope_id"] == "env-1"
        assert header(fake_slack.of("respond")[0].args) == "Added rule r1: STAR 50 1d up 3%"
        # no HTTP route without a signing secret
        resp = await h.post(h.command_body("help"))
        assert resp.status == 404
    finally:
        await h.client.close()


async def test_a_follow_up_goes_into_the_first_alerts_thread(harness: Harness) -> None:
    """Noise control (bot.chat.gate): the same rule firing again in one session threads."""
    h = harness
    await h.core.store.subscribe(CHAT, Family.MOVES)
    senders: dict[str, Sender] = {"slack": h.bot.sender}
    session = date(2026, 1, 12)
    for n in (1, 2):
        base = _alert(f"fu{n}", Message(f"STAR 50 +{n + 2}% on the day (synthetic)"))
        await h.core.service.dispatch(replace(base, rule_id="r9", session=session))
        assert await deliver_now(h.core.outbox, senders) == 1
    first, second = h.fake.of("chat.postMessage")
    assert "thread_ts" not in first.args
    stored = await h.core.redis.get(f"divbot:chat:{CHAT}:first:r9:2026-01-12")
    assert stored
    assert second.args["thread_ts"] == stored


async def test_a_headline_events_later_report_goes_into_its_first_alerts_thread(
    harness: Harness,
) -> None:
    """One event, two outlets (issue 18.1): the SCMP report is posted in the CSRC alert's
    thread (thread_ts), carrying who reported it."""
    h = harness
    await h.core.store.subscribe(CHAT, Family.HEADLINES)
    senders: dict[str, Sender] = {"slack": h.bot.sender}
    csrc, scmp = ListFeed("csrc", "CSRC"), ListFeed("scmp_china_economy", "SCMP")
    job = event_job(h.core, csrc, scmp)
    now = h.clock.now()
    csrc.publish(MARGIN_CSRC, now - timedelta(minutes=30), 1)
    await job.run_once(now)
    assert await deliver_now(h.core.outbox, senders) == 1
    scmp.publish(MARGIN_SCMP, now - timedelta(minutes=10), 2)
    await job.run_once(now + timedelta(minutes=5))
    assert await deliver_now(h.core.outbox, senders) == 1
    first, second = h.fake.of("chat.postMessage")
    assert "thread_ts" not in first.args
    [key] = await h.core.redis.keys(f"divbot:chat:{CHAT}:first:ev*")
    assert second.args["thread_ts"] == await h.core.redis.get(key)
    assert any("also: SCMP " in text for text in _all_text(second.args))


async def test_every_reply_on_the_wire_names_commands_as_slack_takes_them(
    harness: Harness,
) -> None:
    """Issue 17.4 through bolt and response_url: 21 of 64 Slack replies said /help,
    /quote, "remove with /alert rm r7"; Slack rejects them. Scanned as posted."""
    texts = [
        "",
        "help",
        "help alert",
        "help bogus",
        "start",
        "alerts",
        "alert add STAR50 1d up 3",
        "alert add STAR50 1d up abc",
        "alert rm r9",
        "alert frobnicate",
        "alerts",
        "subscribe weather",
        "mute 2h",
        "mute forever",
        "unmute now",
        "quiet",
        "quiet 22:00-07:00",
        "notify headlines silent",
        "notify group 99m",
        "timezone",
        "timezone Mars/Olympus",
        "keywords",
        "calendar 999",
        "macro",
        "macro set PPI -1.9",
        "history 999",
        "status please",
        "frobnicate",
    ]
    wrong = []
    for text in texts:
        shown = strings(await harness.command(text))
        bad = sorted({m for m in BARE.findall(shown) if m not in SLACK_OWN})
        if bad:
            wrong.append(f"/divbot {text}: /{', /'.join(bad)}")
    assert not wrong, "\n".join(wrong)
    long = await harness.command("alert add STAR50 1d up " + "z" * 3000)
    assert [b["type"] for b in long["blocks"]] == ["section"]
    assert "z" * 41 not in json.dumps(long)
