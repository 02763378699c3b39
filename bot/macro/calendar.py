"""The macro release calendar: scheduled prints and policy events, parsed and validated.

Owns the calendar's shape: ``seeds/calendar_2026.toml`` (the NBS schedule, a US release
for daylight saving, the NPC) and the entries admins add or correct from chat
(``/calendar add``), stored in Redis (``divbot:calendar:overrides``, entry key -> JSON in
the same shape as a TOML table) and laid over the seed by key. Local wall times are
checked against their zone (a time skipped or repeated by a daylight-saving change is
refused) and stored as UTC; chats see them in their own zone.

One model validates both: `ReleaseRow` and `EventRow` (a ``[[release]]`` / ``[[event]]``
table of `CalendarFile`, or what /calendar add built). A file's error names the field's
path (``calendar_2026.toml: release.3.period: …``); a chat entry's is the one-line reason.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.fmt import excerpt
from bot.macro.history import DEFINITIONS, range_problem
from bot.seedfiles import At, SeedFileError, first_error, load_seed_file, validate_seed
from bot.state import keys

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
INDICATOR_ID = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
EVENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MONTH_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
QUARTER_PERIOD = re.compile(r"^(\d{4})-Q([1-4])$")
DEFAULT_TZ = "Asia/Shanghai"


class CalendarError(ValueError):
    """A calendar entry that cannot be used; the message says which and why."""


class CalendarFileError(SeedFileError, CalendarError):
    """A calendar file that does not validate; the message names the file and field path."""


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
        raise CalendarError(f"unknown time zone {excerpt(name)}") from None


def local_to_utc(text: object, tz: ZoneInfo) -> datetime:
    """'2026-03-11T08:30' in `tz` as UTC; a wall time that does not exist once is refused."""
    if not isinstance(text, str):
        raise CalendarError("at must be a local time like 2026-01-19T10:00")
    try:
        naive = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise CalendarError(f"at {excerpt(text)} is not a time like 2026-01-19T10:00") from None
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
            raise CalendarError(
                f"period {excerpt(raw)}: expected {'2025-Q4' if quarterly else '2025-12'}"
            )
        return date(year, month, 1), f"{MONTHS[month - 1]} {year}", f"{year}-{month:02d}"
    if m := QUARTER_PERIOD.match(raw):
        year, q = int(m[1]), int(m[2])
        if quarterly is False or not 1990 <= year <= 2100:
            raise CalendarError(f"period {excerpt(raw)}: expected a month like 2025-12")
        return date(year, 3 * q - 2, 1), f"Q{q} {year}", f"{year}-Q{q}"
    raise CalendarError(
        f"period {excerpt(str(text))}: expected a month (2025-12) or quarter (2025-Q4)"
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


class _Row(BaseModel):
    """What releases and events share: a local wall time in a zone, and a note.

    Each field's check raises CalendarError with a message that names the field: that
    message is what a chat sees. Fields are checked in order (tz before at, indicator
    before period and unit), so a check may use the ones before it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tz: str = DEFAULT_TZ
    at: datetime = Field(default=None, validate_default=True)  # UTC
    note: str = ""

    @property
    def key(self) -> str:
        raise NotImplementedError

    def entry(self, origin: Literal["seed", "chat"]) -> CalendarEntry:
        raise NotImplementedError

    @field_validator("tz", mode="before")
    @classmethod
    def _tz(cls, value: object) -> str:
        return zone(value).key

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: object, info: ValidationInfo) -> object:
        tz = info.data.get("tz")
        return value if tz is None else local_to_utc(value, ZoneInfo(tz))  # None: tz said why

    @field_validator("note", mode="before")
    @classmethod
    def _note(cls, value: object) -> str:
        return _text("note", value)


class EventRow(_Row):
    """An ``[[event]]``: a policy event with a title."""

    id: str = Field(default=None, validate_default=True)
    title: str = Field(default="", validate_default=True)

    @property
    def key(self) -> str:
        return f"event:{self.id}"

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: object) -> str:
        if not isinstance(value, str) or not EVENT_ID.match(value):
            raise CalendarError("event id must be lower-case letters, digits and dashes")
        return value

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: object) -> str:
        title = _text("title", value, 120)
        if not title:
            raise CalendarError("an event needs a title")
        return title

    def entry(self, origin: Literal["seed", "chat"]) -> CalendarEntry:
        return CalendarEntry(
            self.key, "event", self.title, self.at, self.tz, note=self.note, origin=origin
        )


class ReleaseRow(_Row):
    """A ``[[release]]``: an indicator's print for a period, with what to compare it to."""

    indicator: str = Field(default=None, validate_default=True)
    period: str = Field(default=None, validate_default=True)  # canonical: 2025-12, 2025-Q4
    unit: str = Field(default=None, validate_default=True)  # the indicator's when absent
    consensus: float | None = None
    target: tuple[float, float] | None = None  # (low, high); a point target has low == high
    target_text: str = ""

    @property
    def key(self) -> str:
        return f"{self.indicator}:{self.period}"

    @field_validator("indicator", mode="before")
    @classmethod
    def _indicator(cls, value: object) -> str:
        if not isinstance(value, str) or not INDICATOR_ID.match(value):
            raise CalendarError("indicator must be an id like CPI, PPI, GDP, PMI, IP, RETAIL")
        return value

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: object, info: ValidationInfo) -> str:
        known = DEFINITIONS.get(info.data.get("indicator", ""))
        return parse_period(value, known.quarterly if known else None)[2]

    @field_validator("unit", mode="before")
    @classmethod
    def _unit(cls, value: object, info: ValidationInfo) -> str:
        indicator = info.data.get("indicator")
        known = DEFINITIONS.get(indicator or "")
        unit = _text("unit", (known.unit if known else "") if value is None else value, 16)
        if not unit and indicator:
            raise CalendarError(f"{indicator} is not a bot indicator: give its unit")
        return unit

    @field_validator("consensus", mode="before")
    @classmethod
    def _consensus(cls, value: object) -> float:
        return _number("consensus", value)

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: object) -> tuple[float, float]:
        if isinstance(value, list | tuple) and len(value) == 2:
            low, high = sorted((_number("target", value[0]), _number("target", value[1])))
            return (low, high)
        point = _number("target", value)
        return (point, point)

    @field_validator("target_text", mode="before")
    @classmethod
    def _target_text(cls, value: object) -> str:
        return _text("target_text", value)

    @model_validator(mode="after")
    def _plausible(self) -> ReleaseRow:
        """A consensus or target within what the indicator can be (CPI 123 is a typo)."""
        values = [("consensus", self.consensus)] if self.consensus is not None else []
        values += [("target", t) for t in self.target or ()]
        for what, value in values:
            problem = range_problem(self.indicator, self.unit, what, value)
            if problem is not None:
                raise At((what,), problem)
        return self

    @model_validator(mode="after")
    def _after_the_period(self) -> ReleaseRow:
        period, label, _ = parse_period(self.period, None)
        if period >= self.at.date():
            raise At(
                ("period",),
                f"{self.indicator} {label} cannot be released before the period starts",
            )
        return self

    def entry(self, origin: Literal["seed", "chat"]) -> CalendarEntry:
        known = DEFINITIONS.get(self.indicator)
        period, label, _ = parse_period(self.period, None)
        name = known.name if known else self.indicator.replace("_", " ")
        return CalendarEntry(
            key=self.key,
            kind="release",
            title=f"{name} {label}",
            at=self.at,
            tz=self.tz,
            indicator=self.indicator,
            period=period,
            period_label=label,
            unit=self.unit,
            consensus=self.consensus,
            target=self.target,
            target_text=self.target_text,
            note=self.note,
            origin=origin,
        )


ROWS: dict[str, type[_Row]] = {"release": ReleaseRow, "event": EventRow}


def _reason(exc: ValidationError) -> str:
    """The one line a chat sees: the failed check's own message (it names the field)."""
    err = first_error(exc)
    if err["type"] == "extra_forbidden":
        return f"unknown field {str(err['loc'][-1])!r}"
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def parse_entry(
    kind: str, raw: dict[str, Any], origin: Literal["seed", "chat"] = "seed"
) -> CalendarEntry:
    """One release or event (a TOML-shaped table), or CalendarError with the reason."""
    model = ROWS.get(kind)
    if model is None:
        raise CalendarError(f"unknown entry kind {kind!r}")
    try:
        row = model.model_validate(raw)
    except ValidationError as exc:
        raise CalendarError(_reason(exc)) from None
    return row.entry(origin)


class CalendarFile(BaseModel):
    """A calendar file (seeds/calendar_2026.toml): ``[[release]]`` and ``[[event]]`` tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    release: list[ReleaseRow] = []
    event: list[EventRow] = []

    @field_validator("release", "event")
    @classmethod
    def _once(cls, rows: list[_Row]) -> list[_Row]:
        seen: set[str] = set()
        for i, row in enumerate(rows):
            if row.key in seen:
                raise At((i,), f"{row.key} is listed twice")
            seen.add(row.key)
        return rows

    def entries(self) -> list[CalendarEntry]:
        rows: list[_Row] = [*self.release, *self.event]
        return sorted((r.entry("seed") for r in rows), key=lambda e: (e.at, e.key))


def parse_calendar(doc: dict[str, Any], name: str = "calendar") -> list[CalendarEntry]:
    """Every entry of a calendar document, validated; the first bad one raises
    CalendarFileError naming `name` and the field's path."""
    return validate_seed(doc, CalendarFile, name, error=CalendarFileError).entries()


def load_seed(path: Path) -> list[CalendarEntry]:
    """A calendar file, validated; CalendarFileError names the file and the field's path."""
    return load_seed_file(path, CalendarFile, error=CalendarFileError).entries()


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


def scheduled_releases(entries: list[CalendarEntry]) -> dict[tuple[str, date], datetime]:
    """Each scheduled release's time by (indicator, period start): when its print is public."""
    return {
        (e.indicator, e.period): e.at
        for e in entries
        if e.kind == "release" and e.indicator is not None and e.period is not None
    }


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
