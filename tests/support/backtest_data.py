"""SYNTHETIC daily closes for /backtest tests and the benchmark: made-up prices on real
Shanghai trading dates (holidays absent), so window bases skip them as they do live."""

from __future__ import annotations

import math
import random
from datetime import date

from bot.models import DailyCloses

# Each session's 1d move in % (the close is the previous one times 1 + move); Shanghai was
# closed 1-8 Oct 2025 (National Day), so 30 Sep to 9 Oct is one session.
MOVES: list[tuple[date, float | None]] = [
    (date(2025, 9, 22), None),  # the first close, 1000.00: the base of the first move
    (date(2025, 9, 23), 0.0),  # the period starts: the first value arms the rule, no fire
    (date(2025, 9, 24), 2.5),  # crosses +2: FIRE; re-arms at +1.00 or below (hyst=1)
    (date(2025, 9, 25), 2.0),  # still disarmed: no fire on the level
    (date(2025, 9, 26), 0.5),  # <= +1.00: re-armed
    (date(2025, 9, 29), 3.0),  # crosses: 5 days after the last fire, inside cooldown=7d
    (date(2025, 9, 30), -1.0),  # re-armed (the suppressed crossing disarmed it)
    (date(2025, 10, 9), 2.0),  # base 30 Sep (holidays absent), exactly +2.00: FIRE
    (date(2025, 10, 10), 1.5),  # above the re-arm band: stays disarmed
    (date(2025, 10, 13), 1.2),
    (date(2025, 10, 14), 2.5),  # over +2 but never re-armed: hysteresis holds, no fire
    (date(2025, 10, 15), 1.0),  # exactly +1.00: re-armed
    (date(2025, 10, 16), 2.0),  # FIRE: 7 days to the minute after the last: cooldown over
    (date(2025, 10, 17), 0.0),
]
FIRST = date(2025, 9, 23)
# `STAR50 1d up 2 hyst=1 cooldown=7d` over MOVES, by hand: (session, value, suppressed)
EXPECTED = [
    (date(2025, 9, 24), 2.5, False),
    (date(2025, 9, 29), 3.0, True),
    (date(2025, 10, 9), 2.0, False),
    (date(2025, 10, 16), 2.0, False),
]


def moves_series() -> DailyCloses:
    pairs, price = [], 1000.0
    for day, move in MOVES:
        if move is not None:
            price *= 1 + move / 100
        pairs.append((day, price))
    return DailyCloses.from_pairs(pairs)


def random_walk(days: list[date], seed: int = 20, start: float = 1000.0) -> DailyCloses:
    """SYNTHETIC: a seeded random walk (about 1.5% a day) on the given dates."""
    rng = random.Random(seed)
    price, pairs = start, []
    for day in days:
        price *= math.exp(rng.gauss(0.0, 0.015))
        pairs.append((day, round(price, 2)))
    return DailyCloses.from_pairs(pairs)
