"""Peak memory (RSS) of the bot process with 10,000 chats and 100,000 rules loaded, while
it fans one alert out to all 10,000 chats.

Measured in a fresh child process (`python -m bench.memory child`), so nothing another
bench allocated counts: it builds the core on a real redis-server, stores and loads
100,000 SYNTHETIC rules over 10,000 chats (bench.alert_latency's set, stored as they are
generated: the bot at a restart finds them in Redis, never in a list), subscribes the
10,000 chats to index moves, queues one house alert to every one of them through
`AlertService.dispatch`, and delivers them all with the Deliverer and python-telegram-bot
to the fake Bot API (its own process, not counted), limits scaled 20x so it takes about a
minute. The noise gate groups each chat's alerts for a few seconds, so the noise job runs
alongside, as in the live app (bot.app), to release them to the outbox; the run fails
unless every queued alert reached the fake Bot API. Peak RSS is the child's own
high-water mark, VmHWM (bench.process: unlike `ru_maxrss` it starts afresh at `exec`, so
what the runner held before does not count); after start-up (imports and seeds, no rules)
it is shown for scale.

`python -m bench memory`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from datetime import UTC, datetime

from bench.alert_latency import iter_bulk_rules, load
from bench.divergence_latency import Server
from bench.fanout import FakeProcess, bench_settings
from bench.process import peak_mb, run_child
from bench.summary import Figure, Report
from bot.clock import WallClock
from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.models import Alert, Family, Message
from bot.transports.telegram import TelegramSender, build_application
from bot.wiring import build_core
from jobs.noise import NoiseJob
from jobs.runner import run_forever

TITLE = "Peak memory: 10,000 chats and 100,000 rules"
N_CHATS = 10_000
N_RULES = 100_000
SCALE = 20
LIMITS = ratelimit.Limits(
    overall=ratelimit.RateWindow(30, 1.0 / SCALE),
    per_chat=ratelimit.RateWindow(1, 1.0 / SCALE),
    per_group=ratelimit.RateWindow(20, 60.0 / SCALE),
)


async def child(chats: int = N_CHATS, rules: int = N_RULES) -> dict[str, float]:
    fake = FakeProcess()
    server = Server()
    redis = server.start()
    assert redis is not None, "the memory bench needs redis-server"
    settings = bench_settings(server, fake)
    try:
        fake.ask("reset")
        core = await build_core(settings, redis, WallClock(), consumer="bench")
        application = build_application(settings, webhook=True)
        await application.initialize()
        base = peak_mb()
        await load(core, iter_bulk_rules(core, random.Random(11), rules, chats))
        loaded_rules = len(core.service.engine.rules)
        loaded = peak_mb()
        for i in range(1, chats + 1):
            await core.store.subscribe(f"telegram:{i if i % 5 else -i}", Family.MOVES)
        at = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)
        alert = Alert("bench-memory", Family.MOVES, Message("STAR 50 +3.0% on the day"), at)
        queued = len(await core.service.dispatch(alert))
        sender = TelegramSender(application.bot, core.store, settings.timezone)
        deliverer = Deliverer(
            core.outbox, {"telegram": sender}, {"telegram": ratelimit.RateLimiter(LIMITS)}
        )
        noise = asyncio.create_task(run_forever(NoiseJob(core.noise), core.clock))
        task = asyncio.create_task(deliverer.run(idle_block_ms=100))
        deadline = time.monotonic() + 300
        while deliverer.sent < queued and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        deliverer.stop()
        await task
        noise.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await noise
        await application.shutdown()
        assert deliverer.sent == queued == chats, f"{deliverer.sent} of {queued} delivered"
        return {
            "base": base,
            "loaded": loaded,
            "peak": peak_mb(),
            "rules": loaded_rules,
            "queued": queued,
            "sent": deliverer.sent,
        }
    finally:
        await redis.aclose()
        server.stop()
        fake.stop()


def measure(chats: int = N_CHATS, rules: int = N_RULES) -> dict[str, float]:
    """The bench in a fresh child process, at the given size (smaller ones for tests)."""
    return run_child("bench.memory", str(chats), str(rules))


def main() -> Report:
    r = measure()
    figure = Figure(
        "peak RSS, 10,000 chats and 100,000 rules, one alert fanned out to all",
        f"{r['peak']:.0f} MB",
        "< 250 MB (issue 8)",
        r["peak"] < 250,
    )
    body = f"""### {TITLE}

SYNTHETIC: {int(r["rules"]):,} move rules over 10,000 chats, stored in a real redis-server and
loaded into the engine as a restart does (page by page); 10,000 chats (8,000 private,
2,000 groups) subscribed; one alert fanned out to all of them through the noise gate and
the noise job, as live ({int(r["queued"]):,} queued, {int(r["sent"]):,} delivered to the fake
Bot API, limits scaled {SCALE}x). Measured in a fresh child process: its own peak RSS
(VmHWM), the same whether the bench runs alone or after others in `make bench`.
Target: under 250 MB.

| measure | MB |
|---|---|
| peak RSS after start-up (imports, seeds, no rules) | {r["base"]:.0f} |
| peak RSS once the rules are stored and loaded | {r["loaded"]:.0f} |
| peak RSS, rules loaded and the fan-out delivered | **{r["peak"]:.0f}** |

Command: `make bench` (or `.venv/bin/python -m bench memory`).
"""
    return Report(body, [figure])


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        print(json.dumps(asyncio.run(child(*map(int, sys.argv[2:])))))
    else:
        print(main().body)
