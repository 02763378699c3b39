"""/divergence reply latency with five years of SYNTHETIC daily history per index.

Synthetic data only (seeded random walks on each market's real trading calendar, and a
made-up macro history): it measures the bot's code, not any market. Runs against a real
redis-server on a unix socket in a temp folder (fakeredis if none is installed), on a
fixed simulated clock, through the real command boundary (handlers.dispatch.handle).

Measured:
- text only / text + chart, *series cached*: closes and macro prints are in the process
  cache; the snapshot (metrics) and the chart are recomputed for every request;
- text + chart, *snapshot cached*: a repeat of the same request within the cache TTL;
- 100 requests at once (asyncio.gather): 100 *different* requests (every window, by
  default and for each ordered pair of indexes) with nothing computed yet, and 100
  identical cached ones; each request's own latency, and the batch's wall time.

`python -m bench divergence_latency` (or `python -m bench.divergence_latency`).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.summary import Figure, Report
from bot.clock import SimClock
from bot.config import Settings
from bot.divergence.metrics import WINDOWS, months_back
from bot.macro import history as macro_history
from bot.market.sessions import market
from bot.state.connect import embedded_redis
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle

TITLE = "/divergence reply latency"
FIRST, LAST = date(2021, 2, 1), date(2026, 1, 30)
NOW = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)
SERIES = {"STAR50": ("XSHG", 1000.0, 0.018), "HSTECH": ("XHKG", 5000.0, 0.016),
          "NDX": ("XNYS", 15000.0, 0.011), "CSI300": ("XSHG", 4000.0, 0.009)}  # fmt: skip


def synthetic_closes(key: str, rng: random.Random) -> list[tuple[date, float]]:
    calendar, level, vol = SERIES[key]
    out = []
    for session in market(calendar).sessions_between(FIRST, LAST):
        level *= 1 + rng.gauss(0.0002, vol)
        out.append((session.day, round(level, 2)))
    return out


def synthetic_macro(rng: random.Random) -> dict[str, list[tuple[date, float]]]:
    dec = date(2025, 12, 1)
    months = [months_back(dec, 59 - i) for i in range(60)]
    quarters = [months_back(date(2025, 10, 1), 3 * (19 - i)) for i in range(20)]
    return {
        "PPI": [(m, round(rng.uniform(-4, 3), 1)) for m in months],
        "CPI": [(m, round(rng.uniform(-0.5, 2.5), 1)) for m in months],
        "PMI": [(m, round(rng.uniform(48.5, 51.5), 1)) for m in months],
        "GDP": [(q, round(rng.uniform(3.5, 6.5), 1)) for q in quarters],
    }


class Server:
    """A throwaway redis-server on a unix socket, or None when none is installed."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.proc: subprocess.Popen[bytes] | None = None
        self.socket = Path(self.dir.name) / "redis.sock"

    def start(self) -> Redis | None:
        binary = shutil.which("redis-server")
        if binary is None:
            return None
        self.proc = subprocess.Popen(  # noqa: S603
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(500):
            if self.socket.exists():
                break
            time.sleep(0.01)
        return Redis.from_url(f"unix://{self.socket}", decode_responses=True)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        self.dir.cleanup()


def cmd(*args: str) -> Command:
    return Command("console", "console:bench", "bench", "divergence", tuple(args))


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def timed(core: Core, command: Command, chart: bool) -> float:
    start = time.perf_counter()
    if chart:
        message = await handle(core, command)
        assert message.image is not None, message.title
    else:  # the text-only reply: the same snapshot and table, no chart
        from bot.divergence import snapshot
        from handlers.divergence import parse

        window, pairs = parse(core, command.args)
        snapshot.render(core, await snapshot.snapshot(core, window, pairs))
    return time.perf_counter() - start


def forget(core: Core) -> None:
    """Drop computed snapshots and charts; keep the cached series."""
    core.divergence.snapshots.clear()
    core.divergence.charts.clear()


Row = tuple[str, str, str]  # measure, "median / p99" ms, requests
TEXT = "text only, series cached, snapshot recomputed"
CHART = "text + chart, series cached, snapshot and chart recomputed"
COLD = "first request (cold: load series, compute, render)"
MANY_TEXT = "100 different requests at once: text only"
MANY_CHARTS = "100 different requests at once: text + chart"


async def run() -> tuple[list[Row], dict[str, tuple[float, float]]]:
    """The table's rows, and (median, p99) ms by measure for the summary."""
    rng = random.Random(20260131)
    server = Server()
    redis: Any = server.start() or embedded_redis()
    backend = "redis-server (unix socket)" if server.proc else "fakeredis (no redis-server)"
    try:
        await redis.flushall()
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        core = await build_core(settings, redis, SimClock(NOW))
        for key in SERIES:
            await core.store.put_closes(key, synthetic_closes(key, rng))
        for indicator, prints in synthetic_macro(rng).items():
            await macro_history.save_prints(redis, indicator, prints)
        sizes = [len((await core.store.load_closes(k)).dates) for k in SERIES]
        rows: list[Row] = []
        figures: dict[str, tuple[float, float]] = {}
        start = time.perf_counter()
        await handle(core, cmd())  # cold: loads the series, computes, renders
        cold = (time.perf_counter() - start) * 1000
        rows.append((COLD, f"{cold:.1f}", "1"))
        figures[COLD] = (cold, cold)

        async def serial(label: str, reps: int, chart: bool, recompute: bool) -> None:
            samples = []
            for i in range(reps):
                if recompute:
                    forget(core)
                samples.append(await timed(core, cmd(WINDOWS[i % len(WINDOWS)]), chart))
            med, p99 = stats(samples)
            rows.append((label, f"{med:.2f} / {p99:.2f}", str(reps)))
            figures[label] = (med, p99)

        # 100 different requests: every window, by default and for each ordered pair
        pairs: list[tuple[str, ...]] = [()]
        pairs += [(x, b) for x in SERIES for b in SERIES if x != b]
        distinct = [cmd(w, *p) for p in pairs for w in WINDOWS][:100]

        async def concurrent(label: str, chart: bool, recompute: bool) -> None:
            if recompute:
                forget(core)
            commands = distinct if recompute else [cmd()] * 100
            start = time.perf_counter()
            samples = await asyncio.gather(*(timed(core, c, chart) for c in commands))
            wall = (time.perf_counter() - start) * 1000
            med, p99 = stats(list(samples))
            rows.append((f"{label}; batch wall {wall:.0f} ms", f"{med:.2f} / {p99:.2f}", "100"))
            figures[label] = (med, p99)

        await serial(TEXT, 400, False, True)
        await serial(CHART, 60, True, True)
        for window in WINDOWS:  # warm every window, then only repeats are timed
            await timed(core, cmd(window), True)
        await serial("text + chart, snapshot cached", 400, True, False)
        await concurrent(MANY_TEXT, False, True)
        await concurrent(MANY_CHARTS, True, True)
        await timed(core, cmd(), True)  # warm the default request again
        await concurrent("100 identical requests at once: text + chart, cached", True, False)
        names = ", ".join(SERIES)
        rows.insert(0, (f"closes per index ({names})", ", ".join(map(str, sizes)), ""))
        rows.insert(1, ("store", backend, ""))
        return rows, figures
    finally:
        await redis.aclose()
        server.stop()


def main() -> Report:
    rows, ms = asyncio.run(run())
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    second = "< 1 s (issue 5: 'well under a second')"
    figures = [
        Figure(
            "/divergence text reply p99 (series cached, snapshot recomputed)",
            f"{ms[TEXT][1]:.1f} ms",
            "< 50 ms (issue 21)",
            ms[TEXT][1] < 50,
        ),
        Figure(
            "/divergence text + chart p99 (series cached, snapshot and chart recomputed)",
            f"{ms[CHART][1]:.0f} ms",
            second,
            ms[CHART][1] < 1000,
        ),
        Figure(
            "/divergence first request (cold: load series, compute, render)",
            f"{ms[COLD][1]:.0f} ms",
            second,
            ms[COLD][1] < 1000,
        ),
        Figure(
            "/divergence p99, 100 different text requests at once", f"{ms[MANY_TEXT][1]:.0f} ms"
        ),
        Figure(
            "/divergence p99, 100 different text + chart requests at once",
            f"{ms[MANY_CHARTS][1] / 1000:.1f} s",
        ),
    ]
    body = (
        f"### {TITLE}, five years of synthetic daily history\n\n"
        "Serial rows: the default request (STAR 50 and HS TECH vs NDX), windows cycling through "
        f"{' '.join(WINDOWS)}; synthetic random walks on each market's calendar "
        f"{FIRST}..{LAST} and 60 months of made-up macro prints. Times are per reply, "
        "median / p99 in milliseconds, measured with `time.perf_counter` around "
        "the command boundary.\n\n"
        "| measure | median / p99 ms | requests |\n|---|---|---|\n"
        f"{table}\n\n"
        "Command: `make bench` (or `.venv/bin/python -m bench divergence_latency`)."
    )
    return Report(body, figures)


if __name__ == "__main__":
    from bench.__main__ import write

    report = main()
    print(report.body)
    write("divergence_latency", report)
