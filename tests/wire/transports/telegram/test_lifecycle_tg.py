"""The transport's lifecycle inside bot.app: webhook mode on the bot's own aiohttp server
(secret header, redeliveries), a second poller (409), a bad token at start-up, and the
debug logs of all of it."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot.app import build_app
from bot.config import Settings
from bot.state import keys
from bot.transports.telegram import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramStartupError,
    TelegramTransport,
)
from bot.wiring import Core
from tests.conftest import RedisServer
from tests.fakes.providers import FakeProviders
from tests.fakes.telegram_api import BOT_ID, TOKEN, FakeTelegram, bad_request, conflict
from tests.wire.transports.telegram.conftest import WEBHOOK_SECRET, RawCapture, tg_settings


@pytest.fixture
async def providers() -> AsyncIterator[FakeProviders]:
    fake = FakeProviders()
    await fake.start()
    yield fake
    await fake.close()


def provider_bases(providers: FakeProviders) -> dict[str, str]:
    return {
        "eastmoney_quote_base": providers.url,
        "eastmoney_history_base": providers.url,
        "eastmoney_datacenter_base": providers.url,
        "yahoo_base": providers.url,
    }


@pytest.fixture
async def webhook_app(
    redis_server: RedisServer,
    redis_client: Redis,
    fake_tg: FakeTelegram,
    providers: FakeProviders,
) -> AsyncIterator[TestClient[object, object]]:
    settings = tg_settings(
        redis_server,
        fake_tg,
        telegram_webhook_url="https://bot.example.com/",
        telegram_webhook_secret=WEBHOOK_SECRET,
        **provider_bases(providers),
    )
    async with TestClient(TestServer(build_app(settings))) as client:
        yield client


async def test_webhook_mode_checks_the_secret_and_runs_each_update_once(
    webhook_app: TestClient[object, object], fake_tg: FakeTelegram, redis_client: Redis
) -> None:
    [hook] = fake_tg.requests("setWebhook")
    assert hook.params["url"] == "https://bot.example.com/telegram/webhook"
    assert hook.params["secret_token"] == WEBHOOK_SECRET
    assert fake_tg.requests("getUpdates") == []
    add = fake_tg.message_update("/alert add STAR50 1d up 3")
    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: WEBHOOK_SECRET[:-1]}):
        refused = await webhook_app.post(WEBHOOK_PATH, json=add, headers=headers)
        assert refused.status == 403
    ok = {SECRET_HEADER: WEBHOOK_SECRET}
    assert (await webhook_app.post(WEBHOOK_PATH, json=add, headers=ok)).status == 200
    [added] = await fake_tg.wait_for("sendMessage")
    assert added.params["text"].startswith("<b>Added rule r")  # after the house rules
    # Telegram redelivers the same update: acknowledged, not run again
    assert (await webhook_app.post(WEBHOOK_PATH, json=add, headers=ok)).status == 200
    listed = fake_tg.message_update("/alerts")
    assert (await webhook_app.post(WEBHOOK_PATH, json=listed, headers=ok)).status == 200
    replies = await fake_tg.wait_for("sendMessage", count=2)
    assert len(replies) == 2  # updates run in order, so a rerun would have come before
    assert "1 alert rule" in replies[1].params["text"]
    assert await redis_client.scard(keys.chat_rules("telegram:42")) == 1
    bad = await webhook_app.post(WEBHOOK_PATH, data=b"not json", headers=ok)
    assert bad.status == 400


async def test_second_poller_conflict_backs_off_then_recovers(
    fake_tg: FakeTelegram, core: Core, settings: Settings, log_guard: RawCapture
) -> None:
    fake_tg.fail("getUpdates", conflict(), times=1)
    transport = TelegramTransport(settings, core)
    await transport.start()
    try:
        fake_tg.send_text("/help")
        await fake_tg.wait_for("sendMessage")
    finally:
        await transport.stop()
    warnings = [r.getMessage() for r in log_guard.records if r.levelno == logging.WARNING]
    assert "telegram: another process polls with this token (409); backing off" in warnings
    polls = fake_tg.requests("getUpdates")
    assert len(polls) >= 2  # it tried again after waiting, instead of giving up
    health = core.health.get("telegram")
    assert health is not None
    assert health.ok  # the update that came through after the conflict cleared it


async def test_debug_logs_are_captured_and_hold_no_secret(
    fake_tg: FakeTelegram, transport: TelegramTransport, log_guard: RawCapture
) -> None:
    fake_tg.send_text("/status")
    await fake_tg.wait_for("sendMessage")
    # the guard really sees the chat library's DEBUG records (and fails on a secret)
    assert any(
        r.name.startswith("telegram") and r.levelno == logging.DEBUG for r in log_guard.records
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
async def test_bad_token_exits_non_zero_without_the_token(
    fake_tg: FakeTelegram,
    providers: FakeProviders,
    redis_server: RedisServer,
    redis_client: Redis,
    tmp_path: object,
) -> None:
    """...having written nothing to Redis: the bot wrote its house rules (and the outbox
    group, the macro history) before it checked the token (issue 17.9)."""
    wrong = f"{BOT_ID}:AAWrongSyntheticTokenForTests_9876543"
    env = {
        **os.environ,
        "TELEGRAM_TOKEN": wrong,
        "TELEGRAM_API_BASE": fake_tg.url,
        "REDIS_URL": redis_server.url,
        "PORT": str(_free_port()),
        "LOG_LEVEL": "DEBUG",
        **{k.upper(): v for k, v in provider_bases(providers).items()},
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    text = (out + err).decode()
    assert proc.returncode == 1
    assert "divbot: Telegram rejected TELEGRAM_TOKEN (getMe: unauthorized)" in text
    assert wrong not in text
    assert wrong.split(":")[1] not in text
    assert TOKEN.split(":")[1] not in text
    assert [c.method for c in fake_tg.calls] == []  # the fake records only its own token
    assert await redis_client.keys("*") == []


async def test_start_up_refusals_are_one_readable_line(
    fake_tg: FakeTelegram, core: Core, redis_server: RedisServer
) -> None:
    hook = {"telegram_webhook_url": "https://bot.example.com/hook"}
    fake_tg.fail("setWebhook", bad_request("bad webhook: HTTPS url must be provided"))
    refused = TelegramTransport(tg_settings(redis_server, fake_tg, **hook), core)
    with pytest.raises(TelegramStartupError) as failed:
        await refused.start()
    assert str(failed.value) == (
        "Telegram start-up failed: Bad webhook: https url must be provided"
    )
    assert not refused.application.running
    bad_secret = tg_settings(redis_server, fake_tg, telegram_webhook_secret="has spaces", **hook)
    with pytest.raises(TelegramStartupError, match="TELEGRAM_WEBHOOK_SECRET: use 1-256"):
        await TelegramTransport(bad_secret, core).start()
