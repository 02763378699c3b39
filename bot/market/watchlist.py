"""The watchlist: which instruments exist, how providers name them, and symbol lookup."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

from bot.models import INSTRUMENT_KEY, Instrument

ROLES = ("tech", "benchmark", "broad", "stock")


class UnknownInstrument(ValueError):
    pass


class Watchlist:
    """Instruments by key, with case-insensitive aliases (`star50`, `KC50`, `000688`)."""

    def __init__(self, instruments: list[Instrument]) -> None:
        self._by_key = {i.key: i for i in instruments}
        self._lookup: dict[str, str] = {}
        for inst in instruments:
            for name in (inst.key, inst.name.replace(" ", ""), *inst.aliases):
                self._lookup[name.upper()] = inst.key

    @classmethod
    def load(cls, path: Path) -> Watchlist:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
        instruments = []
        for key, spec in raw.items():
            if not INSTRUMENT_KEY.match(key):
                raise ValueError(f"{path.name}: bad instrument key {key!r}")
            if spec.get("role") not in ROLES:
                raise ValueError(f"{path.name}: {key}: role must be one of {', '.join(ROLES)}")
            lo, hi = spec.get("band", [0.0, float("inf")])
            instruments.append(
                Instrument(
                    key=key,
                    name=spec["name"],
                    calendar=spec["calendar"],
                    role=spec["role"],
                    eastmoney=spec.get("eastmoney"),
                    yahoo=spec.get("yahoo"),
                    band=(float(lo), float(hi)),
                    aliases=tuple(spec.get("aliases", ())),
                )
            )
        return cls(instruments)

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
                f"unknown instrument {name!r}; try one of {', '.join(self._by_key)}"
            )
        return self._by_key[key]

    def keys(self) -> list[str]:
        return list(self._by_key)
