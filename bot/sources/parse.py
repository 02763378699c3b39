"""Defensive readers for decoded provider JSON: numbers, epochs and nested objects.

Providers send "-" for a missing number, null inside arrays, strings where numbers were
expected and extra keys at times; these helpers turn all of that into None rather than
letting a KeyError or TypeError escape a parser.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.sources.base import SourceError


def num(value: object) -> float | None:
    """A float from a JSON number or numeric string; None for "-", null, "" and junk."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an int too large for a float
            return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def epoch(value: object) -> datetime | None:
    """An aware UTC datetime from epoch seconds; None when absent, zero or out of range."""
    seconds = num(value)
    if seconds is None or not 0 < seconds < 4_102_444_800:  # before 2100-01-01
        return None
    return datetime.fromtimestamp(seconds, UTC)


def obj(source: str, value: object, what: str) -> dict[str, Any]:
    """`value` as a JSON object, or SourceError naming which part was not one."""
    if not isinstance(value, dict):
        shown = "null" if value is None else type(value).__name__
        raise SourceError(source, f"{what} is {shown}, not an object")
    return value


def seq(value: object) -> list[Any]:
    """`value` as a list; anything else (null, missing) as empty."""
    return value if isinstance(value, list) else []
