"""Macro history: China's monthly and quarterly prints, shared by the macro watcher and
/divergence's economy leg.

One Redis hash per indicator (``divbot:macro:{INDICATOR}``: ISO period start -> value).
Periods are the first day of the month (CPI, PPI, PMI) or of the quarter (GDP). The seed
file ``seeds/macro_history.csv`` (indicator,period,value,source) fills an empty store;
every row names where its figure comes from, or says it is synthetic.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot import keys

INDICATORS = ("GDP", "CPI", "PPI", "PMI")


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    name: str
    unit: str  # "% y/y" or "index"
    neutral: float  # what "normal" is: 0 for PPI, 2 for CPI, 50 for PMI, the target for GDP


DEFINITIONS = {
    "GDP": Indicator("GDP", "GDP", "% y/y", 5.0),
    "CPI": Indicator("CPI", "CPI", "% y/y", 2.0),
    "PPI": Indicator("PPI", "PPI", "% y/y", 0.0),
    "PMI": Indicator("PMI", "Manufacturing PMI", "index", 50.0),
}


def _key(indicator: str) -> str:
    if indicator not in DEFINITIONS:
        raise ValueError(f"unknown indicator {indicator!r}")
    return f"{keys.NS}:macro:{indicator}"


async def save_prints(redis: Any, indicator: str, prints: list[tuple[date, float]]) -> None:
    if prints:
        mapping = {d.isoformat(): repr(v) for d, v in prints if math.isfinite(v)}
        await redis.hset(_key(indicator), mapping=mapping)


async def load_history(redis: Any, indicator: str) -> list[tuple[date, float]]:
    """Oldest first."""
    raw: dict[str, str] = await redis.hgetall(_key(indicator))
    return sorted((date.fromisoformat(k), float(v)) for k, v in raw.items())


async def load_all(redis: Any) -> dict[str, list[tuple[date, float]]]:
    return {ind: await load_history(redis, ind) for ind in INDICATORS}


def read_seed(path: Path) -> dict[str, list[tuple[date, float]]]:
    out: dict[str, list[tuple[date, float]]] = {ind: [] for ind in INDICATORS}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["indicator"]].append((date.fromisoformat(row["period"]), float(row["value"])))
    return {k: sorted(v) for k, v in out.items()}


async def seed_if_empty(redis: Any, path: Path) -> bool:
    """Load the seed file into an empty store; True when it did."""
    if await redis.exists(*(_key(i) for i in INDICATORS)):
        return False
    for indicator, prints in read_seed(path).items():
        await save_prints(redis, indicator, prints)
    return True
