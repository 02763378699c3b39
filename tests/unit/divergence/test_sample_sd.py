"""The fast sample standard deviation is statistics.stdev bit for bit, and the engine's
running sums give zscore() bit for bit (so the decoupling score, live and in a backtest,
is unchanged): SYNTHETIC floats and closes of every kind."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.divergence.metrics import MIN_Z_SAMPLES, UNSUMMED, ReturnSums, zscore
from bot.divergence.sample_sd import sqrt_of_ratio, stdev

FLOATS = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
RETURNS = st.tuples(st.floats(500, 2000), st.floats(500, 2000)).map(
    lambda p: (p[0] / p[1] - 1.0) * 100.0
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(FLOATS, RETURNS, st.sampled_from([0.0, 1.0, -0.5])), min_size=2))
def test_equals_statistics_stdev(values: list[float]) -> None:
    assert stdev(values) == statistics.stdev(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e300, 1e300, allow_nan=False), min_size=2, max_size=20))
def test_far_apart_magnitudes_too(values: list[float]) -> None:
    assert stdev(values) == statistics.stdev(values)


def test_exact_squares_and_ties_round_as_ieee() -> None:
    assert sqrt_of_ratio(9, 4) == 1.5
    assert sqrt_of_ratio(2, 1) == statistics.stdev([0.0, 2.0])  # sqrt(2), correctly rounded
    # (1 + 2^-53)^2: its root is exactly halfway between 1 and the next float up, and
    # rounds to the one whose last significand bit is 0, which is 1
    num, den = (1 << 53) + 1, 1 << 53
    assert sqrt_of_ratio(num * num, den * den) == 1.0
    # (1 + 3 * 2^-53)^2: halfway between 1 + 2^-52 (odd) and 1 + 2^-51 (even)
    num = (1 << 53) + 3
    assert sqrt_of_ratio(num * num, den * den) == 1.0 + 2.0**-51


def test_fewer_than_two_values_are_refused() -> None:
    with pytest.raises(ValueError, match="two values"):
        stdev([1.0])


# SYNTHETIC closes: a random walk with occasional flat days (zero returns)
WALKS = st.lists(st.one_of(st.floats(-0.08, 0.08), st.just(0.0)), min_size=70, max_size=400).map(
    lambda moves: [1000.0 * (1 + sum(moves[: i + 1])) for i in range(len(moves))]
)


@settings(max_examples=150, deadline=None)
@given(WALKS, st.integers(1, 25), st.floats(-30, 30), st.data())
def test_running_sums_give_zscore_bit_for_bit(
    closes: list[float], n: int, value: float, data: st.DataObject
) -> None:
    if len(closes) <= n + MIN_Z_SAMPLES:
        return
    stop = data.draw(st.integers(n + MIN_Z_SAMPLES, len(closes)))
    first = data.draw(st.integers(n, stop - MIN_Z_SAMPLES))
    sample = [(closes[j] / closes[j - n] - 1.0) * 100.0 for j in range(first, stop)]
    sums = ReturnSums(closes)
    answers = [sums.zscore(n, first, stop, value) for _ in range(len(closes) // 100 + 1)]
    assert answers[:-1] == [UNSUMMED] * (len(answers) - 1)  # direct until worth summing
    assert answers[-1] == zscore(value, sample)
