"""Outgoing webhooks end to end: the production transport (bot.transports.webhook) on a
core on the real Redis, the real outbox, POSTing over loopback HTTP to a receiver that
checks every request's HMAC signature (tests/fakes/webhook_receiver.py).

- 2xx: delivered once, signed, in the documented schema 1; the README's verification
  snippet accepts it and refuses a tampered or stale one;
- 429 waits for Retry-After (or Discord's JSON retry_after); 5xx and 408 back off;
- 404/410: dead-lettered and the endpoint switched off until the next start; any other
  4xx or a redirect: dead-lettered with the status, subscriptions kept;
- a request that got no answer: retried, counted uncertain (the receiver sees it twice);
  an unreachable endpoint: retried, and no log or reason holds its URL's credential;
- the Discord format; start-up subscriptions from the configuration;
- one alert fanned out to a Telegram chat, a Slack channel and a webhook at once by the
  real Deliverer, and the live app delivering to a webhook through its one line of wiring.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import CORE, build_app
from bot.clock import SimClock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import RETRY_DUE
from bot.delivery.sending import Outcome, Sender
from bot.models import Alert, ChatRef, Family, Message
from bot.state import keys
from bot.transports.plugins import Plugged
from bot.transports.slack import SlackPlugin
from bot.transports.telegram import TelegramPlugin
from bot.transports.webhook import schema
from bot.transports.webhook.sender import sign
from bot.transports.webhook.transport import LIMITS, WebhookTransport
from bot.wiring import Core, build_core
from tests.conftest import RedisServer
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.webhook_receiver import Answer, WebhookReceiver
from tests.support.delivering import deliver_now, deliver_until
from tests.wire.ops.test_app import offline
from tests.wire.transports.webhook.conftest import SECRET, URL_TOKEN, webhook_settings

ROOT = Path(__file__).resolve().parents[4]
AT = datetime(2026, 1, 12, 1, 45, tzinfo=UTC)
DESK = "webhook:desk"


def alert(n: int = 1, family: Family = Family.MOVES, **message: Any) -> Alert:
    body: dict[str, Any] = {
        "title": f"STAR 50 +3.{n}% on the day",
        "lines": ["Rule r12: STAR 50 1d up 3%"],
        "fields": [("STAR 50", "1,479.20"), ("1D", f"+3.{n}%")],
        "source": "eastmoney",
        "at": AT,
        **message,
    }
    return Alert(f"a{n}", family, Message(**body), AT, rule_id="r12", severity="warning")


def senders(transport: WebhookTransport) -> dict[str, Sender]:
    return {"webhook": transport.sender()}


async def dead_reasons(core: Core) -> list[str]:
    return [fields["reason"] for _, fields in await core.redis.xrange(keys.OUTBOX_DEAD)]


def metric(core: Core, outcome: str) -> str:
    return f'divbot_deliveries_total{{outcome="{outcome}",platform="webhook"}}'


# -- 2xx -------------------------------------------------------------------------------
async def test_an_alert_is_posted_once_signed_in_schema_1(
    receiver: WebhookReceiver, transport: WebhookTransport, core: Core, clock: SimClock
) -> None:
    queued = await core.service.dispatch(alert())
    assert queued == [DESK, "webhook:desk2", "webhook:disc"]  # all subscribed to moves
    assert await deliver_now(core.outbox, senders(transport)) == 3
    [hook] = receiver.delivered("desk")
    assert hook.json == {
        "schema": 1,
        "id": "a1",
        "chat": DESK,
        "family": "moves",
        "severity": "warning",
        "rule_id": "r12",
        "title": "STAR 50 +3.1% on the day",
        "lines": ["Rule r12: STAR 50 1d up 3%"],
        "fields": [{"name": "STAR 50", "value": "1,479.20"}, {"name": "1D", "value": "+3.1%"}],
        "source": "eastmoney",
        "at": "2026-01-12T01:45:00Z",
        "preformatted": False,
    }
    stamp = str(int(clock.now().timestamp()))
    assert hook.headers["X-Divbot-Timestamp"] == stamp
    assert hook.headers["X-Divbot-Signature"] == sign(SECRET.encode(), stamp, hook.body)
    assert hook.headers["Content-Type"] == "application/json"
    [own] = receiver.delivered("desk2")  # signed with its own key (the receiver checked)
    assert own.json["chat"] == "webhook:desk2"
    assert receiver.forged == []  # every request's signature verified
    assert await deliver_now(core.outbox, senders(transport)) == 0  # acknowledged: not again
    assert len(receiver.received) == 3
    assert await core.outbox.pending() == 0
    text = core.metrics.render().decode()
    assert f"{metric(core, 'sent')} 3.0" in text


def readme_verify() -> Any:
    """The verification example in README's Webhooks section, as a receiver would paste it."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Webhooks") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "README's Webhooks section has no python example"
    space: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), space)  # noqa: S102 - our own README
    return space["verify"]


async def test_the_readme_snippet_verifies_our_requests_and_refuses_tampering(
    receiver: WebhookReceiver, transport: WebhookTransport, core: Core, clock: SimClock
) -> None:
    verify = readme_verify()
    await core.service.dispatch(alert())
    await deliver_now(core.outbox, senders(transport))
    [hook] = receiver.delivered("desk")
    now = clock.now().timestamp()
    key = SECRET.encode()
    assert verify(key, hook.headers, hook.body, now=now)
    assert not verify(key, hook.headers, hook.body.replace(b"3.1", b"9.1"), now=now)
    assert not verify(b"not-the-secret-key", hook.headers, hook.body, now=now)
    assert not verify(key, hook.headers, hook.body, now=now + 301)  # a replay, later
    assert not verify(key, {**hook.headers, "X-Divbot-Timestamp": "³"}, hook.body, now=now)
    assert not verify(key, {}, hook.body, now=now)


# -- retries -----------------------------------------------------------------------------
async def test_429_waits_for_retry_after(
    receiver: WebhookReceiver,
    transport: WebhookTransport,
    core: Core,
    clock: SimClock,
    redis_client: Redis,
) -> None:
    receiver.answer("desk", Answer(429, {"Retry-After": "7"}))
    # Discord's way: no header, the wait in the JSON body.
    receiver.answer("disc", Answer(429, body='{"message": "rate limited", "retry_after": 2.5}'))
    await core.service.dispatch(alert())
    assert await deliver_now(core.outbox, senders(transport)) == 1  # desk2 only
    due = sorted(score for _, score in await redis_client.zrange(RETRY_DUE, 0, -1, withscores=True))
    now = clock.now().timestamp()
    assert due == [now + 2.5, now + 7]
    clock.set(clock.now() + timedelta(seconds=2.5))
    assert await deliver_now(core.outbox, senders(transport)) == 1  # disc
    clock.set(clock.now() + timedelta(seconds=4))
    assert await deliver_now(core.outbox, senders(transport)) == 0  # desk: not before 7 s
    assert len(receiver.to("desk")) == 1
    clock.set(clock.now() + timedelta(seconds=0.5))
    assert await deliver_now(core.outbox, senders(transport)) == 1
    assert [h.status for h in receiver.to("desk")] == [429, 204]
    assert await core.outbox.dead() == 0
    assert receiver.forged == []


async def test_5xx_and_408_back_off_then_deliver(
    receiver: WebhookReceiver, transport: WebhookTransport, core: Core, clock: SimClock
) -> None:
    await core.store.unsubscribe("webhook:desk2", Family.MOVES)
    await core.store.unsubscribe("webhook:disc", Family.MOVES)
    receiver.answer("desk", Answer(503, body="<html>down</html>"), Answer(500), Answer(408))
    await core.service.dispatch(alert())
    for wait in (2, 4, 8):  # the outbox's backoff after the 1st, 2nd, 3rd failure
        assert await deliver_now(core.outbox, senders(transport)) == 0
        clock.set(clock.now() + timedelta(seconds=wait - 0.5))
        assert await deliver_now(core.outbox, senders(transport)) == 0  # not yet
        clock.set(clock.now() + timedelta(seconds=0.5))
    assert await deliver_now(core.outbox, senders(transport)) == 1
    assert [h.status for h in receiver.to("desk")] == [503, 500, 408, 204]
    assert len({h.json["id"] for h in receiver.to("desk")}) == 1  # one id: dedupe on it
    assert await core.outbox.dead() == 0
    assert f"{metric(core, 'retry')} 3.0" in core.metrics.render().decode()


async def test_a_request_without_an_answer_is_an_uncertain_retry(
    redis_server: RedisServer, receiver: WebhookReceiver, redis_client: Redis, clock: SimClock
) -> None:
    settings = webhook_settings(redis_server, receiver, http_timeout_s=0.5)
    core = await build_core(settings, redis_client, clock)
    transport = WebhookTransport.configured(settings)
    assert transport is not None
    await transport.start(core)
    try:
        receiver.stall("desk")  # it arrives, and no answer ever comes
        result = await transport.sender().send_alert(
            ChatRef("webhook", "desk"), alert().message, alert()
        )
        assert result.outcome is Outcome.RETRY
        assert result.uncertain
        assert "may have been delivered" in result.reason
        await core.outbox.enqueue(alert(2), DESK)
        receiver.stall("desk")
        assert await deliver_now(core.outbox, senders(transport)) == 0
        clock.set(clock.now() + timedelta(seconds=2))
        assert await deliver_now(core.outbox, senders(transport)) == 1
        ids = [h.json["id"] for h in receiver.to("desk")]
        assert ids == ["a1", "a2", "a2"]  # the receiver saw a2 twice: that is the policy
        assert f"{metric(core, 'uncertain')} 1.0" in core.metrics.render().decode()
    finally:
        await transport.stop()


async def test_an_unreachable_endpoint_is_retried_and_its_url_never_logged(
    redis_server: RedisServer,
    redis_client: Redis,
    clock: SimClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:9/api/webhooks/1/{URL_TOKEN}"  # the discard port: refused
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url=redis_server.url, webhooks=f"gone={url}", webhook_secret=SECRET
    )
    core = await build_core(settings, redis_client, clock)
    transport = WebhookTransport.configured(settings)
    assert transport is not None
    with caplog.at_level(logging.DEBUG):
        await transport.start(core)
        try:
            await core.service.dispatch(alert())
            assert await deliver_now(core.outbox, senders(transport)) == 0
            result = await transport.sender().send(ChatRef("webhook", "gone"), alert().message)
        finally:
            await transport.stop()
    assert result.outcome is Outcome.RETRY
    assert not result.uncertain  # nothing went out
    assert result.reason == "webhook gone unreachable (ClientConnectorError)"
    for text in (caplog.text, result.reason, repr(transport.endpoints)):
        assert URL_TOKEN not in text
        assert SECRET not in text


# -- permanent refusals ------------------------------------------------------------------
@pytest.mark.parametrize("status", [410, 404])
async def test_gone_switches_the_endpoint_off_until_the_next_start(
    status: int,
    receiver: WebhookReceiver,
    transport: WebhookTransport,
    core: Core,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.answer("desk", Answer(status))
    with caplog.at_level(logging.WARNING):
        await core.service.dispatch(alert())
        assert await deliver_now(core.outbox, senders(transport)) == 2  # desk2 and disc
    assert await dead_reasons(core) == [f"webhook desk: HTTP {status}: the endpoint is gone"]
    assert f"webhook desk answered HTTP {status}: switched off" in caplog.text
    assert await core.store.subscriptions(DESK) == []
    assert await core.store.is_dormant(DESK)
    assert await core.service.dispatch(alert(2)) == ["webhook:desk2", "webhook:disc"]
    await deliver_now(core.outbox, senders(transport))
    assert len(receiver.to("desk")) == 1
    # The operator restarts the bot with the endpoint still configured: it is on again.
    again = WebhookTransport.configured(settings)
    assert again is not None
    await again.start(core)
    await again.stop()
    assert await core.store.subscriptions(DESK) == list(Family)[:4]
    assert not await core.store.is_dormant(DESK)


async def test_other_4xx_and_redirects_dead_letter_with_the_status(
    receiver: WebhookReceiver, transport: WebhookTransport, core: Core
) -> None:
    receiver.answer("desk", Answer(400, body="bad payload"))
    receiver.answer("desk2", Answer(301, {"Location": "http://127.0.0.1:9/elsewhere"}))
    receiver.answer("disc", Answer(403))
    await core.service.dispatch(alert())
    assert await deliver_now(core.outbox, senders(transport)) == 0
    assert sorted(await dead_reasons(core)) == [
        "webhook desk2: HTTP 301: redirects are not followed; fix WEBHOOKS",
        "webhook desk: HTTP 400 Bad Request: refused",
        "webhook disc: HTTP 403 Forbidden: refused",
    ]
    assert len(receiver.received) == 3  # the redirect was not followed
    for chat in (DESK, "webhook:desk2", "webhook:disc"):  # one bad alert, not a gone endpoint
        assert Family.MOVES in await core.store.subscriptions(chat)
    assert f"{metric(core, 'gone')} 3.0" in core.metrics.render().decode()


# -- Discord ----------------------------------------------------------------------------------
async def test_discord_gets_content_and_an_embed_with_no_mentions(
    receiver: WebhookReceiver, transport: WebhookTransport, core: Core
) -> None:
    headline = alert(
        3,
        Family.MACRO,
        title="@everyone **PPI** −1.9% [read](https://evil.example) <@123>",
        lines=["Streak: 39 months below zero", "_note_ `x`"],
        fields=[(f"k{i}", "-0.2%") for i in range(30)],
        source="stats.gov.cn *",
    )
    await core.service.dispatch(headline)
    await deliver_now(core.outbox, senders(transport))
    [hook] = receiver.delivered("disc")
    body = hook.json
    assert set(body) == {"content", "allowed_mentions", "embeds"}
    assert body["allowed_mentions"] == {"parse": []}  # @everyone and <@123> ping no one
    assert body["content"] == (
        r"@everyone \*\*PPI\*\* −1.9% \[read\]\(https://evil.example\) \<@123\>"
    )
    [embed] = body["embeds"]
    assert embed["description"] == "Streak: 39 months below zero\n\\_note\\_ \\`x\\`"
    assert len(embed["fields"]) == 25  # Discord's limit
    assert embed["fields"][0] == {"name": "k0", "value": r"\-0.2%", "inline": True}
    assert embed["footer"] == {"text": "stats.gov.cn *"}  # footers are not markdown
    assert embed["timestamp"] == "2026-01-12T01:45:00Z"
    assert embed["color"] == schema.COLOURS["warning"]
    assert receiver.forged == []  # signed too (it has a key); Discord ignores the headers


def test_discord_limits_and_tables() -> None:
    table = Message("Digest", lines=["STAR 50  +12.9%", "has ``` fence"], preformatted=True)
    body = schema.discord_json(table, None)
    assert body["embeds"][0]["description"] == "```\nSTAR 50  +12.9%\nhas `\u200b`` fence\n```"
    assert "timestamp" not in body["embeds"][0]  # no time known
    huge = Message("x" * 3000, lines=["y" * 9000], fields=[("n" * 300, "v" * 2000)])
    body = schema.discord_json(huge, None)
    embed = body["embeds"][0]
    assert len(body["content"]) == 2000
    assert len(embed["description"]) <= 4096
    assert len(embed["fields"][0]["name"]) == 256
    assert len(embed["fields"][0]["value"]) == 1024
    assert len(embed["description"]) + 256 + 1024 <= 6000
    assert schema._clip("ab\\*c", 4) == "ab…"  # never a lone escaping backslash
    assert schema.discord_json(Message("only a title"), None) == {
        "content": "only a title",
        "allowed_mentions": {"parse": []},
    }


# -- subscriptions -----------------------------------------------------------------------------
async def test_start_up_sets_subscriptions_from_the_configuration(
    redis_server: RedisServer, receiver: WebhookReceiver, redis_client: Redis, clock: SimClock
) -> None:
    settings = webhook_settings(
        redis_server, receiver, webhook_families=["moves", "headlines"], noise_group_window_s=5
    )
    core = await build_core(settings, redis_client, clock)
    await core.store.subscribe("webhook:old", Family.MOVES)  # no longer in WEBHOOKS
    await core.store.subscribe(DESK, Family.DIGEST)  # not among its families
    await core.store.subscribe("telegram:42", Family.MOVES)  # not ours to touch
    transport = WebhookTransport.configured(settings)
    assert transport is not None
    await transport.start(core)
    await transport.stop()
    store = core.store
    assert await store.subscriptions("webhook:old") == []
    assert await store.subscriptions(DESK) == [Family.MOVES, Family.HEADLINES]  # WEBHOOK_FAMILIES
    assert await store.subscriptions("webhook:desk2") == [Family.MOVES]  # families=moves
    assert await store.subscriptions("webhook:disc") == [Family.MOVES, Family.MACRO]
    assert await store.subscriptions("telegram:42") == [Family.MOVES]
    assert core.noise is not None
    assert await core.noise.prefs.group_window(DESK) == 0  # one POST per alert
    assert await core.noise.prefs.group_window("telegram:42") == 5
    # The rest of the interface: a Discord endpoint is a channel (paced 30/min), nobody
    # administers a webhook, and a stopped transport is not ready.
    assert transport.is_group(ChatRef("webhook", "disc"))
    assert not transport.is_group(ChatRef("webhook", "desk"))
    assert not await transport.can_admin(ChatRef("webhook", "desk"), "anyone")
    assert not await transport.ready()
    assert transport.limits.per_group == ratelimit.RateWindow(30, 60.0)


# -- with the other platforms, through the real Deliverer ---------------------------------------
@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


async def test_one_alert_reaches_telegram_slack_and_a_webhook_at_once(
    settings: Settings,
    redis_client: Redis,
    clock: SimClock,
    receiver: WebhookReceiver,
    fake_tg: FakeTelegram,
    fake_slack: FakeSlack,
) -> None:
    every = settings.model_copy(
        update={
            "telegram_token": SecretStr(TOKEN),
            "telegram_api_base": fake_tg.url,
            "slack_bot_token": SecretStr(BOT_TOKEN),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_base": fake_slack.api_base,
        }
    )
    core = await build_core(every, redis_client, clock)
    transports = [
        TelegramPlugin.configured(every),
        SlackPlugin.configured(every),
        WebhookTransport.configured(every),
    ]
    plugged = Plugged(transports, *(lambda app: app,) * 3)  # type: ignore[arg-type]
    started = []
    try:
        for transport in plugged.transports.values():
            await transport.start(core)
            started.append(transport)
        await core.store.subscribe("telegram:-1001", Family.MOVES)
        await core.store.subscribe("slack:C111", Family.MOVES)
        await core.store.unsubscribe("webhook:desk2", Family.MOVES)
        await core.store.unsubscribe("webhook:disc", Family.MOVES)
        deliverer = Deliverer(
            core.outbox,
            {name: t.sender() for name, t in plugged.transports.items()},
            plugged.limiters(),
            plugged.is_group,
        )
        queued = await core.service.dispatch(alert())
        assert queued == ["slack:C111", "telegram:-1001", DESK]

        await deliver_until(deliverer, lambda: deliverer.sent == 3)  # sent and settled
    finally:
        for transport in reversed(started):
            await transport.stop()
    [tg] = fake_tg.requests("sendMessage", chat_id=-1001)
    assert str(tg.params["text"]).startswith("<b>STAR 50 +3.1% on the day</b>")
    [post] = fake_slack.of("chat.postMessage")
    assert post.args["channel"] == "C111"
    [hook] = receiver.delivered("desk")
    assert hook.json["id"] == "a1"
    assert receiver.forged == []
    assert await core.outbox.dead() == 0
    sample = core.metrics.render().decode()
    for platform in ("telegram", "slack", "webhook"):
        assert f'divbot_deliveries_total{{outcome="sent",platform="{platform}"}} 1.0' in sample


SCALE = 10
SCALED = ratelimit.Limits(
    overall=ratelimit.RateWindow(LIMITS.overall.count, LIMITS.overall.seconds / SCALE),
    per_chat=ratelimit.RateWindow(LIMITS.per_chat.count, LIMITS.per_chat.seconds / SCALE),
)


async def test_the_deliverer_paces_each_endpoint_and_honours_retry_after(
    receiver: WebhookReceiver, transport: WebhookTransport, core: Core
) -> None:
    """Webhook limits scaled 10x (one POST per endpoint per 0.1 s): a 429 with
    Retry-After 0.5 holds that endpoint alone, and nothing is sent twice."""
    receiver.answer("desk", Answer(429, {"Retry-After": "0.5"}))
    for n in range(4):
        await core.service.dispatch(alert(n))
    deliverer = Deliverer(
        core.outbox, senders(transport), {"webhook": ratelimit.RateLimiter(SCALED)}
    )
    names = ("desk", "desk2", "disc")
    await deliver_until(deliverer, lambda: all(len(receiver.delivered(n)) == 4 for n in names))
    for name in names:
        hooks = receiver.to(name)
        gaps = [b.at - a.at for a, b in zip(hooks, hooks[1:], strict=False)]
        assert all(gap >= SCALED.per_chat.seconds for gap in gaps), name
        titles = [h.json.get("title") or h.json["content"] for h in receiver.delivered(name)]
        assert titles == [alert(n).message.title for n in range(4)], name  # once, in order
    [throttled, *after] = receiver.to("desk")
    assert throttled.status == 429
    assert after[0].at - throttled.at >= 0.5  # not asked again inside Retry-After
    others = [h.at for n in ("desk2", "disc") for h in receiver.to(n)]
    assert min(others) < after[0].at  # the others flowed meanwhile
    assert await core.outbox.pending() == 0
    assert receiver.forged == []


# -- the live app: one line of wiring ------------------------------------------------------------
async def test_the_live_app_delivers_to_a_webhook_and_reports_it_ready(
    settings: Settings, redis_client: Redis, receiver: WebhookReceiver
) -> None:
    receiver.now = time.time  # the live app signs on the wall clock
    app = build_app(offline(settings))
    async with TestClient(TestServer(app)) as client:
        ready = await client.get("/readyz")
        assert (await ready.json())["checks"] == {"redis": True, "webhook": True}
        core = app[CORE]
        now = datetime.now(UTC)
        live = Alert("live1", Family.MOVES, Message("NDX −2.1% on the day", at=now), now)
        await core.service.dispatch(live)
        await receiver.wait_until(lambda: len(receiver.delivered("desk")) == 1)
    [hook] = receiver.delivered("desk")
    assert hook.json["id"] == "live1"
    assert abs(int(hook.headers["X-Divbot-Timestamp"]) - time.time()) < 60  # the wall clock
    assert json.loads(hook.body)["title"] == "NDX −2.1% on the day"
