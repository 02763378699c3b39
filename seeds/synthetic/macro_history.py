"""Writes seeds/macro_history.csv: China's macro prints with where each figure comes from.

Run from the repository root: `.venv/bin/python seeds/synthetic/macro_history.py`.

Sources, in the `source` column of every row:
- "reported (DATA.md)": the figures in ../shared/DATA.md "What was reported".
- "NBS via Eastmoney RPT_ECONOMY_PPI/CPI index (BASE-100)": the monthly y/y index
  (previous year = 100) as published by Eastmoney's datacenter and mirrored in the public
  repository oowuyueco/pub (cn/PPI_eastmoney.js, cn/CPI_eastmoney.js); y/y = index - 100.
- "synthetic, real-shaped": everything else. These follow the published path as far as
  the author recalls it but were NOT checked against a source here; never quote them.

`released` is the release date: exact where the 2026 NBS calendar or DATA.md gives it,
otherwise the usual lag (CPI/PPI on the 10th of the next month, PMI on the last day of the
month, GDP on the 18th of the month after the quarter) - approximate, and used only to
decide what a replay starting on a given day already knows.
"""

from __future__ import annotations

import calendar
import csv
from datetime import date
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "macro_history.csv"
MIRROR = "NBS via Eastmoney {report} index (BASE-100), mirrored in oowuyueco/pub"
SYNTHETIC = "synthetic, real-shaped (unverified)"

# PPI index, previous year = 100, Jan 2022 .. Dec 2025 (Eastmoney RPT_ECONOMY_PPI BASE).
PPI_INDEX = [
    109.1, 108.8, 108.3, 108.0, 106.4, 106.1, 104.2, 102.3, 100.948, 98.7, 98.7, 99.3,
    99.2, 98.6, 97.5, 96.4, 95.4, 94.6, 95.6, 97.0, 97.5, 97.4, 97.0, 97.3,
    97.5, 97.3, 97.2, 97.5, 98.6, 99.2, 99.2, 98.2, 97.2, 97.1, 97.5, 97.7,
    97.7, 97.8, 97.5, 97.3, 96.7, 96.4, 96.4, 97.1, 97.7, 97.9, 97.8, 98.1,
]  # fmt: skip
# CPI index, previous year = 100, Jan 2022 .. Apr 2025 (Eastmoney RPT_ECONOMY_CPI NATIONAL_BASE).
CPI_INDEX = [
    100.9, 100.9, 101.5, 102.1, 102.1, 102.5, 102.7, 102.5, 102.8, 102.1, 101.6, 101.8,
    102.1, 101.0, 100.7, 100.1, 100.2, 100.0, 99.7, 100.1, 100.0, 99.8, 99.5, 99.7,
    99.2, 100.7, 100.1, 100.3, 100.3, 100.2, 100.5, 100.6, 100.4, 100.3, 100.2, 100.1,
    100.5, 99.3, 99.9, 99.9,
]  # fmt: skip
CPI_SYNTHETIC = [-0.1, 0.1, 0.0, -0.4, -0.3, 0.2]  # May .. Oct 2025
PMI_SYNTHETIC = [
    50.1,
    50.2,
    49.5,
    47.4,
    49.6,
    50.2,
    49.0,
    49.4,
    50.1,
    49.2,
    48.0,
    47.0,
    50.1,
    52.6,
    51.9,
    49.2,
    48.8,
    49.0,
    49.3,
    49.7,
    50.2,
    49.5,
    49.4,
    49.0,
    49.2,
    49.1,
    50.8,
    50.4,
    49.5,
    49.5,
    49.4,
    49.1,
    49.8,
    50.1,
    50.3,
    50.1,
    49.1,
    50.2,
    50.5,
    49.0,
    49.5,
    49.7,
    49.3,
    49.4,
    49.8,
    49.0,
    49.2,
]  # fmt: skip  Jan 2022 .. Nov 2025
GDP_SYNTHETIC = [4.8, 0.4, 3.9, 2.9, 4.5, 6.3, 4.9, 5.2, 5.3, 4.7, 4.6, 5.4, 5.4, 5.2]  # 22Q1..25Q2

REPORTED = [  # indicator, period, value, source, released
    ("CPI", date(2025, 11, 1), 0.7, "Nov 2025 y/y, reported (DATA.md: previous of Dec)", None),
    ("CPI", date(2025, 12, 1), 0.8, "Dec 2025 y/y, reported 9 Jan 2026 (DATA.md)", "2026-01-09"),
    ("PMI", date(2025, 12, 1), 50.1, "Dec 2025 official manufacturing PMI, reported (DATA.md)",
     "2025-12-31"),
    ("PMI", date(2026, 1, 1), 49.3,
     "Jan 2026 official manufacturing PMI, reported 31 Jan 2026 (DATA.md)", "2026-01-31"),
    ("GDP", date(2025, 7, 1), 4.8, "Q3 2025 y/y, reported (DATA.md)", None),
    ("GDP", date(2025, 10, 1), 4.5, "Q4 2025 y/y, reported 19 Jan 2026 (DATA.md)", "2026-01-19"),
]  # fmt: skip
# PPI Dec 2025 (-1.9) and Nov (-2.2) agree with DATA.md; their rows say so.
PPI_CONFIRMED = {
    date(2025, 11, 1): "; matches DATA.md (previous of Dec)",
    date(2025, 12, 1): "; matches DATA.md, reported 9 Jan 2026",
}
EXACT_RELEASE = {("PPI", date(2025, 12, 1)): "2026-01-09"}


def months(start: date, n: int) -> list[date]:
    return [date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
            for i in range(n)]  # fmt: skip


def usual_release(indicator: str, period: date) -> date:
    if indicator == "PMI":
        return period.replace(day=calendar.monthrange(period.year, period.month)[1])
    span = 3 if indicator == "GDP" else 1
    after = months(period, span + 1)[-1]
    return after.replace(day=18 if indicator == "GDP" else 10)


def main() -> None:
    rows: list[tuple[str, date, float, str, str]] = []

    def add(ind: str, period: date, value: float, source: str, released: str | None) -> None:
        when = released or EXACT_RELEASE.get((ind, period)) or usual_release(ind, period)
        rows.append((ind, period, round(value, 1), source, str(when)))

    for period, index in zip(months(date(2022, 1, 1), 48), PPI_INDEX, strict=True):
        note = MIRROR.format(report="RPT_ECONOMY_PPI") + PPI_CONFIRMED.get(period, "")
        add("PPI", period, index - 100, note, None)
    for period, index in zip(months(date(2022, 1, 1), 40), CPI_INDEX, strict=True):
        add("CPI", period, index - 100, MIRROR.format(report="RPT_ECONOMY_CPI"), None)
    for period, value in zip(months(date(2025, 5, 1), 6), CPI_SYNTHETIC, strict=True):
        add("CPI", period, value, SYNTHETIC, None)
    for period, value in zip(months(date(2022, 1, 1), 47), PMI_SYNTHETIC, strict=True):
        add("PMI", period, value, SYNTHETIC, None)
    for period, value in zip(months(date(2022, 1, 1), 42)[::3], GDP_SYNTHETIC, strict=True):
        add("GDP", period, value, SYNTHETIC, None)
    for ind, period, value, source, released in REPORTED:
        add(ind, period, value, source, released)
    rows.sort(key=lambda r: (["GDP", "CPI", "PPI", "PMI"].index(r[0]), r[1]))
    with OUT.open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["indicator", "period", "value", "source", "released"])
        for ind, period, value, source, released in rows:
            out.writerow([ind, period.isoformat(), f"{value:g}", source, released])


if __name__ == "__main__":
    main()
