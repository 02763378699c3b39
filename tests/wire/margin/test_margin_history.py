"""MARGIN's ten years for /backtest: the fake datacenter pages the report as the real one
does (pageNumber, pageSize, result.pages), the backtest pages back once and keeps it in
Redis, and one wrong page (a bad row, a short page, a page count that changes, a repeat
that disagrees, a page past the end, a session missing) stores nothing.

The balances are SYNTHETIC: a made-up path on Shanghai's real trading dates where the
market calendar has them (from 2019) and on weekdays before."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.backtest.history import deep_start
from bot.backtest.margin_history import MAX_PAGES, PAGE_ROWS
from bot.clock import SimClock
from bot.config import Settings
from bot.sources.base import SourceError
from bot.sources.margin import REPORT, EastmoneyMarginSource, parse_page
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.fakes.datacenter import FakeDatacenter
from tests.fakes.providers import Reply, fixture
from tests.wire.handlers.test_commands import snapshot as redis_snapshot
from tests.wire.margin.test_margin import envelope, row

CHAT = "telegram:-1001"
AFTER = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Mon 30 Nov 2026, before Shanghai opens
FIRST = date(2015, 6, 1)
RULE = ("MARGIN", "5d", "up", "3", "10y")


def cmd(*args: str) -> Command:
    return Command("telegram", CHAT, "u1", "backtest", args, can_admin=True)


async def ready(
    redis: Redis, settings: Settings, session: aiohttp.ClientSession
) -> tuple[Core, list[tuple[date, float]]]:
    core = await build_core(
        settings, redis, SimClock(AFTER), margin_pages=EastmoneyMarginSource(session, settings)
    )
    market = core.markets["XSHG"]
    known = market.sessions[0].day
    days = [FIRST + timedelta(n) for n in range((known - FIRST).days)]
    days = [d for d in days if d.weekday() < 5]
    days += [s.day for s in market.sessions_between(known, date(2026, 11, 27))]
    pairs = [(d, round(1500 + 400 * math.sin(i / 150) + i * 0.1, 2)) for i, d in enumerate(days)]
    return core, pairs


def wire(pairs: list[tuple[date, float]]) -> list[dict[str, Any]]:
    """The report's rows as the datacenter holds them: newest first."""
    return [row(d, v) for d, v in reversed(pairs)]


def page(rows: list[dict[str, Any]], pages: int) -> Reply:
    body = envelope(rows)
    body["result"]["pages"] = pages
    return Reply(body=body)


def as_parsed(pairs: list[tuple[date, float]], since: date) -> list[tuple[date, float]]:
    """What parsing the rows gives back (yuan to billions), from `since`."""
    return [(d, round(v * 1e9, 1) / 1e9) for d, v in pairs if d >= since]


async def test_ten_years_are_paged_back_once_and_backtested(
    redis_client: Redis,
    dc_settings: Settings,
    datacenter: FakeDatacenter,
    session: aiohttp.ClientSession,
) -> None:
    core, pairs = await ready(redis_client, dc_settings, session)
    datacenter.bodies[REPORT] = envelope(wire(pairs))
    answer = await handle(core, cmd(*RULE))
    assert answer.title.startswith("Backtest: Margin ¥bn 5d up 3% · 27 Nov 2016 to 27 Nov 2026")
    years = answer.lines[1].removeprefix("per year: ").split(" · ")
    assert [int(y.split()[0]) for y in years] == list(range(2016, 2027))
    asked = datacenter.hits(REPORT)
    # about 2,850 rows: pages of 800 until one reaches back past the deep start (page 4)
    assert [(q["pageNumber"], q["pageSize"]) for q in asked] == [
        (str(n), str(PAGE_ROWS)) for n in range(1, 5)
    ]
    assert len(asked) <= MAX_PAGES
    stored = await core.store.load_closes("MARGIN")
    since = deep_start(AFTER.date())
    assert list(zip(stored.dates, stored.closes, strict=True)) == as_parsed(pairs, since)
    assert core.health.get("history:eastmoney-margin").ok  # type: ignore[union-attr]
    again = await handle(core, cmd("MARGIN", "above", "1.8T", "10y"))
    assert again.title.startswith("Backtest: Margin ¥bn above 1,800.00")
    assert len(datacenter.hits(REPORT)) == 4  # held in Redis: fetched once


async def test_a_row_published_while_paging_shifts_a_page_and_is_not_a_problem(
    redis_client: Redis,
    dc_settings: Settings,
    datacenter: FakeDatacenter,
    session: aiohttp.ClientSession,
) -> None:
    core, pairs = await ready(redis_client, dc_settings, session)
    old = wire(pairs)
    # page 1 answered before Monday's row came out, the rest after: every row moved down
    # one, so page 2 opens with the row that closed page 1
    datacenter.fault(REPORT, 1, page(old[:PAGE_ROWS], math.ceil(len(old) / PAGE_ROWS)))
    newer = [row(date(2026, 11, 30), pairs[-1][1] * 1.001), *old]
    assert math.ceil(len(newer) / PAGE_ROWS) == math.ceil(len(old) / PAGE_ROWS)
    datacenter.bodies[REPORT] = envelope(newer)
    answer = await handle(core, cmd(*RULE))
    assert answer.title.startswith("Backtest: Margin ¥bn 5d up 3%"), answer.title
    assert [q["pageNumber"] for q in datacenter.hits(REPORT)] == ["1", "2", "3", "4"]
    stored = await core.store.load_closes("MARGIN")
    since = deep_start(AFTER.date())
    assert list(zip(stored.dates, stored.closes, strict=True)) == as_parsed(pairs, since)


def bad_row(rows: list[dict[str, Any]], i: int) -> list[dict[str, Any]]:
    return [*rows[:i], {**rows[i], "RZYE": 0}, *rows[i + 1 :]]


@pytest.mark.parametrize(
    "case",
    ["bad row", "short page", "pages change", "repeat disagrees", "past the end", "gap"],
)
async def test_one_wrong_page_stores_nothing(
    case: str,
    redis_client: Redis,
    dc_settings: Settings,
    datacenter: FakeDatacenter,
    session: aiohttp.ClientSession,
) -> None:
    core, pairs = await ready(redis_client, dc_settings, session)
    rows = wire(pairs)
    pages = math.ceil(len(rows) / PAGE_ROWS)
    p2, p3 = rows[PAGE_ROWS : 2 * PAGE_ROWS], rows[2 * PAGE_ROWS : 3 * PAGE_ROWS]
    reason = {
        "bad row": "row 17: RZYE (financing balance) missing, zero or bad",
        "short page": f"page 2 of {pages} holds {PAGE_ROWS - 1} rows, not {PAGE_ROWS}",
        "pages change": f"page 2: the report went from {pages} to {pages + 1} pages",
        "repeat disagrees": "page 2 repeats",
        "past the end": "no data (result null",
        "gap": "gap: no margin figure for the session of 2022-03-15",
    }[case]
    if case == "bad row":
        datacenter.fault(REPORT, 3, page(bad_row(p3, 17), pages))
    elif case == "short page":
        datacenter.fault(REPORT, 2, page(p2[:-1], pages))
    elif case == "pages change":
        datacenter.fault(REPORT, 2, page(p2, pages + 1))
    elif case == "repeat disagrees":
        repeat = {**rows[PAGE_ROWS - 1], "RZYE": rows[PAGE_ROWS - 1]["RZYE"] + 1e9}
        datacenter.fault(REPORT, 2, page([repeat, *p2[:-1]], pages))
    elif case == "past the end":
        datacenter.fault(REPORT, 3, Reply(body=fixture("eastmoney/datacenter-empty.json")))
    else:  # the report lacks one Shanghai session's row (page 2's span), pages shift
        rows = [r for r in rows if r["DIM_DATE"] != "2022-03-15 00:00:00"]
    datacenter.bodies[REPORT] = envelope(rows)
    before = await redis_snapshot(redis_client)
    answer = await handle(core, cmd(*RULE))
    assert answer.title.startswith("no daily history for Margin ¥bn yet"), answer.title
    assert await redis_snapshot(redis_client) == before
    health = core.health.get("history:eastmoney-margin")
    assert health is not None
    assert not health.ok
    assert reason in health.reason, health.reason


def test_a_page_without_a_sane_page_count_is_refused() -> None:
    good = envelope([row(date(2026, 8, 13), 2649.7)])
    assert parse_page(good, 1).pages == 1
    for pages in (None, "4", 0, True):
        body = envelope([row(date(2026, 8, 13), 2649.7)])
        body["result"]["pages"] = pages
        with pytest.raises(SourceError, match="result.pages missing or bad"):
            parse_page(body, 1)
    with pytest.raises(SourceError, match="page 2 answered, but the report has 1 pages"):
        parse_page(good, 2)
