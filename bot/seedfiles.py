"""Seed files (``seeds/*.toml``): read one, validate it with its pydantic model, and when it
is wrong say so in one line, ``"<file name>: <dotted field path>: <message>"``.

Each seed file's model lives next to the code that owns the file (``bot.market.watchlist``,
``bot.market.closures``, ``bot.sources.headline_feeds``, ``bot.headlines.classifier``,
``bot.macro.calendar``, ``bot.wiring``). This module owns only what they share:
`SeedFileError` (what start-up catches to stop with exit status 2), `load_seed_file` and
`validate_seed` (the one place a ValidationError becomes that line), and `At`, which lets a
validator of a list point at the row it refuses.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

M = TypeVar("M", bound=BaseModel)


class SeedFileError(ValueError):
    """A seed file that cannot be read or does not validate; the message is one line naming
    the file and the bad field's path."""


class At(ValueError):
    """Raised by a validator to place its message below the field it validates.

    ``raise At((3, "id"), "id 'csrc' is used twice")`` in a validator of the `feed` list
    reads ``feed.3.id: id 'csrc' is used twice``.
    """

    def __init__(self, where: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.where = tuple(where)


def first_error(exc: ValidationError) -> ErrorDetails:
    """The error worth reading first. An unknown key comes before the rest: a typo'd key
    also makes its intended field "missing", and the typo is what to fix."""
    errors = exc.errors()
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def describe(exc: ValidationError) -> tuple[str, str]:
    """(dotted field path, message) of `first_error`; pydantic's "Value error, " prefix is
    dropped, and an unknown key says so."""
    err = first_error(exc)
    loc = tuple(part for part in err["loc"] if part != "[key]")  # a bad key: its own path
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, At):
        loc += cause.where
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    else:
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return ".".join(str(part) for part in loc) or "(top)", msg


def validate_seed(
    raw: object,
    model: type[M],
    name: str,
    *,
    error: type[SeedFileError] = SeedFileError,
    context: Mapping[str, Any] | None = None,
) -> M:
    """`raw` (a parsed TOML document) as `model`; `error` says ``"<name>: <path>: <message>"``."""
    try:
        return model.model_validate(raw, context=dict(context) if context else None)
    except ValidationError as exc:
        where, msg = describe(exc)
        raise error(f"{name}: {where}: {msg}") from None


def read_toml(path: Path, *, error: type[SeedFileError] = SeedFileError) -> dict[str, Any]:
    """A TOML file's document; an unreadable or ill-formed file raises `error`, one line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise error(f"{path.name}: cannot read ({exc.strerror or type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path.name}: not valid TOML ({exc})") from None


def load_seed_file(
    path: Path,
    model: type[M],
    *,
    error: type[SeedFileError] = SeedFileError,
    context: Mapping[str, Any] | None = None,
) -> M:
    """Read and validate one seed file; `error` names the file and the bad field's path."""
    return validate_seed(
        read_toml(path, error=error), model, path.name, error=error, context=context
    )
