"""/backtest against a real Redis (and the fake providers on loopback): a SYNTHETIC series
hand-computed and replayed live give the same fires; ten years fetched once; bad input one
line with nothing stored; rules with no daily meaning say so (divergence scores:
test_backtest_divergence.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.backtest.history import deep_start
from bot.clock import SimClock
from bot.config import Settings
from bot.divergence.chart import png_size
from bot.models import Quote
from bot.sources.eastmoney import EastmoneySource
from bot.state import keys
from bot.wiring import build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.fakes.providers import KLINE, FakeProviders
from tests.support.backtest_data import EXPECTED, MOVES, moves_series, random_walk
from tests.wire.handlers.test_commands import snapshot as redis_snapshot

CHAT = "telegram:-1001"
AFTER = datetime(2025, 10, 20, 2, 0, tzinfo=UTC)  # Mon 20 Oct 2025, before Shanghai opens
CLOSE = time(7, 0, tzinfo=UTC)  # Shanghai's 15:00 close
RULE = ("STAR50", "1d", "up", "2", "hyst=1", "cooldown=7d")


def cmd(name: str, *args: str) -> Command:
    return Command("telegram", CHAT, "u1", name, tuple(args), can_admin=True)


async def stored(redis: Redis, key: str, pairs: list[tuple[date, float]]) -> None:
    await redis.hset(keys.daily(key), mapping={d.isoformat(): repr(c) for d, c in pairs})


async def test_backtest_fires_are_the_hand_computed_ones_and_what_live_fires(
    redis_client: Redis, settings: Settings
) -> None:
    series = moves_series()
    await stored(redis_client, "STAR50", list(zip(series.dates, series.closes, strict=True)))
    core = await build_core(settings, redis_client, SimClock(AFTER))
    answer = await handle(core, cmd("backtest", *RULE, "1y"))
    assert answer.title == "Backtest: STAR 50 1d up 2% · 22 Sep 2025 to 17 Oct 2025"
    assert answer.lines[0].startswith("3 fires (1 more inside the 7d cooldown)")
    assert answer.lines[1] == "per year: 2025 3"
    assert answer.lines[-1] == "fires: 2025-09-24 +2.50%, 2025-10-09 +2.00%, 2025-10-16 +2.00%"
    hand = [f"{d:%Y-%m-%d} +{v:.2f}%" for d, v, suppressed in EXPECTED if not suppressed]
    assert answer.lines[-1] == "fires: " + ", ".join(hand)
    c = dict(zip(series.dates, series.closes, strict=True))
    one = sorted(
        (c[b] / c[a] - 1) * 100
        for a, b in [
            (date(2025, 9, 24), date(2025, 9, 25)),
            (date(2025, 10, 9), date(2025, 10, 10)),
            (date(2025, 10, 16), date(2025, 10, 17)),
        ]
    )
    assert answer.lines[2] == (
        f"STAR 50 after 1 session: median {one[1]:+.1f}%, worst {one[0]:+.1f}% (3 fires)"
    ).replace("-", "\u2212")
    assert answer.image is not None
    assert png_size(answer.image) == (800, 500)

    # The same rule, live: a fresh Redis with only the base close, the closes fed as the
    # closing quotes the quotes job would send, at Shanghai's close.
    await redis_client.flushall()
    await stored(redis_client, "STAR50", [(MOVES[0][0], series.closes[0])])
    start = datetime.combine(MOVES[1][0], time(1, 0, tzinfo=UTC))
    live = await build_core(settings, redis_client, SimClock(start))
    added = await handle(live, cmd("alert", "add", *RULE))
    assert added.title.startswith("Added rule")
    fired = []
    for day, close in zip(series.dates[1:], series.closes[1:], strict=True):
        at = datetime.combine(day, CLOSE)
        quote = Quote("STAR50", close, at, day, "history", closing=True)
        fired += [a.session for a in await live.service.on_quotes([quote], at)]
    assert fired == [d for d, _, suppressed in EXPECTED if not suppressed]


async def test_bad_input_is_one_line_and_stores_nothing(
    redis_client: Redis, settings: Settings
) -> None:
    series = moves_series()
    await stored(redis_client, "STAR50", list(zip(series.dates, series.closes, strict=True)))
    core = await build_core(settings, redis_client, SimClock(AFTER))
    before = await redis_snapshot(redis_client)
    cases = {
        (): "usage: /backtest RULE [PERIOD]",
        ("STAR50", "1d", "up", "3", "11y"): "period must be 1y to 10y, got '11y'",
        ("STAR50", "1d", "up", "3", "1y", "2y"): "one period please",
        ("STAR50", "2w", "up", "3"): "unknown window '2w'",
        ("FOO", "1d", "up", "3"): "FOO",
        ("STAR50", "intraday", "up", "3"): "only daily history is available",
        ("divergence", "STAR50", "intraday", "score", "up", "3"): "needs a window of 1d 5d",
        ("r99",): "no rule r99 in this chat",
    }
    for args, expected in cases.items():
        answer = await handle(core, cmd("backtest", *args))
        assert answer.private, args
        assert not answer.lines, args
        assert expected in answer.title, (args, answer.title)
        assert "usage: /alert add" not in answer.title
    assert await redis_snapshot(redis_client) == before


def klines(series: list[tuple[date, float]]) -> dict[str, object]:
    rows = [f"{d},{c:.2f},{c:.2f},{c:.2f},{c:.2f},1000,100000.00" for d, c in series]
    return {"rc": 0, "data": {"code": "000688", "market": 1, "klines": rows}}


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    providers = FakeProviders()
    await providers.start()
    yield providers
    await providers.close()


async def test_ten_years_are_fetched_once_and_a_bad_answer_stores_nothing(
    redis_client: Redis, settings: Settings, fake: FakeProviders, session: aiohttp.ClientSession
) -> None:
    core_settings = settings.model_copy(update={"eastmoney_history_base": fake.url})
    today = AFTER.date()
    days = [today - timedelta(days=n) for n in range(3700, 0, -1)]
    days = [d for d in days if d.weekday() < 5]  # SYNTHETIC weekdays, ten years
    walk = random_walk(days)
    # A bad answer first: a close outside STAR 50's band stores nothing, /status says why.
    bad = list(zip(walk.dates, walk.closes, strict=True))
    bad[5] = (bad[5][0], 1.0)
    fake.klines["1.000688"] = klines(bad)
    source = EastmoneySource(session, core_settings)
    core = await build_core(core_settings, redis_client, SimClock(AFTER), daily_sources=[source])
    before = await redis_snapshot(redis_client)
    answer = await handle(core, cmd("backtest", "STAR50", "1d", "down", "3", "10y"))
    assert answer.title.startswith("no daily history for STAR 50 yet")
    assert await redis_snapshot(redis_client) == before
    health = core.health.get("history:eastmoney")
    assert health is not None
    assert not health.ok
    assert "outside its band" in health.reason

    fake.klines["1.000688"] = klines(list(zip(walk.dates, walk.closes, strict=True)))
    first = await handle(core, cmd("backtest", "STAR50", "1d", "down", "3", "10y"))
    again = await handle(core, cmd("backtest", "STAR50", "5d", "up", "5"))
    hits = fake.hits(KLINE)
    assert len(hits) == 2  # the bad answer, then the good one: later backtests read Redis
    assert hits[-1].query["beg"] == deep_start(today).strftime("%Y%m%d")
    assert first.title.endswith(f"{walk.dates[-1]:%d %b %Y}")
    assert first.title.startswith("Backtest: STAR 50 1d down 3% · ")
    assert again.title.startswith("Backtest: STAR 50 5d up 5% · ")
    stored_closes = await core.store.load_closes("STAR50")
    assert stored_closes.dates == walk.dates
    assert core.health.get("history:eastmoney").ok  # type: ignore[union-attr]
    # the fires listed are the down crossings of -3% a replay over the stored closes finds
    per_year = first.lines[1].removeprefix("per year: ").split(" · ")
    assert [int(y.split()[0]) for y in per_year] == list(
        range(walk.dates[-1].year - 10, walk.dates[-1].year + 1)
    )
    json.dumps(first.lines)  # plain text all through


async def test_a_spread_backtest_is_what_the_live_engine_fires_over_the_same_closes(
    redis_client: Redis, settings: Settings
) -> None:
    """STAR 50 vs NDX over January 2026, across Martin Luther King Day (NDX shut on the
    19th): SYNTHETIC random walks on each market's real trading dates."""
    probe = await build_core(settings, redis_client, SimClock(AFTER))
    first, last = date(2026, 1, 2), date(2026, 1, 30)
    closes_at = {}
    for key, seed in (("STAR50", 5), ("NDX", 6)):
        market = probe.markets[probe.watchlist[key].calendar]
        found = market.sessions_between(first, last)
        walk = random_walk([s.day for s in found], seed=seed)
        closes_at[key] = [(s.close, s.day, c) for s, c in zip(found, walk.closes, strict=True)]
        await stored(redis_client, key, list(zip(walk.dates, walk.closes, strict=True)))
    rule = ("STAR50", "vs", "NDX", "1d", "either", "1", "hyst=0.2", "cooldown=1s")
    after = datetime(2026, 2, 2, 2, 0, tzinfo=UTC)
    core = await build_core(settings, redis_client, SimClock(after))
    answer = await handle(core, cmd("backtest", *rule, "1y"))
    assert answer.title.startswith("Backtest: STAR 50 vs NDX 1d either 1pp")
    listed = answer.lines[-1].removeprefix("fires: ").split(", ")
    backtest_days = [date.fromisoformat(f.split()[0]) for f in listed]
    assert len(backtest_days) >= 3  # enough crossings to compare

    await redis_client.flushall()
    clock = SimClock(datetime(2026, 1, 1, tzinfo=UTC))
    live = await build_core(settings, redis_client, clock)
    await handle(live, cmd("alert", "add", *rule))
    feed = sorted((at, key, day, c) for key, rows in closes_at.items() for at, day, c in rows)
    fired = []
    for at, key, day, close in feed:
        clock.set(at)  # the gate's flap window counts on the clock, as live
        quote = Quote(key, close, at, day, "history", closing=True)
        fired += [a.session for a in await live.service.on_quotes([quote], at)]
    assert fired == backtest_days, (fired, listed)
