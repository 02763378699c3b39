"""Resting a quote source that failed: backing off on errors, honouring Retry-After.

Owns when each provider may be asked again. With a poll every 10 s, a provider in
trouble (HTTP 429/5xx, timeouts, a malformed answer) would otherwise be hammered six
times a minute. A source's first failure costs nothing (the next cycle asks again: one
bad answer is common); from the second failure in a row the source rests
`BACKOFF_S[0]` seconds, doubling up to `BACKOFF_S[1]`. A provider that said how long
to stay away (Retry-After on a 429 or 503) rests at least that long, up to
`RETRY_AFTER_MAX_S`. While a source rests the quote feed skips it and the next source
serves what it covers (Eastmoney -> Yahoo); the first good answer ends the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

BACKOFF_S = (10.0, 160.0)  # the rest after the 2nd failure in a row, and the longest
RETRY_AFTER_MAX_S = 600.0  # a provider asking for more than 10 minutes gets 10 minutes


def rest_s(failures: int, retry_after_s: float | None) -> float:
    """How long to rest a source after its `failures`-th failure in a row."""
    backoff = 0.0
    if failures >= 2:
        backoff = min(BACKOFF_S[1], BACKOFF_S[0] * 2 ** (failures - 2))
    asked = min(RETRY_AFTER_MAX_S, retry_after_s) if retry_after_s else 0.0
    return max(backoff, asked)


class Pacing:
    """Per source: consecutive failures, and the time before which it is not asked."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.until: dict[str, datetime] = {}

    def resting(self, source: str, now: datetime) -> datetime | None:
        """When `source` may be asked again, if it is resting at `now`."""
        until = self.until.get(source)
        return until if until is not None and now < until else None

    def failed(self, source: str, now: datetime, retry_after_s: float | None = None) -> float:
        """Record a failure; returns the rest it earned (0: ask again next cycle)."""
        n = self.failures.get(source, 0) + 1
        self.failures[source] = n
        rest = rest_s(n, retry_after_s)
        if rest > 0:
            self.until[source] = now + timedelta(seconds=rest)
        return rest

    def succeeded(self, source: str) -> None:
        self.failures.pop(source, None)
        self.until.pop(source, None)
