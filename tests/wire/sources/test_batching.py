"""Seconds, not a minute (issue 19 item 3): every watched instrument in one batched call
per provider per cycle, and a provider in trouble rested, not hammered every 10 s.

SYNTHETIC instruments (S0000 … on Shanghai, secids 1.9xxxxx) and prices."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from bot.market.quote_feed import QuoteFeed
from bot.market.validate import QuoteValidator
from bot.market.watchlist import Watchlist
from bot.models import Instrument
from bot.ops.health import HealthBoard
from bot.sources.eastmoney import BATCH, EastmoneySource
from bot.sources.yahoo import YahooSource
from tests.fakes.providers import CHART, ULIST, YQUOTE, FakeProviders, Reply
from tests.wire.sources.conftest import NOW, Sleeps, make_settings


def synthetic(n: int) -> list[Instrument]:
    return [
        Instrument(f"S{k:04d}", f"Synthetic {k}", "XSHG", "stock", f"1.9{k:05d}", f"9{k:05d}.SS")
        for k in range(n)
    ]


def serve(fake: FakeProviders, instruments: list[Instrument]) -> None:
    for k, inst in enumerate(instruments):
        assert inst.eastmoney is not None
        fake.row(inst.eastmoney, f2=10.0 + k / 100, f17=10.0, f18=10.0, f124=NOW.timestamp())


def feed_of(
    session: aiohttp.ClientSession,
    fake: FakeProviders,
    instruments: list[Instrument],
    validator: QuoteValidator,
    health: HealthBoard,
) -> QuoteFeed:
    settings = make_settings(fake.url, http_retries=0)
    sources = [
        EastmoneySource(session, settings, sleep=Sleeps()),
        YahooSource(session, settings, sleep=Sleeps()),
    ]
    return QuoteFeed(sources, validator, health, Watchlist(instruments))  # type: ignore[list-item]


async def test_a_thousand_instruments_in_two_calls_all_quoted(
    fake: FakeProviders,
    session: aiohttp.ClientSession,
    validator: QuoteValidator,
    health: HealthBoard,
) -> None:
    instruments = synthetic(1000)
    serve(fake, instruments)
    feed = feed_of(session, fake, instruments, validator, health)

    quotes = await feed.poll(instruments, NOW, {}, {})

    assert len(quotes) == 1000
    assert quotes[7].price == 10.07
    calls = fake.hits(ULIST)
    assert len(calls) == 1000 // BATCH == 2
    asked = [s for c in calls for s in c.query["secids"].split(",")]
    assert sorted(asked) == sorted(i.eastmoney for i in instruments if i.eastmoney)


async def test_the_seed_watchlist_is_one_call(
    fake: FakeProviders, feed: QuoteFeed, watchlist: Watchlist
) -> None:
    await feed.poll([i for i in watchlist if i.eastmoney], NOW, {}, {})

    assert len(fake.hits(ULIST)) == 1


async def test_yahoo_batch_quote_serves_many_symbols_in_one_call(
    fake: FakeProviders,
    session: aiohttp.ClientSession,
    validator: QuoteValidator,
    health: HealthBoard,
) -> None:
    instruments = synthetic(300)
    fake.always(ULIST, Reply(503, b""))
    for k, inst in enumerate(instruments[:-1]):  # Yahoo leaves the last one out
        fake.yahoo_quotes[str(inst.yahoo)] = {
            "symbol": inst.yahoo,
            "regularMarketPrice": 20.0 + k / 100,
            "regularMarketTime": int(NOW.timestamp()),
            "regularMarketOpen": 20.0,
            "regularMarketPreviousClose": 20.0,
        }
    feed = feed_of(session, fake, instruments, validator, health)

    quotes = await feed.poll(instruments, NOW, {}, {})

    assert {q.source for q in quotes} == {"yahoo"}
    assert {q.instrument: q.price for q in quotes}["S0005"] == 20.05
    assert len(fake.hits(YQUOTE)) == 2  # 200 + 100 symbols
    # The one symbol the batch left out is asked by its own chart call (404 here).
    assert [s.path for s in fake.log if s.path.startswith(CHART)] == [f"{CHART}900299.SS"]
    assert len(quotes) == 299


async def test_yahoo_batch_refused_charts_serve_and_the_batch_is_left_alone(
    fake: FakeProviders, feed: QuoteFeed
) -> None:
    fake.always(ULIST, Reply(503, b""))
    fake.always(YQUOTE, Reply(401, {"finance": {"error": {"code": "Unauthorized"}}}))

    first = await feed.poll(["NDX"], NOW, {}, {})
    second = await feed.poll(["NDX"], NOW + timedelta(seconds=20), {}, {})

    assert [q.source for q in first + second] == ["yahoo", "yahoo"]
    assert len(fake.hits(YQUOTE)) == 1
    assert len(fake.hits(f"{CHART}^NDX")) == 2


async def test_retry_after_rests_the_provider_and_the_next_one_serves(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard
) -> None:
    fake.queue(ULIST, *[Reply(429, b"", {"Retry-After": "120"})] * 3)

    await feed.poll(["STAR50"], NOW, {}, {})
    during = await feed.poll(["STAR50"], NOW + timedelta(seconds=110), {}, {})
    after = await feed.poll(["STAR50"], NOW + timedelta(seconds=121), {}, {})

    assert [q.source for q in during] == ["yahoo"]
    assert [q.source for q in after] == ["eastmoney"]
    assert len(fake.hits(ULIST)) == 3 + 1  # three tries, nothing while resting, then one
    eastmoney = health.get("eastmoney")
    assert eastmoney is not None
    assert eastmoney.ok


async def test_failing_provider_backs_off(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard
) -> None:
    fake.always(ULIST, Reply(503, b""))
    for step in range(6):  # a poll every 10 s for a minute
        await feed.poll(["STAR50"], NOW + timedelta(seconds=10 * step), {}, {})

    # Asked at 0 and 10 s (a first failure is forgiven), rested 10 s (asked again at
    # 20 s), then 20 s (asked at 40 s), then 40 s: 4 polls of 6 reached Eastmoney.
    assert len(fake.hits(ULIST)) == 4 * 3
    eastmoney = health.get("eastmoney")
    assert eastmoney is not None
    assert eastmoney.reason == "HTTP 503 after 3 tries; resting 40s"
