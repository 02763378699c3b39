"""The macro release calendar: scheduled prints and policy events, parsed and validated.

Owns the calendar's shape: ``seeds/calendar_2026.toml`` (the NBS schedule, a US release
for daylight saving, the NPC) and the entries admins add or correct from chat
(``/calendar add``), stored in Redis (``divbot:calendar:overrides``, entry key -> JSON in
the same shape as a TOML table) and laid over the seed by key. Local wall times are
checked against their zone (a time skipped or repeated by a daylight-saving change is
refused) and stored as UTC; chats see them in their own zone.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.macro.history import DEFINITIONS
from bot.state import keys

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
INDICATOR_ID = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
EVENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MONTH_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")
FIELDS = {
    "release": {"indicator", "period", "at", "tz", "unit", "consensus", "target"}
    | {"target_text", "note"},
    "event": {"id", "title", "at", "tz", "note"},
}


class CalendarError(ValueError):
    """A calendar entry that cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """One scheduled release or event. `at` is UTC; `tz` is the zone it was set in."""

    key: str  # "CPI:2025-12" or "event:npc-2026": what /calendar add overrides
    kind: Literal["release", "event"]
    title: str
    at: datetime
    tz: str
    indicator: str | None = None
    period: date | None = None
    period_label: str = ""
    unit: str = ""
    consensus: float | None = None
    target: tuple[float, float] | None = None  # (low, high); a point target has low == high
    target_text: str = ""
    note: str = ""
    origin: Literal["seed", "chat"] = "seed"

    def raw(self) -> dict[str, Any]:
        """The entry as a TOML-shaped table (what Redis stores for chat entries)."""
        local = self.at.astimezone(ZoneInfo(self.tz)).strftime("%Y-%m-%dT%H:%M")
        if self.kind == "event":
            out: dict[str, Any] = {"id": self.key.removeprefix("event:"), "title": self.title}
        else:
            out = {"indicator": self.indicator, "period": self.key.split(":", 1)[1]}
            out["unit"] = self.unit
            if self.consensus is not None:
                out["consensus"] = self.consensus
            if self.target is not None:
                out["target"] = list(self.target)
            if self.target_text:
                out["target_text"] = self.target_text
        out.update(at=local, tz=self.tz)
        if self.note:
            out["note"] = self.note
        return out


def zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name or len(name) > 64:
        raise CalendarError("tz must be an IANA time zone such as Asia/Shanghai")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown time zone {name[:64]!r}") from None


def local_to_utc(text: object, tz: ZoneInfo) -> datetime:
    """'2026-03-11T08:30' in `tz` as UTC; a wall time that does not exist once is refused."""
    if not isinstance(text, str):
        raise CalendarError("at must be a local time like 2026-01-19T10:00")
    try:
        naive = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise CalendarError(f"at {text[:32]!r} is not a time like 2026-01-19T10:00") from None
    if naive.tzinfo is not None:
        raise CalendarError("at is a local wall time: give the zone in tz, not an offset")
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise CalendarError(f"{text} does not exist in {tz.key} (clocks go forward)")
    if first.utcoffset() != second.utcoffset():
        raise CalendarError(f"{text} happens twice in {tz.key} (clocks go back): ambiguous")
    return first.astimezone(UTC)


def parse_period(text: object, quarterly: bool | None) -> tuple[date, str, str]:
    """(period start, label, canonical text) of '2025-12' or '2025-Q4'."""
    raw = str(text).strip().upper() if isinstance(text, str) else ""
    if m := MONTH_PERIOD.match(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12 or not 1990 <= year <= 2100 or quarterly:
            raise CalendarError(f"period {raw!r}: expected {'2025-Q4' if quarterly else '2025-12'}")
        return date(year, month, 1), f"{MONTHS[month - 1]} {year}", f"{year}-{month:02d}"
    if m := QUARTER_PERIOD.match(raw):
        year, q = int(m[1]), int(m[2])
        if quarterly is False or not 1990 <= year <= 2100:
            raise CalendarError(f"period {raw!r}: expected a month like 2025-12")
        return date(year, 3 * q - 2, 1), f"Q{q} {year}", f"{year}-Q{q}"
    raise CalendarError(
        f"period {str(text)[:16]!r}: expected a month (2025-12) or quarter (2025-Q4)"
    )


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalendarError(f"{name} must be a number")
    x = float(value)
    if not math.isfinite(x) or abs(x) > 1000:
        raise CalendarError(f"{name} {value!r} is out of range")
    return x


def _text(name: str, value: object, limit: int = 200) -> str:
    if not isinstance(value, str) or len(value) > limit or any(c in value for c in "\r\n\x00"):
        raise CalendarError(f"{name} must be one line of text (at most {limit} characters)")
    return value.strip()


def parse_entry(
    kind: str, raw: dict[str, Any], origin: Literal["seed", "chat"] = "seed"
) -> CalendarEntry:
    if kind not in FIELDS:
        raise CalendarError(f"unknown entry kind {kind!r}")
    unknown = set(raw) - FIELDS[kind]
    if unknown:
        raise CalendarError(f"unknown field {sorted(unknown)[0]!r}")
    tz = zone(raw.get("tz", "Asia/Shanghai"))
    at = local_to_utc(raw.get("at"), tz)
    note = _text("note", raw.get("note", ""))
    if kind == "event":
        ident = raw.get("id")
        if not isinstance(ident, str) or not EVENT_ID.match(ident):
            raise CalendarError("event id must be lower-case letters, digits and dashes")
        title = _text("title", raw.get("title", ""), 120)
        if not title:
            raise CalendarError("an event needs a title")
        return CalendarEntry(f"event:{ident}", "event", title, at, tz.key, note=note, origin=origin)
    indicator = raw.get("indicator")
    if not isinstance(indicator, str) or not INDICATOR_ID.match(indicator):
        raise CalendarError("indicator must be an id like CPI, PPI, GDP, PMI, IP, RETAIL")
    known = DEFINITIONS.get(indicator)
    period, label, canonical = parse_period(raw.get("period"), known.quarterly if known else None)
    if period >= at.date():
        raise CalendarError(f"{indicator} {label} cannot be released before the period starts")
    unit = _text("unit", raw.get("unit", known.unit if known else ""), 16)
    if not unit:
        raise CalendarError(f"{indicator} is not a bot indicator: give its unit")
    consensus = _number("consensus", raw["consensus"]) if "consensus" in raw else None
    target: tuple[float, float] | None = None
    if "target" in raw:
        value = raw["target"]
        if isinstance(value, list) and len(value) == 2:
            low, high = sorted((_number("target", value[0]), _number("target", value[1])))
            target = (low, high)
        else:
            point = _number("target", value)
            target = (point, point)
    name = known.name if known else indicator.replace("_", " ")
    return CalendarEntry(
        key=f"{indicator}:{canonical}",
        kind="release",
        title=f"{name} {label}",
        at=at,
        tz=tz.key,
        indicator=indicator,
        period=period,
        period_label=label,
        unit=unit,
        consensus=consensus,
        target=target,
        target_text=_text("target_text", raw.get("target_text", "")),
        note=note,
        origin=origin,
    )


def parse_calendar(doc: dict[str, Any]) -> list[CalendarEntry]:
    """Every entry of a calendar document, validated; the first bad one raises."""
    entries: dict[str, CalendarEntry] = {}
    for kind in ("release", "event"):
        tables = doc.get(kind, [])
        if not isinstance(tables, list):
            raise CalendarError(f"[[{kind}]] must be a list of tables")
        for i, raw in enumerate(tables, 1):
            if not isinstance(raw, dict):
                raise CalendarError(f"{kind} {i}: not a table")
            try:
                entry = parse_entry(kind, raw)
            except CalendarError as exc:
                raise CalendarError(f"{kind} {i}: {exc}") from None
            if entry.key in entries:
                raise CalendarError(f"{kind} {i}: {entry.key} is listed twice")
            entries[entry.key] = entry
    return sorted(entries.values(), key=lambda e: (e.at, e.key))


def load_seed(path: Path) -> list[CalendarEntry]:
    with path.open("rb") as fh:
        return parse_calendar(tomllib.load(fh))


class ReleaseCalendar:
    """The seed calendar with the chat's additions and corrections laid over it."""

    def __init__(self, redis: Any, seed: list[CalendarEntry]) -> None:
        self.redis = redis
        self.seed = seed

    async def overrides(self) -> dict[str, CalendarEntry]:
        raw: dict[str, str] = await self.redis.hgetall(keys.CALENDAR_OVERRIDES)
        out = {}
        for key, text in raw.items():
            doc = json.loads(text)
            out[key] = parse_entry(doc.pop("kind"), doc, origin="chat")
        return out

    async def entries(self) -> list[CalendarEntry]:
        merged = {e.key: e for e in self.seed}
        merged.update(await self.overrides())
        return sorted(merged.values(), key=lambda e: (e.at, e.key))

    async def put(self, entry: CalendarEntry) -> None:
        doc = {"kind": entry.kind, **entry.raw()}
        await self.redis.hset(keys.CALENDAR_OVERRIDES, entry.key, json.dumps(doc))

    async def remove(self, key: str) -> bool:
        return bool(await self.redis.hdel(keys.CALENDAR_OVERRIDES, key))


def period_text(indicator: str, period: date) -> str:
    """The canonical period of an entry key: '2025-12', or '2025-Q4' for quarterly series."""
    known = DEFINITIONS.get(indicator)
    if known and known.quarterly:
        return f"{period.year}-Q{(period.month - 1) // 3 + 1}"
    return f"{period.year}-{period.month:02d}"


def period_label(indicator: str, period: date) -> str:
    return parse_period(period_text(indicator, period), None)[1]


SEED_FILE = "calendar_2026.toml"
_seed_cache: dict[tuple[Path, float], list[CalendarEntry]] = {}


def seed_calendar(seeds_dir: Path) -> list[CalendarEntry]:
    """The seed calendar of a seeds folder, parsed once per file version."""
    path = seeds_dir / SEED_FILE
    stamp = (path, path.stat().st_mtime)
    if stamp not in _seed_cache:
        _seed_cache.clear()
        _seed_cache[stamp] = load_seed(path)
    return _seed_cache[stamp]
