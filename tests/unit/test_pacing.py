"""A failing quote source's rest: forgiven once, then 10 s doubling to 160 s; Retry-After
honoured up to 10 minutes (bot.market.pacing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.market.pacing import Pacing, rest_s


def test_rest_grows_then_caps() -> None:
    assert [rest_s(n, None) for n in range(1, 8)] == [0, 10, 20, 40, 80, 160, 160]


def test_retry_after_wins_when_longer_and_is_capped() -> None:
    assert rest_s(1, 30) == 30
    assert rest_s(5, 30) == 80
    assert rest_s(1, 86_400) == 600


def test_success_ends_the_rest() -> None:
    now = datetime(2026, 1, 21, 2, 0, tzinfo=UTC)
    pacing = Pacing()
    pacing.failed("eastmoney", now, 60)
    assert pacing.resting("eastmoney", now + timedelta(seconds=59)) is not None
    assert pacing.resting("eastmoney", now + timedelta(seconds=60)) is None
    pacing.failed("eastmoney", now)
    pacing.succeeded("eastmoney")
    assert pacing.resting("eastmoney", now) is None
    assert pacing.failures == {}
