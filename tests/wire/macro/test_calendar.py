"""The release calendar: the seed parses, times are UTC from their own zone (daylight
saving included), bad entries are refused with a reason, chat entries lie over the seed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from redis.asyncio import Redis

from bot.config import REPO_ROOT
from bot.macro.calendar import (
    CalendarError,
    ReleaseCalendar,
    load_seed,
    local_to_utc,
    parse_calendar,
    parse_entry,
)

SEED = REPO_ROOT / "seeds" / "calendar_2026.toml"


def by_key() -> dict[str, object]:
    return {e.key: e for e in load_seed(SEED)}


def test_seed_has_the_nbs_2026_schedule_in_utc() -> None:
    entries = {e.key: e for e in load_seed(SEED)}
    cpi, ppi = entries["CPI:2025-12"], entries["PPI:2025-12"]
    assert cpi.at == ppi.at == datetime(2026, 1, 9, 1, 30, tzinfo=UTC)  # 09:30 Beijing
    assert (cpi.consensus, ppi.consensus) == (0.8, -2.0)
    gdp = entries["GDP:2025-Q4"]
    assert gdp.at == datetime(2026, 1, 19, 2, 0, tzinfo=UTC)  # Monday 19 Jan, not the 20th
    assert (gdp.period, gdp.target, gdp.target_text) == (
        date(2025, 10, 1),
        (5.0, 5.0),
        "around 5% (2025 target)",
    )
    assert entries["PMI:2026-01"].at == datetime(2026, 1, 31, 1, 30, tzinfo=UTC)
    assert entries["PMI:2026-02"].at == datetime(2026, 3, 4, 1, 30, tzinfo=UTC)
    assert entries["IP:2026-06"].at == datetime(2026, 7, 15, 7, 0, tzinfo=UTC)  # 15:00 that day
    assert entries["GDP:2026-Q1"].target == (4.5, 5.0)
    assert entries["CPI:2026-02"].target == (2.0, 2.0)  # after the 5 March announcement
    assert entries["CPI:2026-01"].target is None  # released 11 Feb: not yet announced
    npc = entries["event:npc-2026"]
    assert npc.kind == "event"
    assert "Five-Year Plan" in npc.title
    monthly = [e for e in entries.values() if e.indicator in ("CPI", "PPI", "PMI")]
    assert len(monthly) == 36
    assert len([e for e in entries.values() if e.indicator in ("IP", "RETAIL")]) == 22


def test_us_release_moves_an_hour_in_utc_across_daylight_saving() -> None:
    entries = {e.key: e for e in load_seed(SEED)}
    winter, summer = entries["US_CPI:2025-12"], entries["US_CPI:2026-02"]
    assert winter.tz == summer.tz == "America/New_York"
    assert winter.at == datetime(2026, 1, 13, 13, 30, tzinfo=UTC)  # 08:30 EST = UTC-5
    assert summer.at == datetime(2026, 3, 11, 12, 30, tzinfo=UTC)  # 08:30 EDT = UTC-4
    # The same wall time either side of the 8 March switch.
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    assert local_to_utc("2026-03-07T08:30", ny) == datetime(2026, 3, 7, 13, 30, tzinfo=UTC)
    assert local_to_utc("2026-03-09T08:30", ny) == datetime(2026, 3, 9, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "why"),
    [
        ("2026-03-08T02:30", "does not exist"),  # clocks jump 02:00 -> 03:00
        ("2026-11-01T01:30", "happens twice"),  # clocks go back 02:00 -> 01:00
    ],
)
def test_a_wall_time_daylight_saving_skips_or_repeats_is_refused(at: str, why: str) -> None:
    raw = {"indicator": "US_CPI", "period": "2026-02", "at": at, "tz": "America/New_York"}
    raw["unit"] = "% y/y"
    with pytest.raises(CalendarError, match=why):
        parse_entry("release", raw)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({"indicator": "CPI", "period": "2026-01", "at": "2026-02-11T09:30", "tz": "Mars/Base"},
         "unknown time zone"),
        ({"indicator": "CPI", "period": "2026-13", "at": "2026-02-11T09:30"}, "period"),
        ({"indicator": "GDP", "period": "2026-03", "at": "2026-04-16T10:00"}, "2025-Q4"),
        ({"indicator": "CPI", "period": "2026-Q1", "at": "2026-04-16T10:00"}, "month"),
        ({"indicator": "CPI", "period": "2026-01", "at": "11 Feb"}, "not a time"),
        ({"indicator": "CPI", "period": "2026-01", "at": "2026-02-11T09:30+08:00"}, "wall time"),
        ({"indicator": "CPI", "period": "2026-03", "at": "2026-02-11T09:30"}, "before the period"),
        ({"indicator": "CPI", "period": "2026-01", "at": "2026-02-11T09:30", "consensus": "0.4"},
         "number"),
        ({"indicator": "CPI", "period": "2026-01", "at": "2026-02-11T09:30",
          "consensus": float("nan")}, "out of range"),
        ({"indicator": "CPI", "period": "2026-01", "at": "2026-02-11T09:30", "colour": 1},
         "unknown field"),
        ({"indicator": "XX_NEW", "period": "2026-01", "at": "2026-02-11T09:30"}, "unit"),
        ({"indicator": "cpi; DROP", "period": "2026-01", "at": "2026-02-11T09:30"}, "indicator"),
    ],
)  # fmt: skip
def test_bad_entries_are_refused_with_a_reason(raw: dict[str, object], why: str) -> None:
    with pytest.raises(CalendarError, match=why):
        parse_entry("release", raw)


def test_a_bad_entry_in_a_file_names_its_position_and_duplicates_are_refused() -> None:
    good = {"indicator": "CPI", "period": "2026-01", "at": "2026-02-11T09:30"}
    with pytest.raises(CalendarError, match=r"^calendar: release\.1\.period: period 'nope'"):
        parse_calendar({"release": [good, {**good, "period": "nope"}]})
    with pytest.raises(CalendarError, match="listed twice"):
        parse_calendar({"release": [good, good]})


async def test_chat_entries_lie_over_the_seed_and_survive_a_reload(redis_client: Redis) -> None:
    seed = load_seed(SEED)
    calendar = ReleaseCalendar(redis_client, seed)
    moved = parse_entry(
        "release",
        {"indicator": "GDP", "period": "2025-Q4", "at": "2026-01-20T10:00", "target": 5.0},
        origin="chat",
    )
    await calendar.put(moved)
    again = {e.key: e for e in await ReleaseCalendar(redis_client, seed).entries()}
    assert again["GDP:2025-Q4"].at == datetime(2026, 1, 20, 2, 0, tzinfo=UTC)
    assert again["GDP:2025-Q4"].origin == "chat"
    assert len(again) == len(seed)
    assert await calendar.remove("GDP:2025-Q4")
    restored = {e.key: e for e in await calendar.entries()}
    assert restored["GDP:2025-Q4"].at == datetime(2026, 1, 19, 2, 0, tzinfo=UTC)
