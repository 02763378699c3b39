"""Generate the SYNTHETIC price seeds the demo replays (not market data).

Daily closes 2024-07-01..2026-01-30 and 15-minute bars for January 2026 for STAR50, HSTECH,
NDX and CSI300. Every series is a seeded log-normal random walk pinned, by Brownian bridges,
to waypoints: a few made-up turning points for the history and the figures reported in
../shared/DATA.md and the articles for January 2026 (see seeds/README.md). Segments
are redrawn (same RNG, so still deterministic) until they respect the January constraints.

Run: python seeds/synthetic/generate.py   (no network, same output every time)
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd

SEED = 20260131
OUT = Path(__file__).resolve().parent.parent / "history"
START, END = "2024-07-01", "2026-01-30"
BARS_FROM = "2026-01-02"
JAN = date(2026, 1, 1)
BAR = timedelta(minutes=15)
D = date.fromisoformat

# key: (calendar, daily vol, history band, lowest January close-to-close return, 2025-12-31
# close); January bars stay above the previous close by that return less 0.1%.
SPEC: dict[str, tuple[str, float, tuple[float, float], float, float]] = {
    "STAR50": ("XSHG", 0.018, (900, 1400), -0.0075, 1334.00),
    "HSTECH": ("XHKG", 0.016, (3500, 6500), -0.025, 5510.00),
    "NDX": ("XNYS", 0.011, (18000, 26000), -0.014, 25250.00),
    "CSI300": ("XSHG", 0.009, (3300, 4800), -0.006, 4600.00),
}

# fmt: off
# Made-up turning points for the history (snapped to the nearest session).
HISTORY: dict[str, dict[str, float]] = {
    "STAR50": {"2024-07-01": 960, "2024-09-13": 930, "2024-10-08": 1180, "2025-01-13": 1010,
               "2025-03-14": 1100, "2025-04-08": 960, "2025-06-30": 1010, "2025-09-30": 1300,
               "2025-11-21": 1240},
    "HSTECH": {"2024-07-01": 3700, "2024-09-11": 3650, "2024-10-07": 5300, "2025-01-13": 4300,
               "2025-03-18": 5900, "2025-04-09": 4700, "2025-07-01": 5200, "2025-10-02": 6150,
               "2025-11-21": 5600},
    "NDX": {"2024-07-01": 19900, "2024-08-05": 18600, "2024-12-16": 21800, "2025-02-19": 22100,
            "2025-04-08": 18700, "2025-07-31": 23200, "2025-10-29": 25300, "2025-11-20": 24200},
    "CSI300": {"2024-07-01": 3480, "2024-09-13": 3380, "2024-10-08": 4250, "2025-01-13": 3750,
               "2025-03-18": 4000, "2025-04-08": 3550, "2025-08-29": 4480, "2025-11-13": 4650},
}

# January 2026 waypoints: the reported figures plus the shape the demo needs.
JANUARY: dict[str, dict[str, float]] = {
    "STAR50": {"2026-01-12": 1448.70, "2026-01-13": 1487.40, "2026-01-14": 1510.00,
               "2026-01-15": 1506.98, "2026-01-16": 1506.10, "2026-01-19": 1506.86,
               "2026-01-21": 1535.39, "2026-01-30": 1548.00},
    "HSTECH": {"2026-01-13": 5730.00, "2026-01-14": 5802.00, "2026-01-15": 5828.00,
               "2026-01-16": 5830.00, "2026-01-30": 5905.00},
    "NDX": {"2026-01-12": 25502.00, "2026-01-16": 25528.00, "2026-01-20": 24986.81,
            "2026-01-28": 26022.79, "2026-01-30": 25555.56},
    "CSI300": {"2026-01-14": 4695.00, "2026-01-15": 4685.61, "2026-01-16": 4690.00,
               "2026-01-30": 4712.00},
}

# Caps no close or bar may reach in a date window: they place the first threshold crossings.
CAPS: dict[str, list[tuple[str, str, float]]] = {
    "STAR50": [("2026-01-01", "2026-01-12", 1334.00 * 1.098)],  # MTD +10% first on 01-13
    "HSTECH": [("2026-01-01", "2026-01-13", 5510.00 * 1.048)],  # MTD +5% first on 01-14
    "NDX": [("2026-01-01", "2026-01-27", 25980.0), ("2026-01-29", "2026-01-30", 25990.0)],
}

# Intraday dips (UTC bar time, return vs previous close): the 15 Jan program-trading order.
DIPS: dict[tuple[str, str], tuple[str, float]] = {
    ("STAR50", "2026-01-15"): ("02:45", -0.013),
    ("CSI300", "2026-01-15"): ("02:45", -0.008),
}
# fmt: on


def bridge(rng: np.random.Generator, a: float, b: float, n: int, sigma: float) -> np.ndarray:
    """n log-normal random-walk steps from a that end exactly at b (Brownian bridge)."""
    walk = np.cumsum(rng.normal(0.0, sigma, n))
    k = np.arange(1, n + 1) / n
    return np.asarray(a * np.exp(walk - k * walk[-1] + k * np.log(b / a)))


def redraw(draw: Callable[[], np.ndarray], ok: Callable[[np.ndarray], bool]) -> np.ndarray:
    for _ in range(20000):
        path = draw()
        if ok(path):
            return path
    raise RuntimeError("could not satisfy the constraints; change the waypoints")


def cap(key: str, day: date) -> float:
    return min([lvl for a, b, lvl in CAPS.get(key, []) if D(a) <= day <= D(b)], default=np.inf)


def daily(key: str, rng: np.random.Generator) -> pd.Series:
    code, vol, (lo, hi), min_ret, _ = SPEC[key]
    days = [t.date() for t in xcals.get_calendar(code).sessions_in_range(START, END)]
    near = pd.DatetimeIndex(days).get_indexer(pd.DatetimeIndex(list(HISTORY[key])), "nearest")
    fixed = {days[i]: v for i, v in zip(near, HISTORY[key].values(), strict=True)}
    fixed[D("2025-12-31")] = SPEC[key][4]
    fixed |= {D(d): v for d, v in JANUARY[key].items()}
    marks = sorted(days.index(d) for d in fixed)
    closes = np.full(len(days), np.nan)
    closes[marks[0]] = fixed[days[marks[0]]]
    for i0, i1 in zip(marks, marks[1:], strict=False):
        seg, a, b = days[i0 + 1 : i1 + 1], float(closes[i0]), fixed[days[i1]]

        def ok(path: np.ndarray, seg: list[date] = seg, prev: float = a) -> bool:
            rets = np.diff(np.concatenate([[prev], path])) / np.concatenate([[prev], path[:-1]])
            for d, c, r in zip(seg[:-1], path[:-1], rets[:-1], strict=True):
                if d < JAN and not lo <= c <= hi:
                    return False
                if d >= JAN and (r < min_ret or c >= cap(key, d)):
                    return False
            last = seg[-1]  # a waypoint; NDX's -2.12% on 01-20 is the one allowed big drop
            return last < JAN or rets[-1] >= min_ret or last == D("2026-01-20")

        def draw(a: float = a, b: float = b, n: int = i1 - i0) -> np.ndarray:
            return bridge(rng, a, b, n, vol)

        closes[i0 + 1 : i1 + 1] = redraw(draw, ok)
    return pd.Series(np.round(closes, 2), index=days)


def bar_times(row: pd.Series) -> list[datetime]:
    """Open, every 15 minutes, and the close; nothing strictly inside the lunch break."""
    open_, close = row["open"].to_pydatetime(), row["close"].to_pydatetime()
    brk = (row["break_start"], row["break_end"]) if "break_start" in row else (pd.NaT, pd.NaT)
    times, t = [], open_
    while t < close:
        if pd.isna(brk[0]) or not brk[0].to_pydatetime() < t < brk[1].to_pydatetime():
            times.append(t)
        t += BAR
    return [*times, close]


def bars(key: str, closes: pd.Series, rng: np.random.Generator) -> list[tuple[datetime, float]]:
    code, vol, _, min_ret, _ = SPEC[key]
    sched = xcals.get_calendar(code).schedule.loc[BARS_FROM:END]
    out: list[tuple[datetime, float]] = []
    for label, row in sched.iterrows():
        day = label.date()
        prev, close = closes.iloc[closes.index.get_loc(day) - 1], closes[day]
        times = bar_times(row)
        points = {len(times) - 1: close}
        floor = prev * (1 + min_ret - 0.001)
        lo, low_at = (floor if close > floor else close * 0.997), range(len(times))
        if (key, str(day)) in DIPS:
            hhmm, dip = DIPS[key, str(day)]
            at = next(i for i, t in enumerate(times) if t.strftime("%H:%M") == hhmm)
            points[at], low_at = prev * (1 + dip), range(at - 1, at + 2)
            lo = prev * (1 + dip - 0.0005)
        hi, sigma = cap(key, day), vol * 0.3 / np.sqrt(len(times))

        def draw(
            points: dict[int, float] = points, prev: float = prev, sigma: float = sigma
        ) -> np.ndarray:
            path = [prev * np.exp(rng.normal(0.0, vol * 0.25))]
            marks = sorted(points)
            for i0, i1 in zip([0, *marks], marks, strict=False):
                path += list(bridge(rng, path[i0], points[i1], i1 - i0, sigma))
            return np.round(np.array(path), 2)

        def ok(p: np.ndarray, lo: float = lo, hi: float = hi, low_at: range = low_at) -> bool:
            return bool(p.min() >= lo and p.max() < hi and int(p.argmin()) in low_at)

        path = redraw(draw, ok)
        path[-1] = close
        out += list(zip(times, path, strict=True))
    return out


def main() -> None:
    rng = np.random.default_rng(SEED)
    for sub in ("daily", "bars"):
        (OUT / sub).mkdir(parents=True, exist_ok=True)
    for key in SPEC:
        closes = daily(key, rng)
        with (OUT / "daily" / f"{key}.csv").open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["date", "close"])
            w.writerows((d.isoformat(), f"{c:.2f}") for d, c in closes.items())
        with (OUT / "bars" / f"{key}.csv").open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["at", "price"])
            w.writerows(
                (t.strftime("%Y-%m-%dT%H:%M:%SZ"), f"{p:.2f}") for t, p in bars(key, closes, rng)
            )
        print(f"{key}: {len(closes)} daily closes, bars written")


if __name__ == "__main__":
    main()
