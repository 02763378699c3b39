"""Verify the SYNTHETIC seeds against their anchors; prints each check, exits 1 on any miss.

Run: python seeds/synthetic/check.py   (after generate.py)
"""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd

HIST = Path(__file__).resolve().parent.parent / "history"
CAL = {"STAR50": "XSHG", "HSTECH": "XHKG", "NDX": "XNYS", "CSI300": "XSHG"}
VOL = {"STAR50": 0.018, "HSTECH": 0.016, "NDX": 0.011, "CSI300": 0.009}
BAND = {"STAR50": (900, 1400), "HSTECH": (3500, 6500), "NDX": (18000, 26000)}
BAND["CSI300"] = (3300, 4800)
failures: list[str] = []


def check(name: str, actual: object, ok: bool) -> None:
    print(f"{'ok  ' if ok else 'FAIL'}  {name}: {actual}")
    if not ok:
        failures.append(name)


def load(key: str) -> tuple[pd.Series, pd.Series]:
    d_text = (HIST / "daily" / f"{key}.csv").read_text()
    b_text = (HIST / "bars" / f"{key}.csv").read_text()
    check(
        f"{key} headers",
        "date,close / at,price",
        d_text.startswith("date,close\n") and b_text.startswith("at,price\n"),
    )
    rows_ok = all(re.fullmatch(r"\d{4}-\d\d-\d\d,\d+\.\d\d", r) for r in d_text.split()[1:])
    rows_ok &= all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z,\d+\.\d\d", r) for r in b_text.split()[1:]
    )
    check(f"{key} row formats", "ISO date / ISO UTC ...Z, 2 decimals", rows_ok)
    daily = pd.read_csv(HIST / "daily" / f"{key}.csv", index_col="date").squeeze("columns")
    daily.index = pd.to_datetime(daily.index).date
    bars = pd.read_csv(HIST / "bars" / f"{key}.csv", index_col="at").squeeze("columns")
    bars.index = pd.to_datetime(bars.index, utc=True)
    return daily, bars


def expected_bars(row: pd.Series) -> list[pd.Timestamp]:
    t, out = row["open"], []
    while t < row["close"]:
        if pd.isna(row["break_start"]) or not row["break_start"] < t < row["break_end"]:
            out.append(t)
        t += timedelta(minutes=15)
    return [*out, row["close"]]


def structure(key: str, daily: pd.Series, bars: pd.Series) -> None:
    cal = xcals.get_calendar(CAL[key])
    sessions = [t.date() for t in cal.sessions_in_range("2024-07-01", "2026-01-30")]
    check(f"{key} daily rows = {CAL[key]} sessions", len(daily), list(daily.index) == sessions)
    sched = cal.schedule.loc["2026-01-02":"2026-01-30"]
    want = [t for _, row in sched.iterrows() for t in expected_bars(row)]
    check(f"{key} bar times = schedule grid", f"{len(bars)} bars", list(bars.index) == want)
    closes_ok = all(bars[row["close"]] == daily[d.date()] for d, row in sched.iterrows())
    check(f"{key} bar at each close == daily close", closes_ok, closes_ok)
    hist = daily[[d.year < 2026 for d in daily.index]]
    lo, hi = BAND[key]
    check(
        f"{key} 2024-07..2025-12 range in {lo}-{hi}",
        f"{hist.min():.2f}-{hist.max():.2f}",
        lo <= hist.min() and hist.max() <= hi,
    )
    drawdown = float((hist / hist.cummax() - 1).min())
    check(f"{key} history max drawdown (<= -10%)", f"{drawdown:.1%}", drawdown <= -0.10)
    vol = float(np.log(hist).diff().std())
    check(
        f"{key} history daily vol (target {VOL[key]:.1%})",
        f"{vol:.2%}",
        0.75 * VOL[key] <= vol <= 1.35 * VOL[key],
    )


def day(s: str) -> date:
    return date.fromisoformat(s)


def vs_prev(daily: pd.Series, bars: pd.Series) -> pd.DataFrame:
    """Per January session: close return and lowest bar vs the previous close, in %."""
    rows = {}
    for d in [d for d in daily.index if d >= day("2026-01-02")]:
        prev = daily.iloc[daily.index.get_loc(d) - 1]
        b = bars[bars.index.date == d]
        rows[d] = {
            "ret": 100 * (daily[d] / prev - 1),
            "low": 100 * (b.min() / prev - 1),
            "low_at": b.idxmin().strftime("%H:%M"),
        }
    return pd.DataFrame(rows).T


def first_cross(mtd: pd.Series, level: float) -> str:
    above = mtd[mtd > level]
    return str(above.index[0].date()) if len(above) else "never"


def main() -> None:
    data = {k: load(k) for k in CAL}
    for k, (daily, bars) in data.items():
        structure(k, daily, bars)
    base = {k: data[k][0][day("2025-12-31")] for k in CAL}
    mtd = {k: 100 * (data[k][1] / base[k] - 1) for k in CAL}

    sd, sb = data["STAR50"]
    s = vs_prev(sd, sb)
    check("STAR50 close 2025-12-31 (1334.00)", base["STAR50"], base["STAR50"] == 1334.00)
    v = sd[day("2026-01-16")]
    check(
        "STAR50 close 2026-01-16 (1506.1 +-1)",
        f"{v} = {100 * (v / 1334 - 1):+.2f}% MTD",
        abs(v - 1506.1) <= 1,
    )
    for d, want in (("2026-01-19", 1506.86), ("2026-01-21", 1535.39)):
        check(f"STAR50 close {d} ({want})", sd[day(d)], sd[day(d)] == want)
    c = first_cross(mtd["STAR50"], 10)
    check("STAR50 MTD first > +10% (01-12/01-13)", c, c in ("2026-01-12", "2026-01-13"))
    r15 = s.loc[day("2026-01-15")]
    check("STAR50 2026-01-15 close vs 01-14 (-0.2%)", f"{r15.ret:+.3f}%", abs(r15.ret + 0.2) < 0.02)
    check(
        "STAR50 2026-01-15 intraday low (~-1.3%, 02:30-03:00 UTC)",
        f"{r15.low:+.2f}% at {r15.low_at}Z",
        abs(r15.low + 1.3) <= 0.1 and "02:30" <= r15.low_at <= "03:00",
    )
    others = s.drop(day("2026-01-15"))
    check(
        "STAR50 other January days: lowest bar vs prev close (> -0.9%)",
        f"{others.low.min():+.2f}% on {others.low.astype(float).idxmin()}",
        others.low.min() > -0.9,
    )

    cd, cb = data["CSI300"]
    c = vs_prev(cd, cb)
    check("CSI300 close 2025-12-31 (~4600)", base["CSI300"], abs(base["CSI300"] - 4600) <= 50)
    v = 100 * (cd[day("2026-01-16")] / base["CSI300"] - 1)
    check("CSI300 MTD at 2026-01-16 close (~+2%)", f"{v:+.2f}%", 1.0 <= v <= 3.0)
    v = 100 * (cd.iloc[-1] / base["CSI300"] - 1)
    check("CSI300 January return (positive)", f"{v:+.2f}%", v > 0)
    r15c = c.loc[day("2026-01-15")]
    check(
        "CSI300 2026-01-15 close vs 01-14 (-0.2%)", f"{r15c.ret:+.3f}%", abs(r15c.ret + 0.2) < 0.02
    )
    check(
        "CSI300 2026-01-15 intraday low (~-0.8%, smaller than STAR50's)",
        f"{r15c.low:+.2f}% at {r15c.low_at}Z",
        -1.0 <= r15c.low <= -0.6 and r15c.low > r15.low,
    )

    hd, hb = data["HSTECH"]
    check("HSTECH close 2025-12-31 (5510.00)", base["HSTECH"], base["HSTECH"] == 5510.00)
    v = hd[day("2026-01-15")]
    check("HSTECH close 2026-01-15 (~5828 +-3)", v, abs(v - 5828) <= 3)
    v = 100 * (hd[day("2026-01-16")] / 5510 - 1)
    check("HSTECH MTD at 2026-01-16 close (~+5.8%)", f"{v:+.2f}%", abs(v - 5.8) <= 0.1)
    c = first_cross(mtd["HSTECH"], 5)
    check("HSTECH MTD first > +5% (01-14/01-15)", c, c in ("2026-01-14", "2026-01-15"))

    nd, nb = data["NDX"]
    n = vs_prev(nd, nb)
    check("NDX close 2025-12-31 (25250.00)", base["NDX"], base["NDX"] == 25250.00)
    v = nd[day("2026-01-16")]
    check(
        "NDX close 2026-01-16 (25528 +-10, ~+1.1% MTD)",
        f"{v} = {100 * (v / 25250 - 1):+.2f}%",
        abs(v - 25528) <= 10,
    )
    gone = day("2026-01-19") not in nd.index and not (nb.index.date == day("2026-01-19")).any()
    check("NDX no session 2026-01-19 (MLK day)", "absent" if gone else "present", gone)
    r20 = n.loc[day("2026-01-20")].ret
    check("NDX 2026-01-20 vs 01-16 (-2.12%)", f"{r20:+.3f}%", abs(r20 + 2.12) < 0.005)
    worst = n.ret.astype(float).idxmin()
    check("NDX worst January day is 2026-01-20", worst, worst == day("2026-01-20"))
    rest = n.drop(day("2026-01-20")).ret.min()
    check("NDX other January days (> -1.5%)", f"{rest:+.2f}%", rest > -1.5)
    jan = nd[[d >= day("2026-01-02") for d in nd.index]]
    check(
        "NDX highest January close (26022.79 on 01-28)",
        f"{jan.max()} on {jan.idxmax()}",
        jan.max() == 26022.79 and jan.idxmax() == day("2026-01-28"),
    )
    early = nb[nb.index < pd.Timestamp("2026-01-28", tz="UTC")].max()
    check("NDX highest bar before 01-28 (< 26000)", early, early < 26000)
    v = nd[day("2026-01-30")]
    check(
        "NDX close 2026-01-30 (25555.56, +1.21%)",
        f"{v} = {100 * (v / 25250 - 1):+.3f}%",
        v == 25555.56 and abs(100 * (v / 25250 - 1) - 1.21) < 0.005,
    )

    grid = mtd["STAR50"].index.union(mtd["NDX"].index)
    latest = {k: mtd[k].reindex(grid).ffill().fillna(0.0) for k in ("STAR50", "NDX")}
    c = first_cross(latest["STAR50"] - latest["NDX"], 10)
    check("STAR50 MTD - NDX MTD first > +10pp (01-13/01-14)", c, c in ("2026-01-13", "2026-01-14"))

    print(f"\n{len(failures)} failed" if failures else "\nall anchors met")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
