"""Failover: Eastmoney first, Yahoo only for what Eastmoney did not deliver validly."""

from __future__ import annotations

from bot.market.quote_feed import QuoteFeed
from bot.ops.health import HealthBoard
from tests.fakes.providers import CHART, ULIST, FakeProviders, Reply
from tests.wire.sources.conftest import NOW


async def test_eastmoney_serves_everything_yahoo_is_not_asked(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard
) -> None:
    quotes = await feed.poll(["STAR50", "HSTECH", "NDX"], NOW, {}, {})

    assert {q.instrument: q.source for q in quotes} == {
        "STAR50": "eastmoney",
        "HSTECH": "eastmoney",
        "NDX": "eastmoney",
    }
    assert [s.path for s in fake.log] == [ULIST]
    assert health.is_ok("eastmoney")
    assert health.get("yahoo") is None


async def test_eastmoney_down_yahoo_serves_what_it_covers(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard
) -> None:
    fake.always(ULIST, Reply(503, "<html>Service Unavailable</html>"))

    quotes = await feed.poll(["STAR50", "HSTECH", "NDX"], NOW, {}, {})

    assert {q.instrument: (q.source, q.price) for q in quotes} == {
        "STAR50": ("yahoo", 1535.39),
        "NDX": ("yahoo", 25175.3),
    }
    # HSTECH has no Yahoo symbol: no quote, and /status can say why.
    eastmoney = health.get("eastmoney")
    assert eastmoney is not None
    assert (eastmoney.ok, eastmoney.reason) == (False, "HTTP 503 after 3 tries")
    assert health.is_ok("yahoo")
    assert health.is_ok("yahoo:STAR50")
    assert health.is_ok("yahoo:NDX")
    assert sorted(s.path for s in fake.log if s.path.startswith(CHART)) == [
        f"{CHART}000688.SS",
        f"{CHART}^NDX",
    ]


async def test_only_the_bad_instrument_fails_over(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard
) -> None:
    fake.row("1.000688", f2=0)

    quotes = await feed.poll(["STAR50", "HSTECH", "NDX"], NOW, {}, {})

    assert {q.instrument: q.source for q in quotes} == {
        "STAR50": "yahoo",
        "HSTECH": "eastmoney",
        "NDX": "eastmoney",
    }
    assert [s.path for s in fake.log if s.path.startswith(CHART)] == [f"{CHART}000688.SS"]
    bad = health.get("eastmoney:STAR50")
    assert bad is not None
    assert bad.reason == "price 0.0 is not a positive number"


async def test_instrument_missing_from_the_answer_fails_over(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard
) -> None:
    del fake.ulist_rows["100.NDX100"]

    quotes = await feed.poll(["STAR50", "NDX"], NOW, {}, {})

    assert {q.instrument: q.source for q in quotes} == {"STAR50": "eastmoney", "NDX": "yahoo"}
    missing = health.get("eastmoney:NDX")
    assert missing is not None
    assert missing.reason == "not in the answer"


async def test_one_yahoo_symbol_failing_does_not_sink_the_others(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard
) -> None:
    fake.always(ULIST, Reply(200, {"rc": 0, "data": None}))
    fake.always(f"{CHART}^NDX", Reply(404, {"chart": {"result": None, "error": None}}))

    quotes = await feed.poll(["STAR50", "NDX", "HSTECH"], NOW, {}, {})

    assert [(q.instrument, q.source) for q in quotes] == [("STAR50", "yahoo")]
    ndx = health.get("yahoo:NDX")
    assert ndx is not None
    assert ndx.reason == "HTTP 404"
    assert health.is_ok("yahoo")


async def test_everything_down_never_raises(
    fake: FakeProviders, feed: QuoteFeed, health: HealthBoard
) -> None:
    fake.always(ULIST, Reply(200, "<html>captcha</html>"))
    fake.always(f"{CHART}^NDX", Reply(502, b""))
    fake.always(f"{CHART}000688.SS", Reply(502, b""))

    assert await feed.poll(["STAR50", "NDX", "HSTECH"], NOW, {}, {}) == []

    assert [(h.name, h.reason) for h in health.all()] == [
        ("eastmoney", "answered HTML, not JSON"),
        ("yahoo", "HTTP 502 after 3 tries"),
    ]
