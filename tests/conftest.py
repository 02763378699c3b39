"""Shared fixtures: a real redis-server per test session (unix socket in a temp dir).

A missing redis-server fails the run: `make test` installs it, and a test that silently
skips its store checks would prove nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import redis
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from tests.fakes.datacenter import FakeDatacenter


class RedisServer:
    def __init__(self, workdir: Path, appendonly: bool = False) -> None:
        self.workdir = workdir
        self.socket = workdir / "redis.sock"
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (make test installs it from Debian)")
        args = [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.workdir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(unix_socket_path=str(self.socket))
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not start within 10s")
                time.sleep(0.02)
        client.close()

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(autouse=True)
def no_default_grouping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests follow one alert from dispatch to the wire and expect it queued at once;
    the default grouping window (a few seconds, bot.chat.gate) would hold it back. The
    noise tests (tests/noise/) set the window they test explicitly."""
    monkeypatch.setenv("NOISE_GROUP_WINDOW_S", "0")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushall()
    yield client
    await client.aclose()


NOWHERE = "http://127.0.0.1:9"  # the discard port: refused at once, never the internet


def _feed_ids() -> list[str]:
    with (Path(__file__).parent.parent / "seeds" / "feeds.toml").open("rb") as f:
        return [feed["id"] for feed in tomllib.load(f)["feed"]]


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    """The bot's settings on the test Redis, every outside service aimed at a refused port:
    a test that needs one points it at its own loopback fake."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        telegram_api_base=NOWHERE,
        slack_api_base=NOWHERE,
        eastmoney_quote_base=NOWHERE,
        eastmoney_history_base=NOWHERE,
        eastmoney_datacenter_base=NOWHERE,
        yahoo_base=NOWHERE,
        eastmoney_search_base=NOWHERE,
        yahoo_search_base=NOWHERE,
        feed_base_overrides={fid: NOWHERE for fid in _feed_ids()},
    )


@pytest.fixture
def clock() -> SimClock:
    return SimClock(datetime(2026, 1, 12, 2, 0, tzinfo=UTC))


async def _only_loopback(_: aiohttp.ClientSession, __: SimpleNamespace, params: Any) -> None:
    if params.url.host != "127.0.0.1":
        raise AssertionError(f"a test tried to reach {params.url.host}")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session that fails any request not aimed at a loopback fake."""
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_only_loopback)
    async with aiohttp.ClientSession(trace_configs=[trace]) as s:
        yield s


@pytest.fixture
async def datacenter() -> AsyncIterator[FakeDatacenter]:
    """The fake Eastmoney datacenter (macro reports, the margin balance) on loopback."""
    fake = FakeDatacenter()
    await fake.start()
    yield fake
    await fake.close()
