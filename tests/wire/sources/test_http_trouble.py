"""Provider HTTP trouble: each case yields no Quote and a health reason saying why."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.market.quote_feed import QuoteFeed
from bot.market.validate import QuoteValidator
from bot.market.watchlist import Watchlist
from bot.ops.health import HealthBoard
from bot.sources.base import SourceError
from bot.sources.eastmoney import EastmoneySource
from bot.sources.http import JsonClient, decode_json, retry_after_s
from bot.sources.yahoo import YahooSource
from tests.fakes.providers import CHART, ULIST, FakeProviders, Reply
from tests.wire.sources.conftest import NOW, Sleeps, make_settings

HTML = Reply(
    200, "<!DOCTYPE html><html><body>Access denied</body></html>", {"Content-Type": "text/html"}
)


@pytest.mark.parametrize(
    ("reply", "reason", "requests"),
    [
        pytest.param(HTML, "answered HTML, not JSON", 1, id="html"),
        pytest.param(Reply(200, b""), "empty body", 1, id="empty"),
        pytest.param(
            Reply(200, '{"rc":0,"data":{"diff":[{"f2":1535.3'),
            "answered malformed or truncated JSON",
            1,
            id="truncated",
        ),
        pytest.param(
            Reply(200, {"rc": 0, "rt": 4, "data": None}),
            "data: null (unknown id or no data)",
            1,
            id="data-null",
        ),
        pytest.param(Reply(404, "<html>not found</html>"), "HTTP 404", 1, id="404-not-retried"),
        pytest.param(Reply(403, b""), "HTTP 403", 1, id="403-not-retried"),
        pytest.param(Reply(503, b"busy"), "HTTP 503 after 3 tries", 3, id="503-retried"),
        pytest.param(Reply(200, {"rc": 102, "data": None}), "rc 102", 1, id="rc-nonzero"),
    ],
)
async def test_bad_answer_gives_no_quote_and_a_reason(
    fake: FakeProviders,
    eastmoney_feed: QuoteFeed,
    health: HealthBoard,
    sleeps: Sleeps,
    reply: Reply,
    reason: str,
    requests: int,
) -> None:
    fake.always(ULIST, reply)

    quotes = await eastmoney_feed.poll(["STAR50", "HSTECH"], NOW, {}, {})

    assert quotes == []
    h = health.get("eastmoney")
    assert h is not None
    assert (h.ok, h.reason) == (False, reason)
    assert len(fake.hits(ULIST)) == requests
    assert len(sleeps) == requests - 1


async def test_500_then_success_is_retried(
    fake: FakeProviders, eastmoney_feed: QuoteFeed, health: HealthBoard, sleeps: Sleeps
) -> None:
    fake.queue(ULIST, Reply(500, "<html>oops</html>"))

    quotes = await eastmoney_feed.poll(["STAR50"], NOW, {}, {})

    assert [q.price for q in quotes] == [1535.39]
    assert len(fake.hits(ULIST)) == 2
    [delay] = sleeps
    assert 0.25 <= delay <= 0.5  # first backoff step with jitter
    assert health.is_ok("eastmoney")


@pytest.mark.parametrize(("header", "slept"), [("7", 7.0), ("3600", 30.0)])
async def test_429_honours_retry_after_capped(
    fake: FakeProviders,
    session: aiohttp.ClientSession,
    validator: QuoteValidator,
    health: HealthBoard,
    watchlist: Watchlist,
    sleeps: Sleeps,
    header: str,
    slept: float,
) -> None:
    yahoo = YahooSource(session, make_settings(fake.url), sleep=sleeps)
    fake.queue(f"{CHART}^NDX", Reply(429, b"Too Many Requests", {"Retry-After": header}))

    quotes = await QuoteFeed([yahoo], validator, health, watchlist).poll(["NDX"], NOW, {}, {})

    assert [q.source for q in quotes] == ["yahoo"]
    assert sleeps == [slept]
    assert len(fake.hits(f"{CHART}^NDX")) == 2


async def test_429_every_time_gives_up(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard, sleeps: Sleeps
) -> None:
    fake.always(f"{CHART}^NDX", Reply(429, b"", {"Retry-After": "1"}))
    fake.always(ULIST, Reply(503, b""))

    assert await feed.poll(["NDX"], NOW, {}, {}) == []

    yahoo = health.get("yahoo")
    assert yahoo is not None
    assert yahoo.reason == "HTTP 429 after 3 tries"


async def test_timeout(
    fake: FakeProviders,
    session: aiohttp.ClientSession,
    validator: QuoteValidator,
    health: HealthBoard,
    watchlist: Watchlist,
    sleeps: Sleeps,
) -> None:
    # The fake never answers, so the result does not depend on how fast this machine is.
    fake.always(ULIST, Reply(hang=True))
    settings = make_settings(fake.url, http_timeout_s=0.1, http_retries=1)
    feed = QuoteFeed(
        [EastmoneySource(session, settings, sleep=sleeps)], validator, health, watchlist
    )

    assert await feed.poll(["STAR50"], NOW, {}, {}) == []

    h = health.get("eastmoney")
    assert h is not None
    assert h.reason == "timed out (0.1s) after 2 tries"
    assert len(sleeps) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_network_error_reason_carries_no_url_or_secret(
    session: aiohttp.ClientSession, sleeps: Sleeps
) -> None:
    client = JsonClient(session, "eastmoney", timeout_s=1.0, retries=1, sleep=sleeps)
    url = f"http://127.0.0.1:{_closed_port()}/api?token=s3cr3t"

    with pytest.raises(SourceError) as caught:
        await client.get(url, {"ut": "s3cr3t"})

    assert caught.value.reason == "network error (ClientConnectorError) after 2 tries"
    assert "s3cr3t" not in str(caught.value)
    assert "127.0.0.1" not in str(caught.value)


async def test_body_over_the_cap(
    fake: FakeProviders, session: aiohttp.ClientSession, sleeps: Sleeps
) -> None:
    fake.always("/big", Reply(200, b"[" + b"1," * 5000 + b"1]"))
    client = JsonClient(session, "x", timeout_s=5.0, retries=0, max_bytes=1024, sleep=sleeps)

    with pytest.raises(SourceError, match=r"body over 1,024 bytes"):
        await client.get(f"{fake.url}/big")


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 21, 2, 0, tzinfo=UTC)
    assert retry_after_s("Wed, 21 Jan 2026 02:00:12 GMT", now) == 12.0
    assert retry_after_s("soon", now) is None
    assert retry_after_s(None, now) is None


def test_json_labelled_html_is_still_json() -> None:
    assert decode_json("x", b' {"rc": 0}', "text/html") == {"rc": 0}
    with pytest.raises(SourceError, match=r"^x: answered HTML, not JSON$"):
        decode_json("x", b"Access denied", "text/html")
