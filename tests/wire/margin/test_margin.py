"""MARGIN, the margin financing balance, against a fake Eastmoney datacenter on loopback
with the report's real row shape (RPTA_RZRQ_LSHJ: balances in yuan, dates
"YYYY-MM-DD 00:00:00", newest first) and a real Redis: bad rows refused, a gap or a jump
stores nothing and raises nothing, a rule on it fires once, /quote, /divergence and
/backtest read it.

The balances are SYNTHETIC: a made-up path on Shanghai's real trading dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.sources.base import SourceError
from bot.sources.margin import REPORT, EastmoneyMarginSource, parse_margin
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from jobs.margin import MarginJob
from tests.fakes.datacenter import FakeDatacenter
from tests.fakes.providers import Reply
from tests.wire.handlers.test_commands import snapshot as redis_snapshot

CHAT = "telegram:-1001"
LAST = date(2026, 1, 9)  # Friday: the last day of the stored history
PUBLISHED = time(14, 0, tzinfo=UTC)  # 22:00 Beijing, after the evening publication


def row(day: date, balance_bn: float, share: float = 2.5) -> dict[str, Any]:
    """One row as the datacenter sends it (yuan, a midnight timestamp as text)."""
    yuan = round(balance_bn * 1e9, 1)
    return {
        "DIM_DATE": f"{day.isoformat()} 00:00:00",
        "RZYE": yuan,
        "RQYE": 25977668669.0,
        "RZRQYE": yuan + 25977668669.0,
        "RZMRE": 242100000000.0,
        "RZRQYECZ": 1234567890.0,
        "RZYEZB": share,
    }


def envelope(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "synthetic",
        "result": {"pages": 1, "data": rows, "count": len(rows)},
        "success": True,
        "message": "ok",
        "code": 0,
    }


def sessions(core: Core, last: date, n: int) -> list[date]:
    market = core.markets["XSHG"]
    days = [s.day for s in market.sessions_between(last - timedelta(days=3 * n), last)]
    return days[-n:]


def history(days: list[date]) -> list[tuple[date, float]]:
    """SYNTHETIC: +0.2% a day from ¥2,450bn, with one +1.5% day (the largest change)."""
    out, value = [], 2450.0
    for i, day in enumerate(days):
        if i:
            value *= 1.015 if i == 10 else 1.002
        out.append((day, round(value, 2)))
    return out


def publish(fake: FakeDatacenter, pairs: list[tuple[date, float]]) -> None:
    fake.bodies[REPORT] = envelope([row(d, v) for d, v in reversed(pairs)])


async def setup(
    redis: Redis, settings: Settings, fake: FakeDatacenter, session: aiohttp.ClientSession
) -> tuple[Core, MarginJob, SimClock, list[tuple[date, float]]]:
    clock = SimClock(datetime.combine(LAST, PUBLISHED))
    core = await build_core(settings, redis, clock)
    pairs = history(sessions(core, LAST, 40))
    publish(fake, pairs)
    job = MarginJob(core, EastmoneyMarginSource(session, settings))
    await job.run_once(clock.now())  # the first run: history only, no quote, no alert
    return core, job, clock, pairs


def test_rows_in_yuan_become_billions_oldest_first() -> None:
    days = parse_margin(
        envelope([row(date(2026, 8, 13), 2649.74055085, 2.63679), row(date(2026, 8, 12), 2640.0)])
    )
    assert [d.day for d in days] == [date(2026, 8, 12), date(2026, 8, 13)]
    assert days[1].balance_bn == pytest.approx(2649.74055085)
    assert days[1].share_pct == 2.63679


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"RZYE": 0}, "RZYE (financing balance) missing, zero or bad"),
        ({"RZYE": "-"}, "RZYE (financing balance) missing, zero or bad"),
        ({"RZYE": None}, "RZYE (financing balance) missing, zero or bad"),
        ({"DIM_DATE": "2026-08-13"}, "DIM_DATE is not 'YYYY-MM-DD 00:00:00'"),
        ({"DIM_DATE": "2026-02-30 00:00:00"}, "is not a date"),
        ({"RZYEZB": None}, "RZYEZB (share of free float) missing or bad"),
        ({"RZYEZB": 140.0}, "RZYEZB (share of free float) missing or bad"),
    ],
)
def test_bad_rows_are_refused(change: dict[str, Any], reason: str) -> None:
    bad = {**row(date(2026, 8, 13), 2649.7), **change}
    with pytest.raises(SourceError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_margin(envelope([bad, row(date(2026, 8, 12), 2640.0)]))


def test_a_date_twice_and_an_empty_answer_are_refused() -> None:
    same = row(date(2026, 8, 13), 2649.7)
    with pytest.raises(SourceError, match="appears twice"):
        parse_margin(envelope([same, same]))
    with pytest.raises(SourceError, match="result null"):
        parse_margin({"result": None, "success": False, "code": 9201})


async def test_history_stored_then_a_rule_on_it_fires_once(
    redis_client: Redis,
    dc_settings: Settings,
    datacenter: FakeDatacenter,
    session: aiohttp.ClientSession,
) -> None:
    core, job, clock, pairs = await setup(redis_client, dc_settings, datacenter, session)
    [asked] = datacenter.hits(REPORT)
    assert asked["sortColumns"] == "DIM_DATE"
    assert asked["pageSize"] == "800"  # no history yet: a full page
    stored = await core.store.load_closes("MARGIN")
    assert list(zip(stored.dates, stored.closes, strict=True)) == pairs
    assert core.health.get("margin").ok  # type: ignore[union-attr]
    assert pairs[-1][1] < 2700  # SYNTHETIC path: below ¥2.7trn so far

    added = await handle(
        core,
        Command(
            "telegram", CHAT, "u1", "alert", ("add", "MARGIN", "above", "2.7T"), can_admin=True
        ),
    )
    assert added.title == "Added rule r1: Margin ¥bn above 2,700.00"
    # Three new days: the first arms the rule, the second crosses ¥2.7trn, the third stays above.
    new_days = [
        s.day
        for s in core.markets["XSHG"].sessions_between(
            LAST + timedelta(days=1), LAST + timedelta(days=10)
        )
    ][:3]
    values = [round(pairs[-1][1] * f, 2) for f in (1.001, 1.009, 1.011)]
    assert values[0] < 2700 <= values[1] <= values[2]
    fired = []
    for day, value in zip(new_days, values, strict=True):
        pairs.append((day, value))
        publish(datacenter, pairs)
        clock.set(datetime.combine(day, PUBLISHED))
        before = await redis_client.hlen("divbot:alerts:owed") + len(
            await redis_client.keys("divbot:alerts:recorded:*")
        )
        await job.run_once(clock.now())
        after = await redis_client.hlen("divbot:alerts:owed") + len(
            await redis_client.keys("divbot:alerts:recorded:*")
        )
        fired.append(after - before)
    assert fired == [0, 1, 0]
    quote = await handle(core, Command("telegram", CHAT, "u1", "quote", ("MARGIN",)))
    assert any(
        line.startswith("Margin ¥bn") and f"{values[2]:,.2f}" in line for line in quote.lines
    )


async def test_a_gap_or_a_jump_stores_nothing_and_marks_the_source(
    redis_client: Redis,
    dc_settings: Settings,
    datacenter: FakeDatacenter,
    session: aiohttp.ClientSession,
) -> None:
    core, job, clock, pairs = await setup(redis_client, dc_settings, datacenter, session)
    await handle(
        core,
        Command(
            "telegram",
            CHAT,
            "u1",
            "alert",
            ("add", "MARGIN", "1d", "either", "0.1"),
            can_admin=True,
        ),
    )
    upcoming = [
        s.day
        for s in core.markets["XSHG"].sessions_between(
            LAST + timedelta(days=1), LAST + timedelta(days=10)
        )
    ]
    before = await redis_snapshot(redis_client)
    # a gap: the first new session is missing, the second is there
    publish(datacenter, [*pairs, (upcoming[1], pairs[-1][1] * 1.001)])
    clock.set(datetime.combine(upcoming[1], PUBLISHED))
    await job.run_once(clock.now())
    health = core.health.get("margin")
    assert health is not None
    assert not health.ok
    assert health.reason == f"gap: no margin figure for the session of {upcoming[0]}"
    assert await redis_snapshot(redis_client) == before
    # /status: everyone sees the source is BAD; why is for the operators (issue 17.9).
    status = await handle(core, Command("telegram", CHAT, "u1", "status", ()))
    assert any(line.startswith("BAD margin") for line in status.lines), status.lines
    # a jump: +2% in a day, larger than the +1.5% that is the largest in its history
    publish(datacenter, [*pairs, (upcoming[0], pairs[-1][1] * 1.02)])
    await job.run_once(clock.now())
    assert core.health.get("margin").reason.startswith(f"jump: +2.0% on {upcoming[0]}")  # type: ignore[union-attr]
    assert await redis_snapshot(redis_client) == before
    # a zero: the row check
    publish(datacenter, [*pairs, (upcoming[0], 0.0)])
    await job.run_once(clock.now())
    assert "RZYE" in core.health.get("margin").reason  # type: ignore[union-attr]
    assert await redis_snapshot(redis_client) == before
    # a balance outside MARGIN's sanity band (x1000: yuan taken for billions, say)
    publish(datacenter, [*pairs, (upcoming[0], pairs[-1][1] * 1000)])
    await job.run_once(clock.now())
    assert "outside its band" in core.health.get("margin").reason  # type: ignore[union-attr]
    assert await redis_snapshot(redis_client) == before
    # and a provider error
    datacenter.queue(REPORT, Reply(status=502, body="bad gateway"))
    await job.run_once(clock.now())
    assert not core.health.get("margin").ok  # type: ignore[union-attr]
    assert await redis_snapshot(redis_client) == before
    # the next good answer is stored, and the source is healthy again
    publish(datacenter, [*pairs, (upcoming[0], pairs[-1][1] * 1.001)])
    await job.run_once(clock.now())
    assert core.health.get("margin").ok  # type: ignore[union-attr]
    assert (await core.store.load_closes("MARGIN")).dates[-1] == upcoming[0]


async def test_divergence_line_and_backtest_read_margin(
    redis_client: Redis,
    dc_settings: Settings,
    datacenter: FakeDatacenter,
    session: aiohttp.ClientSession,
) -> None:
    core, _, _, pairs = await setup(redis_client, dc_settings, datacenter, session)
    answer = await handle(core, Command("telegram", CHAT, "u1", "divergence", ()))
    change = (pairs[-1][1] / pairs[-21][1] - 1) * 100
    expected = (
        f"margin balance ¥{pairs[-1][1] / 1000:.2f}trn, 2.5% of free float, "
        f"+{change:.1f}% in 20 sessions"
    )
    assert answer.lines[-1] == expected
    bt = await handle(
        core, Command("telegram", CHAT, "u1", "backtest", ("MARGIN", "5d", "up", "2", "1y"))
    )
    assert bt.title.startswith("Backtest: Margin ¥bn 5d up 2% · ")
    assert bt.image is not None
    # By hand: five +0.2% days make +1.00% (armed below +2); the +1.5% day (index 10)
    # makes 1.015 x 1.002^4 - 1 = +2.31%: the one fire; five sessions later +1.00% re-arms
    # it (hyst 0.5: at +1.50 or below) and nothing crosses again.
    rate = (1.015 * 1.002**4 - 1) * 100
    assert bt.lines[0].startswith("1 fire ")
    assert bt.lines[-1] == f"fires: {pairs[10][0]:%Y-%m-%d} +{rate:.2f}%"


async def test_schedule_after_the_evening_publication_then_hourly_until_in(
    redis_client: Redis,
    dc_settings: Settings,
    datacenter: FakeDatacenter,
    session: aiohttp.ClientSession,
) -> None:
    core, job, clock, pairs = await setup(redis_client, dc_settings, datacenter, session)
    monday = datetime(2026, 1, 12, 2, 0, tzinfo=UTC)  # 10:00 Beijing, Shanghai trading
    # Friday's row is in: the next run is Monday's close (07:00 UTC) + 6 h
    assert job.next_run(monday) == datetime(2026, 1, 12, 13, 0, tzinfo=UTC)
    # Monday's row not published by 21:00 Beijing: again an hour later
    await job.run_once(datetime(2026, 1, 12, 13, 0, tzinfo=UTC))
    assert job.behind
    assert job.next_run(datetime(2026, 1, 12, 13, 0, 1, tzinfo=UTC)) == datetime(
        2026, 1, 12, 14, 0, tzinfo=UTC
    )
