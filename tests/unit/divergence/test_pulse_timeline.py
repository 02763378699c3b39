"""The economy pulse as it stood at each instant of a replay (PulseTimeline): hand-computed
over SYNTHETIC prints (tests/support/pulse_data.py), each counted from its publication
instant, and built incrementally to exactly what the live pulse (economy_pulse, from
scratch) gives at every instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.divergence import metrics as dv
from bot.divergence.snapshot import neutral_levels
from tests.support import pulse_data as pd


def test_each_print_counts_from_its_publication_instant_hand_computed() -> None:
    timeline = dv.PulseTimeline(pd.history(), neutral_levels(), pd.published())
    cases = [
        (pd.bj(8, 29, 15), None),  # 5 prints public: PMI too short for a z
        (pd.bj(8, 31, 9, 29), None),
        (pd.bj(8, 31, 9, 30), pd.PULSE_AUG),
        (pd.bj(9, 30, 15), pd.PULSE_AUG),  # September's print is not out yet
        (pd.bj(10, 1, 9, 30), pd.PULSE_SEP),  # out on a holiday
        (pd.bj(10, 9, 15), pd.PULSE_SEP),
        (pd.bj(10, 31, 15), pd.PULSE_SEP),  # October's comes at 16:00
        (pd.bj(10, 31, 16), pd.PULSE_OCT),
        (pd.bj(11, 28, 15), pd.PULSE_OCT),
    ]
    for at, expected in cases:
        pulse = timeline.at(at)
        if expected is None:
            assert pulse.value is None, at
            assert pulse.short == ("PMI",), at
        else:
            assert pulse.value == pytest.approx(expected, abs=1e-6), at
        assert set(pulse.missing) == {"PPI", "CPI", "GDP"}


def test_asking_for_an_earlier_instant_is_refused() -> None:
    timeline = dv.PulseTimeline(pd.history(), neutral_levels(), pd.published())
    timeline.at(pd.bj(10, 9, 15))
    with pytest.raises(ValueError, match="after"):
        timeline.at(pd.bj(10, 8, 15))


def test_a_print_overdue_goes_stale_between_prints_and_back() -> None:
    # After 31 Oct the next PMI (November's) is due by 5 Dec; without it, October's print
    # is stale from 15 Dec and the pulse has nothing: the timeline sees it without a print
    timeline = dv.PulseTimeline(pd.history(), neutral_levels(), pd.published())
    assert timeline.at(pd.bj(12, 14, 23)).value == pytest.approx(pd.PULSE_OCT, abs=1e-6)
    late = timeline.at(pd.bj(12, 15, 0))
    assert late.value is None
    assert late.stale == ("PMI",)


# SYNTHETIC: random monthly prints for the four indicators, each published at a random
# instant within two months of its period (some never recorded: the fallback day counts)
MONTHS = [date(2023 + m // 12, m % 12 + 1, 1) for m in range(30)]


@st.composite
def macro(
    draw: st.DrawFn,
) -> tuple[dict[str, list[tuple[date, float]]], dict[str, dict[date, datetime]]]:
    history: dict[str, list[tuple[date, float]]] = {}
    published: dict[str, dict[date, datetime]] = {}
    for indicator in ("PPI", "CPI", "PMI", "GDP"):
        periods = MONTHS if indicator != "GDP" else [m for m in MONTHS if m.month % 3 == 1]
        kept = draw(st.lists(st.sampled_from(periods), unique=True, max_size=len(periods)))
        values = st.floats(-5, 60, allow_nan=False).map(lambda v: round(v, 1))
        history[indicator] = [(p, draw(values)) for p in sorted(kept)]
        times = {}
        for p in kept:
            if draw(st.booleans()):
                hours = draw(st.integers(0, 60 * 24))
                times[p] = datetime.combine(p, datetime.min.time(), UTC) + timedelta(hours=hours)
        published[indicator] = times
    return history, published


@settings(max_examples=60, deadline=None)
@given(macro(), st.lists(st.integers(0, 3 * 365 * 24), min_size=1, max_size=40))
def test_incremental_equals_from_scratch_at_every_instant(
    data: tuple[dict[str, list[tuple[date, float]]], dict[str, dict[date, datetime]]],
    hours: list[int],
) -> None:
    history, published = data
    timeline = dv.PulseTimeline(history, neutral_levels(), published)
    origin = datetime(2023, 1, 1, tzinfo=UTC)
    for h in sorted(hours):
        at = origin + timedelta(hours=h)
        assert timeline.at(at) == dv.economy_pulse(history, neutral_levels(), at, published)
