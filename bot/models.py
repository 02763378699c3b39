"""Typed domain objects shared by watchers, engine, store and transports.

Nothing here knows a chat library or Redis: these are the words the rest of the code
speaks (an instrument, a quote, a window, a rule, a chat, an alert).
"""

from __future__ import annotations

import bisect
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

INSTRUMENT_KEY = re.compile(r"^[A-Z0-9]{2,12}$")
CHAT_KEY = re.compile(r"^(telegram|slack|console|webhook):-?[A-Za-z0-9_]{1,64}$")
RULE_ID = re.compile(r"^r[0-9]{1,12}$")


class Window(StrEnum):
    """How far back a move is measured; the base of each is exact (see bot.market.windows)."""

    INTRADAY = "intraday"
    D1 = "1d"
    D5 = "5d"
    MTD = "mtd"
    YTD = "ytd"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    EITHER = "either"


class RuleKind(StrEnum):
    MOVE = "move"
    SPREAD = "spread"
    LEVEL = "level"
    DIVERGENCE = "divergence"  # decoupling score of a tech index (bot.divergence.metrics)


class Family(StrEnum):
    """Alert families a chat subscribes to."""

    MOVES = "moves"
    SPREADS = "spreads"
    HEADLINES = "headlines"
    MACRO = "macro"
    DIGEST = "digest"
    OPS = "ops"  # notices to the bot's operators (OPERATOR_CHATS); nobody subscribes to it


# What a chat can subscribe to, set a level for, or group: every family but OPS.
SUBSCRIBABLE: tuple[Family, ...] = tuple(f for f in Family if f is not Family.OPS)


@dataclass(frozen=True, slots=True)
class Instrument:
    """One watched instrument and where each provider knows it."""

    key: str  # our id, e.g. "STAR50"
    name: str  # what a trader calls it, e.g. "STAR 50"
    calendar: str  # exchange_calendars code, e.g. "XSHG"
    role: Literal["tech", "benchmark", "broad", "stock", "macro"]
    eastmoney: str | None = None  # secid, e.g. "1.000688"
    yahoo: str | None = None  # symbol, e.g. "000688.SS"
    band: tuple[float, float] = (0.0, float("inf"))  # sane price range
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Quote:
    """A validated price observation for one instrument."""

    instrument: str
    price: float
    at: datetime  # aware, when the provider says the price was struck
    session: date  # the trading date in the instrument's own market
    source: str
    open: float | None = None  # today's open, for the intraday window
    prev_close: float | None = None  # the provider's previous close, a cross-check
    closing: bool = False  # the closing snapshot of the session


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A place alerts go: a Telegram chat, a Slack channel, the console, or an outgoing
    webhook endpoint (webhook:<name>, bot.transports.webhook)."""

    platform: Literal["telegram", "slack", "console", "webhook"]
    chat_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.chat_id}"

    @classmethod
    def parse(cls, key: str) -> ChatRef:
        if not CHAT_KEY.match(key):
            raise ValueError(f"not a chat reference: {key!r}")
        platform, chat_id = key.split(":", 1)
        return cls(platform, chat_id)  # type: ignore[arg-type]


HOUSE = "house"  # owner of the default rules: their alerts go to every subscriber


@dataclass(frozen=True, slots=True)
class Rule:
    """A chat's threshold: % for moves, pp for spreads, price for levels, score units
    (standard deviations) for divergence rules."""

    id: str
    owner: str  # a ChatRef key, or HOUSE
    kind: RuleKind
    instrument: str
    threshold: float
    direction: Direction
    window: Window | None = None  # None for level rules
    other: str | None = None  # the benchmark of a spread rule
    cooldown_s: int = 3600
    hysteresis: float = 0.5
    paused: bool = False
    created_at: float = 0.0  # epoch seconds

    @property
    def family(self) -> Family:
        if self.kind in (RuleKind.SPREAD, RuleKind.DIVERGENCE):
            return Family.SPREADS
        return Family.MOVES

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "owner": self.owner,
            "kind": self.kind.value,
            "instrument": self.instrument,
            "threshold": self.threshold,
            "direction": self.direction.value,
            "window": self.window.value if self.window else None,
            "other": self.other,
            "cooldown_s": self.cooldown_s,
            "hysteresis": self.hysteresis,
            "paused": self.paused,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Rule:
        window = d.get("window")
        other = d.get("other")
        # Owners and instruments repeat across rules (100,000 rules may have 10,000 owners
        # and a dozen instruments): interned, each is one string in memory, not one per rule.
        return cls(
            id=str(d["id"]),
            owner=sys.intern(str(d["owner"])),
            kind=RuleKind(str(d["kind"])),
            instrument=sys.intern(str(d["instrument"])),
            threshold=float(d["threshold"]),  # type: ignore[arg-type]
            direction=Direction(str(d["direction"])),
            window=Window(str(window)) if window else None,
            other=sys.intern(str(other)) if other else None,
            cooldown_s=int(d.get("cooldown_s", 3600)),  # type: ignore[call-overload]
            hysteresis=float(d.get("hysteresis", 0.5)),  # type: ignore[arg-type]
            paused=bool(d.get("paused", False)),
            created_at=float(d.get("created_at", 0.0)),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class Button:
    """An action under a message, e.g. mute a rule for an hour."""

    label: str
    action: str  # "mute:r12:3600", "rm:r12"


@dataclass(slots=True)
class Message:
    """A platform-neutral message: an alert body or a command reply.

    Only renderers (bot.transports) turn it into HTML, Block Kit or console text; every
    string in it is plain text, never markup.
    """

    title: str
    lines: list[str] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)
    source: str | None = None
    at: datetime | None = None
    buttons: list[Button] = field(default_factory=list)
    image: bytes | None = None
    preformatted: bool = False  # lines are an aligned table: render in monospace
    private: bool = False  # only the person who asked should see it (errors, refusals)
    # Routing, filled in at delivery (bot.chat.gate) and honoured by the transports:
    tz: str | None = None  # the chat's time zone for every time shown; None = the bot's
    silent: bool = False  # deliver without a notification sound (Telegram)
    reply_to: str | None = None  # platform message id to answer (a rule's follow-up)
    thread: str | None = None  # Telegram forum topic (message_thread_id) / Slack thread_ts


@dataclass(frozen=True, slots=True)
class Alert:
    """Something worth telling chats about, with a deterministic id for dedup."""

    id: str
    family: Family
    message: Message
    at: datetime
    rule_id: str | None = None
    owner: str | None = None  # a chat key for a chat's own rule; None/HOUSE for subscribers
    severity: Literal["info", "warning", "critical"] = "info"
    session: date | None = None  # the trading session a rule fired in (follow-up threads)


@dataclass(slots=True)
class DailyCloses:
    """One instrument's closes, sorted by date."""

    dates: list[date] = field(default_factory=list)
    closes: list[float] = field(default_factory=list)

    @classmethod
    def from_pairs(cls, pairs: list[tuple[date, float]]) -> DailyCloses:
        ordered = sorted(dict(pairs).items())
        return cls([d for d, _ in ordered], [c for _, c in ordered])

    def put(self, day: date, close: float) -> None:
        i = bisect.bisect_left(self.dates, day)
        if i < len(self.dates) and self.dates[i] == day:
            self.closes[i] = close
        else:
            self.dates.insert(i, day)
            self.closes.insert(i, close)

    def before(self, day: date) -> int:
        """How many closes fall strictly before `day`."""
        return bisect.bisect_left(self.dates, day)

    def last_before(self, day: date) -> tuple[date, float] | None:
        i = self.before(day)
        return (self.dates[i - 1], self.closes[i - 1]) if i else None


@dataclass(slots=True)
class SourceHealth:
    name: str
    ok: bool
    reason: str = ""
    last_ok: datetime | None = None
    last_checked: datetime | None = None
    failures: int = 0  # consecutive
