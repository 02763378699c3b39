"""A rule replayed over daily closes by the live engine (bot.rules.engine), nothing else.

Each session's close becomes one closing quote, fed to a fresh `Engine` in the order the
sessions closed (a spread's legs interleave as they would live: Shanghai's close before
New York's of the same date). The engine decides everything a live rule would: the exact
window bases on each market's own trading dates (holidays are simply absent), fire on
the cross, hysteresis, the cooldown (a crossing inside it is counted as suppressed, as
live it is recorded but not alerted), the decoupling score against the economy pulse of
the macro prints public at each close (bot.divergence.metrics.PulseTimeline, the same
rule as live), and the pending first value (the rule behaves as if
created on the first session of the period: a value already past the trigger then does
not fire; the next cross does). Values are compared at the shown precision, as live.

Pure and synchronous: the caller runs it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.models import DailyCloses, Quote, Rule
from bot.rules.engine import Engine, Lag, same_region

CloseAt = Callable[[str, date], datetime]  # when `instrument`'s session of `date` closed
PulseAt = Callable[[datetime], float | None]  # the economy pulse as it stood at an instant


@dataclass(frozen=True, slots=True)
class Fire:
    """One crossing the engine reported: the session, the signal's value, the side."""

    day: date
    value: float
    side: int  # +1 crossed up, -1 crossed down
    suppressed: bool  # inside the rule's cooldown: live records it, sends nothing


def instruments_of(rule: Rule) -> list[str]:
    return [rule.instrument] + ([rule.other] if rule.other else [])


def replay(
    rule: Rule,
    closes: Mapping[str, DailyCloses],
    start: date,
    close_at: CloseAt,
    lag: Lag = same_region,
    pulse_at: PulseAt | None = None,
) -> list[Fire]:
    """The crossings `rule` would have made on the sessions from `start` on, oldest first.

    `closes` holds each of the rule's instruments' whole history (earlier sessions give
    the window bases); `pulse_at` gives the economy pulse a divergence score needs as it
    stood at each close (called with non-decreasing instants), as live the engine holds
    the pulse of the prints published by then."""
    engine = Engine(lag)
    feed: list[tuple[datetime, str, date, float]] = []
    for inst in instruments_of(rule):
        series = closes.get(inst, DailyCloses())
        engine.set_closes(inst, series)
        first = series.before(start)
        for day, close in zip(series.dates[first:], series.closes[first:], strict=True):
            feed.append((close_at(inst, day), inst, day, close))
    feed.sort()
    engine.add_rule(replace(rule, paused=False))  # no value yet: pending, the first decides
    fires: list[Fire] = []
    for at, inst, day, close in feed:
        if pulse_at is not None:
            engine.pulse = pulse_at(at)
        quote = Quote(inst, close, at, day, "history", closing=True)
        for crossing in engine.on_quote(quote, at).crossings:
            fires.append(Fire(day, crossing.value, crossing.side, crossing.suppressed))
    return fires
