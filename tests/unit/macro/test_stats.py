"""Streak and surprise arithmetic at the edges, and the 39-month PPI streak out of the seeds."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import REPO_ROOT
from bot.macro.history import read_seed
from bot.macro.stats import (
    Streak,
    describe_streak,
    off_target,
    ordinal,
    streak,
    streak_change,
    surprise,
)


def test_ppi_39th_straight_month_below_zero_comes_out_of_the_seed() -> None:
    ppi = read_seed(REPO_ROOT / "seeds" / "macro_history.csv")["PPI"]
    assert ppi[0][0] == date(2022, 1, 1)
    assert ppi[-1] == (date(2025, 12, 1), -1.9)
    before = [v for _, v in ppi[:-1]]
    change = streak_change(before, ppi[-1][1], 0.0)
    assert change.after == Streak("below", 39)
    first_negative = ppi[-39][0]
    assert first_negative == date(2022, 10, 1)
    assert ppi[-40][1] > 0
    assert describe_streak(change, "zero", "month") == "39th straight month below zero"


def test_seed_filtered_by_release_date_leaves_january_prints_for_the_replay() -> None:
    path = REPO_ROOT / "seeds" / "macro_history.csv"
    known = read_seed(path, released_before=date(2026, 1, 1))
    assert known["PPI"][-1][0] == date(2025, 11, 1)  # Dec's came out on 9 Jan
    assert known["CPI"][-1][0] == date(2025, 11, 1)
    assert known["GDP"][-1][0] == date(2025, 7, 1)  # Q4 came out on 19 Jan
    assert known["PMI"][-1] == (date(2025, 12, 1), 50.1)  # out on 31 Dec
    assert read_seed(path)["PMI"][-1] == (date(2026, 1, 1), 49.3)


def test_a_zero_print_ends_a_streak_and_starts_none() -> None:
    change = streak_change([-0.5, -0.3, -0.1], 0.0, 0.0)
    assert change.before == Streak("below", 3)
    assert change.after == Streak(None, 0)
    assert change.ended
    assert not change.started
    assert describe_streak(change, "zero", "month") == "at zero: ends 3 months below zero"
    # and the next print after zero starts a fresh run of one
    nxt = streak_change([-0.5, -0.3, -0.1, 0.0], 0.2, 0.0)
    assert nxt.after == Streak("above", 1)
    assert nxt.started
    assert not nxt.ended
    assert describe_streak(nxt, "zero", "month") == "first month above zero"


def test_a_streak_of_one_and_a_break_and_restart() -> None:
    one = streak_change([50.2], 49.3, 50.0)  # PMI: Dec 50.1 -> Jan 49.3 style
    assert one.before == Streak("above", 1)
    assert one.after == Streak("below", 1)
    assert one.started
    assert one.ended
    assert describe_streak(one, "50", "month") == "first month below 50 after 1 month above"
    restart = streak([49.0, 49.5, 50.3, 49.8, 49.1], 50.0)
    assert restart == Streak("below", 2)  # the run restarted after the 50.3 break
    assert streak([], 0.0) == Streak(None, 0)
    assert streak([50.0], 50.0) == Streak(None, 0)
    long = streak_change([1.0] * 11, 2.0, 0.0)
    assert describe_streak(long, "zero", "quarter") == "12th straight quarter above zero"


@pytest.mark.parametrize(
    ("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (12, "12th"),
                    (13, "13th"), (21, "21st"), (39, "39th"), (102, "102nd"), (111, "111th")]
)  # fmt: skip
def test_ordinals(n: int, text: str) -> None:
    assert ordinal(n) == text


def test_surprise_in_sigmas_only_once_there_is_history() -> None:
    few = surprise(-1.9, -2.0, [0.1, -0.2])
    assert few.value == pytest.approx(0.1)
    assert few.sigma is None
    assert few.z is None
    enough = surprise(-1.9, -2.0, [0.1, -0.1, 0.1, -0.1])
    assert enough.sigma == pytest.approx(0.11547, rel=1e-4)
    assert enough.z == pytest.approx(0.866, rel=1e-3)
    flat = surprise(1.0, 1.0, [0.0, 0.0, 0.0, 0.0])
    assert flat.sigma == 0
    assert flat.z is None


def test_distance_to_a_target_band() -> None:
    assert off_target(4.5, (5.0, 5.0)) == pytest.approx(-0.5)
    assert off_target(4.7, (4.5, 5.0)) == 0
    assert off_target(5.3, (4.5, 5.0)) == pytest.approx(0.3)
