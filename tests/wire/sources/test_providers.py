"""Eastmoney and Yahoo parsing over real HTTP: happy paths and the wire-format traps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.market.watchlist import Watchlist
from bot.sources.base import SourceError
from bot.sources.eastmoney import EastmoneySource, parse_klines
from bot.sources.yahoo import YahooSource, parse_chart_daily, parse_chart_quote
from tests.fakes.providers import CHART, KLINE, ULIST, YQUOTE, FakeProviders, Reply, fixture


async def test_eastmoney_quotes_in_one_call(
    fake: FakeProviders, eastmoney: EastmoneySource, watchlist: Watchlist
) -> None:
    wanted = [watchlist["STAR50"], watchlist["HSTECH"], watchlist["NDX"]]

    quotes = await eastmoney.fetch_quotes(wanted)

    [seen] = fake.log
    assert seen.path == ULIST
    assert seen.query["fltt"] == "2"
    assert seen.query["invt"] == "2"
    assert seen.query["fields"] == "f2,f3,f4,f12,f13,f14,f15,f16,f17,f18,f124"
    assert seen.query["secids"] == "1.000688,124.HSTECH,100.NDX100"
    assert set(quotes) == {"STAR50", "HSTECH", "NDX"}
    star = quotes["STAR50"]
    assert star.price == 1535.39
    assert star.open == 1523.0
    assert star.prev_close == 1521.4
    assert star.at == datetime(2026, 1, 21, 1, 59, 30, tzinfo=UTC)
    assert star.source == "eastmoney"
    assert quotes["NDX"].price == 25175.3  # from 100.NDX100, not the Composite's 100.NDX


async def test_eastmoney_dash_means_missing(
    fake: FakeProviders, eastmoney: EastmoneySource, watchlist: Watchlist
) -> None:
    fake.row("1.000688", f17="-", f18="-", f124="-")

    [quote] = (await eastmoney.fetch_quotes([watchlist["STAR50"]])).values()

    assert quote.price == 1535.39
    assert (quote.open, quote.prev_close, quote.at) == (None, None, None)


async def test_eastmoney_kline_close_comes_before_high(
    fake: FakeProviders, eastmoney: EastmoneySource, watchlist: Watchlist
) -> None:
    rows = await eastmoney.fetch_daily(watchlist["STAR50"], date(2026, 1, 19), date(2026, 1, 20))

    # "2026-01-19,1495.20,1506.86,1512.40,...": the 3rd field, not the 4th (high).
    assert rows == [(date(2026, 1, 19), 1506.86), (date(2026, 1, 20), 1521.40)]
    [seen] = fake.hits(KLINE)
    assert seen.query["secid"] == "1.000688"
    assert (seen.query["beg"], seen.query["end"]) == ("20260119", "20260120")
    assert seen.query["klt"] == "101"
    assert seen.query["fqt"] == "0"
    assert seen.query["fields2"] == "f51,f52,f53,f54,f55,f56,f57"


async def test_eastmoney_kline_data_null(
    fake: FakeProviders, eastmoney: EastmoneySource, watchlist: Watchlist
) -> None:
    with pytest.raises(SourceError, match=r"data: null"):
        await eastmoney.fetch_daily(watchlist["HSTECH"], date(2026, 1, 1), date(2026, 1, 20))


@pytest.mark.parametrize(
    "row", ["2026-01-19,1495.20", "19/01/2026,1,2,3,4,5,6", "2026-01-19,1,-,3,4,5,6", 42]
)
def test_eastmoney_malformed_kline_row(row: object) -> None:
    payload = {"rc": 0, "data": {"klines": [row]}}
    with pytest.raises(SourceError, match=r"kline row 0 malformed"):
        parse_klines(payload)


async def test_yahoo_quote_from_5d_chart(
    fake: FakeProviders, yahoo: YahooSource, watchlist: Watchlist
) -> None:
    quotes = await yahoo.fetch_quotes([watchlist["NDX"]])

    # The batch quote endpoint is not offered by this fake (as when Yahoo wants a cookie):
    # the chart answers.
    assert [s.path for s in fake.log] == [YQUOTE, f"{CHART}^NDX"]
    seen = fake.log[-1]
    assert seen.raw_path == "/v8/finance/chart/%5ENDX"  # ^ is URL-encoded
    assert seen.query == {"range": "5d", "interval": "1d"}
    ndx = quotes["NDX"]
    assert ndx.price == 25175.3
    assert ndx.at == datetime(2026, 1, 20, 21, 0, tzinfo=UTC)
    assert ndx.open == 25480.0  # the 20 Jan bar (New York date), not the 21st in UTC+8
    # Yesterday's close (16 Jan; 19 Jan was MLK day), not chartPreviousClose (25,380),
    # which is the close before the 5-day range.
    assert ndx.prev_close == 25720.55


async def test_yahoo_daily_uses_exchange_dates_and_skips_gaps(
    fake: FakeProviders, yahoo: YahooSource, watchlist: Watchlist
) -> None:
    fake.charts["^NDX"] = fixture("yahoo/synthetic-NDX-history-gaps.json")

    rows = await yahoo.fetch_daily(watchlist["NDX"], date(2026, 1, 14), date(2026, 1, 20))

    # 15 Jan's close is null; the close array stops before the 20 Jan timestamp.
    assert rows == [(date(2026, 1, 14), 25500.1), (date(2026, 1, 16), 25720.55)]
    [seen] = fake.hits(f"{CHART}^NDX")
    assert seen.query["interval"] == "1d"
    assert int(seen.query["period1"]) <= datetime(2026, 1, 14, tzinfo=UTC).timestamp()
    assert int(seen.query["period2"]) >= datetime(2026, 1, 21, tzinfo=UTC).timestamp()


def test_yahoo_recorded_daily_bar_has_new_york_date() -> None:
    rows = parse_chart_daily(fixture("yahoo/recorded-BABA-daily.json"))
    assert rows == [(date(2020, 1, 2), 219.77000427246094)]


@pytest.mark.parametrize(
    "name", ["yahoo/recorded-AAPL-weekend-1m.json", "yahoo/recorded-notimestamp.fake.json"]
)
def test_yahoo_chart_without_timestamps(name: str) -> None:
    payload = fixture(name)

    assert parse_chart_daily(payload) == []
    quote = parse_chart_quote(payload, "AAPL")
    assert quote.price == 244.87  # meta still carries the latest price
    assert quote.open is None


def test_yahoo_weekend_quote_prefers_previous_close() -> None:
    quote = parse_chart_quote(fixture("yahoo/recorded-AAPL-weekend-1m.json"), "AAPL")
    assert quote.prev_close == 244.47  # meta.previousClose, not chartPreviousClose (236)


async def test_yahoo_error_body(
    fake: FakeProviders, yahoo: YahooSource, watchlist: Watchlist
) -> None:
    fake.always(f"{CHART}^NDX", Reply(200, fixture("yahoo/error-not-found.json")))

    with pytest.raises(SourceError) as caught:
        await yahoo.fetch_quotes([watchlist["NDX"]])

    assert caught.value.reason == "Not Found: No data found, symbol may be delisted"
