"""The divergence metrics against values worked out by hand on small series, the regime
table, and hypothesis properties (swap, scale, identical series)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.divergence import metrics as dv
from bot.market.windows import window_base
from bot.models import DailyCloses, Window

D = date


def closes(*pairs: tuple[date, float]) -> DailyCloses:
    return DailyCloses.from_pairs(list(pairs))


# Shanghai sessions around Chinese New Year 2026 (closed 16-20 and 23 Feb) and the
# Nasdaq's (closed 16 Feb, Presidents' Day), with round numbers.
STAR = closes(
    (D(2026, 1, 29), 100.0),
    (D(2026, 1, 30), 110.0),  # last close of January
    (D(2026, 2, 2), 121.0),
    (D(2026, 2, 3), 133.1),
    (D(2026, 2, 12), 120.0),
    (D(2026, 2, 13), 125.0),  # last session before the holiday
    (D(2026, 2, 24), 150.0),  # first session after it
    (D(2026, 2, 25), 144.0),
)
NDX = closes(
    (D(2026, 1, 29), 190.0),
    (D(2026, 1, 30), 200.0),
    (D(2026, 2, 2), 210.0),
    (D(2026, 2, 3), 205.0),
    (D(2026, 2, 12), 180.0),
    (D(2026, 2, 13), 190.0),
    (D(2026, 2, 17), 200.0),
    (D(2026, 2, 20), 209.0),
    (D(2026, 2, 23), 228.0),
    (D(2026, 2, 24), 240.0),
)


def test_months_back_clamps_to_month_end() -> None:
    assert dv.months_back(D(2026, 3, 31), 1) == D(2026, 2, 28)
    assert dv.months_back(D(2026, 1, 16), 1) == D(2025, 12, 16)
    assert dv.months_back(D(2026, 1, 16), 12) == D(2025, 1, 16)
    assert dv.months_back(D(2024, 5, 31), 3) == D(2024, 2, 29)
    assert dv.months_back(D(2025, 11, 1), -3) == D(2026, 2, 1)


def test_mtd_across_a_month_boundary_by_hand() -> None:
    span = dv.window_span(STAR, "mtd", D(2026, 2, 3))
    assert span is not None
    assert (span.base_date, span.base, span.end) == (D(2026, 1, 30), 110.0, 133.1)
    assert span.change_pct == pytest.approx(21.0)  # 133.1 / 110 = 1.21
    assert span.sessions == 2


def test_windows_across_chinese_new_year_by_hand() -> None:
    # 5d on 25 Feb: five Shanghai sessions back (24, 13, 12, 3 Feb, then 2 Feb); the
    # holiday week simply does not count.
    span = dv.window_span(STAR, "5d", D(2026, 2, 25))
    assert span is not None
    assert span.base_date == D(2026, 2, 2)
    assert span.change_pct == pytest.approx((144.0 / 121.0 - 1) * 100)
    # 1d on the first session after the holiday: against the last one before it.
    one = dv.window_span(STAR, "1d", D(2026, 2, 24))
    assert one is not None
    assert (one.base_date, one.change_pct) == (D(2026, 2, 13), pytest.approx(20.0))
    # 1m on 24 Feb: the last close on or before 24 Jan is missing -> too little history
    assert dv.window_span(STAR, "1m", D(2026, 2, 24)) is None
    # mtd for the Nasdaq leg anchored on STAR's 24 Feb: base 30 Jan, end 24 Feb.
    ndx = dv.window_span(NDX, "mtd", D(2026, 2, 24))
    assert ndx is not None
    assert (ndx.base, ndx.end, ndx.sessions) == (200.0, 240.0, 8)


@pytest.mark.parametrize("window", ["1d", "5d", "mtd", "ytd"])
def test_foundation_windows_use_the_exact_bases_of_bot_windows(window: str) -> None:
    series = DailyCloses.from_pairs(
        [(D(2025, 12, 1) + timedelta(days=i), 100.0 + i) for i in range(0, 80) if i % 7 < 5]
    )
    for anchor in series.dates[10:]:
        span = dv.window_span(series, window, anchor)
        base = window_base(series, Window(window), anchor, None)
        if base is None:
            assert span is None
        else:
            assert span is not None
            assert span.base == base.value


def test_alignment_pairs_an_asian_day_with_the_us_session_before_it() -> None:
    x_dates = [D(2026, 2, 13), D(2026, 2, 24)]
    # lag 1: 13 Feb Shanghai <- 12 Feb New York; 24 Feb <- 23 Feb (not the 24th, which
    # closes after Shanghai's 24th)
    assert dv.align(x_dates, NDX, lag=1) == [180.0, 228.0]
    # lag 0 (same region): same date or the last before
    assert dv.align(x_dates, NDX, lag=0) == [190.0, 240.0]
    # B's return on STAR's first day after the holiday covers every US session in it
    aligned = dv.align(STAR.dates, NDX, lag=1)
    i = STAR.dates.index(D(2026, 2, 24))
    b_now, b_then = aligned[i], aligned[i - 1]
    assert b_now is not None
    assert b_then is not None
    assert b_now / b_then - 1 == pytest.approx(228.0 / 180.0 - 1)
    assert dv.align([D(2026, 1, 29)], NDX, lag=1) == [None]


def test_market_leg_by_hand() -> None:
    x = closes(*[(d, c) for d, c in zip(STAR.dates[:4], STAR.closes[:4], strict=True)])
    leg = dv.market_leg(x, NDX, "mtd", lag=1)
    assert leg.anchor == D(2026, 2, 3)
    assert leg.x.change_pct == pytest.approx(21.0)
    assert leg.b.change_pct == pytest.approx(2.5)  # 205 / 200
    assert leg.spread_pp == pytest.approx(18.5)
    assert leg.sessions == 2
    assert leg.z_spread is None  # no year of history: no z-score
    assert leg.z_return is None
    assert leg.corr20 is None
    with pytest.raises(dv.TooLittleHistory, match="b"):
        dv.market_leg(x, closes((D(2026, 2, 2), 1.0)), "mtd", lag=1)
    with pytest.raises(dv.TooLittleHistory, match="x"):
        dv.market_leg(DailyCloses(), NDX, "mtd", lag=1)


def test_zscore_and_correlation_by_hand() -> None:
    sample = [0.0, 1.0] * 30  # mean 0.5, sample stdev sqrt(60 * 0.25 / 59)
    assert dv.zscore(2.0, sample) == pytest.approx(1.5 / math.sqrt(15 / 59))
    assert dv.zscore(2.0, sample[:-2]) is None  # 58 samples: under MIN_Z_SAMPLES
    assert dv.zscore(2.0, [1.0] * 80) is None  # no dispersion
    assert dv.correlation([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert dv.correlation([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # by hand: dx = (-1, 0, 1), dy = (-1, 1, 0) -> 1 / (sqrt 2 * sqrt 2) = 0.5
    assert dv.correlation([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert dv.correlation([1, 1, 1], [1, 2, 3]) is None


START = D(2024, 1, 1)
WALK_START = D(2025, 11, 3)


def linear(days: int, start: date = START) -> DailyCloses:
    return DailyCloses.from_pairs([(start + timedelta(days=i), 100.0 + i) for i in range(days)])


def test_rolling_returns_cover_the_trailing_year_only() -> None:
    series = linear(400)  # one close a day: 2024-01-01 + i -> 100 + i
    got = dv.rolling_returns(series, 399, 1)
    # the year before day 399 starts on day 34 (2024 is a leap year: 365 days back)
    assert len(got) == 365
    assert got[0] == pytest.approx((134 / 133 - 1) * 100)
    assert got[-1] == pytest.approx((498 / 497 - 1) * 100)  # day 398; the anchor excluded
    # z of the anchor's 1-day return against that year, by the definition
    value = (499 / 498 - 1) * 100
    assert dv.return_zscore(series, 399, 1, value) == pytest.approx(dv.zscore(value, got))


def test_live_session_zscore_equals_the_closed_one() -> None:
    series = linear(400)
    anchor = series.dates[-1]
    leg = dv.market_leg(series, linear(400), "mtd", lag=0)
    before = DailyCloses(series.dates[:-1], series.closes[:-1])
    live = dv.session_return_zscore(before, anchor, "mtd", leg.x.change_pct)
    assert leg.z_return is not None
    assert live == pytest.approx(leg.z_return)


def test_correlation_of_aligned_returns_over_twenty_days() -> None:
    x = linear(30)
    b = DailyCloses(list(x.dates), [c * c for c in x.closes])
    aligned = dv.align(x.dates, b, 0)
    xs = [x.closes[j] / x.closes[j - 1] - 1 for j in range(10, 30)]
    bs = [b.closes[j] / b.closes[j - 1] - 1 for j in range(10, 30)]
    assert dv.aligned_correlation(x, aligned, 29) == pytest.approx(dv.correlation(xs, bs))
    assert dv.aligned_correlation(x, aligned, 19) is None  # needs 21 closes


# -- economy ------------------------------------------------------------------------

NEUTRAL = {"PPI": 0.0, "CPI": 2.0, "PMI": 50.0, "GDP": 5.0}
BEIJING = ZoneInfo("Asia/Shanghai")


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def monthly(first: date, values: list[float]) -> list[tuple[date, float]]:
    return [(dv.months_back(first, -i), v) for i, v in enumerate(values)]


def test_pulse_by_hand() -> None:
    ppi = monthly(D(2025, 7, 1), [-1.0, -2.0, -3.0, -2.0, -1.0, -3.0])  # Jul..Dec 2025
    cpi = monthly(D(2025, 7, 1), [1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    history = {"PPI": ppi, "CPI": cpi, "PMI": monthly(D(2025, 12, 1), [50.1]), "GDP": []}
    pulse = dv.economy_pulse(history, NEUTRAL, bj(2026, 1, 16))
    # PPI: stdev of (-1,-2,-3,-2,-1,-3) = sqrt(4/5); latest -3 -> z = -3 / sqrt(0.8)
    z_ppi = -3.0 / math.sqrt(0.8)
    # CPI: stdev of (1,2,3,1,2,3) = sqrt(4/5); latest 3 vs 2 -> z = 1 / sqrt(0.8)
    z_cpi = 1.0 / math.sqrt(0.8)
    assert pulse.readings["PPI"].z == pytest.approx(z_ppi)
    assert pulse.readings["CPI"].z == pytest.approx(z_cpi)
    assert pulse.value == pytest.approx((z_ppi + z_cpi) / 2)
    assert pulse.short == ("PMI",)  # one print: reported, not standardised
    assert pulse.missing == ("GDP",)
    assert pulse.readings["PPI"].streak == 6
    assert pulse.readings["PPI"].streak_is_floor  # negative since the history starts


def test_pulse_uses_only_published_prints() -> None:
    cpi = monthly(D(2025, 6, 1), [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 9.0])  # Jun..Dec
    # Without a recorded publication time (an old history row), the fallback rule: the
    # December CPI counts from the 15th
    early = dv.economy_pulse({"CPI": cpi}, {"CPI": 2.0}, bj(2026, 1, 14, 23, 59))
    assert early.readings["CPI"].period == D(2025, 11, 1)
    late = dv.economy_pulse({"CPI": cpi}, {"CPI": 2.0}, bj(2026, 1, 15))
    assert late.readings["CPI"].value == 9.0
    # Q4 GDP is public from 20 Jan; Q3 from 20 Oct
    assert dv.published_by("GDP", D(2025, 10, 1)) == D(2026, 1, 20)
    assert dv.published_by("PMI", D(2026, 1, 1)) == D(2026, 2, 5)


def test_ppi_streak_of_39_months() -> None:
    values = [0.5] * 6 + [-1.0] * 39  # six positive months, then 39 below zero
    ppi = monthly(D(2022, 4, 1), values)
    assert ppi[-1][0] == D(2025, 12, 1)
    reading = dv.economy_pulse({"PPI": ppi}, {"PPI": 0.0}, bj(2026, 1, 16)).readings["PPI"]
    assert (reading.streak, reading.streak_side, reading.streak_is_floor) == (39, -1, False)
    # a missing month stops the streak, and the reading names the missing month
    gapped = [p for p in ppi if p[0] != D(2025, 3, 1)]
    reading = dv.economy_pulse({"PPI": gapped}, {"PPI": 0.0}, bj(2026, 1, 16)).readings["PPI"]
    assert (reading.streak, reading.streak_is_floor, reading.gap) == (9, False, D(2025, 3, 1))


# -- score and regime ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "pulse", "expected"),
    [
        (2.7, -0.6, dv.Regime.DECOUPLED),  # the January 2026 shape
        (1.0, -1.0, dv.Regime.DECOUPLED),  # exactly on both edges
        (0.9, -1.5, dv.Regime.IN_LINE),  # economy weak, tech not strong: not decoupled
        (-1.5, 0.8, dv.Regime.TECH_LAGGING),
        (1.2, 0.6, dv.Regime.BROAD_STRENGTH),
        (3.0, 1.5, dv.Regime.BROAD_STRENGTH),
        (-1.5, -0.8, dv.Regime.BROAD_WEAKNESS),
        (0.2, 0.1, dv.Regime.IN_LINE),
    ],
)
def test_regime_table(z: float, pulse: float, expected: dv.Regime) -> None:
    assert dv.regime(z, pulse) is expected
    assert dv.decoupling_score(z, pulse) == pytest.approx(z - pulse)


def test_regime_text_and_missing_parts() -> None:
    assert dv.regime_text(dv.Regime.DECOUPLED, -0.6) == "tech running ahead of a weak economy"
    assert dv.regime_text(dv.Regime.DECOUPLED, 0.1) == "tech running ahead of the economy"
    assert dv.decoupling_score(None, 1.0) is None
    assert dv.decoupling_score(1.0, None) is None


# -- properties ---------------------------------------------------------------------

steps = st.lists(st.floats(-0.08, 0.08, allow_nan=False), min_size=30, max_size=90)


def walk(moves: list[float], start: date = WALK_START, level: float = 100.0) -> DailyCloses:
    days = [start + timedelta(days=i) for i in range(len(moves) + 1)]
    values = [level]
    for m in moves:
        values.append(values[-1] * (1 + m))
    return DailyCloses(days, values)


@given(a=steps, b=steps, window=st.sampled_from(dv.WINDOWS[:4]), lag=st.sampled_from([0, 1]))
def test_swapping_x_and_b_negates_the_spread(
    a: list[float], b: list[float], window: str, lag: int
) -> None:
    n = min(len(a), len(b))
    x, y = walk(a[:n]), walk(b[:n])
    if window in dv.PAIRED_WINDOWS and lag:
        # Paired sessions are not symmetric: X's day pairs with B's day before, so the
        # swap is a different pairing (test_spread_pairing.py checks those by hand).
        lag = 0
    try:
        forward = dv.market_leg(x, y, window, lag)
    except dv.TooLittleHistory:  # ytd of a series that starts in the same year
        return
    back = dv.market_leg(y, x, window, lag)
    assert back.spread_pp == pytest.approx(-forward.spread_pp, abs=1e-9)


@given(a=steps, b=steps, scale=st.floats(1e-3, 1e4), window=st.sampled_from(dv.WINDOWS))
def test_scaling_a_series_leaves_returns_unchanged(
    a: list[float], b: list[float], scale: float, window: str
) -> None:
    x, y = walk(a), walk(b, level=250.0)
    try:
        plain = dv.market_leg(x, y, window, 1)
    except dv.TooLittleHistory:
        return
    scaled = dv.market_leg(DailyCloses(x.dates, [c * scale for c in x.closes]), y, window, 1)
    assert scaled.x.change_pct == pytest.approx(plain.x.change_pct, rel=1e-9, abs=1e-9)
    assert scaled.spread_pp == pytest.approx(plain.spread_pp, rel=1e-9, abs=1e-9)
    if plain.corr20 is not None:
        assert scaled.corr20 == pytest.approx(plain.corr20, abs=1e-9)


@given(a=steps, window=st.sampled_from(dv.WINDOWS[:4]))
def test_a_series_identical_to_its_benchmark(a: list[float], window: str) -> None:
    moves = [m if i % 2 else m + 0.01 for i, m in enumerate(a)]  # never constant
    x = walk(moves)
    try:
        leg = dv.market_leg(x, DailyCloses(list(x.dates), list(x.closes)), window, lag=0)
    except dv.TooLittleHistory:
        return
    assert leg.spread_pp == pytest.approx(0.0, abs=1e-9)
    assert leg.corr20 == pytest.approx(1.0)
