"""Quote validation through the feed: each bad observation gives no Quote and a reason."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.market.quote_feed import QuoteFeed
from bot.market.watchlist import Watchlist
from bot.models import Quote
from bot.ops.health import HealthBoard
from tests.fakes.providers import ULIST, FakeProviders, Reply, fixture
from tests.wire.sources.conftest import NOW

STAR = "1.000688"


def _reason(health: HealthBoard, name: str) -> str:
    h = health.get(name)
    assert h is not None, f"no health entry for {name}"
    assert not h.ok
    return h.reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        pytest.param({"f2": 0}, "price 0.0 is not a positive number", id="zero"),
        pytest.param({"f2": -12.5}, "price -12.5 is not a positive number", id="negative"),
        pytest.param({"f2": "-"}, "no price", id="dash"),
        pytest.param({"f2": None}, "no price", id="missing-f2"),
        pytest.param({"f124": None}, "no timestamp", id="missing-f124"),
        pytest.param(
            {"f124": int((NOW - timedelta(minutes=20)).timestamp())},
            "stale: 20 min old while XSHG is trading",
            id="stale",
        ),
        pytest.param(
            {"f124": int((NOW + timedelta(minutes=10)).timestamp())},
            "timestamped 10 min in the future",
            id="future",
        ),
        pytest.param(
            {"f2": 153539},
            "price 153,539.00 outside band 500\u20135,000: x100 price or wrong id?",
            id="band-x100",
        ),
    ],
)
async def test_bad_observation(
    fake: FakeProviders,
    eastmoney_feed: QuoteFeed,
    health: HealthBoard,
    changes: dict[str, object],
    reason: str,
) -> None:
    fake.row(STAR, **changes)

    quotes = await eastmoney_feed.poll(["STAR50", "HSTECH"], NOW, {}, {})

    assert [q.instrument for q in quotes] == ["HSTECH"]  # the rest of the answer still serves
    assert _reason(health, "eastmoney:STAR50") == reason
    assert health.is_ok("eastmoney")  # the source answered; one observation was bad


async def test_nan_price(
    fake: FakeProviders, eastmoney_feed: QuoteFeed, health: HealthBoard
) -> None:
    body = fixture("eastmoney/ulist.json")
    body["data"]["diff"][0]["f2"] = "__NAN__"
    # Python's json accepts a bare NaN; a lax upstream could send one.
    raw = Reply(200, body=json.dumps(body).replace('"__NAN__"', "NaN"))
    fake.always(ULIST, raw)

    assert await eastmoney_feed.poll(["STAR50"], NOW, {}, {}) == []
    assert _reason(health, "eastmoney:STAR50") == "price nan is not a positive number"


async def test_wrong_index_prev_close_trap(
    fake: FakeProviders, eastmoney_feed: QuoteFeed, health: HealthBoard, watchlist: Watchlist
) -> None:
    # A watchlist that (wrongly) uses 100.NDX, which serves the Composite: inside NDX's
    # generous band, so only the previous-close cross-check can catch it.
    wrong = dataclasses.replace(watchlist["NDX"], eastmoney="100.NDX")

    quotes = await eastmoney_feed.poll([wrong], NOW, {}, {"NDX": 25250.0})

    assert quotes == []
    assert (
        _reason(health, "eastmoney:NDX")
        == "prev close 23,241.0 vs cached 25,250.0 (\u22128.0%): wrong instrument id?"
    )


async def test_right_index_passes_the_cross_check(
    eastmoney_feed: QuoteFeed, health: HealthBoard
) -> None:
    [ndx] = await eastmoney_feed.poll(["NDX"], NOW, {}, {"NDX": 25720.55})

    assert ndx.price == 25175.3
    # New York closed at 21:00 UTC on 20 Jan; at 02:00 UTC on the 21st that is still the
    # 20 Jan session, and the quote is its closing snapshot.
    assert ndx.session == date(2026, 1, 20)
    assert ndx.closing
    assert health.is_ok("eastmoney:NDX")


async def test_jump_needs_a_confirming_second_quote(
    fake: FakeProviders, eastmoney_feed: QuoteFeed, health: HealthBoard
) -> None:
    last = {"STAR50": Quote("STAR50", 1500.0, NOW, date(2026, 1, 21), "eastmoney")}

    fake.row(STAR, f2=1700.0)
    assert await eastmoney_feed.poll(["STAR50"], NOW, last, {}) == []
    assert _reason(health, "eastmoney:STAR50") == (
        "jump +13.3% vs last 1,500.00: waiting for a second quote to confirm"
    )

    fake.row(STAR, f2=1705.0)  # within 1% of the jumped price: the move is real
    [quote] = await eastmoney_feed.poll(["STAR50"], NOW, last, {})
    assert quote.price == 1705.0
    assert health.is_ok("eastmoney:STAR50")


async def test_unconfirmed_jump_stays_rejected(
    fake: FakeProviders, eastmoney_feed: QuoteFeed, health: HealthBoard
) -> None:
    last = {"STAR50": Quote("STAR50", 1500.0, NOW, date(2026, 1, 21), "eastmoney")}

    fake.row(STAR, f2=1700.0)
    assert await eastmoney_feed.poll(["STAR50"], NOW, last, {}) == []
    fake.row(STAR, f2=1300.0)  # jumps again, the other way: confirms nothing
    assert await eastmoney_feed.poll(["STAR50"], NOW, last, {}) == []
    assert _reason(health, "eastmoney:STAR50").startswith("jump \u221213.3% vs last 1,500.00")


async def test_jump_across_sessions_is_not_checked(
    fake: FakeProviders, eastmoney_feed: QuoteFeed
) -> None:
    yesterday = datetime(2026, 1, 20, 7, 0, tzinfo=UTC)
    last = {"STAR50": Quote("STAR50", 1300.0, yesterday, date(2026, 1, 20), "eastmoney")}

    [quote] = await eastmoney_feed.poll(["STAR50"], NOW, last, {})

    assert quote.session == date(2026, 1, 21)
    assert not quote.closing
