"""JSON over HTTP for the providers: timeouts, bounded retries, capped bodies, short reasons.

Owns the one place where a provider's HTTP answer becomes either decoded JSON or a
`SourceError` with a reason a trader can read in /status ("HTTP 503 after 3 tries",
"answered HTML, not JSON"). Reasons never carry URLs, query strings or headers, so no
secret a caller put there can leak into /status or the logs.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from bot.config import Settings
from bot.sources.base import SourceError

Sleep = Callable[[float], Awaitable[None]]

MAX_BODY_BYTES = 2 * 1024 * 1024
RETRY_AFTER_CAP_S = 30.0
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def _tries(n: int) -> str:
    return "1 try" if n == 1 else f"{n} tries"


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked by a Retry-After header (delta-seconds or HTTP date), if readable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def decode_json(source: str, body: bytes, content_type: str = "") -> Any:
    """Decode a response body, or raise SourceError saying what came instead of JSON."""
    text = body.strip()
    if not text:
        raise SourceError(source, "empty body")
    if text[:1] == b"<":
        raise SourceError(source, "answered HTML, not JSON")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        # ValueError covers UnicodeDecodeError; RecursionError a hostile deep nesting.
        # The body decides, not the header: some CDNs label good JSON text/html.
        if "html" in content_type.lower():
            raise SourceError(source, "answered HTML, not JSON") from None
        raise SourceError(source, "answered malformed or truncated JSON") from None


class JsonClient:
    """GETs JSON for one provider over a caller-owned session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        source: str,
        *,
        timeout_s: float,
        retries: int,
        max_bytes: int = MAX_BODY_BYTES,
        headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.timeout_s = timeout_s
        self.attempts = retries + 1
        self.max_bytes = max_bytes
        self.headers = dict(headers or {})
        self.sleep = sleep
        self.rng = rng or random.Random()

    def _backoff(self, attempt: int) -> float:
        # Equal jitter: half fixed, half random, so replicas retrying together spread out.
        step = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt)
        return step / 2 + self.rng.uniform(0, step / 2)

    @classmethod
    def for_provider(
        cls,
        session: aiohttp.ClientSession,
        source: str,
        settings: Settings,
        headers: Mapping[str, str],
        sleep: Sleep = asyncio.sleep,
    ) -> JsonClient:
        """The client every provider uses: the settings' timeout and retries."""
        return cls(
            session,
            source,
            timeout_s=settings.http_timeout_s,
            retries=settings.http_retries,
            headers=headers,
            sleep=sleep,
        )

    async def get(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """GET `url` and return its decoded JSON; raise SourceError when it cannot."""
        failure = ""
        asked: float | None = None
        for attempt in range(self.attempts):
            delay = self._backoff(attempt)
            try:
                async with self.session.get(
                    url, params=params, headers=self.headers, timeout=self.timeout
                ) as resp:
                    if resp.status in RETRYABLE_STATUS:
                        failure = f"HTTP {resp.status}"
                        asked = retry_after_s(resp.headers.get("Retry-After"))
                        if asked is not None:
                            delay = min(asked, RETRY_AFTER_CAP_S)
                    elif not 200 <= resp.status < 300:
                        raise SourceError(self.source, f"HTTP {resp.status}")
                    else:
                        body = await self._read(resp)
                        return decode_json(self.source, body, resp.content_type)
            except TimeoutError:
                asked = None
                failure = f"timed out ({self.timeout_s:g}s)"
            except aiohttp.ClientError as exc:
                # The class name only: aiohttp's messages carry the host and sometimes the URL.
                failure = f"network error ({type(exc).__name__})"
                asked = None
            if attempt + 1 < self.attempts:
                await self.sleep(delay)
        # The provider's last Retry-After goes with the error: the quote feed rests the
        # source that long (bot.market.pacing) instead of asking again next cycle.
        raise SourceError(self.source, f"{failure} after {_tries(self.attempts)}", asked)

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        too_big = f"body over {self.max_bytes:,} bytes"
        if resp.content_length is not None and resp.content_length > self.max_bytes:
            raise SourceError(self.source, too_big)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise SourceError(self.source, too_big)
            chunks.append(chunk)
        return b"".join(chunks)


def join(base: object, path: str) -> str:
    """`base` (a settings URL, which pydantic ends with "/") joined to an absolute path."""
    return str(base).rstrip("/") + path
