"""Transports as plug-ins (bot.transports.base.Transport, bot.transports.plugins): every
platform fits the one interface; the host gives the delivery loop each platform's limits
and group rule, starts and stops transports in order, and the live app serves /readyz
from the platforms' own checks. Telegram and Slack run against their loopback fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot.app import build_app
from bot.clock import SimClock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.sending import Sender
from bot.models import ChatRef
from bot.transports.base import Transport
from bot.transports.console import ConsoleSender, ConsoleTransport
from bot.transports.plugins import Plugged, ReadyCheck, plug_in
from bot.transports.slack import SlackPlugin, SlackSender
from bot.transports.telegram import TelegramPlugin, TelegramSender
from bot.wiring import Core, build_core
from tests.conftest import RedisServer
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.fakes.telegram_api import TOKEN, FakeTelegram, server_error
from tests.wire.ops.test_app import offline

CORE = web.AppKey("core", Core)
SENDERS = web.AppKey("senders", dict[str, Sender])
CHECKS = web.AppKey("checks", dict[str, ReadyCheck])


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


@pytest.fixture
def both(redis_server: RedisServer, fake_tg: FakeTelegram, fake_slack: FakeSlack) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        telegram_token=TOKEN,
        telegram_api_base=fake_tg.url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_base=fake_slack.api_base,
        slack_admins=["UADMIN"],
    )


def test_only_configured_platforms_plug_in(both: Settings) -> None:
    bare = Settings(_env_file=None)  # type: ignore[call-arg]
    assert TelegramPlugin.configured(bare) is None
    assert SlackPlugin.configured(bare) is None
    telegram, slack = TelegramPlugin.configured(both), SlackPlugin.configured(both)
    console = ConsoleTransport()
    for transport in (telegram, slack, console):
        assert isinstance(transport, Transport)
    assert (telegram and telegram.platform, telegram and telegram.limits) == (
        "telegram",
        ratelimit.TELEGRAM,
    )
    assert (slack and slack.platform, slack and slack.limits) == ("slack", ratelimit.SLACK)
    assert (console.platform, console.limits) == ("console", None)
    assert isinstance(console.sender(), ConsoleSender)


def test_the_host_gives_each_platform_its_limits_and_group_rule(both: Settings) -> None:
    plugged = Plugged(
        [TelegramPlugin(both), None, SlackPlugin(both), ConsoleTransport()],
        lambda a: a[CORE],
        lambda a: a[SENDERS],
        lambda a: a[CHECKS],
    )
    assert list(plugged.transports) == ["telegram", "slack", "console"]
    limiters = plugged.limiters()
    assert set(limiters) == {"telegram", "slack"}  # the console is not paced
    assert limiters["telegram"].limits is ratelimit.TELEGRAM
    assert plugged.is_group(ChatRef("telegram", "-1001234"))
    assert not plugged.is_group(ChatRef("telegram", "42"))
    assert plugged.is_group(ChatRef("slack", "C111"))
    assert not plugged.is_group(ChatRef("slack", "D111"))
    assert not plugged.is_group(ChatRef("console", "demo"))
    with pytest.raises(ValueError, match="two transports for telegram"):
        Plugged([TelegramPlugin(both), TelegramPlugin(both)], *(lambda a: a,) * 3)  # type: ignore[arg-type]


async def test_plugged_in_senders_and_admin_checks(
    both: Settings,
    redis_client: Redis,
    fake_tg: FakeTelegram,
    fake_slack: FakeSlack,
) -> None:
    core = await build_core(both, redis_client, SimClock(datetime(2026, 1, 13, 2, 0, tzinfo=UTC)))
    app = web.Application()
    telegram, slack = TelegramPlugin(both), SlackPlugin(both)
    plugged = plug_in(
        app, [telegram, slack], lambda a: a[CORE], lambda a: a[SENDERS], lambda a: a[CHECKS]
    )

    async def resources(app: web.Application) -> AsyncIterator[None]:
        app[CORE], app[SENDERS], app[CHECKS] = core, {}, {}
        yield

    app.cleanup_ctx.extend([resources, plugged.lifecycle])
    routes = {r.resource.canonical for r in app.router.routes() if r.resource}
    assert "/slack/events" in routes  # HTTP mode: Slack's route, mounted before the start
    assert "/telegram/webhook" not in routes  # long polling
    async with TestClient(TestServer(app, host="127.0.0.1")):
        assert isinstance(app[SENDERS]["telegram"], TelegramSender)
        assert isinstance(app[SENDERS]["slack"], SlackSender)
        assert set(app[CHECKS]) == {"telegram", "slack"}
        assert await app[CHECKS]["telegram"]()  # getMe
        assert await app[CHECKS]["slack"]()  # auth.test
        fake_tg.set_member(-1001, 7, "administrator")
        assert await telegram.can_admin(ChatRef("telegram", "-1001"), "7")
        assert not await telegram.can_admin(ChatRef("telegram", "-1001"), "8")  # a member
        assert await telegram.can_admin(ChatRef("telegram", "42"), "42")  # their own chat
        assert not await telegram.can_admin(ChatRef("telegram", "42"), "43")
        assert await slack.can_admin(ChatRef("slack", "C111"), "UADMIN")  # SLACK_ADMINS
        assert not await slack.can_admin(ChatRef("slack", "C111"), "UNOBODY")
        assert await slack.can_admin(ChatRef("slack", "D111"), "UNOBODY")  # a DM
    assert app[SENDERS] == {}
    assert app[CHECKS] == {}
    assert telegram.running is None
    assert slack.running is None


class _Refuses(ConsoleTransport):
    """A platform whose start-up fails (as a rejected token does)."""

    platform = "refuses"

    async def start(self, core: Core) -> None:
        raise RuntimeError("refused at start-up")


class _Counts(ConsoleTransport):
    def __init__(self) -> None:
        super().__init__()
        self.stopped = 0

    async def stop(self) -> None:
        self.stopped += 1


async def test_a_failed_start_stops_the_ones_started_before_it(
    settings: Settings, redis_client: Redis
) -> None:
    core = await build_core(settings, redis_client, SimClock(datetime(2026, 1, 13, tzinfo=UTC)))
    app = web.Application()
    first = _Counts()
    plugged = plug_in(
        app, [first, _Refuses()], lambda a: a[CORE], lambda a: a[SENDERS], lambda a: a[CHECKS]
    )
    app[CORE], app[SENDERS], app[CHECKS] = core, {}, {}
    steps = plugged.lifecycle(app)
    with pytest.raises(RuntimeError, match="refused at start-up"):
        await anext(steps)
    assert first.stopped == 1
    assert app[SENDERS] == {}
    assert app[CHECKS] == {}


async def test_readyz_asks_the_plugged_in_platforms(
    both: Settings, redis_client: Redis, fake_tg: FakeTelegram, fake_slack: FakeSlack
) -> None:
    app = build_app(offline(both))
    async with TestClient(TestServer(app)) as client:
        ready = await client.get("/readyz")
        assert ready.status == 200
        assert (await ready.json())["checks"] == {"redis": True, "telegram": True, "slack": True}
        fake_tg.fail("getMe", server_error(), times=-1)
        ready = await client.get("/readyz")
        assert ready.status == 200  # one platform still answers
        assert (await ready.json())["checks"]["telegram"] is False
        fake_tg.clear_failures()
