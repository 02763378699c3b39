"""What followed each fire: the instrument's move 1, 5 and 20 sessions later, per fire and
summarised (median, worst), and the fires counted per calendar year.

A move after a fire runs from the rule's instrument's close on the fire's session (for a
spread fired by the second leg's close, the first leg's last close on or before that
date) to its close that many of its own sessions later. A fire too recent to have that
many sessions after it has no move for that horizon and is left out of its summary.
"Worst" is the lowest move (the largest fall), whatever the rule's direction.
"""

from __future__ import annotations

import bisect
import statistics
from collections import Counter
from dataclasses import dataclass

from bot.backtest.replay import Fire
from bot.models import DailyCloses

HORIZONS = (1, 5, 20)


@dataclass(frozen=True, slots=True)
class After:
    """Moves in % of the instrument after one fire, by horizon (None: not yet known)."""

    fire: Fire
    moves: dict[int, float | None]


@dataclass(frozen=True, slots=True)
class Summary:
    horizon: int
    count: int  # fires with a known move at this horizon
    median: float | None
    worst: float | None


def moves_after(fires: list[Fire], closes: DailyCloses) -> list[After]:
    out = []
    for fire in fires:
        i = bisect.bisect_right(closes.dates, fire.day) - 1
        moves: dict[int, float | None] = {}
        for n in HORIZONS:
            if i < 0 or i + n >= len(closes.closes):
                moves[n] = None
            else:
                moves[n] = (closes.closes[i + n] / closes.closes[i] - 1.0) * 100.0
        out.append(After(fire, moves))
    return out


def summarise(afters: list[After]) -> list[Summary]:
    out = []
    for n in HORIZONS:
        known = [m for a in afters if (m := a.moves[n]) is not None]
        out.append(
            Summary(
                n,
                len(known),
                statistics.median(known) if known else None,
                min(known) if known else None,
            )
        )
    return out


def per_year(fires: list[Fire], first: int, last: int) -> dict[int, int]:
    """Fires (not suppressed ones) per calendar year from `first` to `last`, zeros kept."""
    counts = Counter(f.day.year for f in fires if not f.suppressed)
    return {year: counts.get(year, 0) for year in range(first, last + 1)}
