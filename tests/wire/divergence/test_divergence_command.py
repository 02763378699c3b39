"""/divergence against a real Redis: the table, the regime, the chart, bad arguments (one
line, nothing stored), too little history, and the cache."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.divergence import metrics as dv
from bot.divergence import snapshot
from bot.divergence.chart import png_size
from bot.fmt import MINUS
from bot.macro import history as macro_history
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.support.divergence_data import load, macro, seed_closes
from tests.wire.handlers.test_commands import snapshot as redis_snapshot

CHAT = "telegram:-1001"
SATURDAY = datetime(2026, 1, 17, 2, 0, tzinfo=UTC)  # after the US close of Fri 16 Jan


def cmd(*args: str) -> Command:
    return Command("telegram", CHAT, "u1", "divergence", tuple(args))


def close_on(key: str, day: date) -> float:
    return dict(seed_closes(key))[day]


async def core_at(settings: Settings, redis: Redis, at: datetime = SATURDAY) -> Core:
    return await build_core(settings, redis, SimClock(at))


async def test_default_reply_table_regime_and_chart(
    redis_client: Redis, settings: Settings
) -> None:
    await load(redis_client)
    core = await core_at(settings, redis_client)
    answer = await handle(core, cmd())
    # 2 Jan was a Shanghai holiday: 5..16 Jan is ten sessions
    assert answer.title == "China tech vs economy — MTD to 16 Jan 2026 (10 trading days)"
    assert answer.preformatted
    star = close_on("STAR50", date(2026, 1, 16)) / close_on("STAR50", date(2025, 12, 31)) - 1
    ndx = close_on("NDX", date(2026, 1, 16)) / close_on("NDX", date(2025, 12, 31)) - 1
    row = answer.lines[0]
    assert row.startswith("STAR 50 ")
    assert f"+{star * 100:.1f}%" in row
    assert f"vs NDX  +{ndx * 100:.1f}%" in row
    assert f"spread +{(star - ndx) * 100:.1f}pp" in row
    assert answer.lines[1].startswith("HS TECH ")
    economy = answer.lines[2]
    assert economy.startswith("Economy   pulse ")
    assert f"PPI Dec 2025 {MINUS}1.9% y/y (39th month < 0)" in economy
    assert "CPI Dec 2025 +0.8%" in economy
    assert "PMI Dec 2025 50.1" in economy
    # stored without a publication time: the fallback rule makes Q4 public from 20 Jan
    assert "GDP Q3 2025 +4.8% vs ~5% target" in economy
    # columns line up: the two market rows have the same shape
    assert [m.start() for m in re.finditer("spread", answer.lines[0])] == [
        m.start() for m in re.finditer("spread", answer.lines[1])
    ]
    # the regime line is the documented table applied to the same numbers
    snap = await snapshot.snapshot(core, "mtd", [("STAR50", "NDX"), ("HSTECH", "NDX")])
    leg = snap.rows[0].leg
    assert leg is not None
    assert leg.z_return is not None
    assert snap.pulse.value is not None
    expected = dv.regime(leg.z_return, snap.pulse.value)
    assert answer.lines[3].startswith(f"Regime    {expected.value.upper()} — ")
    assert snap.score == leg.z_return - snap.pulse.value
    # signed numbers use the real minus sign, never an ASCII hyphen
    assert not any(re.search(r"-\d", line) for line in answer.lines)
    assert answer.image is not None
    assert png_size(answer.image) == (800, 500)


async def test_window_and_instrument_arguments(redis_client: Redis, settings: Settings) -> None:
    await load(redis_client)
    core = await core_at(settings, redis_client)
    answer = await handle(core, cmd("ytd", "star50", "CSI300"))
    assert answer.title.startswith("China tech vs economy — YTD to 16 Jan 2026")
    assert len([line for line in answer.lines if "spread" in line]) == 1
    assert "vs CSI 300" in answer.lines[0]
    three = await handle(core, cmd("3m"))
    assert three.title.startswith("China tech vs economy — 3M to 16 Jan 2026")
    alone = await handle(core, cmd("HSTECH"))  # against the default benchmark
    assert alone.lines[0].startswith("HS TECH")
    assert "vs NDX" in alone.lines[0]


async def test_bad_arguments_get_one_line_and_store_nothing(
    redis_client: Redis, settings: Settings
) -> None:
    await load(redis_client)
    core = await core_at(settings, redis_client)
    before = await redis_snapshot(redis_client)
    for args in (("2y",), ("mtd", "XYZ"), ("mtd", "STAR50", "NDX", "CSI300"), ("NDX", "NDX")):
        answer = await handle(core, cmd(*args))
        assert answer.private, args
        assert answer.lines == [], args
        assert "\n" not in answer.title, args
        assert answer.image is None
    unknown = await handle(core, cmd("2y"))
    assert "windows: 1d 5d mtd ytd 1m 3m 6m 1y" in unknown.title
    assert "instruments: STAR50 HSTECH NDX CSI300" in unknown.title
    assert await redis_snapshot(redis_client) == before


async def test_too_little_history_names_the_instrument_and_computes_the_rest(
    redis_client: Redis, settings: Settings
) -> None:
    await load(redis_client, keys=("STAR50", "NDX"))  # no HS TECH closes at all
    core = await core_at(settings, redis_client)
    answer = await handle(core, cmd())
    assert answer.lines[0].startswith("STAR 50 ")
    assert "spread" in answer.lines[0]
    assert answer.lines[1].startswith("HS TECH")
    assert "n/a" in answer.lines[1]
    assert "Note      HS TECH: too little history for MTD" in answer.lines
    assert answer.image is not None  # the chart shows what could be computed


async def test_short_macro_history_is_named(redis_client: Redis, settings: Settings) -> None:
    await load(redis_client, with_macro=False)
    short = {  # two prints each: too few for a standard deviation
        "GDP": [(date(2025, 7, 1), 4.8), (date(2025, 10, 1), 4.5)],
        "CPI": [(date(2025, 11, 1), 0.7), (date(2025, 12, 1), 0.8)],
        "PPI": [(date(2025, 11, 1), -2.2), (date(2025, 12, 1), -1.9)],
        "PMI": [(date(2025, 11, 1), 49.2), (date(2025, 12, 1), 50.1)],
    }
    for indicator, prints in short.items():
        await macro_history.save_prints(redis_client, indicator, prints)
    core = await core_at(settings, redis_client)
    answer = await handle(core, cmd())
    assert any(line.startswith("Economy   pulse n/a  PPI") for line in answer.lines)
    assert "Regime    n/a — the economy pulse needs more macro history" in answer.lines
    note = next(line for line in answer.lines if "macro history" in line and "Note" in line)
    assert "6 needed" in note
    assert "PPI 2" in note


async def test_as_of_uses_only_sessions_closed_by_the_clock(
    redis_client: Redis, settings: Settings
) -> None:
    await load(redis_client)
    # Fri 16 Jan 15:30 Shanghai: the Nasdaq's last close is Thursday's
    core = await core_at(settings, redis_client, datetime(2026, 1, 16, 7, 30, tzinfo=UTC))
    snap = await snapshot.snapshot(core, "mtd", [("STAR50", "NDX")])
    leg = snap.rows[0].leg
    assert leg is not None
    assert (leg.x.end_date, leg.b.end_date) == (date(2026, 1, 16), date(2026, 1, 15))
    ndx = close_on("NDX", date(2026, 1, 15)) / close_on("NDX", date(2025, 12, 31)) - 1
    assert leg.b.change_pct == ndx * 100


async def test_cache_serves_within_its_ttl_then_reloads(
    redis_client: Redis, settings: Settings
) -> None:
    await load(redis_client)
    clock = SimClock(SATURDAY)
    core = await build_core(settings, redis_client, clock)
    first = await handle(core, cmd())
    await redis_client.delete("divbot:daily:HSTECH")
    clock.set(SATURDAY + timedelta(seconds=30))
    again = await handle(core, cmd())
    assert again.lines == first.lines  # served from the cache
    assert again.image == first.image
    clock.set(SATURDAY + timedelta(seconds=snapshot.CACHE_TTL_S + 1))
    later = await handle(core, cmd())
    assert "Note      HS TECH: too little history for MTD" in later.lines


async def test_macro_fixture_has_39_months_of_negative_ppi() -> None:
    ppi = macro()["PPI"]
    assert ppi[-1] == (date(2025, 12, 1), -1.9)
    assert all(v < 0 for _, v in ppi[-39:])
    assert ppi[-40][1] > 0
