"""A basket's level, chained from its members' returns (bot.market.baskets), computed by
hand across a member's suspension and a holiday. SYNTHETIC closes."""

from __future__ import annotations

from datetime import date

import pytest

from bot.market.baskets import Basket, chain, live_level

D1, D2, HOLIDAY, D4, D5 = (date(2026, 1, d) for d in (12, 13, 14, 15, 16))


def test_chained_level_across_a_suspension_and_a_holiday() -> None:
    closes = {
        "A": {D1: 10.0, D2: 11.0, D5: 12.1},  # suspended on D4 (and HOLIDAY: no one trades)
        "B": {D1: 20.0, D2: 19.0, D4: 19.95, D5: 19.95},
    }
    levels = chain(closes, {"A": 0.5, "B": 0.5})
    # By hand, equal weights:
    #   D1 start 1000
    #   D2 A +10%, B -5%            -> 1000 x (1 + 0.05 - 0.025)      = 1025
    #   HOLIDAY: no member traded   -> no day of the basket
    #   D4 A suspended (nothing), B +5% (19 -> 19.95) -> 1025 x 1.025 = 1050.625
    #   D5 A +10% from its last close (11 -> 12.1), B 0% -> x 1.05   = 1103.15625
    assert [d for d, _ in levels] == [D1, D2, D4, D5]
    assert [round(v, 6) for _, v in levels] == [1000.0, 1025.0, 1050.625, 1103.15625]


def test_the_level_starts_when_every_member_has_a_close() -> None:
    closes = {"A": {D1: 10.0, D2: 10.5, D4: 10.5}, "B": {D2: 50.0, D4: 55.0}}
    # Start on D2 (B's first close) at 1000; D4: A 0%, B +10%, weights 0.8/0.2 -> 1020.
    assert chain(closes, {"A": 0.8, "B": 0.2}) == [(D2, 1000.0), (D4, pytest.approx(1020.0))]
    assert chain({"A": {D1: 10.0}}, {"A": 0.5, "B": 0.5}) == []


def test_live_level_counts_only_members_quoted_today() -> None:
    assert live_level(1000.0, {"A": 0.02}, {"A": 0.25, "B": 0.75}) == pytest.approx(1005.0)


def test_stored_basket_is_validated() -> None:
    good = Basket("AI3", ("CAMBRICON", "688981"), (0.5, 0.5), "equal", "telegram:1", "XSHG")
    assert Basket.from_json(good.to_json()) == good
    bad = good.to_json().replace("0.5, 0.5", "0.5, 0.6")
    with pytest.raises(ValueError, match="sum to 1"):
        Basket.from_json(bad)
