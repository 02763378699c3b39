"""Test data for /divergence: the seeds' synthetic closes and a made-up macro history.

The macro series are invented for tests (shaped like China's 2022-2025 prints, ending on
the reported December 2025 figures); they are not data.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.config import REPO_ROOT
from bot.divergence.metrics import months_back
from bot.macro import history as macro_history
from bot.sources.replay_quotes import read_daily

DAILY = REPO_ROOT / "seeds" / "history" / "daily"
INDEXES = ("STAR50", "HSTECH", "NDX", "CSI300")


def seed_closes(key: str) -> list[tuple[date, float]]:
    return read_daily(DAILY / f"{key}.csv")


def monthly(last: date, values: list[float]) -> list[tuple[date, float]]:
    n = len(values)
    return [(months_back(last, n - 1 - i), v) for i, v in enumerate(values)]


def macro() -> dict[str, list[tuple[date, float]]]:
    """48 months to December 2025 (GDP: 16 quarters to Q4 2025)."""
    dec = date(2025, 12, 1)
    ppi = [1.0 + 0.5 * (i % 3) for i in range(9)] + [-(0.5 + (i % 5) * 0.5) for i in range(38)]
    ppi.append(-1.9)  # 39 months below zero, the last one the reported -1.9
    cpi = [0.2 * (i % 6) for i in range(47)] + [0.8]
    pmi = [49.0 + 0.3 * (i % 7) for i in range(47)] + [50.1]
    gdp = [4.5 + 0.2 * (i % 4) for i in range(14)] + [4.8, 4.5]
    return {
        "PPI": monthly(dec, ppi),
        "CPI": monthly(dec, cpi),
        "PMI": monthly(dec, pmi),
        "GDP": [(months_back(date(2025, 10, 1), 3 * (15 - i)), v) for i, v in enumerate(gdp)],
    }


async def load(redis: Any, keys: tuple[str, ...] = INDEXES, with_macro: bool = True) -> None:
    for key in keys:
        mapping = {d.isoformat(): repr(c) for d, c in seed_closes(key)}
        await redis.hset(f"divbot:daily:{key}", mapping=mapping)
    if with_macro:
        for indicator, prints in macro().items():
            await macro_history.save_prints(redis, indicator, prints)
