"""Window bases: exact at month and year boundaries and across holidays."""

from __future__ import annotations

from datetime import date

import pytest

from bot.market.sessions import market
from bot.market.windows import pct_change, window_base
from bot.models import DailyCloses, Window


def shanghai_closes(first: str, last: str) -> DailyCloses:
    """Closes on real XSHG sessions, valued by day number so each base is recognisable."""
    sessions = market("XSHG").sessions_between(date.fromisoformat(first), date.fromisoformat(last))
    return DailyCloses.from_pairs([(s.day, float(s.day.toordinal() % 1000)) for s in sessions])


def value_of(day: date) -> float:
    return float(day.toordinal() % 1000)


def test_mtd_base_is_the_last_close_of_the_previous_month() -> None:
    closes = shanghai_closes("2025-12-01", "2026-01-31")
    base = window_base(closes, Window.MTD, date(2026, 1, 5), None)
    assert base is not None
    assert base.value == value_of(date(2025, 12, 31))
    assert base.label == "31 Dec close"


def test_ytd_base_crosses_the_new_year_holiday() -> None:
    closes = shanghai_closes("2025-12-01", "2026-01-31")
    # 1 and 2 January 2026 are Shanghai holidays: the first session is 5 January.
    assert not market("XSHG").is_session(date(2026, 1, 2))
    base = window_base(closes, Window.YTD, date(2026, 1, 5), None)
    assert base is not None
    assert base.value == value_of(date(2025, 12, 31))


def test_1d_base_skips_the_chinese_new_year_closure() -> None:
    closes = shanghai_closes("2026-02-01", "2026-03-06")
    # Shanghai closed 16-20 and 23 February 2026: the session after 13 Feb is 24 Feb.
    base = window_base(closes, Window.D1, date(2026, 2, 24), None)
    assert base is not None
    assert base.value == value_of(date(2026, 2, 13))


def test_5d_base_counts_sessions_not_calendar_days() -> None:
    closes = shanghai_closes("2026-02-01", "2026-03-06")
    base = window_base(closes, Window.D5, date(2026, 2, 26), None)
    # sessions before 26 Feb: ... 9, 10, 11, 12, 13, 24, 25 -> five back is 11 Feb
    assert base is not None
    assert base.value == value_of(date(2026, 2, 11))


def test_mtd_in_march_spans_the_february_holiday() -> None:
    closes = shanghai_closes("2026-02-01", "2026-03-06")
    base = window_base(closes, Window.MTD, date(2026, 3, 2), None)
    assert base is not None
    assert base.value == value_of(date(2026, 2, 27))


def test_intraday_is_against_todays_open_and_missing_history_gives_none() -> None:
    closes = shanghai_closes("2026-01-05", "2026-01-09")
    base = window_base(closes, Window.INTRADAY, date(2026, 1, 9), 1500.0)
    assert base is not None
    assert base.value == 1500.0
    assert window_base(closes, Window.MTD, date(2026, 1, 9), None) is None
    assert window_base(closes, Window.D5, date(2026, 1, 9), None) is None
    assert window_base(DailyCloses(), Window.INTRADAY, date(2026, 1, 9), None) is None


def test_a_quote_session_is_never_its_own_base() -> None:
    closes = shanghai_closes("2026-01-05", "2026-01-09")
    closes.put(date(2026, 1, 12), 999.0)  # today's closing snapshot already stored
    base = window_base(closes, Window.D1, date(2026, 1, 12), None)
    assert base is not None
    assert base.value == value_of(date(2026, 1, 9))


def test_pct_change() -> None:
    assert pct_change(1506.86, 1334.0) == pytest.approx(12.958, abs=1e-3)
