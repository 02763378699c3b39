"""Quiet hours as pure arithmetic: across midnight, across daylight-saving changes in New
York and London, weekday-only nights, a start in a skipped hour, and every bad spec."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.chat.quiet import QuietHours, QuietSpecError, goes_through, parse_quiet, quiet_window

NY, LDN, SH = "America/New_York", "Europe/London", "Asia/Shanghai"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NIGHT = ["22:00-07:00"]
# (spec, zone, now, expected window or None). US DST 2026: 8 Mar (02:00 EST -> 03:00 EDT)
# and 1 Nov (02:00 EDT -> 01:00 EST). UK: 29 Mar (01:00 GMT -> 02:00 BST), 25 Oct.
CASES = [
    # an ordinary New York winter night, across midnight
    (NIGHT, NY, utc(2026, 1, 13, 2, 59), None),  # 21:59 EST
    (NIGHT, NY, utc(2026, 1, 13, 3, 0), (utc(2026, 1, 13, 3), utc(2026, 1, 13, 12))),
    (NIGHT, NY, utc(2026, 1, 13, 5, 30), (utc(2026, 1, 13, 3), utc(2026, 1, 13, 12))),  # 00:30
    (NIGHT, NY, utc(2026, 1, 13, 11, 59), (utc(2026, 1, 13, 3), utc(2026, 1, 13, 12))),
    (NIGHT, NY, utc(2026, 1, 13, 12, 0), None),  # 07:00 EST: over
    # spring forward inside the night: 22:00 EST to 07:00 EDT is 8 hours
    (NIGHT, NY, utc(2026, 3, 8, 4, 30), (utc(2026, 3, 8, 3), utc(2026, 3, 8, 11))),
    (NIGHT, NY, utc(2026, 3, 8, 10, 59), (utc(2026, 3, 8, 3), utc(2026, 3, 8, 11))),  # 06:59 EDT
    (NIGHT, NY, utc(2026, 3, 8, 11, 0), None),  # 07:00 EDT (it would still be quiet in EST)
    # fall back inside the night: 22:00 EDT to 07:00 EST is 10 hours
    (NIGHT, NY, utc(2026, 11, 1, 2, 0), (utc(2026, 11, 1, 2), utc(2026, 11, 1, 12))),
    (NIGHT, NY, utc(2026, 11, 1, 11, 30), (utc(2026, 11, 1, 2), utc(2026, 11, 1, 12))),
    (NIGHT, NY, utc(2026, 11, 1, 12, 0), None),
    # London, across the start of British Summer Time
    (NIGHT, LDN, utc(2026, 3, 28, 23, 0), (utc(2026, 3, 28, 22), utc(2026, 3, 29, 6))),
    (NIGHT, LDN, utc(2026, 3, 29, 6, 0), None),  # 07:00 BST
    (NIGHT, LDN, utc(2026, 10, 25, 6, 30), (utc(2026, 10, 24, 21), utc(2026, 10, 25, 7))),
    # weekdays: Friday night is quiet into Saturday; Saturday night is not
    (
        ["22:00-07:00", "weekdays"],
        NY,
        utc(2026, 1, 17, 4, 0),
        (utc(2026, 1, 17, 3), utc(2026, 1, 17, 12)),
    ),
    (["22:00-07:00", "weekdays"], NY, utc(2026, 1, 18, 4, 0), None),  # Sat 23:00 EST
    (["22:00-07:00", "weekdays"], NY, utc(2026, 1, 19, 4, 0), None),  # Sun 23:00 EST
    (
        ["22:00-07:00", "weekdays"],
        NY,
        utc(2026, 1, 20, 4, 0),
        (utc(2026, 1, 20, 3), utc(2026, 1, 20, 12)),
    ),
    # a window starting in the skipped hour begins when the clocks jump (03:00 EDT)
    (["02:30-03:30"], NY, utc(2026, 3, 8, 6, 59), None),
    (["02:30-03:30"], NY, utc(2026, 3, 8, 7, 0), (utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30))),
    # a daytime window in Shanghai (no DST), and the lunch break
    (["11:30-13:00"], SH, utc(2026, 1, 12, 4, 0), (utc(2026, 1, 12, 3, 30), utc(2026, 1, 12, 5))),
    (["11:30-13:00"], SH, utc(2026, 1, 12, 5, 0), None),
]


@pytest.mark.parametrize(("words", "tz", "now", "expected"), CASES)
def test_quiet_window(
    words: list[str], tz: str, now: datetime, expected: tuple[datetime, datetime] | None
) -> None:
    assert quiet_window(parse_quiet(words), now, tz) == expected


@pytest.mark.parametrize(
    "words",
    [
        [],
        ["22:00"],
        ["22-07"],
        ["25:00-07:00"],
        ["22:60-07:00"],
        ["22:00-22:00"],
        ["22:00-07:00", "sometimes"],
        ["22:00-07:00", "urgent=loud"],
        ["22:00-07:00", "daily", "weekdays"],
        ["22:00-07:00", "urgent=none", "urgent=critical"],
        ["22:00-07:00", "daily", "urgent=none", "extra"],
    ],
)
def test_bad_specs_are_refused(words: list[str]) -> None:
    with pytest.raises(QuietSpecError):
        parse_quiet(words)


def test_spec_round_trips_and_urgency() -> None:
    spec = parse_quiet(["23:15-06:45", "WEEKDAYS", "urgent=warning"])
    assert spec == QuietHours.from_json(spec.to_json())
    assert [goes_through(spec, s) for s in ("info", "warning", "critical")] == [False, True, True]
    default = parse_quiet(NIGHT)
    assert [goes_through(default, s) for s in ("info", "warning", "critical")] == [
        False,
        False,
        True,
    ]
    nothing = parse_quiet([*NIGHT, "urgent=none"])
    assert not goes_through(nothing, "critical")
