"""Delivery guarantees on Slack end to end: the real outbox and Deliverer on a real
redis-server, the production SlackSender (slack-sdk's AsyncWebClient, built by SlackBot
exactly as the live bot builds it) posting to the fake Slack Web API, which polices
chat.postMessage at one message per channel per window (windows 10x shorter than Slack's
second so the tests stay short) and records when each request arrived.

What slack-sdk does here (checked in slack_sdk 3.x): AsyncWebClient's default retry
handlers retry connection errors only; a 429 or a 5xx raises SlackApiError at once, with
the response's status and headers, and bot.transports.slack turns a 429 into RETRY with
the `Retry-After` seconds and a 5xx into RETRY with the outbox's backoff (2, 4, 8 … s).

- a 429 for one channel only: the other channels keep flowing, the throttled one is not
  asked again inside its Retry-After window and gets its messages after it, in order;
- a 5xx window: every delivery arrives once after it, none lost, and the recovery makes
  no burst above the per-channel limit.

The kill -9 test for Slack is tests/test_crash.py, parametrised by platform.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.delivery import ratelimit
from bot.delivery.deliverer import Deliverer
from bot.models import Alert, Family, Message
from bot.transports.slack import SlackBot
from bot.wiring import Core, build_core
from tests.conftest import RedisServer
from tests.fakes.slack_api import BOT_TOKEN, SIGNING_SECRET, Failure, FakeSlack, PostLimits
from tests.support.delivering import deliver_until

AT = datetime(2026, 1, 13, 2, 45, tzinfo=UTC)
SCALE = (
    10  # every window 10x shorter than Slack's; the counts are ours (bot.delivery.ratelimit.SLACK)
)
LIMITS = ratelimit.Limits(
    overall=ratelimit.RateWindow(ratelimit.SLACK.overall.count, 1.0 / SCALE),
    per_chat=ratelimit.RateWindow(1, 1.0 / SCALE),
)
# The fake polices Slack's published limit, one post per channel per (scaled) second,
# forgiving 3 ms of loopback jitter. Slack publishes no number for its workspace-wide cap,
# so the fake polices none (an overall window of a few ms would also make the test hostage
# to stalls of this shared process's loop).
POLICED = PostLimits(per_channel=(1, 1.0)).scaled(SCALE, slack_s=0.003)
MAX_IN_FLIGHT = 16


def alert(n: int) -> Alert:
    return Alert(f"a{n}", Family.MOVES, Message(f"STAR 50 +3.{n}% on the day"), AT)


def channels(count: int) -> list[str]:
    return [f"C{i:05d}" for i in range(1, count + 1)]  # synthetic channel ids


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def core(redis_server: RedisServer, redis_client: Redis, fake_slack: FakeSlack) -> Core:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_base=fake_slack.api_base,
    )
    return await build_core(settings, redis_client, SimClock(AT))


def deliverer_for(core: Core) -> Deliverer:
    sender = SlackBot(core.settings, core).sender  # the production client and sender
    return Deliverer(
        core.outbox,
        {"slack": sender},
        {"slack": ratelimit.RateLimiter(LIMITS)},
        max_in_flight=MAX_IN_FLIGHT,
    )


async def fan_out(core: Core, targets: list[str], alerts: int) -> None:
    """Alert by alert, each to every channel, as AlertService.dispatch queues them."""
    for n in range(alerts):
        for channel in targets:
            assert await core.outbox.enqueue(alert(n), f"slack:{channel}")


def texts_by_channel(fake: FakeSlack) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for call in fake.accepted:
        out[str(call.channel)].append(str(call.args["text"]))
    return out


def titled(text: str, titles: list[str]) -> str:
    """Which alert a posted fallback text is (it starts with the alert's title)."""
    return next((t for t in titles if text.startswith(t)), text)


def assert_paced(fake: FakeSlack) -> None:
    """Every channel's requests (refused ones included) at least a window apart, bar the
    fake's jitter allowance: no burst above the per-channel limit."""
    window = POLICED.per_channel[1] - POLICED.slack_s
    times: dict[str, list[float]] = defaultdict(list)
    for call in fake.posts():
        times[str(call.channel)].append(call.at)
    for channel, seen in times.items():
        gaps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
        assert all(gap >= window for gap in gaps), f"{channel} asked twice inside a window"


async def test_a_429_for_one_channel_holds_only_that_channel(
    fake_slack: FakeSlack, core: Core
) -> None:
    fake_slack.enforce(POLICED)
    slow, others = "C00SLOW", channels(60)
    ratelimited = Failure(429, error="ratelimited", headers={"Retry-After": "1"})
    fake_slack.fail("chat.postMessage", ratelimited, ratelimited, channel=slow)
    deliverer = deliverer_for(core)
    await fan_out(core, [slow, *others], alerts=3)
    total = 3 * (1 + len(others))
    await deliver_until(deliverer, lambda: len(fake_slack.accepted) == total)

    asked = fake_slack.posts(slow)
    refusals = [(call, after) for call, status, after in fake_slack.refused if status == 429]
    assert [call.channel for call, _ in refusals] == [slow, slow]  # nobody else was refused
    assert len(asked) == 2 + 3  # two 429s, then its three alerts
    for call, after in refusals:
        assert after == "1"
        later = [c.at for c in asked if c.at > call.at]
        assert later, "the throttled channel was never asked again"
        # No request to it inside the Retry-After window (the fake's arrival times).
        assert min(later) - call.at >= 1.0, "asked again inside Retry-After"
    first_refusal = refusals[0][0].at
    others_sent = [c.at for c in fake_slack.accepted if c.channel != slow]
    assert len(others_sent) == 3 * len(others)
    # The others kept flowing while it was held, and were all done before its first retry.
    assert sum(at > first_refusal for at in others_sent) >= len(others_sent) - MAX_IN_FLIGHT
    assert max(others_sent) < refusals[1][0].at
    expected = [alert(n).message.title for n in range(3)]
    by_channel = texts_by_channel(fake_slack)
    assert set(by_channel) == {slow, *others}
    for channel, texts in by_channel.items():  # once each, in order, on every channel
        assert [titled(t, expected) for t in texts] == expected, channel
    assert fake_slack.limit_429s == 0  # and our own pacing provoked none
    assert_paced(fake_slack)
    assert await core.outbox.pending() == 0
    assert await core.outbox.dead() == 0


async def test_a_5xx_window_delivers_everything_after_without_a_burst(
    fake_slack: FakeSlack, core: Core
) -> None:
    fake_slack.enforce(POLICED)
    targets = channels(150)
    deliverer = deliverer_for(core)
    await fan_out(core, targets, alerts=2)
    total = 2 * len(targets)
    task = asyncio.create_task(deliverer.run(idle_block_ms=50))
    try:
        async with asyncio.timeout(20):
            while len(fake_slack.accepted) < 60:  # noqa: ASYNC110 - the fan-out is under way
                await asyncio.sleep(0.005)
            fake_slack.outage(0.5, status=503)  # Slack's edge answers 503 for a while
            while len(fake_slack.accepted) < total:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            while await core.outbox.pending():  # noqa: ASYNC110 - the last settle
                await asyncio.sleep(0.01)
    finally:
        deliverer.stop()
        async with asyncio.timeout(10):
            await task

    failed = [(call, status) for call, status, _ in fake_slack.refused]
    assert failed, "the outage refused nothing: the test proves nothing"
    assert {status for _, status in failed} == {503}
    # Every alert reached every channel exactly once, in order: none lost, none doubled.
    expected = [alert(n).message.title for n in range(2)]
    by_channel = texts_by_channel(fake_slack)
    assert set(by_channel) == set(targets)
    for channel, texts in by_channel.items():
        assert [titled(t, expected) for t in texts] == expected, channel
    # A refused channel waited out its backoff (2 s for a first failure): no hot retry.
    for call, _ in failed:
        later = [c.at for c in fake_slack.posts(call.channel) if c.at > call.at]
        assert later, f"{call.channel} was never retried"
        assert min(later) - call.at >= 2.0, f"{call.channel} retried too soon"
    # The recovery made no burst: the fake's per-channel windows refused none.
    assert fake_slack.limit_429s == 0
    assert_paced(fake_slack)
    assert await core.outbox.dead() == 0
    sample = core.metrics.render().decode()
    assert f'divbot_deliveries_total{{outcome="retry",platform="slack"}} {len(failed)}.0' in sample
