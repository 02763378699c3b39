"""Slack command replies take the token's shared slots (issue 17 item 2): a channel whose
slot another replica holds (an alert in flight) gets its answer only once that send was
answered and its window passed, while another channel's command is answered meanwhile;
each channel's commands are answered in the order they came."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlparse

from bot.delivery.shared_limits import SharedLimiter
from bot.transports.slack import limit_scope
from tests.wire.transports.slack.test_slack import (  # noqa: F401 - fixtures, found by name
    CHAT,
    Harness,
    fake_slack,
    harness,
)

OTHER = "C222"


def replica_limiter(h: Harness) -> SharedLimiter:
    """The token's windows as another replica sees them (its own limiter, same Redis)."""
    return SharedLimiter(h.core.redis, limit_scope(h.settings), h.bot.limiter.limits)


async def test_a_reply_waits_for_its_channels_slot_and_no_other_channel_waits(
    harness: Harness,  # noqa: F811 - the fixture
) -> None:
    other_replica = replica_limiter(harness)
    alert_slot = await other_replica.acquire(CHAT, False)  # an alert to C111 in flight
    assert alert_slot is not None
    body = harness.command_body("help")
    url = urlparse(parse_qs(body.decode())["response_url"][0]).path
    assert (await harness.post(body)).status == 200
    await harness.command("help", channel=OTHER)  # answered while C111 is held
    await asyncio.sleep(0.2)
    assert not [c for c in harness.fake.of("respond") if c.path == url]  # C111 waits
    await other_replica.finish(alert_slot, CHAT, False)
    # Once the alert was answered (and its window passed), the answer goes, once.
    await harness.fake.wait_until(
        lambda: any(c.path == url for c in harness.fake.of("respond")), 5.0, "C111's answer"
    )
    assert len([c for c in harness.fake.of("respond") if c.path == url]) == 1


async def test_one_channels_commands_are_answered_in_order(
    harness: Harness,  # noqa: F811 - the fixture
) -> None:
    bodies = [harness.command_body("help"), harness.command_body("status")]
    urls = [urlparse(parse_qs(b.decode())["response_url"][0]).path for b in bodies]
    for body in bodies:
        assert (await harness.post(body)).status == 200
    await harness.fake.wait_for("respond", 2, within=10.0)
    assert [c.path for c in harness.fake.of("respond")] == urls  # answered as asked
