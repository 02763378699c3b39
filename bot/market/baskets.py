"""Baskets: a desk's own index of instruments (/basket add AI3 688256 688981 HK01347).

Owns what a basket is and how its level moves; the definitions live in Redis
(`divbot:baskets`, loaded by bot.market.catalogue with the instruments chats added).

A basket is an instrument with no provider id: its key, its members and their weights
(`equal`, or `cap`: each member's free-float market cap, Eastmoney's `f21`, at creation).
Its level is **chained from the members' returns**, like an index:

    level(d) = level(d') × (1 + Σ_i w_i × r_i(d)),  r_i(d) = close_i(d) / close_i(before d) − 1

where d' is the basket's previous day and a member that did not trade on d (suspended,
or its market closed for a holiday) contributes nothing: r_i(d) = 0, its weight stays (as
an index holds a suspended stock at its last price). When it trades again its return is
taken from its last close, so the gap is counted once. A day no member trades is no
day of the basket. The level starts at `BASE_LEVEL` on the first day every member has a
close. Live, the same formula runs on each poll: the basket's previous close times one
plus the weighted moves of the members quoted in today's session; the closing poll's
level is the day's close, so rules, windows, spreads, `/quote` and `/divergence` treat a
basket like an index. Its calendar is its first member's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from bot.models import INSTRUMENT_KEY, DailyCloses, Instrument
from bot.state.store import Store

BASE_LEVEL = 1000.0
# The seed basket: names the articles are about, an ILLUSTRATION of a basket, not advice.
ILLUSTRATION = ("CNAI", ("CAMBRICON", "BABA", "TENCENT"))
MAX_MEMBERS = 20
Scheme = Literal["equal", "cap"]


@dataclass(frozen=True, slots=True)
class Basket:
    key: str  # e.g. AI3
    members: tuple[str, ...]  # instrument keys
    weights: tuple[float, ...]  # sum to 1, one per member
    scheme: Scheme
    owner: str  # the chat that made it: its admins may remove it
    calendar: str  # the first member's
    illustration: bool = False  # the seed basket: the articles' names, not advice

    def weight(self) -> dict[str, float]:
        return dict(zip(self.members, self.weights, strict=True))

    def instrument(self) -> Instrument:
        name = f"{self.key} basket"
        # role "stock": listed where named, not in the default /quote and /divergence sets
        return Instrument(self.key, name, self.calendar, "stock", None, None, aliases=())

    def to_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "members": list(self.members),
                "weights": list(self.weights),
                "scheme": self.scheme,
                "owner": self.owner,
                "calendar": self.calendar,
                "illustration": self.illustration,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Basket:
        """A basket from its stored JSON; ValueError when anything is off."""
        raw: Any = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        key, members, weights = raw.get("key"), raw.get("members"), raw.get("weights")
        if not isinstance(key, str) or not INSTRUMENT_KEY.match(key):
            raise ValueError("bad key")
        if not isinstance(members, list) or not 2 <= len(members) <= MAX_MEMBERS:
            raise ValueError("bad members")
        if not all(isinstance(m, str) and INSTRUMENT_KEY.match(m) for m in members):
            raise ValueError("bad member key")
        if not isinstance(weights, list) or len(weights) != len(members):
            raise ValueError("bad weights")
        ws = tuple(float(w) for w in weights)
        if not all(math.isfinite(w) and w > 0 for w in ws) or abs(sum(ws) - 1) > 1e-6:
            raise ValueError("weights must be positive and sum to 1")
        scheme = raw.get("scheme")
        if scheme not in ("equal", "cap"):
            raise ValueError("bad scheme")
        return cls(
            key,
            tuple(members),
            ws,
            scheme,
            str(raw.get("owner", "")),
            str(raw.get("calendar", "")),
            bool(raw.get("illustration", False)),
        )


def normalised(values: Mapping[str, float]) -> tuple[float, ...]:
    total = sum(values.values())
    if not total > 0 or not all(math.isfinite(v) and v > 0 for v in values.values()):
        raise ValueError("weights must be positive numbers")
    return tuple(v / total for v in values.values())


def chain(
    closes: Mapping[str, Mapping[date, float]],
    weights: Mapping[str, float],
    base: float = BASE_LEVEL,
) -> list[tuple[date, float]]:
    """The basket's daily levels from its members' closes (see the module docstring)."""
    if not weights or any(not closes.get(m) for m in weights):
        return []
    start = max(min(closes[m]) for m in weights)  # the first day every member has a close
    days = sorted({d for m in weights for d in closes[m] if d > start})
    last = {m: _last_on_or_before(closes[m], start) for m in weights}
    level, out = base, [(start, base)]
    for day in days:
        move = 0.0
        for m, w in weights.items():
            close = closes[m].get(day)
            if close is None:
                continue  # did not trade that day: contributes nothing
            move += w * (close / last[m] - 1)
            last[m] = close
        level *= 1 + move
        out.append((day, level))
    return out


def _last_on_or_before(series: Mapping[date, float], day: date) -> float:
    return series[max(d for d in series if d <= day)]


def live_level(
    prev_level: float, moves: Mapping[str, float], weights: Mapping[str, float]
) -> float:
    """The level now: the previous close times one plus the weighted moves (fractions) of
    the members quoted in today's session; the others contribute nothing."""
    return prev_level * (1 + sum(w * moves[m] for m, w in weights.items() if m in moves))


async def establish(basket: Basket, store: Store, first_day: date) -> DailyCloses:
    """Write the basket's daily levels chained from its members' stored closes; with no
    common history yet, BASE_LEVEL as the close of `first_day` (the last session before
    it was made). Returns what is stored, for the engine."""
    closes = {
        m: dict(zip(*_pairs(await store.load_closes(m)), strict=True)) for m in basket.members
    }
    levels = chain(closes, basket.weight()) or [(first_day, BASE_LEVEL)]
    await store.put_closes(basket.key, levels)
    return await store.load_closes(basket.key)


def _pairs(closes: DailyCloses) -> tuple[list[date], list[float]]:
    return closes.dates, closes.closes
