"""Derive Shanghai/Shenzhen exchange closures for a year the libraries lack, as PROVISIONAL
rows for seeds/closures.toml.

    python seeds/closures_derive.py 2027            # print the [XSHG] table for 2027
    python seeds/closures_derive.py 2027 --check    # also score the rules on 2019–2026

The lunar dates (Spring Festival, Dragon Boat, Mid-Autumn) and the Qingming solar term
come from the `borax` lunar-calendar package, not from hand. What is *derived* is the
pattern the State Council has used in recent years, applied to weekdays (the exchanges
never trade on weekends, make-up working Saturdays included):

- New Year's Day: 1 January (a weekend one moves to the Monday after);
- Spring Festival: lunar New Year's Eve through the 7th day of the first lunar month;
- Qingming, Dragon Boat, Mid-Autumn: the day itself, or the Monday after a weekend one;
- Labour Day: 1–5 May;
- National Day: 1–7 October (a Mid-Autumn that falls inside joins it).

The State Council adds bridge days and swaps some years, which is why every row is
provisional until the exchanges' own notice (usually in December) confirms it; `--check`
shows how far the pattern is from the library's official data for past years. When a
`chinese-calendar` release covers the year, the bot uses its official dates instead (see
bot/closures.py).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta

from borax.calendars.lunardate import LunarDate, TermUtils

QINGMING_TERM = 6  # solar terms counted from Xiaohan (0): Qingming is the 7th


def _weekdays(first: date, last: date) -> list[date]:
    out, day = [], first
    while day <= last:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def _observed(day: date) -> date:
    """A festival on a weekend is observed on the Monday after (2020, 2022, 2025 did)."""
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


def derive(year: int) -> list[tuple[date, str]]:
    """(day, holiday name) for every weekday the pattern closes the exchange in `year`."""
    rows: dict[date, str] = {}

    def add(days: list[date], name: str) -> None:
        for d in days:
            rows.setdefault(d, name)

    new_year = date(year, 1, 1)
    add(
        [new_year if new_year.weekday() < 5 else new_year + timedelta(7 - new_year.weekday())],
        "New Year's Day",
    )
    lunar_new_year = LunarDate(year, 1, 1).to_solar_date()
    add(
        _weekdays(lunar_new_year - timedelta(days=1), lunar_new_year + timedelta(days=6)),
        "Spring Festival",
    )
    add([_observed(TermUtils.nth_term_day(year, QINGMING_TERM))], "Qingming Festival")
    add(_weekdays(date(year, 5, 1), date(year, 5, 5)), "Labour Day")
    add([_observed(LunarDate(year, 5, 5).to_solar_date())], "Dragon Boat Festival")
    mid_autumn = LunarDate(year, 8, 15).to_solar_date()
    national = (date(year, 10, 1), date(year, 10, 7))
    if national[0] - timedelta(days=3) <= mid_autumn <= national[1] + timedelta(days=1):
        national = (min(national[0], mid_autumn), max(national[1], mid_autumn))
        add(_weekdays(*national), "National Day and Mid-Autumn Festival")
    else:
        add([_observed(mid_autumn)], "Mid-Autumn Festival")
        add(_weekdays(*national), "National Day")
    return sorted(rows.items())


def toml_rows(year: int) -> str:
    lines = [
        "[XSHG]",
        f"through = {year}-12-31",
        "",
    ]
    for day, name in derive(year):
        lines += [
            "[[XSHG.closure]]",
            f"date = {day.isoformat()}",
            f'name = "{name}"',
            'status = "provisional"',
            "",
        ]
    return "\n".join(lines)


def check(years: range) -> str:
    """How the pattern compares with exchange_calendars' official Shanghai holidays."""
    import exchange_calendars as xcals

    cal = xcals.get_calendar("XSHG", start=f"{years.start}-01-01", end=f"{years.stop - 1}-12-31")
    sessions = {d.date() for d in cal.sessions}
    report = []
    for year in years:
        official = {d for d in _weekdays(date(year, 1, 1), date(year, 12, 31)) if d not in sessions}
        derived = {d for d, _ in derive(year)}
        report.append(
            f"{year}: official {len(official)}, derived {len(derived)}, "
            f"missed {sorted(d.isoformat() for d in official - derived)}, "
            f"extra {sorted(d.isoformat() for d in derived - official)}"
        )
    return "\n".join(report)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("year", type=int)
    parser.add_argument("--check", action="store_true", help="score the pattern on 2019-2026")
    args = parser.parse_args(argv)
    print(toml_rows(args.year))
    if args.check:
        print(check(range(2019, 2027)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
