"""The rule grammar a trader types, parsed and validated; shared by /alert add and seeds.

    STAR50 1d up 3              move: instrument, window, direction, threshold in %
    STAR50 vs NDX mtd up 10     spread: A vs B, window, direction, threshold in pp
    NDX above 26000             level: price crosses a level (or `below`)
    MARGIN above 2.7T           the margin balance (¥bn) past ¥2.7trn (T/B: trillion/billion)
    divergence STAR50 [mtd] score up 3
                                decoupling score (return z minus economy pulse) crosses 3
    … cooldown=30m hyst=0.5     options: cooldown (s/m/h/d) and hysteresis (same unit)

Anything else raises RuleSpecError with one readable line; nothing is stored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.cmdref import ref
from bot.fmt import excerpt
from bot.market.watchlist import UnknownInstrument, Watchlist
from bot.models import Direction, RuleKind, Window

USAGE = (
    f"usage: {ref('alert add SYMBOL WINDOW up|down|either PCT')} · "
    f"{ref('alert add A vs B WINDOW up|down|either PP')} · "
    f"{ref('alert add SYMBOL above|below PRICE')} · "
    f"{ref('alert add divergence SYMBOL [WINDOW] score up|down|either N')} "
    f"(windows: intraday 1d 5d mtd ytd; e.g. {ref('alert add STAR50 1d up 3')})"
)
MAX_MOVE_PCT = 100.0
MAX_SPREAD_PP = 200.0
MAX_SCORE = 20.0
_DURATION = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RuleSpecError(ValueError):
    """A rule the user typed that can't be stored; the message is the reply."""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    kind: RuleKind
    instrument: str
    threshold: float
    direction: Direction
    window: Window | None = None
    other: str | None = None
    cooldown_s: int | None = None
    hysteresis: float | None = None


def parse_duration(text: str, *, max_s: int = 30 * 86400) -> int:
    """'90s', '30m', '1h', '2d' -> seconds."""
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise RuleSpecError(
            f"bad duration {excerpt(text)}: use a number and s, m, h or d, e.g. 30m"
        )
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if not 0 < seconds <= max_s:
        raise RuleSpecError(f"duration {excerpt(text)} out of range: 1s to {max_s // 86400}d")
    return seconds


def _number(text: str, what: str, unit: str) -> float:
    cleaned = text.strip().lower().removesuffix(unit).replace(",", "").replace("_", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise RuleSpecError(f"{what} must be a number, got {excerpt(text)}; {USAGE}") from None
    if not math.isfinite(value):
        raise RuleSpecError(f"{what} must be a finite number, got {excerpt(text)}")
    return value


# MARGIN's price is billions of yuan (bot.sources.margin): its levels take T and B.
_YUAN_SUFFIX = {"t": 1000.0, "b": 1.0}
YUAN_BILLIONS = frozenset({"MARGIN"})


def _level(text: str, instrument: str) -> float:
    """A price level; for a balance in ¥bn (MARGIN) '2.7T' is 2,700 and '2650B' 2,650."""
    suffix = text.strip()[-1:].lower()
    if instrument in YUAN_BILLIONS and suffix in _YUAN_SUFFIX:
        return _number(text.strip()[:-1], "level", "") * _YUAN_SUFFIX[suffix]
    if suffix in _YUAN_SUFFIX:
        raise RuleSpecError(
            f"level {text!r}: T and B (trillion, billion yuan) are for MARGIN; "
            f"give {instrument}'s price as a number"
        )
    return _number(text, "level", "")


def _window(text: str) -> Window:
    try:
        return Window(text.lower())
    except ValueError:
        valid = " ".join(w.value for w in Window)
        raise RuleSpecError(f"unknown window {excerpt(text)}; use one of: {valid}") from None


def _direction(text: str) -> Direction:
    try:
        return Direction(text.lower())
    except ValueError:
        raise RuleSpecError(f"direction must be up, down or either, got {excerpt(text)}") from None


def parse_rule(args: list[str], watchlist: Watchlist) -> RuleSpec:
    """Parse the words after `/alert add`."""
    words = [w for w in args if w.strip()]
    options: dict[str, str] = {}
    while words and "=" in words[-1]:
        key, _, option = words.pop().partition("=")
        options[key.lower()] = option
    if not words:
        raise RuleSpecError(USAGE)

    def inst(name: str) -> str:
        try:
            return watchlist.resolve(name).key
        except UnknownInstrument as exc:
            raise RuleSpecError(str(exc)) from None

    if words[0].lower() == "divergence":
        return _with_options(_divergence(words[1:], inst), options)
    if words[0].lower() == "spread":
        words = words[1:]
        if len(words) == 5:
            words.insert(1, "vs")
        if len(words) != 6:
            raise RuleSpecError(
                f"a spread needs two instruments: {ref('alert add spread STAR50 NDX mtd up 10')} "
                "(or STAR50 vs NDX mtd up 10)"
            )
    if len(words) == 3 and words[1].lower() in ("above", "below"):
        level = _level(words[2], inst(words[0]))
        if level <= 0:
            raise RuleSpecError(f"level must be above zero, got {excerpt(words[2])}")
        spec = RuleSpec(
            RuleKind.LEVEL,
            inst(words[0]),
            level,
            Direction.UP if words[1].lower() == "above" else Direction.DOWN,
        )
    elif len(words) == 4:
        value = _number(words[3], "threshold", "%")
        if not 0 < value <= MAX_MOVE_PCT:
            raise RuleSpecError(
                f"threshold must be between 0 and {MAX_MOVE_PCT:g}%, got {excerpt(words[3])}"
            )
        spec = RuleSpec(
            RuleKind.MOVE, inst(words[0]), value, _direction(words[2]), window=_window(words[1])
        )
    elif len(words) == 6 and words[1].lower() == "vs":
        a, b = inst(words[0]), inst(words[2])
        if a == b:
            raise RuleSpecError(f"a spread needs two different instruments, got {a} twice")
        value = _number(words[5], "threshold", "pp")
        if not 0 < value <= MAX_SPREAD_PP:
            raise RuleSpecError(
                f"spread threshold must be between 0 and {MAX_SPREAD_PP:g}pp, "
                f"got {excerpt(words[5])}"
            )
        spec = RuleSpec(
            RuleKind.SPREAD, a, value, _direction(words[4]), window=_window(words[3]), other=b
        )
    else:
        raise RuleSpecError(USAGE)
    return _with_options(spec, options)


def _divergence(words: list[str], inst: Callable[[str], str]) -> RuleSpec:
    """`SYMBOL [WINDOW] score up|down|either N`; the window defaults to mtd."""
    if len(words) == 4:
        words = [words[0], "mtd", *words[1:]]
    if len(words) != 5 or words[2].lower() != "score":
        raise RuleSpecError(
            f"usage: {ref('alert add divergence SYMBOL [WINDOW] score up|down|either N')} "
            f"(e.g. {ref('alert add divergence STAR50 score up 3')})"
        )
    window = _window(words[1])
    if window is Window.INTRADAY:
        raise RuleSpecError("a divergence score needs a window of 1d 5d mtd or ytd")
    value = _number(words[4], "score", "")
    if not 0 < value <= MAX_SCORE:
        raise RuleSpecError(f"score must be between 0 and {MAX_SCORE:g}, got {excerpt(words[4])}")
    return RuleSpec(RuleKind.DIVERGENCE, inst(words[0]), value, _direction(words[3]), window=window)


def _with_options(spec: RuleSpec, options: dict[str, str]) -> RuleSpec:
    cooldown = hysteresis = None
    for key, value in options.items():
        if key == "cooldown":
            cooldown = parse_duration(value, max_s=7 * 86400)
        elif key in ("hyst", "hysteresis"):
            hysteresis = _number(value, "hysteresis", "")
            if not 0 <= hysteresis <= max(spec.threshold, 1.0):
                raise RuleSpecError(
                    f"hysteresis must be between 0 and the threshold, got {excerpt(value)}"
                )
        else:
            raise RuleSpecError(
                f"unknown option {excerpt(key)}; options are cooldown=30m, hyst=0.5"
            )
    return RuleSpec(
        spec.kind,
        spec.instrument,
        spec.threshold,
        spec.direction,
        spec.window,
        spec.other,
        cooldown,
        hysteresis,
    )
