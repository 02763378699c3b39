"""Properties: whatever a provider sends, parsers raise SourceError or nothing at all."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.market.sessions import market
from bot.market.validate import BadQuote, QuoteValidator
from bot.models import Instrument
from bot.sources.base import RawQuote, SourceError
from bot.sources.eastmoney import parse_klines, parse_ulist
from bot.sources.http import decode_json
from bot.sources.yahoo import parse_chart_daily, parse_chart_quote
from tests.wire.sources.conftest import NOW, make_settings

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["-", "", "1535.39", "nan", "2026-01-19,1,2,3,4,5,6"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)
# Bodies close to the real shapes, so the fuzzing reaches past the first lookup.
ulist_rows = st.dictionaries(
    st.sampled_from(["f2", "f12", "f13", "f17", "f18", "f124"]), scalars | json_values
)
eastmoney_bodies = st.fixed_dictionaries(
    {
        "rc": st.just(0) | json_values,
        "data": json_values
        | st.fixed_dictionaries(
            {
                "diff": st.lists(ulist_rows | json_values, max_size=4)
                | st.dictionaries(st.text(max_size=2), ulist_rows),
                "klines": st.lists(
                    st.text(alphabet="0123456789-,.", max_size=40) | json_values, max_size=4
                ),
            }
        ),
    }
)
meta = st.dictionaries(
    st.sampled_from(
        [
            "regularMarketPrice",
            "regularMarketTime",
            "chartPreviousClose",
            "previousClose",
            "gmtoffset",
        ]
    ),
    scalars,
) | st.fixed_dictionaries(
    {"exchangeTimezoneName": st.sampled_from(["Asia/Shanghai", "Nowhere/Else", "../etc", ""])}
)
series = st.lists(scalars, max_size=5)
yahoo_bodies = st.fixed_dictionaries(
    {
        "chart": st.fixed_dictionaries(
            {
                "result": json_values
                | st.lists(
                    st.fixed_dictionaries(
                        {
                            "meta": meta | json_values,
                            "timestamp": series | json_values,
                            "indicators": st.fixed_dictionaries(
                                {
                                    "quote": st.lists(
                                        st.fixed_dictionaries({"open": series, "close": series})
                                        | json_values,
                                        max_size=2,
                                    )
                                }
                            )
                            | json_values,
                        }
                    ),
                    max_size=2,
                ),
                "error": st.none() | json_values,
            }
        )
    }
)
KEYS = {"1.000688": "STAR50", "124.HSTECH": "HSTECH"}


@given(eastmoney_bodies | json_values)
def test_eastmoney_parsers_only_raise_source_error(payload: Any) -> None:
    for parse in (lambda p: parse_ulist(p, KEYS), parse_klines):
        with contextlib.suppress(SourceError):
            parse(payload)


@given(yahoo_bodies | json_values)
def test_yahoo_parsers_only_raise_source_error(payload: Any) -> None:
    for parse in (lambda p: parse_chart_quote(p, "NDX"), parse_chart_daily):
        with contextlib.suppress(SourceError):
            parse(payload)


@given(st.binary(max_size=64) | st.sampled_from([b"[" * 100_000, b"\xff\xfe{", b" <html>"]))
def test_decode_only_raises_source_error(body: bytes) -> None:
    with contextlib.suppress(SourceError):
        decode_json("x", body)


STAR50 = Instrument("STAR50", "STAR 50", "XSHG", "tech", band=(500.0, 5000.0))


@pytest.mark.usefixtures("markets")
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    price=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    at=st.none()
    | st.integers(946_684_800, 1_893_456_000).map(lambda s: datetime.fromtimestamp(s, UTC))
    | st.just(NOW - timedelta(seconds=30)),
    prev_close=st.none() | st.floats(allow_nan=True, allow_infinity=True),
)
def test_validator_accepts_only_sane_quotes(
    price: float | None, at: datetime | None, prev_close: float | None
) -> None:
    validator = QuoteValidator(market, make_settings("http://127.0.0.1:9"))
    raw = RawQuote("STAR50", price, at, "eastmoney", prev_close=prev_close)
    try:
        quote = validator.check(raw, STAR50, NOW, None, 1521.4)
    except BadQuote:
        return
    assert math.isfinite(quote.price)
    assert 500.0 <= quote.price <= 5000.0
    assert quote.at == at
