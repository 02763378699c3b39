"""Source health: which providers and feeds answer well, and why the others do not.

Watchers mark a source ok or bad here; /status and /readyz read it. Kept in process
memory and mirrored to Redis by the store so every replica's /status shows it.
"""

from __future__ import annotations

from datetime import datetime

from bot.models import SourceHealth


class HealthBoard:
    """The latest health of every source, by name."""

    def __init__(self) -> None:
        self._by_name: dict[str, SourceHealth] = {}

    def ok(self, name: str, at: datetime) -> None:
        h = self._by_name.setdefault(name, SourceHealth(name, ok=True))
        h.ok, h.reason, h.last_ok, h.last_checked, h.failures = True, "", at, at, 0

    def bad(self, name: str, reason: str, at: datetime) -> None:
        h = self._by_name.setdefault(name, SourceHealth(name, ok=False))
        h.ok, h.reason, h.last_checked = False, reason, at
        h.failures += 1

    def get(self, name: str) -> SourceHealth | None:
        return self._by_name.get(name)

    def all(self) -> list[SourceHealth]:
        return sorted(self._by_name.values(), key=lambda h: h.name)

    def is_ok(self, name: str) -> bool:
        h = self._by_name.get(name)
        return h is not None and h.ok
