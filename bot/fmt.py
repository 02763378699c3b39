"""How numbers and times read in a chat: signed, aligned, with a real minus sign."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

MINUS = "\u2212"


def signed(x: float, digits: int = 1, unit: str = "") -> str:
    """+12.9%, −0.2%, +0.0% (never −0.0)."""
    if not math.isfinite(x):
        return "n/a"
    text = f"{abs(x):,.{digits}f}"
    if float(text.replace(",", "")) == 0:
        return f"+{text}{unit}"
    return f"{'+' if x > 0 else MINUS}{text}{unit}"


def pct(x: float, digits: int = 1) -> str:
    return signed(x, digits, "%")


def pp(x: float, digits: int = 1) -> str:
    return signed(x, digits, "pp")


def price(x: float) -> str:
    return f"{x:,.2f}" if math.isfinite(x) else "n/a"


def when(at: datetime, tz: str = "Asia/Shanghai") -> str:
    """Mon 12 Jan 10:45 CST, in the chat's time zone."""
    local = at.astimezone(ZoneInfo(tz))
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def duration(seconds: float) -> str:
    """90 -> 1m30s, 3600 -> 1h, 86400 -> 1d."""
    s = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return "".join(parts) or "0s"


ECHO_CHARS = 40  # the most of a user's own text an answer repeats


def excerpt(text: str, limit: int = ECHO_CHARS) -> str:
    """What a user typed, quoted for an answer: at most `limit` characters (an ellipsis
    marks the cut), control and private-use characters shown escaped: 'abc…'."""
    clipped = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(clipped)
