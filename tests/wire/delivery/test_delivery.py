"""The delivery loop against a real Redis: every chat served once, in order, a 429 for one
chat holding only that chat, and a dead consumer's entries claimed by another."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.clock import SimClock, WallClock
from bot.config import Settings
from bot.delivery.deliverer import Deliverer
from bot.delivery.outbox import Outbox
from bot.delivery.ratelimit import Limits, RateLimiter, RateWindow
from bot.delivery.sending import Delivery, Outcome
from bot.delivery.shared_limits import SharedLimiter, token_scope
from bot.models import Alert, ChatRef, Family, Message
from bot.state import keys
from bot.wiring import build_core
from tests.conftest import RedisServer
from tests.support.delivering import deliver_now

# The platform's limits scaled up so the tests stay short (the shape is what matters).
FAST = Limits(
    overall=RateWindow(2000, 1.0), per_chat=RateWindow(1, 0.05), per_group=RateWindow(5, 1.0)
)
AT = datetime(2026, 1, 13, 2, 45, tzinfo=UTC)


class RecordingTransport:
    """A chat platform stand-in that records sends and can refuse one chat for a while."""

    platform = "telegram"

    def __init__(self, throttle: str | None = None, throttle_times: int = 0) -> None:
        self.log: list[tuple[float, str, str]] = []
        self.throttle, self.throttle_left = throttle, throttle_times

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        await asyncio.sleep(0.001)
        if chat.chat_id == self.throttle and self.throttle_left > 0:
            self.throttle_left -= 1
            return Delivery(Outcome.RETRY, "429 Too Many Requests", retry_after=0.3)
        self.log.append((time.monotonic(), chat.chat_id, message.title))
        return Delivery(Outcome.SENT)


def alert(n: int) -> Alert:
    return Alert(f"a{n}", Family.MOVES, Message(f"alert {n}"), AT)


async def run_until(deliverer: Deliverer, done: int, limit_s: float = 20.0) -> None:
    task = asyncio.create_task(deliverer.run(idle_block_ms=50))
    try:
        async with asyncio.timeout(limit_s):
            while deliverer.sent < done:  # noqa: ASYNC110 - polling a counter, test only
                await asyncio.sleep(0.01)
    finally:
        deliverer.stop()
        async with asyncio.timeout(10):
            await task


async def outbox_for(redis: Redis, consumer: str) -> Outbox:
    outbox = Outbox(redis, SimClock(AT), consumer=consumer)
    await outbox.ensure_group()
    return outbox


async def test_fan_out_reaches_every_chat_once_in_order(redis_client: Redis) -> None:
    outbox = await outbox_for(redis_client, "c1")
    chats = [f"telegram:{i}" for i in range(200)] + [f"telegram:-{i}" for i in range(1, 51)]
    for n in range(3):
        for chat in chats:
            await outbox.enqueue(alert(n), chat)
    transport = RecordingTransport()
    deliverer = Deliverer(outbox, {"telegram": transport}, {"telegram": RateLimiter(FAST)})
    await run_until(deliverer, 3 * len(chats))
    per_chat: dict[str, list[str]] = defaultdict(list)
    for _, chat, title in transport.log:
        per_chat[chat].append(title)
    assert len(per_chat) == len(chats)
    assert all(titles == ["alert 0", "alert 1", "alert 2"] for titles in per_chat.values())
    assert await outbox.pending() == 0


async def test_a_throttled_chat_does_not_hold_the_others(redis_client: Redis) -> None:
    outbox = await outbox_for(redis_client, "c1")
    for chat in ["telegram:slow", *[f"telegram:{i}" for i in range(50)]]:
        await outbox.enqueue(alert(1), chat)
    transport = RecordingTransport(throttle="slow", throttle_times=2)
    deliverer = Deliverer(outbox, {"telegram": transport}, {"telegram": RateLimiter(FAST)})
    await run_until(deliverer, 51)
    order = [chat for _, chat, _ in transport.log]
    assert order[-1] == "slow"  # everyone else went while it was held
    slow_at = transport.log[-1][0]
    others_done = max(t for t, chat, _ in transport.log if chat != "slow")
    assert slow_at - others_done > 0.2  # it waited out its retry_after (0.3 s, twice)


async def test_a_dead_consumers_entries_are_claimed_and_sent(redis_client: Redis) -> None:
    dead = await outbox_for(redis_client, "dead")
    for i in range(20):
        await dead.enqueue(alert(1), f"telegram:{i}")
    assert len(await dead.read(100)) == 20  # read, then the process "dies"
    await asyncio.sleep(0.25)
    alive = await outbox_for(redis_client, "alive")
    transport = RecordingTransport()
    deliverer = Deliverer(
        alive, {"telegram": transport}, {"telegram": RateLimiter(FAST)}, abandoned_after_s=0.2
    )
    await run_until(deliverer, 20)
    assert sorted(chat for _, chat, _ in transport.log) == sorted(str(i) for i in range(20))
    assert await alive.pending() == 0


async def test_an_entry_already_delivered_is_not_sent_again(redis_client: Redis) -> None:
    outbox = await outbox_for(redis_client, "c1")
    await outbox.enqueue(alert(1), "telegram:7")
    [entry] = await outbox.read(10)
    await outbox.settle(entry, Delivery(Outcome.SENT))
    # a crash after the platform accepted but before the ack is modelled by re-adding it
    await redis_client.xadd("divbot:outbox", {"chat": entry.chat, "alert": entry.raw})
    transport = RecordingTransport()
    sent = await deliver_now(outbox, {"telegram": transport})
    assert transport.log == []
    assert sent == 0
    assert await outbox.pending() == 0


async def test_a_restart_under_the_same_name_resumes_its_own_entries_at_once(
    redis_client: Redis,
) -> None:
    """A fixed REPLICA_ID: what the previous life read but never settled goes out now,
    not after the abandoned-entry claim delay."""
    before = await outbox_for(redis_client, "web.1")
    for i in range(30):
        await before.enqueue(alert(1), f"telegram:{i}")
    assert len(await before.read(20)) == 20  # read, then killed before sending
    after = await outbox_for(redis_client, "web.1")
    transport = RecordingTransport()
    deliverer = Deliverer(
        after, {"telegram": transport}, {"telegram": RateLimiter(FAST)}, abandoned_after_s=3600
    )
    await run_until(deliverer, 30)
    assert sorted(chat for _, chat, _ in transport.log) == sorted(str(i) for i in range(30))
    assert await after.pending() == 0


class DownPlatform:
    """A chat platform answering 502 until `up`."""

    platform = "telegram"

    def __init__(self) -> None:
        self.up = False
        self.sent: list[str] = []

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        if not self.up:
            return Delivery(Outcome.RETRY, "HTTP 502")
        self.sent.append(chat.chat_id)
        return Delivery(Outcome.SENT)


async def test_a_platform_down_for_minutes_delays_deliveries_and_dead_letters_only_after(
    redis_client: Redis,
) -> None:
    clock = SimClock(AT)
    outbox = Outbox(redis_client, clock, consumer="c1")
    await outbox.ensure_group()
    await outbox.enqueue(alert(1), "telegram:1")
    await outbox.enqueue(alert(2), "telegram:2")
    platform = DownPlatform()
    for _ in range(12):  # 12 failed attempts in 55 minutes: more than max_attempts (8)
        await deliver_now(outbox, {"telegram": platform})
        clock.set(clock.now() + timedelta(seconds=300))
    assert await outbox.dead() == 0
    assert await outbox.pending() == 2
    platform.up = True
    assert await deliver_now(outbox, {"telegram": platform}) == 2  # out once it recovers
    assert platform.sent == ["1", "2"]
    # Still failing after the hour: given up, visible in the dead-letter stream.
    await outbox.enqueue(alert(3), "telegram:3")
    platform.up = False
    for _ in range(14):
        await deliver_now(outbox, {"telegram": platform})
        clock.set(clock.now() + timedelta(seconds=300))
    assert await outbox.dead() == 1
    assert await outbox.pending() == 0


async def test_a_consumer_without_a_heartbeat_loses_its_entries_at_once(
    redis_client: Redis,
) -> None:
    """REPLICA_ID unset: a restarted replica is a new consumer. What the old one held is
    claimed as soon as its heartbeat lapses, not after the 60 s idle timeout (issue 15:
    the remaining 700 deliveries started 66.7 s after the restart)."""
    old = await outbox_for(redis_client, "host-1234")
    for i in range(5):
        await old.enqueue(alert(1), f"telegram:{i}")
    await old.beat(30.0)
    assert len(await old.read(100)) == 5
    new = await outbox_for(redis_client, "host-5678")
    assert await new.claim_from_dead(100, min_idle_ms=0) == []  # its holder is alive
    await redis_client.delete("divbot:replica:host-1234:alive")  # the old process died
    claimed = await new.claim_from_dead(100, min_idle_ms=0)
    assert sorted(e.chat for e in claimed) == [f"telegram:{i}" for i in range(5)]
    assert await new.claim_from_dead(100, min_idle_ms=0) == []  # claimed once


class Flooded:
    """Telegram refusing one chat with a 429 that asks for 30 s."""

    platform = "telegram"

    def __init__(self) -> None:
        self.tries = 0

    async def send(self, chat: ChatRef, message: Message) -> Delivery:
        self.tries += 1
        return Delivery(Outcome.RETRY, "429 Too Many Requests", retry_after=30.0)


async def test_a_restarted_loop_waits_out_a_429s_retry_after(redis_client: Redis) -> None:
    """A 429 asked for 30 s; the replica restarts at once. The new loop reads the entry
    back (it is still this consumer's) and waits the 30 s rather than sending into the
    platform's penalty window again (the retry time is kept in Redis, not only in the old
    loop's memory)."""
    clock = SimClock(AT)
    outbox = Outbox(redis_client, clock)
    await outbox.ensure_group()
    alert = Alert("synthetic-429", Family.MOVES, Message("STAR 50 +3.0% on the day"), AT)
    assert await outbox.enqueue(alert, "telegram:-100")
    flooded = Flooded()
    assert await deliver_now(outbox, {"telegram": flooded}) == 0
    assert flooded.tries == 1
    restarted = RecordingTransport()
    clock.set(AT + timedelta(seconds=29))
    assert await deliver_now(outbox, {"telegram": restarted}) == 0  # a new loop, same consumer
    assert restarted.log == []
    clock.set(AT + timedelta(seconds=31))
    assert await deliver_now(outbox, {"telegram": restarted}) == 1
    assert [chat for _, chat, _ in restarted.log] == ["-100"]


async def test_a_shared_slot_covers_the_request_alone(
    redis_client: Redis, redis_server: RedisServer, settings: Settings
) -> None:
    # Issue 15, the fan-out at 97%: a send counts in the token's windows from the moment
    # its slot is taken until a window after its answer, so whatever sits between the two
    # is paid once per window. The message's own Redis reads (the chat's level, topic,
    # zone, the thread to reply in) are made before the slot is taken, not inside it.
    core = await build_core(settings, redis_client, WallClock(), consumer="slot")
    await core.outbox.enqueue(alert(1), "telegram:7")
    shared = SharedLimiter(redis_client, token_scope("telegram", "123:synthetic"), FAST)
    deliverer = Deliverer(
        core.outbox,
        {"telegram": RecordingTransport()},
        {"telegram": RateLimiter(FAST)},
        shared={"telegram": shared},
    )
    watcher = Redis.from_url(redis_server.url, decode_responses=True)
    commands: list[str] = []

    async def watch(ready: asyncio.Event) -> None:
        async with watcher.monitor() as monitor:
            ready.set()
            async for info in monitor.listen():
                commands.append(info["command"])

    ready = asyncio.Event()
    watching = asyncio.create_task(watch(ready))
    await ready.wait()
    await run_until(deliverer, 1)
    await asyncio.sleep(0.1)
    watching.cancel()
    await asyncio.gather(watching, return_exceptions=True)
    await watcher.aclose()
    rate = keys.rate_keys(shared.scope, "telegram:7")[1]
    # EVALSHA <sha> <number of keys> …: taking a slot names 8 keys, counting it answered
    # fewer (a script not cached yet is sent again after SCRIPT LOAD: the last one counts).
    scripts = [
        (i, c.split()[2]) for i, c in enumerate(commands) if c.startswith("EVALSHA") and rate in c
    ]
    taken = max(i for i, n in scripts if n == "8")
    answered = min(i for i, n in scripts if n != "8" and i > taken)
    between = commands[taken + 1 : answered]
    inside = [c for c in between if "telegram:7" in c and "divbot:rate:" not in c]
    assert inside == []
    assert any("telegram:7" in c for c in commands[:taken])  # the message was made before
