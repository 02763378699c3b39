"""Scale (issue 19 item 4): 5,000 instruments watched and 1,000,000 rules. A restart's load
from a real redis-server, one poll cycle's evaluation (a quote of each of the 5,000
instruments through the engine) p50/p99, and the process's peak RSS (VmHWM).

SYNTHETIC data: 5,000 instruments S0000-S4999 with 30 flat daily closes and a stored last
quote each; 1,000,000 rules over 100,000 chats, 70% moves (5 windows, 0.5-10%), 20% price
levels (±20% of the price), 10% spreads of S0002-S0501 against S0000 or S0001 (1d, mtd);
a tenth of the rules have a saved armed state. Each cycle moves every price by a random
0.1% (a 10-second poll). Rules are written straight to Redis in the store's own format,
then loaded the way a restart loads them (bot.rules.live.LiveRules.load).

Run in a fresh child process (`python -m bench.scale child`) for its own VmHWM. The same
child also runs against the previous layout (the commit before it, BASELINE, exported
with `git archive` to a temporary directory), side by side in the same run; without git
or that commit, only the new layout is measured.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.process import ROOT, peak_mb
from bench.summary import Figure, Report

TITLE = "Scale: 5,000 instruments, 1,000,000 rules"
BASELINE = "8640170"  # the last commit with the previous layout (SortedList books, Rule objects)
N_INSTRUMENTS = 5_000
N_RULES = 1_000_000
N_CHATS = 100_000
N_CYCLES = 30
SESSION = date(2026, 1, 14)
T0 = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)
CYCLE_VOL = 0.001  # 0.1% per cycle
WINDOWS = ["intraday", "1d", "5d", "mtd", "ytd"]
CHUNK = 10_000


def inst_key(k: int) -> str:
    return f"S{k:04d}"


def iter_docs(rng: random.Random, n: int, instruments: int) -> Iterator[dict[str, Any]]:
    """The SYNTHETIC rules as the store keeps them (Rule.to_json), one at a time."""
    for i in range(1, n + 1):
        pick = rng.random()
        doc: dict[str, Any] = {
            "id": f"r{i}",
            "owner": f"telegram:{1 + i % N_CHATS}",
            "direction": rng.choice(["up", "down", "either"]),
            "cooldown_s": 3600,
            "paused": False,
            "created_at": 1767225600.0 + i,
            "other": None,
        }
        if pick < 0.7:
            threshold = round(rng.uniform(0.5, 10.0), 2)
            doc |= {"kind": "move", "instrument": inst_key(rng.randrange(instruments))}
            doc |= {"window": rng.choice(WINDOWS), "threshold": threshold, "hysteresis": 0.5}
        elif pick < 0.9:
            level = round(100.0 * rng.uniform(0.8, 1.2), 2)
            doc |= {"kind": "level", "instrument": inst_key(rng.randrange(instruments))}
            doc |= {"window": None, "threshold": level, "hysteresis": level * 0.5 / 100}
        else:
            threshold = round(rng.uniform(0.5, 10.0), 2)
            doc |= {"kind": "spread", "instrument": inst_key(2 + rng.randrange(500))}
            doc |= {"other": inst_key(rng.randrange(2)), "window": rng.choice(["1d", "mtd"])}
            doc |= {"threshold": threshold, "hysteresis": 0.5}
        yield doc


async def store_synthetic(redis: Any, rules: int, instruments: int) -> None:
    """Closes, last quotes and rules written in the store's key schema, pipelined."""
    from bot.models import Quote
    from bot.state import keys
    from bot.state.codec import quote_to_json

    rng = random.Random(19)
    days = [
        SESSION - timedelta(days=d)
        for d in range(45, 0, -1)
        if (SESSION - timedelta(days=d)).weekday() < 5
    ]
    async with redis.pipeline(transaction=False) as pipe:
        for k in range(instruments):
            pipe.hset(keys.daily(inst_key(k)), mapping={d.isoformat(): "100.0" for d in days})
            at = T0 - timedelta(minutes=1)
            pipe.set(
                keys.quote(inst_key(k)),
                quote_to_json(Quote(inst_key(k), 100.0, at, SESSION, "bench", open=100.0)),
            )
        await pipe.execute()
    docs = iter_docs(rng, rules, instruments)
    done = False
    while not done:
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(CHUNK):
                doc = next(docs, None)
                if doc is None:
                    done = True
                    break
                pipe.hset(keys.RULES, doc["id"], json.dumps(doc))
                pipe.sadd(keys.owner_rules(doc["owner"]), doc["id"])
                if rng.random() < 0.1:
                    pipe.hset(keys.RULE_STATE, keys.rule_side(doc["id"], 1), rng.choice("01"))
            await pipe.execute()
    await redis.set(keys.RULE_SEQ, rules)


async def child(
    rules: int = N_RULES, instruments: int = N_INSTRUMENTS, cycles: int = N_CYCLES
) -> dict[str, Any]:
    from bench.divergence_latency import Server
    from bot.config import Settings
    from bot.market.watchlist import Watchlist
    from bot.models import Instrument, Quote
    from bot.rules.live import LiveRules
    from bot.state.rule_changes import RuleChanges
    from bot.state.store import Store

    server = Server()
    redis = server.start()
    assert redis is not None, "the scale bench needs redis-server"
    try:
        await store_synthetic(redis, rules, instruments)
        gc.collect()
        before = peak_mb()
        watchlist = Watchlist(
            [Instrument(inst_key(k), inst_key(k), "XSHG", "stock") for k in range(instruments)]
        )
        live = LiveRules(
            Store(redis), RuleChanges(redis, "bench"), watchlist, Settings(_env_file=None)
        )  # type: ignore[call-arg]
        start = time.perf_counter()
        await live.load()
        load_s = time.perf_counter() - start
        engine = live.engine
        loaded = len(engine.rules)
        gc.collect()
        after_load = peak_mb()
        rng = random.Random(23)
        prices = [100.0] * instruments
        samples: list[float] = []
        crossings = 0
        for c in range(cycles):
            at = T0 + timedelta(seconds=10 * c)
            quotes = []
            for k in range(instruments):
                prices[k] *= 1 + rng.gauss(0, CYCLE_VOL)
                quotes.append(
                    Quote(inst_key(k), round(prices[k], 2), at, SESSION, "bench", open=100.0)
                )
            start = time.perf_counter()
            for quote in quotes:
                crossings += len(engine.on_quote(quote, at).crossings)
            samples.append(time.perf_counter() - start)
        ordered = sorted(samples[1:])  # steady cycles; the first after the load apart
        return {
            "rules": loaded,
            "load_s": load_s,
            "before_mb": before,
            "loaded_mb": after_load,
            "peak_mb": peak_mb(),
            "first_s": samples[0],
            "p50_s": statistics.median(ordered),
            "p99_s": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
            "cycles": cycles,
            "crossings": crossings,
        }
    finally:
        await redis.aclose()
        server.stop()


def run_in(tree: Path, *args: str) -> dict[str, Any]:
    """This bench's child in `tree` (its own `bot` package), in a fresh interpreter."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.scale", "child", *args],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"scale child in {tree} failed ({out.returncode}):\n{out.stderr[-4000:]}"
        )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def baseline(*args: str) -> dict[str, Any] | None:
    """The same child on the previous layout (BASELINE), or None when git can't give it."""
    git = shutil.which("git")
    if git is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(  # noqa: S603
            [git, "archive", BASELINE], cwd=ROOT, capture_output=True, check=False
        )
        if archive.returncode != 0:
            return None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)  # noqa: S603,S607
        shutil.copy(Path(__file__), Path(tmp) / "bench" / "scale.py")
        return run_in(Path(tmp), *args)


def main() -> Report:
    new = run_in(ROOT)
    old = baseline()
    worst = max(new["first_s"], new["p99_s"])
    p99_ok, mem_ok = worst <= 1.0, new["peak_mb"] <= 500
    figures = [
        Figure(
            "the slowest poll cycle's evaluation, 5,000 quotes, 1M rules",
            f"{worst * 1000:,.0f} ms (first after the load {new['first_s'] * 1000:,.0f}; "
            f"p99 of the rest {new['p99_s'] * 1000:,.0f}; p50 {new['p50_s'] * 1000:,.0f})",
            "≤ 1 s (issue 19)",
            p99_ok,
        ),
        Figure(
            "peak RSS, 5,000 instruments and 1M rules loaded and evaluated",
            f"{new['peak_mb']:,.0f} MB",
            "≤ 500 MB (issue 19)",
            mem_ok,
        ),
        Figure(
            "restart: load 1M rules from Redis",
            f"{new['load_s']:.1f} s",
            "none set (issue 19: faster)",
        ),
    ]

    def col(r: dict[str, Any] | None, fmt: str, key: str, scale: float = 1.0) -> str:
        return "not run" if r is None else fmt.format(r[key] * scale)

    rows = [
        ("rules loaded", "{:,.0f}", "rules", 1.0),
        ("load from Redis (a restart), s", "{:.1f}", "load_s", 1.0),
        ("first cycle after the load, ms", "{:,.0f}", "first_s", 1000.0),
        ("cycle evaluation p50 (the other cycles), ms", "{:,.0f}", "p50_s", 1000.0),
        ("cycle evaluation p99 (the other cycles), ms", "{:,.0f}", "p99_s", 1000.0),
        ("crossings in all cycles", "{:,.0f}", "crossings", 1.0),
        ("peak RSS before the load (Redis filled), MB", "{:,.0f}", "before_mb", 1.0),
        ("peak RSS after the load, MB", "{:,.0f}", "loaded_mb", 1.0),
        ("peak RSS at the end, MB", "{:,.0f}", "peak_mb", 1.0),
    ]
    table = "\n".join(
        f"| {name} | {col(new, fmt, key, k)} | {col(old, fmt, key, k)} |"
        for name, fmt, key, k in rows
    )
    body = "\n".join(
        [
            f"### {TITLE}",
            "",
            f"SYNTHETIC: {N_RULES:,} rules, {N_INSTRUMENTS:,} instruments, {N_CHATS:,} chats",
            "(70% moves over 5 windows, 20% price levels, 10% spreads of 500 names against 2",
            "benchmarks; a tenth with a saved armed state), stored in a real redis-server and",
            f"loaded as a restart loads them; then {N_CYCLES} poll cycles, each a quote of every",
            "instrument (a random 0.1% move) through the engine. Each layout in its own fresh",
            f"child process (VmHWM). The previous layout is commit {BASELINE} (sorted lists of",
            "tuples, a `Rule` object per rule), run in the same run with the same venv.",
            "",
            "| measure | compact layout | previous layout |",
            "|---|---|---|",
            table,
            "",
            "Goals (issue 19): cycle ≤ 1 s, process ≤ 500 MB.",
            "Command: `.venv/bin/python -m bench scale`.",
        ]
    )
    return Report(body, figures)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        print(json.dumps(asyncio.run(child(*map(int, sys.argv[2:])))))
    else:
        print(main().body)
