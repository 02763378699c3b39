"""SYNTHETIC macro prints with publication instants and SYNTHETIC closes on real Shanghai
trading dates, for backtesting a divergence-score rule (tests/unit/divergence/
test_pulse_timeline.py, tests/wire/handlers/test_backtest_divergence.py).

Only the manufacturing PMI is given (the pulse is then PMI's z alone: hand-computable);
CPI, PPI and GDP have no print, so they are "missing" and left out of the mean.

PMI, Mar to Oct 2025 (made-up values), each published at the instant below:

    period   value  published (Beijing)
    2025-03  51     31 Mar 09:30
    2025-04  49     30 Apr 09:30
    2025-05  51     31 May 09:30
    2025-06  49     30 Jun 09:30
    2025-07  51     31 Jul 09:30
    2025-08  51     31 Aug 09:30 (a Sunday)   6 prints: the pulse exists from here
    2025-09  47     1 Oct 09:30 (National Day: Shanghai shut 1-8 Oct)
    2025-10  52     31 Oct 16:00 (after that day's 15:00 close)

The pulse by hand (z = (latest - 50) / sample stdev of the prints public so far):

    from 31 Aug 09:30: mean 302/6 = 50.3333, ss = 4(2/3)^2 + 2(4/3)^2 = 5.3333,
                       sd = sqrt(5.3333/5) = 1.032796, z = 1/1.032796 = +0.968246
    from 1 Oct 09:30:  sum 349, sum of squares 17415, ss = 17415 - 349^2/7 = 14.857143,
                       sd = sqrt(14.857143/6) = 1.573592, z = -3/1.573592 = -1.906467
    from 31 Oct 16:00: sum 401, sum of squares 20119, ss = 20119 - 401^2/8 = 18.875,
                       sd = sqrt(18.875/7) = 1.642081, z = 2/1.642081 = +1.217967

Closes: 1000 and 1010 alternating, session by session, with 9 Oct 2025 (the first
session after National Day) at 1010. Every 1d move is then +1.00% ("up" sessions, close
1010) or -0.990099% ("down" sessions): over a trailing year of such moves the mean is
about +0.005 and the sample stdev about 0.997, so an up session's 1d z-score is about
+0.998 and a down session's about -0.998.

The rule `divergence STAR50 1d score up 2 hyst=0.5 cooldown=1s` (score = z - pulse), by
hand:

    up sessions (z +1.00)   score +0.03 with pulse +0.97, +2.90 with -1.91, -0.22 with +1.22
    down sessions (z -1.00) score -1.97,                 +0.91,            -2.22

so it fires on every up session whose close comes after 1 Oct 09:30 and before 31 Oct
16:00 (a down session's +0.91 is below 2 - 0.5: it re-arms), and never otherwise: before
31 Aug there is no pulse (fewer than 6 prints), hence no score at all.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
RULE = ("divergence", "STAR50", "1d", "score", "up", "2", "hyst=0.5", "cooldown=1s")
LOW, HIGH = 1000.0, 1010.0
ANCHOR = date(2025, 10, 9)  # an up session (HIGH)
FIRST, LAST = date(2024, 6, 3), date(2025, 11, 28)  # the closes' span


def bj(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=BEIJING)


PMI: list[tuple[date, float, datetime]] = [
    (date(2025, 3, 1), 51.0, bj(3, 31, 9, 30)),
    (date(2025, 4, 1), 49.0, bj(4, 30, 9, 30)),
    (date(2025, 5, 1), 51.0, bj(5, 31, 9, 30)),
    (date(2025, 6, 1), 49.0, bj(6, 30, 9, 30)),
    (date(2025, 7, 1), 51.0, bj(7, 31, 9, 30)),
    (date(2025, 8, 1), 51.0, bj(8, 31, 9, 30)),
    (date(2025, 9, 1), 47.0, bj(10, 1, 9, 30)),
    (date(2025, 10, 1), 52.0, bj(10, 31, 16, 0)),
]
# The pulse after the 6th, 7th and 8th print, by hand (above)
PULSE_AUG, PULSE_SEP, PULSE_OCT = 0.968246, -1.906467, 1.217967

# The fires, by hand: the up sessions from 9 Oct (the first close after 1 Oct 09:30) to 31
# Oct (October's print came out at 16:00, after that close), every other session.
FIRES = [date(2025, 10, d) for d in (9, 13, 15, 17, 21, 23, 27, 29, 31)]


def history() -> dict[str, list[tuple[date, float]]]:
    return {"PMI": [(p, v) for p, v, _ in PMI]}


def published() -> dict[str, dict[date, datetime]]:
    return {"PMI": {p: at for p, _, at in PMI}}


def alternating(days: list[date]) -> list[tuple[date, float]]:
    """LOW and HIGH alternating over `days` (sessions, oldest first), ANCHOR at HIGH."""
    i = days.index(ANCHOR)
    return [(d, HIGH if (j - i) % 2 == 0 else LOW) for j, d in enumerate(days)]
