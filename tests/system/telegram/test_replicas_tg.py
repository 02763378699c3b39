"""Two `divbot run` replicas on one Redis: exactly one polls; SIGSTOP it past the TTL and
the other takes over; SIGCONT it and it finds it lost, stops its watchers and polls no
more. Telegram runs in webhook mode (as a replicated bot must), against the fake Bot API.

Each replica gets its own fake provider server (quotes, history, feeds, macro), so the
servers' request logs say which replica polled. Both log at DEBUG; neither log holds the
token or the webhook secret.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.state.leader import LEADER
from tests.conftest import RedisServer
from tests.fakes.providers import FakeProviders
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.wire.transports.telegram.conftest import SECRETS, WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parent.parent.parent.parent
FEEDS = ["csrc", "hkex_news", "hkex_regulatory", "scmp_china_economy", "rthk_finance"]
TTL_S = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Replica:
    def __init__(self, name: str, providers: FakeProviders, log: Path) -> None:
        self.name, self.providers, self.log = name, providers, log
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, redis_server: RedisServer, fake: FakeTelegram) -> None:
        base = self.providers.url
        env = {
            **os.environ,
            "REDIS_URL": redis_server.url,
            "TELEGRAM_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": fake.url,
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/",
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "EASTMONEY_QUOTE_BASE": base,
            "EASTMONEY_HISTORY_BASE": base,
            "EASTMONEY_DATACENTER_BASE": base,
            "YAHOO_BASE": base,
            "FEED_BASE_OVERRIDES": ",".join(f"{f}={base}" for f in FEEDS),
            "HTTP_RETRIES": "0",
            "REPLICA_ID": self.name,
            "LEADER_TTL_S": str(TTL_S),
            "PORT": str(self.port),
            "LOG_LEVEL": "DEBUG",
        }
        with self.log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=str(ROOT),
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip

    async def is_leader(self, http: aiohttp.ClientSession) -> bool | None:
        """What the replica's /metrics says (None: not answering yet)."""
        try:
            async with http.get(f"http://127.0.0.1:{self.port}/metrics") as resp:
                text = await resp.text()
        except aiohttp.ClientError:
            return None
        return "divbot_leader 1.0" in text

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
async def providers() -> AsyncIterator[list[FakeProviders]]:
    fakes = [FakeProviders(), FakeProviders()]
    for fake in fakes:
        await fake.start()
    yield fakes
    for fake in fakes:
        await fake.close()


async def until(condition: Callable[[], object], limit_s: float, what: str) -> None:
    try:
        async with asyncio.timeout(limit_s):
            while not await _truthy(condition()):  # noqa: ASYNC110 - polling, test only
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _truthy(value: object) -> bool:
    if asyncio.iscoroutine(value):
        value = await value
    return bool(value)


@pytest.mark.slow
async def test_one_replica_polls_and_a_stalled_leader_hands_over(
    fake_tg: FakeTelegram,
    redis_client: Redis,
    redis_server: RedisServer,
    providers: list[FakeProviders],
    tmp_path: Path,
) -> None:
    a = Replica("replica-a", providers[0], tmp_path / "a.log")
    b = Replica("replica-b", providers[1], tmp_path / "b.log")
    async with aiohttp.ClientSession() as http:
        try:
            await a.start(redis_server, fake_tg)
            await until(lambda: a.is_leader(http), 30, "replica a to lead")
            await until(lambda: a.providers.log, 10, "the leader to poll")
            await b.start(redis_server, fake_tg)
            await until(lambda: _answers(b, http), 30, "replica b to answer")
            await asyncio.sleep(2 * TTL_S)  # several renewals: b must stay a follower
            assert await b.is_leader(http) is False
            assert b.providers.log == []  # exactly one replica polls
            assert (await redis_client.get(LEADER) or "").startswith("replica-a:")

            a.signal(signal.SIGSTOP)  # a stalls (GC pause, frozen VM) past its TTL
            await until(lambda: b.is_leader(http), 10 * TTL_S, "replica b to take over")
            await until(lambda: b.providers.log, 10, "the new leader to poll")
            assert (await redis_client.get(LEADER) or "").startswith("replica-b:")

            a.signal(signal.SIGCONT)
            await until(
                lambda: "replica replica-a lost the leadership" in a.text(),
                10,
                "the old leader to notice",
            )
            await until(lambda: _not_leader(a, http), 10, "the old leader to step down")
            polled = len(a.providers.log)
            await asyncio.sleep(2 * TTL_S)
            assert len(a.providers.log) == polled  # its watchers are stopped
            assert await b.is_leader(http) is True
            assert (await redis_client.get(LEADER) or "").startswith("replica-b:")
        finally:
            await a.stop()
            await b.stop()
    for replica in (a, b):
        text = replica.text()
        assert " DEBUG " in text
        assert not [s for s in SECRETS if s in text], f"a secret in {replica.name}'s log"


async def _not_leader(replica: Replica, http: aiohttp.ClientSession) -> bool:
    return await replica.is_leader(http) is False


async def _answers(replica: Replica, http: aiohttp.ClientSession) -> bool:
    return await replica.is_leader(http) is not None
