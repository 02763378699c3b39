"""kill -9 of a delivery replica in the middle of a 2,000-chat fan-out, then a restart.

The replica is a real process (tests/delivery_worker.py: the production outbox, Deliverer
and python-telegram-bot sender, limits scaled 20x) talking to the fake Bot API in this
process over loopback. After the SIGKILL a new replica (a new REPLICA_ID, as hostname-pid
gives after a restart) claims what the dead one held: every chat gets the alert, and
duplicates stay within the documented bound (the sends in flight at the crash,
max_in_flight). Both processes log at DEBUG; neither log holds the token.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.models import Alert, Family, Message
from bot.outbox import Outbox
from tests.conftest import RedisServer
from tests.fakes.telegram_api import TOKEN, FakeTelegram, FloodLimits
from tests.telegram.conftest import SECRETS

ROOT = Path(__file__).resolve().parent.parent.parent
MAX_IN_FLIGHT = 32
CHATS = [*range(1, 1001), *range(-1_001_001, -1_002_001, -1)]  # 1,000 private, 1,000 groups


async def start_worker(
    redis_server: RedisServer, fake: FakeTelegram, replica: str, log: Path
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "TELEGRAM_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": fake.url,
        "REPLICA_ID": replica,
        "LOG_LEVEL": "DEBUG",
    }
    args = ["--max-in-flight", str(MAX_IN_FLIGHT), "--claim-after", "1.0"]
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.delivery_worker",
            *args,
            env=env,
            cwd=str(ROOT),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def until(condition: object, limit_s: float, what: str) -> None:
    assert callable(condition)
    try:
        async with asyncio.timeout(limit_s):
            while not condition():  # noqa: ASYNC110 - polling the fake's log, test only
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_kill_9_mid_fan_out_then_restart_reaches_every_chat(
    fake_tg: FakeTelegram, redis_client: Redis, redis_server: RedisServer, tmp_path: Path
) -> None:
    fake_tg.enforce(FloodLimits().scaled(20, slack_s=0.003))
    outbox = Outbox(redis_client, SimClock(datetime(2026, 1, 13, 2, 45, tzinfo=UTC)))
    await outbox.ensure_group()
    alert = Alert("moves:STAR50:1d:up:3", Family.MOVES, Message("STAR 50 +3.0% on the day"),
                  datetime(2026, 1, 13, 2, 45, tzinfo=UTC))  # fmt: skip
    for chat in CHATS:
        assert await outbox.enqueue(alert, f"telegram:{chat}")
    first = await start_worker(redis_server, fake_tg, "host-1001", tmp_path / "first.log")
    try:
        await until(lambda: len(fake_tg.accepted) >= 500, 60, "the first replica to get going")
        first.send_signal(signal.SIGKILL)
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()
    at_crash = len({c.chat_id for c in fake_tg.accepted})
    assert at_crash < len(CHATS)  # really mid-fan-out
    second = await start_worker(redis_server, fake_tg, "host-2002", tmp_path / "second.log")
    try:
        await until(
            lambda: len({c.chat_id for c in fake_tg.accepted}) == len(CHATS),
            60,
            "every chat to get the alert",
        )
        async with asyncio.timeout(20):
            while await outbox.pending():  # noqa: ASYNC110 - the last settles
                await asyncio.sleep(0.05)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 20) == 0  # a graceful stop
    finally:
        if second.returncode is None:
            second.kill()
            await second.wait()
    per_chat = Counter(c.chat_id for c in fake_tg.accepted)
    assert set(per_chat) == set(CHATS)
    duplicates = sum(n - 1 for n in per_chat.values())
    assert duplicates <= MAX_IN_FLIGHT, f"{duplicates} duplicates"
    assert fake_tg.limit_429s == 0
    for name in ("first.log", "second.log"):
        text = (tmp_path / name).read_text(errors="replace")
        assert "DEBUG" in text  # the guard below reads real DEBUG output
        assert not [s for s in SECRETS if s in text], f"a secret in {name}"
