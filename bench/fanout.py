"""Fan-out of 10,000 Telegram deliveries at the published limits, against a fake Bot API
that polices them, compared in the same run with python-telegram-bot's AIORateLimiter.

The fake (tests/fakes/telegram_api.py in enforcing mode) runs in its own process and
answers 429 with a retry_after to any send that breaks a limit: 30 messages per second
overall, 1 per second per chat, 20 per minute per group, counted as sliding windows on
arrival times. Every limit is scaled by the same factor (time runs SCALE times faster:
30 per 1/SCALE s, …; retry_after shrinks with it) for both contenders, so the bench takes
seconds per contender instead of five and a half minutes. The fan-out is SYNTHETIC: two
alerts, each to 4,000 private chats and 1,000 groups, queued alert by alert as the engine
queues them.

- **bot.delivery.deliverer**: the outbox on a real redis-server (queued before the clock starts),
  the Deliverer and bot.delivery.ratelimit, sending through python-telegram-bot's bot (no PTB
  rate limiter) exactly as the live bot does.
- **bot.delivery.deliverer, N replicas on one token**: the same, as N replica processes
  (each its own Redis connection, outbox consumer, Bot and per-process limiter) sharing
  the token's windows in Redis (bot.delivery.shared_limits), as `divbot run` replicas do;
  run with one replica and with two, side by side in the same run, scaled like the others
  and again at Telegram's real limits (a shorter fan-out, a minute each): issue 15's goal
  is stated against the real 30 msg/s and judged there.
- **AIORateLimiter**: python-telegram-bot's bot built with
  `AIORateLimiter(30/s overall, 20/min per group, max_retries=10)` and the same 10,000
  `send_message` calls started at once, the way a PTB bot broadcasts.

Limit-implied maximum: the shortest span the windows allow for this fan-out (with N
sends and c per window W, send i and send i+c must be W apart: floor((N-1)/c) x W, and
likewise per chat and per group); achieved = that span / the measured span from the
first to the last accepted send at the fake. The fake also says which window each 429
broke and by how much (``limit_breaks``), and for ours the bench notes when the limiter
let each send go and when it was answered, to show the jitter the pacing absorbs.

`python -m bench fanout` (every contender, rewrites its section of BENCHMARKS.md);
`python -m bench.fanout ours` (bot.delivery.deliverer alone, prints only: for iterating);
`python -m bench.fanout replicas` (one and two replicas on one token, prints only);
`python -m bench.fanout real` (the same at Telegram's real limits, prints only).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ApplicationBuilder

from bench.divergence_latency import Server
from bench.summary import Figure, Report
from bot.clock import WallClock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.delivery.shared_limits import SharedLimiter, token_scope
from bot.models import Alert, Family, Message
from bot.transports.telegram import TelegramSender, build_application
from bot.wiring import build_core
from tests.fakes.telegram_api import TOKEN, FakeTelegram, FloodLimits

TITLE = "Telegram fan-out: 10,000 deliveries at the published limits"
SCALE = 3
PRIVATE = list(range(10_000_001, 10_004_001))
GROUPS = list(range(-1_000_000_001, -1_000_001_001, -1))
ALERTS = 2
# Fan-out order: alert by alert, each to every chat (as AlertService.dispatch queues).
ORDER = [(a, chat) for a in range(ALERTS) for chat in PRIVATE + GROUPS]
N = len(ORDER)
POLICED = FloodLimits().scaled(SCALE)


def limits_at(scale: float) -> ratelimit.Limits:
    """Telegram's limits with time running `scale` times faster (1: the real ones)."""
    return ratelimit.Limits(
        overall=ratelimit.RateWindow(30, 1.0 / scale),
        per_chat=ratelimit.RateWindow(1, 1.0 / scale),
        per_group=ratelimit.RateWindow(20, 60.0 / scale),
    )


OURS = limits_at(SCALE)
# The same fan-out's shape at Telegram's real limits, shorter (a minute a contender): the
# trader's question is how close to 30 msg/s replicas send; the scaled run above makes
# each send's round trip three times its real share of a window.
REAL_PRIVATE, REAL_GROUPS = PRIVATE[:720], GROUPS[:180]
REAL_ORDER = [(a, chat) for a in range(ALERTS) for chat in REAL_PRIVATE + REAL_GROUPS]
AT = datetime(2026, 1, 13, 1, 30, tzinfo=UTC)


# -- the fake, in its own process ---------------------------------------------------------
def _serve(conn: Connection) -> None:
    asyncio.run(_serve_async(conn))


async def _serve_async(conn: Connection) -> None:
    fake = FakeTelegram()
    conn.send(await fake.start())
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command in ("reset", "reset-real"):
            fake.calls.clear()
            fake.accepted.clear()
            fake.refused.clear()
            fake.limit_429s = 0
            fake.limit_breaks.clear()
            fake.enforce(POLICED if command == "reset" else FloodLimits())
            conn.send("ok")
        elif command == "count":  # cheap: polled while a contender runs
            conn.send(len(fake.accepted))
        elif command == "stats":
            conn.send(
                {
                    "accepted": [(c.chat_id, c.at) for c in fake.accepted],
                    "limit_429s": fake.limit_429s,
                    "breaks": [(b.window, b.early_s) for b in fake.limit_breaks],
                    "arrivals": [(c.chat_id, c.at) for c in fake.requests("sendMessage")],
                }
            )
        else:
            await fake.close()
            conn.send("bye")
            return


class FakeProcess:
    """A fake Bot API in its own process (so its clock and loop are not ours), driven by
    commands over a pipe; `serve` is the child's entry point (it sends its URL first)."""

    def __init__(self, serve: Callable[[Connection], None] | None = None) -> None:
        self.conn, child = mp.Pipe()
        target = serve or _serve
        self.proc = mp.get_context("spawn").Process(target=target, args=(child,), daemon=True)
        self.proc.start()
        self.url: str = self.conn.recv()

    def ask(self, command: str) -> Any:
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> None:
        self.ask("stop")
        self.proc.join(10)


# -- the contenders -----------------------------------------------------------------------
@dataclass
class Trace:
    """What our limiter saw: (chat, when it let a send go), and each send's start to
    answer in seconds. Empty for AIORateLimiter."""

    stamps: list[tuple[int, float]] = field(default_factory=list)
    round_trips: list[float] = field(default_factory=list)


class StampedLimiter(ratelimit.RateLimiter):
    """Our limiter, also noting when it let each send go (diagnostics: the lag from there
    to the request's arrival at the fake is the jitter the limiter must absorb)."""

    def __init__(self, limits: ratelimit.Limits) -> None:
        super().__init__(limits)
        self.stamps: list[tuple[int, float]] = []
        self.round_trips: list[float] = []  # start to finish, seconds
        self._started: dict[str, float] = {}

    def start(self, chat: str, is_group: bool, now: float) -> None:
        super().start(chat, is_group, now)
        self.stamps.append((int(chat.split(":", 1)[1]), now))
        self._started[chat] = now

    def finish(self, chat: str, is_group: bool, now: float) -> None:
        super().finish(chat, is_group, now)
        self.round_trips.append(now - self._started.pop(chat))


def alert(n: int) -> Alert:
    return Alert(f"bench-{n}", Family.MOVES, Message(f"STAR 50 +{3 + n}.0% on the day"), AT)


async def wait_for(fake: FakeProcess, n: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if fake.ask("count") >= n:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"not all {n} deliveries arrived within {limit_s:.0f}s")


def bench_settings(server: Server, fake: FakeProcess) -> Settings:
    """Settings pointing a bench's bot at its own redis-server and fake Bot API."""
    return Settings(  # type: ignore[call-arg, arg-type]
        _env_file=None,
        redis_url=f"unix://{server.socket}",
        telegram_token=TOKEN,
        telegram_api_base=fake.url,
    )


async def run_ours(fake: FakeProcess) -> tuple[float, Trace]:
    server = Server()
    redis = server.start()
    assert redis is not None, "the fan-out bench needs redis-server"
    settings = bench_settings(server, fake)
    try:
        core = await build_core(settings, redis, WallClock(), consumer="bench")
        alerts = [alert(n) for n in range(ALERTS)]
        for n, chat in ORDER:
            await core.outbox.enqueue(alerts[n], f"telegram:{chat}")
        application = build_application(settings, webhook=True)
        await application.initialize()
        sender = TelegramSender(application.bot, core.store, settings.timezone)
        limiter = StampedLimiter(OURS)
        deliverer = Deliverer(core.outbox, {"telegram": sender}, {"telegram": limiter})
        started = time.monotonic()
        task = asyncio.create_task(deliverer.run(idle_block_ms=100))
        await wait_for(fake, N, 3 * N / (30 * SCALE) + 60)
        wall = time.monotonic() - started
        deliverer.stop()
        await task
        await application.shutdown()
        return wall, Trace(limiter.stamps, limiter.round_trips)
    finally:
        await redis.aclose()
        server.stop()


async def run_ptb(fake: FakeProcess) -> tuple[float, Trace]:
    limiter = AIORateLimiter(
        overall_max_rate=30,
        overall_time_period=1.0 / SCALE,
        group_max_rate=20,
        group_time_period=60.0 / SCALE,
        max_retries=10,
    )
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{fake.url}/bot")
        .rate_limiter(limiter)
        .job_queue(None)
        .updater(None)
        .build()
    )
    await application.initialize()
    bot = application.bot
    failed = 0

    async def send(n: int, chat: int) -> None:
        nonlocal failed
        try:
            await bot.send_message(chat, f"STAR 50 +{3 + n}.0% on the day")
        except TelegramError:
            failed += 1

    started = time.monotonic()
    await asyncio.gather(*(send(n, chat) for n, chat in ORDER))
    wall = time.monotonic() - started
    await application.shutdown()
    if failed:
        raise RuntimeError(f"AIORateLimiter: {failed} sends failed after 10 retries")
    return wall, Trace()


# -- replicas sharing one token, each in its own process --------------------------------
def _replica(
    conn: Connection, socket: str, url: str, name: str, scale: float = SCALE, backlog: int = 2000
) -> None:
    asyncio.run(_replica_async(conn, socket, url, name, scale, backlog))


async def _replica_async(
    conn: Connection, socket: str, url: str, name: str, scale: float, backlog: int
) -> None:
    """One replica's delivery half, as bot.app builds it (shared windows included):
    ready, then deliver until told to stop, then report what its limiter saw."""
    from redis.asyncio import Redis

    settings = Settings(  # type: ignore[call-arg, arg-type]
        _env_file=None, redis_url=f"unix://{socket}", telegram_token=TOKEN, telegram_api_base=url
    )
    redis = Redis.from_url(f"unix://{socket}", decode_responses=True)
    core = await build_core(settings, redis, WallClock(), consumer=name)
    application = build_application(settings, webhook=True)
    await application.initialize()
    sender = TelegramSender(application.bot, core.store, settings.timezone)
    limits = limits_at(scale)
    limiter = StampedLimiter(limits)
    shared = SharedLimiter(redis, token_scope("telegram", TOKEN), limits)
    deliverer = Deliverer(
        core.outbox,
        {"telegram": sender},
        {"telegram": limiter},
        shared={"telegram": shared},
        backlog=backlog,
    )
    loop = asyncio.get_running_loop()
    conn.send("ready")
    await loop.run_in_executor(None, conn.recv)  # "go"
    task = asyncio.create_task(deliverer.run(idle_block_ms=100))
    await loop.run_in_executor(None, conn.recv)  # "stop"
    deliverer.stop()
    await task
    await application.shutdown()
    await redis.aclose()
    conn.send((limiter.stamps, limiter.round_trips, shared.refusals, deliverer.sent))


async def run_replicas(
    fake: FakeProcess, replicas: int, scale: float = SCALE, order: list[tuple[int, int]] = ORDER
) -> tuple[float, Trace]:
    server = Server()
    redis = server.start()
    assert redis is not None, "the fan-out bench needs redis-server"
    settings = bench_settings(server, fake)
    spawn = mp.get_context("spawn")
    procs: list[tuple[Any, Connection]] = []
    try:
        core = await build_core(settings, redis, WallClock(), consumer="bench")
        alerts = [alert(n) for n in range(ALERTS)]
        for n, chat in order:
            await core.outbox.enqueue(alerts[n], f"telegram:{chat}")
        for r in range(replicas):
            conn, child = mp.Pipe()
            # A replica reads up to `backlog` entries ahead (2,000, as live); a fan-out
            # shorter than that would all go to the replica that read first.
            backlog = min(2000, len(order) // 3)
            args = (child, str(server.socket), fake.url, f"replica-{r}", scale, backlog)
            proc = spawn.Process(target=_replica, args=args, daemon=True)
            proc.start()
            procs.append((proc, conn))
        for _, conn in procs:
            assert conn.recv() == "ready"
        started = time.monotonic()
        for _, conn in procs:
            conn.send("go")
        await wait_for(fake, len(order), 3 * len(order) / (30 * scale) + 60)
        wall = time.monotonic() - started
        trace = Trace()
        for proc, conn in procs:
            conn.send("stop")
            stamps, round_trips, refusals, sent = conn.recv()
            proc.join(30)
            trace.stamps += stamps
            trace.round_trips += round_trips
            print(
                f"    {sent:,} sent, shared windows said 'not now' {refusals:,} times", flush=True
            )
        return wall, trace
    finally:
        for proc, _ in procs:
            if proc.is_alive():
                proc.kill()
        await redis.aclose()
        server.stop()


async def run_one_replica(fake: FakeProcess) -> tuple[float, Trace]:
    return await run_replicas(fake, 1)


async def run_two_replicas(fake: FakeProcess) -> tuple[float, Trace]:
    return await run_replicas(fake, 2)


async def run_one_replica_real(fake: FakeProcess) -> tuple[float, Trace]:
    return await run_replicas(fake, 1, 1.0, REAL_ORDER)


async def run_two_replicas_real(fake: FakeProcess) -> tuple[float, Trace]:
    return await run_replicas(fake, 2, 1.0, REAL_ORDER)


# -- measuring ----------------------------------------------------------------------------
def implied_span(accepted: list[tuple[int, float]], scale: float = SCALE) -> float:
    """The shortest first-to-last span the (scaled) limits allow for these sends."""

    def span(count: int, window: float, sends: int) -> float:
        return ((sends - 1) // count) * window if sends else 0.0

    per_chat: dict[int, int] = {}
    for chat, _ in accepted:
        per_chat[chat] = per_chat.get(chat, 0) + 1
    bounds = [span(30, 1.0 / scale, len(accepted))]
    bounds += [span(1, 1.0 / scale, n) for n in per_chat.values()]
    bounds += [span(20, 60.0 / scale, n) for chat, n in per_chat.items() if chat < 0]
    return max(bounds)


@dataclass
class Result:
    name: str
    wall_s: float
    span_s: float
    implied_s: float
    limit_429s: int
    requests: int
    breaks: list[tuple[str, float]]  # (window broken, how early in seconds) per 429
    lags: list[float]  # limiter start to arrival at the fake, seconds (ours only)
    round_trips: list[float]  # limiter start to answer, seconds (ours only)
    sends: int = N
    scale: float = SCALE

    @property
    def rate(self) -> float:
        return self.sends / self.span_s

    @property
    def fraction(self) -> float:
        return self.implied_s / self.span_s

    def broken(self) -> str:
        """Which windows the 429s broke: '2 overall (max 3.1 ms early)', or 'none'."""
        if not self.breaks:
            return "none"
        by: dict[str, list[float]] = {}
        for window, early in self.breaks:
            by.setdefault(window, []).append(early)
        return ", ".join(
            f"{len(e):,} {w.replace('_', ' ')} (max {max(e) * 1000:.1f} ms early)"
            for w, e in sorted(by.items())
        )

    def __str__(self) -> str:
        return (
            f"{self.fraction:.1%} of the limit, {self.limit_429s} 429s [{self.broken()}], "
            f"span {self.span_s:.1f} s, wall {self.wall_s:.1f} s; limiter start to arrival "
            f"{spread(self.lags)}, to answer {spread(self.round_trips)}"
        )


def spread(seconds: list[float]) -> str:
    """'mean 5.1 ms, median 4.0, p99 20.3, max 97.4' (or n/a)."""
    if not seconds:
        return "n/a"
    ordered = sorted(seconds)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return (
        f"mean {statistics.fmean(ordered) * 1000:.1f} ms, median "
        f"{statistics.median(ordered) * 1000:.1f}, p99 {p99 * 1000:.1f}, "
        f"max {ordered[-1] * 1000:.1f}"
    )


def lags(stamps: list[tuple[int, float]], arrivals: list[tuple[int, float]]) -> list[float]:
    """Pair each limiter stamp with the request it let go (k-th stamp of a chat, k-th
    request of that chat at the fake) and return arrival - stamp."""
    stamped: dict[int, list[float]] = {}
    for chat, at in stamps:
        stamped.setdefault(chat, []).append(at)
    arrived: dict[int, list[float]] = {}
    for chat, at in arrivals:
        arrived.setdefault(chat, []).append(at)
    return [
        a - s
        for chat, times in stamped.items()
        for s, a in zip(times, arrived.get(chat, []), strict=False)
    ]


def measure(
    fake: FakeProcess, name: str, wall_s: float, trace: Trace, n: int = N, scale: float = SCALE
) -> Result:
    stats = fake.ask("stats")
    accepted = stats["accepted"]
    assert len(accepted) == n, f"{name}: {len(accepted)} of {n} delivered"
    assert len({(chat, i) for i, (chat, _) in enumerate(accepted)}) == n
    times = sorted(at for _, at in accepted)
    return Result(
        name,
        wall_s,
        times[-1] - times[0],
        implied_span(accepted, scale),
        stats["limit_429s"],
        len(stats["arrivals"]),
        stats["breaks"],
        lags(trace.stamps, stats["arrivals"]),
        trace.round_trips,
        n,
        scale,
    )


CONTENDERS = (
    ("bot.delivery.deliverer", run_ours),
    ("bot.delivery, 1 replica (shared windows)", run_one_replica),
    ("bot.delivery, 2 replicas on one token", run_two_replicas),
    ("PTB AIORateLimiter", run_ptb),
    ("bot.delivery, 1 replica, real limits", run_one_replica_real),
    ("bot.delivery, 2 replicas on one token, real limits", run_two_replicas_real),
)
REAL = (run_one_replica_real, run_two_replicas_real)


def run(contenders: tuple[Any, ...] = CONTENDERS) -> list[Result]:
    fake = FakeProcess()
    results = []
    try:
        for name, contender in contenders:
            real = contender in REAL
            fake.ask("reset-real" if real else "reset")
            wall, trace = asyncio.run(contender(fake))
            n, scale = (len(REAL_ORDER), 1.0) if real else (N, SCALE)
            results.append(measure(fake, name, wall, trace, n, scale))
            print(f"  {name}: {results[-1]}", flush=True)
    finally:
        fake.stop()
    return results


def main() -> Report:
    results = run()
    limit = 30 * SCALE
    rows = "\n".join(
        f"| {r.name} | {r.sends:,} | {r.rate:,.1f} msg/s ({r.rate / r.scale:.2f} at real scale) "
        f"| **{r.fraction:.1%}** | {r.limit_429s:,} | {r.broken()} | {r.requests - r.sends:,} "
        f"| {r.span_s:.1f} s | {r.wall_s:.1f} s |"
        for r in results
    )
    ours, one, two, ptb, one_real, two_real = results
    figures = [
        Figure(
            f"bot.delivery, {N:,} sends: rate / limit-implied max; 429s",
            f"{ours.fraction:.1%}; {ours.limit_429s:,} × 429",
            "≥ 97% with 0 × 429 (issue 8)",
            ours.fraction >= 0.97 and ours.limit_429s == 0,
        ),
        Figure(
            f"2 replicas on one token at Telegram's real limits (30 msg/s), "
            f"{two_real.sends:,} sends: rate / limit-implied max; 429s",
            f"{two_real.fraction:.1%}; {two_real.limit_429s:,} × 429 (1 replica, same run: "
            f"{one_real.fraction:.1%}; {one_real.limit_429s:,} × 429)",
            "≥ 97% with 0 × 429 (issue 15; the goal is judged on this row)",
            two_real.fraction >= 0.97 and two_real.limit_429s == 0,
        ),
        Figure(
            f"2 replicas on one token, limits scaled {SCALE}x, {N:,} sends: rate / "
            "limit-implied max; 429s",
            f"{two.fraction:.1%}; {two.limit_429s:,} × 429 (1 replica, same run: "
            f"{one.fraction:.1%}; {one.limit_429s:,} × 429)",
            f"≥ 97% with 0 × 429 (issue 15's goal, {SCALE}x harder here)",
            two.fraction >= 0.97 and two.limit_429s == 0,
        ),
        Figure(
            "PTB AIORateLimiter, same fan-out and run: rate / limit-implied max; 429s",
            f"{ptb.fraction:.1%}; {ptb.limit_429s:,} × 429",
            "bot.delivery ahead (issue 8)",
            ours.fraction > ptb.fraction,
        ),
    ]
    # The score of sends exactly 30/s apart over the real-limits fan-out (no burst at the end).
    real_n = len(REAL_ORDER) - 1
    even_real = (real_n // 30) / (real_n / 30)
    body = f"""### {TITLE}

SYNTHETIC fan-out: {ALERTS} alerts x ({len(PRIVATE):,} private chats + {len(GROUPS):,} groups)
= {N:,} sendMessage calls, queued alert by alert. The fake Bot API (its own process)
polices Telegram's published limits as sliding windows and answers 429 + retry_after to any
send that breaks one. **All limits are scaled {SCALE}x for both contenders** (30 messages per
{1 / SCALE:.2f} s overall, 1 per {1 / SCALE:.2f} s per chat, 20 per {60 / SCALE:.0f} s per
group; retry_after shrinks {SCALE}x too), so the ceiling is {limit} msg/s here, 30 msg/s real.

| contender | sends | rate, first to last accepted send | of the limit-implied max \
| 429s provoked | windows broken | requests beyond the sends | span | wall (incl. start) |
|---|---|---|---|---|---|---|---|---|
{rows}

The last two rows are the same replicas at **Telegram's real limits** (30 messages per
second, 1 per second per chat, 20 per minute per group, retry_after unscaled), in the same
run against the same fake: SYNTHETIC, {ALERTS} alerts x ({len(REAL_PRIVATE):,} private
chats + {len(REAL_GROUPS):,} groups) = {len(REAL_ORDER):,} sends, a minute each (each
replica reading {len(REAL_ORDER) // 3:,} entries ahead rather than 2,000, or the first
to read would take them all). Over a fan-out this short, evenly spaced sends lose about
1.5 points against the limit-implied maximum, which allows the last window's 30 at once:
sending exactly 30 msg/s for the whole minute would score {even_real:.1%}.
**Issue 15's goal (≥ 97% of one token's limit, 0 × 429) is judged on the real-limits
2-replica row**: the goal is stated against Telegram's limit of 30 msg/s, and what a trader
asks is how close to that a 2-replica deployment sends. The {SCALE}x rows stay as the
harder test of the same code: scaling shrinks the window, not the round trip, so there
each send's round trip costs {SCALE}x its real share of the window.

What no loopback run shows: a deployment's own round trip to the Bot API is paid once per
window in the same way (a send counts until a window after its answer), so with a round
trip of R ms to api.telegram.org the rate is at most about 1 / (1.005 + R / 1000) of 30
msg/s: {1 / 1.025:.1%} at R = 20 ms, {1 / 1.055:.1%} at R = 50 ms. That is the price of
drawing no 429 whatever the jitter on the way; the bot's own share of it (the round trip
measured here, below) is what this bench can measure and cut.

Limit-implied minimum span for this fan-out: {ours.implied_s:.2f} s (the overall window
binds). bot.delivery.deliverer vs AIORateLimiter, span: {ptb.span_s / ours.span_s:.2f}x shorter.

**Replicas on one token.** "1 replica" and "2 replicas" are replica processes built as
`divbot run` builds its delivery half: each its own Redis connection, outbox consumer, Bot
and per-process limiter, all sharing the token's windows in Redis
(bot.delivery.shared_limits: one Lua step when a send goes, one when it is answered; the
message is made before the first, so the slot covers the request alone). At the real
limits, two replicas together: {two_real.fraction:.1%} of the limit-implied maximum with
{two_real.limit_429s:,} × 429; one replica: {one_real.fraction:.1%} with
{one_real.limit_429s:,} × 429. Scaled {SCALE}x: two {two.fraction:.1%}, one
{one.fraction:.1%}; the in-process deliverer above (no Redis step): {ours.fraction:.1%}.

bot.delivery.deliverer counts a send in the windows from the moment its limiter lets it go until a
window (+{OURS.headroom:.1%}) after its answer, since the fake may count it anywhere in
between. Each send's round trip is paid once per window, so the mean round trip is what
separates the rate from the ceiling, beyond the headroom. Measured in this run, from the
limiter letting a send go:

- to the request arriving at the fake: {spread(ours.lags)};
- to the answer: {spread(ours.round_trips)}.

Command: `make bench` (or `.venv/bin/python -m bench fanout`; `.venv/bin/python -m
bench.fanout ours` runs bot.delivery.deliverer alone and writes nothing).
"""
    return Report(body, figures)


if __name__ == "__main__":
    if sys.argv[1:] == ["ours"]:
        run(CONTENDERS[:1])
    elif sys.argv[1:] == ["replicas"]:
        run(CONTENDERS[1:3])
    elif sys.argv[1:] == ["real"]:
        run(CONTENDERS[4:])
    else:
        print(main().body)
