"""/backtest RULE [PERIOD]: how a rule would have behaved over past daily closes.

RULE is a rule as /alert add takes it (``STAR50 1d down 3``, ``STAR50 vs NDX mtd up 10``,
``NDX above 26000``, with ``cooldown=`` and ``hyst=``) or a rule id from /alerts. PERIOD
is 1y to 10y (default 3y), counted back from the latest stored close.

The rule is replayed by the live engine (bot.backtest.replay) over the closes Redis holds,
deepened once to ten years from the providers (bot.backtest.history); the CPU work and the
chart run in worker threads, so other commands are answered meanwhile. Nothing is stored
but the fetched closes. A divergence-score rule is scored against the economy pulse as
it stood at each close, built from the macro history Redis holds with every print counted
from its publication time (bot.divergence.metrics.PulseTimeline, the live rule). Intraday
windows have no daily history to replay: they get one line saying so.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Protocol

from bot import fmt
from bot.backtest import stats
from bot.backtest.chart import Line, render_png
from bot.backtest.history import MAX_YEARS, DeepHistory
from bot.backtest.replay import Fire, PulseAt, instruments_of, replay
from bot.clock import Clock
from bot.cmdref import OPEN, ref
from bot.divergence.metrics import PulseTimeline
from bot.divergence.snapshot import neutral_levels
from bot.macro import history as macro_history
from bot.market.sessions import Market
from bot.market.watchlist import Watchlist
from bot.models import HOUSE, RULE_ID, DailyCloses, Message, Rule, RuleKind, Window
from bot.rules.crossing_alerts import describe_rule
from bot.rules.grammar import RuleSpecError, parse_rule
from bot.rules.live import LiveRules
from bot.state.store import Store
from handlers.base import Command, UsageError

USAGE = (
    f"usage: {ref('backtest RULE [PERIOD]')} — RULE as {ref('alert add')} takes it or a rule "
    f"id from {ref('alerts')}, PERIOD 1y to 10y (default 3y); "
    f"e.g. {ref('backtest STAR50 1d down 3 3y')}"
)
DEFAULT_YEARS = 3
SHOWN_FIRES = 25  # the most recent fires listed; the chart shows them all
_PERIOD = re.compile(r"^(\d{1,3})y$", re.IGNORECASE)


class Needs(Protocol):
    """What this command uses of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def watchlist(self) -> Watchlist: ...

    @property
    def markets(self) -> dict[str, Market]: ...

    @property
    def rules(self) -> LiveRules: ...

    @property
    def store(self) -> Store: ...

    @property
    def backtest(self) -> DeepHistory: ...


@dataclass(frozen=True, slots=True)
class Result:
    rule: Rule
    start: date
    end: date
    fires: list[Fire]
    afters: list[stats.After]
    summary: list[stats.Summary]
    years: dict[int, int]
    lines: list[Line]
    pulse_from: date | None = None  # a divergence rule's first session with a pulse


@dataclass(frozen=True, slots=True)
class Macro:
    """The macro history a divergence-score backtest reads (bot.macro.history)."""

    prints: Mapping[str, list[tuple[date, float]]]
    published: Mapping[str, Mapping[date, datetime]]


def parse_period(words: list[str]) -> tuple[list[str], int]:
    """Take the period word (e.g. 3y) out of the words; (rest, years)."""
    found = [w for w in words if _PERIOD.match(w)]
    if len(found) > 1:
        raise UsageError(f"one period please, got {' '.join(found)}; {USAGE}")
    if not found:
        return words, DEFAULT_YEARS
    years = int(_PERIOD.match(found[0])[1])  # type: ignore[index]
    if not 1 <= years <= MAX_YEARS:
        raise UsageError(f"period must be 1y to {MAX_YEARS}y, got {found[0]!r}")
    return [w for w in words if w is not found[0]], years


async def the_rule(core: Needs, cmd: Command, words: list[str]) -> Rule:
    if len(words) == 1 and RULE_ID.match(words[0].lower()):
        rule = await core.store.get_rule(words[0].lower())
        if rule is None or rule.owner not in (cmd.chat, HOUSE):
            raise UsageError(f"no rule {words[0].lower()} in this chat; {ref('alerts')} lists them")
        return rule
    try:
        spec = parse_rule(words, core.watchlist)
    except RuleSpecError as exc:
        # The grammar's usage names /alert add: here the same words follow /backtest.
        message = str(exc).replace(OPEN + "alert add", OPEN + "backtest")
        raise UsageError(message) from None
    return core.rules.make_rule("r0", cmd.chat, spec, core.clock.now())


def no_daily_meaning(rule: Rule) -> str | None:
    if rule.window is Window.INTRADAY:
        return (
            "only daily history is available: an intraday window (from today's open) "
            "can't be backtested; try the same rule over 1d"
        )
    return None


def years_back(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def close_times(core: Needs, instruments: list[str]) -> dict[str, time]:
    """Each instrument's market's close as a UTC time of day (its latest session's)."""
    now = core.clock.now()
    out = {}
    for key in instruments:
        session = core.markets[core.watchlist[key].calendar].last_session_before(now)
        out[key] = session.close.astimezone(UTC).timetz() if session else time(8, tzinfo=UTC)
    return out


def compute(
    rule: Rule,
    closes: dict[str, DailyCloses],
    years: int,
    times: dict[str, time],
    lag: int,
    names: list[str],
    macro: Macro | None = None,
) -> Result:
    """The CPU part: replay, moves after, counts, chart lines. Runs in a worker thread."""
    own = closes[rule.instrument]
    end = own.dates[-1]
    start = max(years_back(end, years), own.dates[0])
    known: list[datetime] = []  # the first close with a pulse, once there is one
    pulse_at: PulseAt | None = None
    if macro is not None:
        timeline = PulseTimeline(macro.prints, neutral_levels(), macro.published)

        def scored(at: datetime) -> float | None:
            value = timeline.at(at).value
            if value is not None and not known:
                known.append(at)
            return value

        pulse_at = scored

    fires = replay(
        rule,
        closes,
        start,
        lambda inst, day: datetime.combine(day, times[inst]),
        lambda _x, _b: lag,
        pulse_at,
    )
    afters = stats.moves_after([f for f in fires if not f.suppressed], own)
    lines = []
    for inst, name in zip(instruments_of(rule), names, strict=True):
        series = closes[inst]
        i = series.before(start)
        lines.append(Line(name, tuple(series.dates[i:]), tuple(series.closes[i:])))
    return Result(
        rule,
        start,
        end,
        fires,
        afters,
        stats.summarise(afters),
        stats.per_year(fires, start.year, end.year),
        lines,
        max(known[0].date(), start) if known else None,
    )


def value_text(rule: Rule, value: float) -> str:
    if rule.kind is RuleKind.LEVEL:
        return fmt.price(value)
    if rule.kind is RuleKind.DIVERGENCE:
        return fmt.signed(value, 2)
    return fmt.pp(value, 2) if rule.kind is RuleKind.SPREAD else fmt.pct(value, 2)


def pulse_line(result: Result) -> str:
    """What a divergence-score backtest was scored against, and from when."""
    if result.pulse_from is None:
        return (
            "no economy pulse in the period: the macro history holds too few published "
            f"prints (see {ref('divergence')}), so no score and no fire"
        )
    since = "" if result.pulse_from <= result.start else f" from {result.pulse_from:%d %b %Y}"
    return (
        "score = the window return's z-score minus the economy pulse of the macro prints "
        f"published by each close{since}"
    )


def render(result: Result, names: list[str]) -> Message:
    rule = result.rule
    text = describe_rule(rule.kind, names, rule.window, rule.direction.value, rule.threshold)
    shown = [f for f in result.fires if not f.suppressed]
    held = len(result.fires) - len(shown)
    title = f"Backtest: {text} · {result.start:%d %b %Y} to {result.end:%d %b %Y}"
    lines = [
        f"{len(shown)} fire{'s' if len(shown) != 1 else ''}"
        + (f" ({held} more inside the {fmt.duration(rule.cooldown_s)} cooldown)" if held else "")
        + f" · hysteresis {rule.hysteresis:g} · daily closes, fire on the cross as live",
        "per year: " + " · ".join(f"{y} {n}" for y, n in result.years.items()),
    ]
    if rule.kind is RuleKind.DIVERGENCE:
        lines.append(pulse_line(result))
    for s in result.summary:
        when = f"after {s.horizon} session{'s' if s.horizon != 1 else ''}"
        if s.median is None or s.worst is None:
            lines.append(f"{names[0]} {when}: no fire with that many sessions after it yet")
        else:
            lines.append(
                f"{names[0]} {when}: median {fmt.pct(s.median)}, worst {fmt.pct(s.worst)} "
                f"({s.count} fire{'s' if s.count != 1 else ''})"
            )
    if shown:
        recent = shown[-SHOWN_FIRES:]
        more = len(shown) - len(recent)
        lines.append(
            "fires: "
            + ", ".join(f"{f.day:%Y-%m-%d} {value_text(rule, f.value)}" for f in recent)
            + (f" (and {more} earlier, on the chart)" if more else "")
        )
    return Message(title=title, lines=lines)


async def backtest(core: Needs, cmd: Command) -> Message:
    words, years = parse_period([w for w in cmd.args if w.strip()])
    if not words:
        raise UsageError(USAGE)
    rule = await the_rule(core, cmd, words)
    refusal = no_daily_meaning(rule)
    if refusal is not None:
        raise UsageError(refusal)
    now = core.clock.now()
    instruments = instruments_of(rule)
    closes: dict[str, DailyCloses] = {}
    for key in instruments:
        await core.backtest.ensure(core.watchlist[key], now.date(), now)
        closes[key] = await core.store.load_closes(key)
        if len(closes[key].dates) < 2:
            raise UsageError(
                f"no daily history for {core.watchlist[key].name} yet: the providers gave "
                f"none (see {ref('status')}); try again later"
            )
    names = [core.watchlist[k].name for k in instruments]
    macro = None
    if rule.kind is RuleKind.DIVERGENCE:
        redis = core.store.redis
        macro = Macro(
            await macro_history.load_all(redis), await macro_history.load_all_published(redis)
        )
    lag = core.rules.engine.lag(rule.instrument, rule.other) if rule.other else 0
    times = close_times(core, instruments)
    result = await asyncio.to_thread(compute, rule, closes, years, times, lag, names, macro)
    message = render(result, names)
    message.image = await render_png(
        message.title, result.lines, result.fires, rebase=rule.kind is RuleKind.SPREAD
    )
    return message
