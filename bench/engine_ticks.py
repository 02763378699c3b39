"""Engine throughput: ticks per second with 1,000,000 rules over 20 instruments, against a
plain linear scan of the same rules measured in the same run (synthetic rules and ticks).

The linear scan applies the same semantics (armed -> fire at the trigger, re-arm past the
hysteresis band) by visiting every rule on every tick: what an unindexed bot does.

Measured in a fresh child process (`python -m bench.engine_ticks child`), so the peak RSS
after load is that process's own (VmHWM, bench.process) and the runner of `make bench`
never holds the million rules while the benches after it run.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bench.process import peak_mb, run_child
from bench.summary import Figure, Report
from bot.models import DailyCloses, Direction, Quote, Rule, RuleKind, Window
from bot.rules.engine import Engine

TITLE = "Engine: ticks per second, 1,000,000 rules"
N_RULES = 1_000_000
N_INSTRUMENTS = 20
WINDOWS = [Window.INTRADAY, Window.D1, Window.D5, Window.MTD, Window.YTD]
SESSION = date(2026, 1, 14)
T0 = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)
TICK_VOL = 0.0005  # 0.05% per tick: a one-minute poll of an index


def make_rules(rng: random.Random, n: int = N_RULES) -> list[Rule]:
    rules = []
    for i in range(n):
        inst = f"I{i % N_INSTRUMENTS}"
        direction = rng.choice([Direction.UP, Direction.DOWN, Direction.EITHER])
        rules.append(
            Rule(
                f"r{i}",
                "telegram:1",
                RuleKind.MOVE,
                inst,
                round(rng.uniform(0.5, 15.0), 2),
                direction,
                rng.choice(WINDOWS),
                cooldown_s=0,
            )
        )
    return rules


def make_closes() -> DailyCloses:
    days = [SESSION - timedelta(days=d) for d in range(40, 0, -1)]
    return DailyCloses.from_pairs([(d, 100.0) for d in days])


def make_ticks(rng: random.Random, n: int) -> list[Quote]:
    prices = {f"I{k}": 100.0 for k in range(N_INSTRUMENTS)}
    ticks = []
    for j in range(n):
        inst = f"I{rng.randrange(N_INSTRUMENTS)}"
        prices[inst] = max(50.0, prices[inst] * (1 + rng.gauss(0, TICK_VOL)))
        ticks.append(
            Quote(inst, prices[inst], T0 + timedelta(seconds=j), SESSION, "bench", open=100.0)
        )
    return ticks


class LinearScan:
    """Every rule visited on every tick."""

    def __init__(self, rules: list[Rule], closes: DailyCloses) -> None:
        self.rules = rules
        self.closes = closes
        self.armed = {(r.id, s): True for r in rules for s in _sides(r)}

    def on_quote(self, q: Quote) -> int:
        fired = 0
        for r in self.rules:
            if r.instrument != q.instrument:
                continue
            assert r.window is not None
            base = 100.0 if r.window is Window.INTRADAY else self.closes.closes[-1]
            value = (q.price / base - 1) * 100
            for side in _sides(r):
                trig = r.threshold * side
                key = (r.id, side)
                if self.armed[key]:
                    if (side == 1 and value >= trig) or (side == -1 and value <= trig):
                        self.armed[key] = False
                        fired += 1
                elif (side == 1 and value <= trig - r.hysteresis) or (
                    side == -1 and value >= trig + r.hysteresis
                ):
                    self.armed[key] = True
        return fired


def _sides(r: Rule) -> tuple[int, ...]:
    return {Direction.UP: (1,), Direction.DOWN: (-1,), Direction.EITHER: (1, -1)}[r.direction]


def run(n_rules: int = N_RULES, n_ticks: int = 5000, linear_ticks: int = 20) -> dict[str, float]:
    """The measurement, at the given size (smaller ones for tests): figures by name."""
    rng = random.Random(7)
    rules = make_rules(rng, n_rules)
    closes = make_closes()
    engine = Engine()
    for k in range(N_INSTRUMENTS):
        engine.set_closes(f"I{k}", closes)
    start = time.perf_counter()
    engine.load_rules(rules, {})
    load_s = time.perf_counter() - start
    gc.collect()
    peak = peak_mb()
    ticks = make_ticks(rng, n_ticks)
    # One flat quote per instrument first, untimed: rules loaded before any quote take
    # their starting state from it (armed, as the linear scan assumes) and fire nothing.
    for k in range(N_INSTRUMENTS):
        flat = replace(ticks[0], instrument=f"I{k}", price=closes.closes[-1], open=100.0)
        engine.on_quote(flat, flat.at)
    start = time.perf_counter()
    fired_indexed = 0
    for q in ticks:
        fired_indexed += len(engine.on_quote(q, q.at).crossings)
    indexed_s = time.perf_counter() - start
    linear = LinearScan(rules, closes)
    sample = ticks[:linear_ticks]
    start = time.perf_counter()
    for q in sample:
        linear.on_quote(q)
    linear_s = time.perf_counter() - start
    return {
        "load_s": load_s,
        "peak": peak,
        "ticks": len(ticks),
        "crossings": fired_indexed,
        "indexed_tps": len(ticks) / indexed_s,
        "linear_ticks": len(sample),
        "linear_tps": len(sample) / linear_s,
    }


def main() -> Report:
    r = run_child("bench.engine_ticks")
    indexed_tps, linear_tps = r["indexed_tps"], r["linear_tps"]
    figures = [
        Figure(
            "indexed engine / linear scan of the same 1M rules, ticks per second",
            f"{indexed_tps / linear_tps:,.0f}x ({indexed_tps:,.0f} vs {linear_tps:,.2f})",
            "none set (issue 2: indexed, O(log n + fired) a tick)",
        ),
        Figure("peak RSS, 1M rules loaded in the engine alone", f"{r['peak']:,.0f} MB"),
    ]
    body = "\n".join(
        [
            f"### {TITLE}",
            "",
            f"Synthetic: {N_RULES:,} move rules over {N_INSTRUMENTS} instruments, 5 windows, "
            "random thresholds 0.5-15% and directions; ticks are a random walk of 0.05% per tick",
            "(a one-minute poll of an index).",
            "",
            "| measure | value |",
            "|---|---|",
            f"| load 1M rules into the index | {r['load_s']:.1f} s |",
            f"| peak RSS after load | {r['peak']:,.0f} MB |",
            f"| indexed engine | {indexed_tps:,.0f} ticks/s ({int(r['ticks']):,} ticks, "
            f"{int(r['crossings']):,} crossings) |",
            f"| linear scan, same rules | {linear_tps:,.2f} ticks/s "
            f"({int(r['linear_ticks'])} ticks) |",
            f"| ratio indexed / linear | **{indexed_tps / linear_tps:,.0f}x** |",
            "",
            "Command: `make bench` (or `.venv/bin/python -m bench engine_ticks`).",
        ]
    )
    return Report(body, figures)


if __name__ == "__main__":
    if sys.argv[1:] == ["child"]:
        print(json.dumps(run()))
    else:
        print(main().body)
