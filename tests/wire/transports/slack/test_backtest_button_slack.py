"""The *Backtest* button under /alerts on Slack: the listing carries one per rule, and
pressing it runs /backtest for that rule through the command core, posted in the channel."""

from __future__ import annotations

from bot.state import keys
from tests.support.backtest_data import moves_series
from tests.wire.transports.slack.test_slack import (  # noqa: F401 - fixtures, found by name
    Harness,
    fake_slack,
    harness,
    header,
)


async def test_alerts_buttons_run_the_rules_backtest(harness: Harness) -> None:  # noqa: F811
    h = harness
    series = moves_series()  # SYNTHETIC closes (tests/support/backtest_data.py)
    mapping = {d.isoformat(): repr(c) for d, c in zip(series.dates, series.closes, strict=True)}
    await h.core.redis.hset(keys.daily("STAR50"), mapping=mapping)
    await h.command("alert add STAR50 1d up 2 hyst=1 cooldown=7d")
    listing = await h.command("alerts")
    values = [
        e["value"] for b in listing["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert values == ["bt:r1"]
    answer = await h.button("bt:r1")
    assert header(answer).startswith("Backtest: STAR 50 1d up 2%")
    assert answer["response_type"] == "in_channel"
    text = " ".join(str(b) for b in answer["blocks"])
    assert "2025-09-24 +2.50%, 2025-10-09 +2.00%, 2025-10-16 +2.00%" in text
