"""Macro prints count from their real publication time, never from an assumed day, and a
print older than its series' cadence is stale (issue 16.7, 16.8). Values are synthetic."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.divergence import metrics as dv

BEIJING = ZoneInfo("Asia/Shanghai")
D = date


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def monthly(first: date, values: list[float]) -> list[tuple[date, float]]:
    return [(dv.months_back(first, -i), v) for i, v in enumerate(values)]


PPI = monthly(D(2025, 6, 1), [-3.6, -3.6, -2.9, -2.3, -2.1, -2.2, -1.9])  # Jun..Dec 2025
# December's print came out on Fri 9 Jan 2026, 09:30 Beijing (the NBS calendar)
PUBLISHED = {"PPI": {D(2025, 12, 1): bj(2026, 1, 9, 9, 30)}}


def test_a_print_counts_from_its_release_time_not_an_assumed_day() -> None:
    before = dv.economy_pulse({"PPI": PPI}, {"PPI": 0.0}, bj(2026, 1, 9, 9, 29), PUBLISHED)
    assert before.readings["PPI"].value == -2.2  # November's, one minute before
    at = dv.economy_pulse({"PPI": PPI}, {"PPI": 0.0}, bj(2026, 1, 9, 9, 30), PUBLISHED)
    assert (at.readings["PPI"].period, at.readings["PPI"].value) == (D(2025, 12, 1), -1.9)
    # the old rule waited for the 15th; the 9 Jan digest now has December's print
    digest = dv.economy_pulse({"PPI": PPI}, {"PPI": 0.0}, bj(2026, 1, 9, 16, 15), PUBLISHED)
    assert digest.readings["PPI"].value == -1.9


def test_a_year_old_print_is_stale_not_latest() -> None:
    # In December 2026 the latest stored PPI is December 2025's: January 2026's was due
    # by 15 Feb 2026 (+10 days' grace): stale since 25 Feb 2026, left out of the pulse
    assert dv.stale_since("PPI", D(2025, 12, 1)) == D(2026, 2, 25)
    pulse = dv.economy_pulse({"PPI": PPI}, {"PPI": 0.0}, bj(2026, 12, 2), PUBLISHED)
    assert pulse.readings["PPI"].stale
    assert pulse.stale == ("PPI",)
    assert pulse.value is None
    fresh = dv.economy_pulse({"PPI": PPI}, {"PPI": 0.0}, bj(2026, 2, 24, 23), PUBLISHED)
    assert not fresh.readings["PPI"].stale
    # GDP: Q4 2025 stays the latest until Q1 2026 is overdue (20 Apr + 10 days)
    assert dv.stale_since("GDP", D(2025, 10, 1)) == D(2026, 4, 30)
