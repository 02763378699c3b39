"""What a macro print means, as pure arithmetic: streaks, surprises, distance to target.

A streak is the run of latest consecutive prints on one side of a line (zero for PPI and
CPI, 50 for the PMI, the target for GDP). A print exactly on the line is on neither side:
it ends a streak and starts none. Consecutive means consecutive *periods*: a missing month
stops the run, and the text says which periods are missing (`run_before`, `gap_note`);
"previous" is the immediately preceding period's print or nothing. Surprises are actual
minus consensus; their size is also given in standard deviations of the indicator's
past surprises once there are enough of them to mean something (MIN_SURPRISES).
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


def step_back(period: date, months: int) -> date:
    """The period `months` before `period` (both first days of a month)."""
    total = period.year * 12 + period.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


def previous(
    history: list[tuple[date, float]], period: date, step_months: int = 1
) -> tuple[date, float] | None:
    """The print of the period immediately before `period`; None when it is missing (an
    older print is never presented as the previous one)."""
    want = step_back(period, step_months)
    return next(((d, v) for d, v in history if d == want), None)


@dataclass(frozen=True, slots=True)
class Gap:
    """Periods missing from a series, first and last (equal for one)."""

    first: date
    last: date

    def text(self, quarterly: bool) -> str:
        """'Oct 2026', 'Jan 2026–Oct 2026', 'Q2 2026'."""
        one = period_word(self.first, quarterly)
        return one if self.first == self.last else f"{one}–{period_word(self.last, quarterly)}"


def period_word(period: date, quarterly: bool) -> str:
    if quarterly:
        return f"Q{(period.month - 1) // 3 + 1} {period.year}"
    return f"{period:%b %Y}"


def run_before(
    history: list[tuple[date, float]], period: date, step_months: int
) -> tuple[list[float], Gap | None]:
    """The values of the prints right before `period` with no period missing between
    them (oldest first), and the missing periods the run stops at (None: the history
    simply starts there). A streak is counted over this run only, never across a gap."""
    by = dict(history)
    values = []
    p = step_back(period, step_months)
    while p in by:
        values.append(by[p])
        p = step_back(p, step_months)
    older = [d for d in by if d < p]
    if not older:
        return values[::-1], None
    first = max(older)
    total = first.year * 12 + first.month - 1 + step_months
    return values[::-1], Gap(date(total // 12, total % 12 + 1, 1), p)


def gap_note(change: StreakChange, run: list[float], gap: Gap | None, quarterly: bool) -> str:
    """', Oct 2026 missing: no streak counted across it' when the new print's run reaches
    back to a gap in the history (so it may be longer than the bot can count), else ''."""
    if gap is None or change.after.side is None or change.after.length != len(run) + 1:
        return ""
    return f" ({gap.text(quarterly)} missing: no streak counted across it)"
