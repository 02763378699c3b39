"""The watchlist: which instruments exist, how providers name them, and symbol lookup.

Owns ``seeds/watchlist.toml`` and its model (`WatchlistFile`: one table per instrument key,
each an `InstrumentRow`), and the `Watchlist` the rest of the code looks instruments up in.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, field_validator

from bot.fmt import excerpt
from bot.models import INSTRUMENT_KEY, Instrument
from bot.seedfiles import SeedFileError, load_seed_file

Role = Literal["tech", "benchmark", "broad", "stock", "macro"]
ROLES: tuple[Role, ...] = ("tech", "benchmark", "broad", "stock", "macro")


class UnknownInstrument(ValueError):
    pass


class WatchlistError(SeedFileError):
    """seeds/watchlist.toml is wrong; the message names the instrument and the field."""


def _instrument_key(key: str) -> str:
    if not INSTRUMENT_KEY.match(key):
        raise ValueError("not an instrument key (2-12 capital letters or digits, e.g. STAR50)")
    return key


class InstrumentRow(BaseModel):
    """One ``[KEY]`` table of the watchlist."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40)
    calendar: str = Field(min_length=1)  # an exchange_calendars code, e.g. XSHG
    role: Role
    eastmoney: str | None = Field(default=None, min_length=1)
    yahoo: str | None = Field(default=None, min_length=1)
    band: tuple[float, float] = (0.0, math.inf)
    aliases: tuple[Annotated[str, Field(min_length=1)], ...] = ()

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, code: str) -> str:
        import exchange_calendars  # imported here, not at the top: it brings pandas along

        if code not in exchange_calendars.get_calendar_names(include_aliases=True):
            raise ValueError(f"unknown exchange_calendars code {code!r} (e.g. XSHG, XHKG, XNYS)")
        return code

    @field_validator("band")
    @classmethod
    def _band(cls, band: tuple[float, float]) -> tuple[float, float]:
        low, high = band
        if not 0 <= low < high:
            raise ValueError(f"must be [low, high] with 0 <= low < high, got {list(band)}")
        return band


class WatchlistFile(
    RootModel[dict[Annotated[str, AfterValidator(_instrument_key)], InstrumentRow]]
):
    """seeds/watchlist.toml: one table per instrument key, e.g. ``[STAR50]``."""

    model_config = ConfigDict(frozen=True)


class Watchlist:
    """Instruments by key, with case-insensitive aliases (`star50`, `KC50`, `000688`)."""

    def __init__(self, instruments: list[Instrument]) -> None:
        self._by_key: dict[str, Instrument] = {}
        self._lookup: dict[str, str] = {}
        for inst in instruments:
            self._by_key[inst.key] = inst
            for name in (inst.key, inst.name.replace(" ", ""), *inst.aliases):
                self._lookup[name.upper()] = inst.key
        self.seeded = frozenset(self._by_key)  # the seed file's keys (never removed)

    def add(self, inst: Instrument) -> None:
        """Know `inst` from now on (an instrument a chat added: bot.market.catalogue).
        A name or alias another instrument already has keeps pointing at that one."""
        self._by_key[inst.key] = inst
        for name in (inst.key, inst.name.replace(" ", ""), *inst.aliases):
            self._lookup.setdefault(name.upper(), inst.key)

    def remove(self, key: str) -> None:
        """Forget an added instrument (no chat watches it any more); seeds stay."""
        if key in self.seeded or key not in self._by_key:
            return
        del self._by_key[key]
        self._lookup = {name: k for name, k in self._lookup.items() if k != key}

    @classmethod
    def load(cls, path: Path) -> Watchlist:
        """Read and validate seeds/watchlist.toml; WatchlistError names the bad field."""
        rows = load_seed_file(path, WatchlistFile, error=WatchlistError).root
        return cls(
            [
                Instrument(
                    key=key,
                    name=row.name,
                    calendar=row.calendar,
                    role=row.role,
                    eastmoney=row.eastmoney,
                    yahoo=row.yahoo,
                    band=row.band,
                    aliases=row.aliases,
                )
                for key, row in rows.items()
            ]
        )

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def __getitem__(self, key: str) -> Instrument:
        return self._by_key[key]

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def resolve(self, name: str) -> Instrument:
        """Find an instrument by key or alias; raise with the valid names if unknown."""
        key = self._lookup.get(name.strip().upper())
        if key is None:
            raise UnknownInstrument(
                f"unknown instrument {excerpt(name)}; try one of {', '.join(self._by_key)}"
            )
        return self._by_key[key]

    def keys(self) -> list[str]:
        return list(self._by_key)
