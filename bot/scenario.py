"""Replay scenarios: ground truth as data (one TOML file per scenario, tests/scenarios/).

Owns the scenario file format, its validation, and comparing the alerts a replay
delivered with the ones the file expects. Running a scenario is bot.replay's job (the
same replay, engine and pipeline as `divbot replay` and live); `divbot replay --scenario
FILE` runs one and prints what differs.

The format (every time is a TOML date-time; one without an offset is in ``tz``)::

    name = "MLK day: a 1-day spread counts NDX's 16 Jan move once"
    synthetic = true           # the data below is made up (true) or reported (false)
    from = 2026-01-16          # replayed days, in tz (the replay's simulated clock)
    to = 2026-01-21
    tz = "Asia/Shanghai"       # default
    data = "seeds"             # "seeds": seeds/history, with [[series]] replacing whole
                               # instruments; "own": only the [[series]] given here
    house_rules = false        # seeds/default_rules.toml for every chat (default false)
    jobs = ["quotes"]          # of quotes, digest, macro (seeds' prints and calendar),
                               # headlines (seeds' synthetic January headlines)
    poll_minutes = 15          # quote polling while a market trades

    [[chat]]                   # console chats; default one, "console:desk"
    key = "console:desk"
    subscribe = ["moves", "spreads"]     # default: every family
    setup = ["timezone America/New_York", "quiet 22:00-07:00"]   # commands at the start

    [[series]]                 # an instrument's data: "date close" and "time price" lines
    instrument = "STAR50"
    daily = "2026-01-15 1390\n2026-01-16 1400"
    bars = '''
    2026-01-19T09:30..11:30 1372      # a bar every 15 minutes, 09:30 to 11:30
    2026-01-19T13:00 1380
    '''
    # bars outside the market's trading hours are dropped (use [[tick]] for bad ones);
    # a session's close defaults to its last bar inside the session

    [[tick]]                   # a bad tick: one more bar, with the reason it is there
    instrument = "CSI300"
    at = 2026-01-20T12:50:00
    price = 4100
    why = "stamped inside the midday break"

    [[fault]]                  # the quote provider misbehaves from..to
    from = 2026-01-20T10:00:00
    to = 2026-01-20T10:30:00
    kind = "down"              # down: errors; frozen: repeats its last answer

    [[print]]                  # a macro print (jobs "macro"): from its release time in
    indicator = "PPI"          # seeds/calendar_2026.toml, or from `at`
    period = "2026-01"
    value = -1.4

    [[headline]]               # a story (jobs "headlines"), as in seeds/headlines_*.toml
    feed = "csrc"
    published = 2026-01-14T17:30:00+08:00
    title = "…"

    [[step]]                   # a command typed in a chat at a time
    at = 2026-01-19T09:00:00
    command = "alert add STAR50 vs NDX 1d up 3"
    chat = "console:desk"      # default: the first chat

    [[expect]]                 # an alert delivered to a chat in that minute (chat's own
    at = 2026-01-21T09:45:00   # zone does not matter: times are instants)
    title = "STAR 50 vs NDX: spread +3.0pp 1d"   # exact title, and/or
    contains = ["+1.0%"]       # figures the text must show
    # expect = [] states that nothing is delivered

Every alert delivered to a scenario chat must be expected and every expectation met;
the comparison ignores nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from bot.models import SUBSCRIBABLE
from bot.seedfiles import SeedFileError, load_seed_file

CHAT_KEY = re.compile(r"^console:[A-Za-z0-9_-]{1,32}$")
DEFAULT_CHAT = "console:desk"
MAX_DAYS = 370


class ScenarioError(SeedFileError):
    """A scenario file that does not validate: one line naming the file and field."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name[:64]!r}") from None


def _instant(value: object, info: ValidationInfo) -> datetime:
    """A TOML date-time (or ISO text); without an offset it is in the scenario's zone."""
    if isinstance(value, str):
        text = value
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text[:40]!r} is not a time like 2026-01-20T10:00") from None
    if not isinstance(value, datetime):
        raise ValueError("expected a date-time like 2026-01-20T10:00:00")
    if value.tzinfo is None:
        zone = (info.context or {}).get("tz", "Asia/Shanghai")
        value = value.replace(tzinfo=_zone(zone))
    return value


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ChatRow(_Row):
    key: str = DEFAULT_CHAT
    subscribe: list[str] = Field(default_factory=lambda: [f.value for f in SUBSCRIBABLE])
    setup: list[str] = []

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        if not CHAT_KEY.match(key):
            raise ValueError("a scenario chat is console:NAME (letters, digits, _ and -)")
        return key

    @field_validator("subscribe")
    @classmethod
    def _families(cls, names: list[str]) -> list[str]:
        known = {f.value for f in SUBSCRIBABLE}
        for name in names:
            if name not in known:
                raise ValueError(f"unknown family {name!r}; one of {', '.join(sorted(known))}")
        return names


class SeriesRow(_Row):
    instrument: str
    daily: str = ""
    bars: str = ""


class TickRow(_Row):
    instrument: str
    at: datetime
    price: float = Field(gt=0)
    why: str

    _at = field_validator("at", mode="before")(_instant)


class FaultRow(_Row):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    kind: Literal["down", "frozen"]

    _times = field_validator("start", "end", mode="before")(_instant)

    @model_validator(mode="after")
    def _order(self) -> FaultRow:
        if self.end <= self.start:
            raise ValueError("a fault ends after it starts")
        return self


class StepRow(_Row):
    at: datetime
    command: str
    chat: str | None = None

    _at = field_validator("at", mode="before")(_instant)


class HeadlineRow(_Row):
    """A headline a feed publishes (same shape as seeds/headlines_january2026.toml)."""

    feed: str
    published: datetime
    title: str
    link: str | None = None
    guid: str | None = None

    @field_validator("published")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the publish time with its UTC offset (+08:00)")
        return value


class PrintRow(_Row):
    """A macro print the provider has from `at` (default: its release in the calendar)."""

    indicator: str
    period: str  # "2026-01", or "2026-Q1" for GDP
    value: float
    at: datetime | None = None

    _at = field_validator("at", mode="before")(_instant)


class ExpectRow(_Row):
    at: datetime
    chat: str | None = None
    title: str | None = None
    contains: list[str] = []

    _at = field_validator("at", mode="before")(_instant)

    @model_validator(mode="after")
    def _something(self) -> ExpectRow:
        if self.title is None and not self.contains:
            raise ValueError("an expected alert needs a title or figures it contains")
        return self


class ScenarioFile(_Row):
    name: str
    synthetic: bool
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    tz: str = "Asia/Shanghai"
    data: Literal["seeds", "own"] = "seeds"
    house_rules: bool = False
    jobs: list[Literal["quotes", "digest", "macro", "headlines"]] = ["quotes"]
    poll_minutes: int = Field(default=15, ge=1, le=60)
    chat: list[ChatRow] = Field(default_factory=lambda: [ChatRow()])
    series: list[SeriesRow] = []
    tick: list[TickRow] = []
    fault: list[FaultRow] = []
    step: list[StepRow] = []
    headline: list[HeadlineRow] = []  # the headlines job's feeds (default: the seeds')
    print: list[PrintRow] = []  # the macro job's provider (default: the seeds' prints)
    expect: list[ExpectRow]  # required: a scenario always says what it expects

    @field_validator("tz")
    @classmethod
    def _tz(cls, value: str) -> str:
        return _zone(value).key

    @model_validator(mode="after")
    def _coherent(self) -> ScenarioFile:
        if self.end < self.start or (self.end - self.start).days > MAX_DAYS:
            raise ValueError(f"'to' must be on or after 'from', at most {MAX_DAYS} days later")
        chats = [c.key for c in self.chat]
        if len(set(chats)) != len(chats):
            raise ValueError("a chat is listed twice")
        named = [r.chat for r in self.step] + [r.chat for r in self.expect]
        for chat in named:
            if chat is not None and chat not in chats:
                raise ValueError(f"chat {chat!r} is not one of the scenario's [[chat]]")
        return self


@dataclass(frozen=True, slots=True)
class Scenario:
    """A validated scenario, with its data parsed and its path."""

    path: Path
    file: ScenarioFile
    daily: dict[str, list[tuple[date, float]]]
    bars: dict[str, list[tuple[datetime, float]]]

    @property
    def chats(self) -> list[str]:
        return [c.key for c in self.file.chat]

    def chat_of(self, row: StepRow | ExpectRow) -> str:
        return row.chat or self.chats[0]


def _lines(text: str, where: str) -> list[tuple[str, str]]:
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ScenarioError(f"{where} line {n}: expected two values, got {raw.strip()!r}")
        out.append((parts[0], parts[1]))
    return out


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ScenarioError(f"{where}: {text!r} is not a number") from None
    if not value > 0:
        raise ScenarioError(f"{where}: a price must be above 0, got {text}")
    return value


BAR_STEP = timedelta(minutes=15)


def _times(text: str, zone: ZoneInfo) -> list[datetime]:
    """'2026-01-19T09:45' (one bar) or '2026-01-19T09:30..15:00' (a bar every 15 minutes
    from the first time to the second, same day and zone; the replay keeps those inside
    the market's trading hours)."""
    first, _, last = text.partition("..")
    at = datetime.fromisoformat(first)
    at = at if at.tzinfo else at.replace(tzinfo=zone)
    if not last:
        return [at]
    end = datetime.combine(at.date(), time.fromisoformat(last), at.tzinfo)
    if end < at:
        raise ValueError(f"{text!r}: the range ends before it starts")
    out = []
    while at <= end:
        out.append(at)
        at += BAR_STEP
    return out


def load(path: Path) -> Scenario:
    """Read and validate a scenario; ScenarioError names the file and field."""
    from bot.seedfiles import read_toml

    raw: Any = read_toml(path, error=ScenarioError)
    tz = raw.get("tz", "Asia/Shanghai") if isinstance(raw, dict) else "Asia/Shanghai"
    file = load_seed_file(path, ScenarioFile, error=ScenarioError, context={"tz": tz})
    zone = ZoneInfo(file.tz)
    daily: dict[str, list[tuple[date, float]]] = {}
    bars: dict[str, list[tuple[datetime, float]]] = {}
    for i, s in enumerate(file.series):
        where = f"{path.name}: series.{i}"
        try:
            daily[s.instrument] = [
                (date.fromisoformat(d), _number(v, where)) for d, v in _lines(s.daily, where)
            ]
            rows: list[tuple[datetime, float]] = []
            for t, v in _lines(s.bars, where):
                price = _number(v, where)
                rows.extend((at, price) for at in _times(t, zone))
            bars[s.instrument] = sorted(rows)
        except ValueError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
    return Scenario(path, file, daily, bars)


# -- comparing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivered:
    """One alert as a scenario chat received it: when, where, its title and whole text."""

    at: datetime
    chat: str
    title: str
    text: str
    family: str = ""


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def matches(expect: ExpectRow, chat: str, got: Delivered) -> bool:
    if got.chat != chat or _minute(got.at) != _minute(expect.at):
        return False
    if expect.title is not None and got.title != expect.title:
        return False
    return all(figure in got.text for figure in expect.contains)


@dataclass(frozen=True, slots=True)
class Difference:
    missing: list[ExpectRow]  # expected, not delivered
    unexpected: list[Delivered]  # delivered, not expected

    @property
    def empty(self) -> bool:
        return not self.missing and not self.unexpected


def compare(scenario: Scenario, delivered: list[Delivered]) -> Difference:
    """Each expectation takes the first delivered alert it matches, in file order."""
    left = list(delivered)
    missing = []
    for expect in scenario.file.expect:
        chat = scenario.chat_of(expect)
        hit = next((g for g in left if matches(expect, chat, g)), None)
        if hit is None:
            missing.append(expect)
        else:
            left.remove(hit)
    return Difference(missing, left)


def describe(diff: Difference, tz: str) -> list[str]:
    """What differs, one line each, times in the scenario's zone."""
    zone = ZoneInfo(tz)
    lines = []
    for e in diff.missing:
        what = repr(e.title) if e.title is not None else "an alert"
        with_ = f" showing {', '.join(map(repr, e.contains))}" if e.contains else ""
        lines.append(
            f"missing:    {e.at.astimezone(zone):%a %d %b %H:%M} {e.chat or ''} {what}{with_}"
        )
    for g in diff.unexpected:
        lines.append(f"unexpected: {g.at.astimezone(zone):%a %d %b %H:%M} {g.chat} {g.title!r}")
    return lines
