"""What a macro print means, as pure arithmetic: streaks, surprises, distance to target.

A streak is the run of latest consecutive prints on one side of a line (zero for PPI and
CPI, 50 for the PMI, the target for GDP). A print exactly on the line is on neither side:
it ends a streak and starts none. Surprises are actual minus consensus; their size is
also given in standard deviations of the indicator's past surprises once there are
enough of them to mean something (MIN_SURPRISES).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date
from typing import Literal

Side = Literal["below", "above"]
MIN_SURPRISES = 4
EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Streak:
    side: Side | None  # None: the latest print sits exactly on the line (or no prints)
    length: int


@dataclass(frozen=True, slots=True)
class StreakChange:
    before: Streak
    after: Streak

    @property
    def started(self) -> bool:
        """A new run began with this print (a streak of one)."""
        return self.after.side is not None and self.after.length == 1

    @property
    def ended(self) -> bool:
        """The run that was going before this print is over."""
        return self.before.side is not None and self.after.side != self.before.side


def side_of(value: float, level: float) -> Side | None:
    if value < level - EPS:
        return "below"
    if value > level + EPS:
        return "above"
    return None


def streak(values: list[float], level: float) -> Streak:
    """The run of the latest values (oldest first) on the latest value's side of `level`."""
    if not values:
        return Streak(None, 0)
    side = side_of(values[-1], level)
    if side is None:
        return Streak(None, 0)
    length = 0
    for value in reversed(values):
        if side_of(value, level) != side:
            break
        length += 1
    return Streak(side, length)


def streak_change(before: list[float], new: float, level: float) -> StreakChange:
    return StreakChange(streak(before, level), streak([*before, new], level))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_streak(change: StreakChange, level_name: str, unit_word: str) -> str:
    """'39th straight month below zero', 'first month above 50 after 3 below', 'at 50: …'."""
    after, before = change.after, change.before
    plural = f"{unit_word}s"
    if after.side is None:
        if before.side is None:
            return f"at {level_name} again"
        n, words = before.length, unit_word if before.length == 1 else plural
        return f"at {level_name}: ends {n} {words} {before.side} {level_name}"
    if after.length == 1:
        if before.side is not None and before.side != after.side:
            n = before.length
            was = f"{n} {unit_word if n == 1 else plural} {before.side}"
            return f"first {unit_word} {after.side} {level_name} after {was}"
        return f"first {unit_word} {after.side} {level_name}"
    return f"{ordinal(after.length)} straight {unit_word} {after.side} {level_name}"


@dataclass(frozen=True, slots=True)
class Surprise:
    value: float  # actual - consensus
    sigma: float | None  # stdev of past surprises, when there are enough
    past: int  # how many past surprises there were

    @property
    def z(self) -> float | None:
        if self.sigma is None or self.sigma <= EPS:
            return None
        return self.value / self.sigma


def surprise(actual: float, consensus: float, past: list[float]) -> Surprise:
    clean = [x for x in past if math.isfinite(x)]
    sigma = statistics.stdev(clean) if len(clean) >= MIN_SURPRISES else None
    return Surprise(actual - consensus, sigma, len(clean))


def off_target(value: float, target: tuple[float, float]) -> float:
    """How far outside the target band (0 inside it); negative below, positive above."""
    low, high = target
    if value < low - EPS:
        return value - low
    if value > high + EPS:
        return value - high
    return 0.0


def previous(history: list[tuple[date, float]], period: date) -> tuple[date, float] | None:
    earlier = [(d, v) for d, v in history if d < period]
    return earlier[-1] if earlier else None
