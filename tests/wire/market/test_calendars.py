"""Markets that never go silent: Shanghai past exchange_calendars' data (2027), the
provider's last word on each day, the operators' warnings and their closures.

Real parts: a real redis-server, the fake Eastmoney over loopback HTTP, the real quotes
job, trading-day check, calendars job, /closure and /status handlers. Prices here are
SYNTHETIC (made up for the test; the dates and the 2027 closure table are real).
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import REPO_ROOT, Settings
from bot.market.closures import ClosureFileError, MarketTable, extension_for, load_closure_file
from bot.market.quote_feed import QuoteFeed
from bot.market.sessions import Market, market
from bot.market.validate import QuoteValidator
from bot.replay import replay
from bot.rules.grammar import parse_rule
from bot.sources.eastmoney import EastmoneySource
from bot.wiring import Core, build_core
from handlers.base import Command, UsageError
from handlers.closures import closure
from handlers.dispatch import handle
from handlers.status import status
from jobs.calendars import CalendarsJob
from jobs.quotes import QuotesJob
from jobs.runner import run_replay
from jobs.trading_day import TradingDayCheck
from tests.conftest import RedisServer
from tests.fakes.providers import FakeProviders

OPERATOR = "telegram:4242"
OPS_CHAT = "telegram:-100777"
CST = timedelta(hours=8)
SPRING_FESTIVAL_2027 = {date(2027, 2, d) for d in (5, 8, 9, 10, 11, 12)}


def shanghai(day: date, hh: int, mm: int = 0) -> datetime:
    """A Shanghai wall time as aware UTC (China has no DST)."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC) - CST


def make_settings(
    redis_server: RedisServer, base: str = "http://127.0.0.1:9", **kw: Any
) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        redis_url=redis_server.url,
        eastmoney_quote_base=base,
        eastmoney_history_base=base,
        yahoo_base=base,
        http_retries=0,
        operators=OPERATOR,
        operator_chats=OPS_CHAT,
        **kw,
    )


async def outbox_to(redis: Redis, chat: str) -> list[dict[str, Any]]:
    entries = await redis.xrange("divbot:outbox")
    return [json.loads(f["alert"]) for _, f in entries if f["chat"] == chat]


def quotes_job(core: Core, session: aiohttp.ClientSession) -> QuotesJob:
    star = [core.watchlist["STAR50"]]
    feed = QuoteFeed(
        [EastmoneySource(session, core.settings)],
        QuoteValidator(core.markets.__getitem__, core.settings),
        core.health,
        core.watchlist,
    )
    check = TradingDayCheck(
        core.markets, star, core.days, core.health, core.redis, feed.trade_times, core.operators
    )
    return QuotesJob(
        star,
        feed,
        core.service,
        core.markets,
        core.health,
        poll_interval_s=60,
        close_settle_s=0,
        day_check=check,
        operators=core.operators,
    )


async def star50_closes(core: Core, pairs: list[tuple[date, float]]) -> None:
    from bot.models import DailyCloses

    await core.store.put_closes("STAR50", pairs)
    core.service.engine.set_closes("STAR50", DailyCloses.from_pairs(pairs))


# -- the calendar itself ----------------------------------------------------------------------
def test_shanghai_2027_is_a_calendar_with_the_provisional_closures() -> None:
    xshg = market("XSHG")
    assert xshg.library_through == date(2026, 12, 31)
    assert xshg.horizon == date(2027, 12, 31)
    assert xshg.is_session(date(2027, 1, 4))  # Monday 4 January 2027 trades
    assert xshg.is_trading(shanghai(date(2027, 1, 4), 10, 0))
    assert not xshg.is_trading(shanghai(date(2027, 1, 4), 12, 0))  # lunch break
    for day in (date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 12)):
        assert not xshg.is_session(day)
        assert xshg.source_of(day) == "table (provisional)"
    assert xshg.closure_name(date(2027, 2, 8)) == "Spring Festival"
    assert xshg.source_of(date(2026, 10, 1)) == "library"
    # past every source's data: weekdays assumed open, said so
    assert xshg.is_session(date(2028, 3, 1))
    assert xshg.assumed(date(2028, 3, 1))


def test_the_seed_table_is_what_the_derivation_script_computes() -> None:
    path = REPO_ROOT / "seeds" / "closures_derive.py"
    spec = importlib.util.spec_from_file_location("closures_derive", path)
    assert spec is not None
    assert spec.loader is not None
    derive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(derive)
    table = load_closure_file(REPO_ROOT / "seeds" / "closures.toml")["XSHG"]
    assert [(r.date, r.name) for r in table.closure] == derive.derive(2027)
    assert all(r.status == "provisional" for r in table.closure)
    # lunar New Year's Day 2027 is Saturday 6 February: eve Friday 5th closes
    assert date(2027, 2, 5) in {r.date for r in table.closure}


def test_official_schedule_replaces_provisional_rows_for_a_year_it_covers() -> None:
    # Pretend the library stopped at 2025 and the table guessed 2026 provisionally: the
    # installed chinese-calendar covers 2026, so its dates win, and they must agree with
    # exchange_calendars' own 2026 Shanghai data.
    table = MarketTable.model_validate(
        {
            "through": "2026-12-31",
            "closure": [{"date": "2026-01-02", "name": "guess", "status": "provisional"}],
        }
    )
    ext = extension_for("XSHG", table, date(2025, 12, 31))
    assert ext.closures
    assert all(c.source.startswith("official") for c in ext.closures)
    library = Market("XSHG")
    assert {c.day for c in ext.closures} == set(
        library.closed_weekdays(date(2026, 1, 1), date(2026, 12, 31))
    )


def test_a_bad_closure_file_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "closures.toml"
    bad.write_text(
        '[XSHG]\nthrough = 2027-12-31\n[[XSHG.closure]]\ndate = 2027-02-08\nname = "x"\n'
        'status = "maybe"\n'
    )
    with pytest.raises(ClosureFileError, match=r"XSHG\.closure\.0\.status"):
        load_closure_file(bad)
    bad.write_text(
        "[XSHG]\nthrough = 2027-12-31\n[[XSHG.closure]]\ndate = 2027-02-06\n"
        'name = "x"\nstatus = "provisional"\n'
    )
    with pytest.raises(ClosureFileError, match="weekend"):
        load_closure_file(bad)


# -- replay over January–February 2027 ---------------------------------------------------------
def synthetic_2027(folder: Path) -> None:
    """SYNTHETIC STAR 50 data: December 2026 closes, then 15-minute bars on every weekday
    of January–February 2027, the provisional closures included (bars there must be
    ignored). January climbs ~13%; 5 and 8 February (closed) carry a -6% fake crash; 15
    February (the first session after the festival) drops 2%."""
    (folder / "daily").mkdir(parents=True)
    (folder / "bars").mkdir()
    daily = ["date,close"]
    day = date(2026, 11, 2)
    while day <= date(2026, 12, 31):
        if day.weekday() < 5:
            daily.append(f"{day},1000.00")
        day += timedelta(days=1)
    bars = ["at,price"]
    level, day = 1000.0, date(2027, 1, 4)
    while day <= date(2027, 2, 26):
        if day.weekday() < 5:
            if day.month == 1:
                level *= 1.0065
            closed_crash = day in (date(2027, 2, 5), date(2027, 2, 8))
            for hh, mm in [(9, 30 + 15 * i) for i in range(2)] + [
                (10 + i // 4, (i % 4) * 15) for i in range(6)
            ]:
                price = level * (0.94 if closed_crash else 1.0)
                if day == date(2027, 2, 15) and (hh, mm) >= (10, 30):
                    price = level * 0.98
                at = shanghai(day, hh, mm)
                bars.append(f"{at:%Y-%m-%dT%H:%M:%SZ},{price:.2f}")
            if day == date(2027, 2, 15):
                level *= 0.98
            if not closed_crash and day not in SPRING_FESTIVAL_2027:
                daily.append(f"{day},{level:.2f}")  # the provider's history: sessions only
        day += timedelta(days=1)
    (folder / "daily" / "STAR50.csv").write_text("\n".join(daily) + "\n")
    (folder / "bars" / "STAR50.csv").write_text("\n".join(bars) + "\n")


async def test_replay_2027_alerts_on_open_days_and_never_on_the_spring_festival(
    tmp_path: Path,
) -> None:
    synthetic_2027(tmp_path)
    out = io.StringIO()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    await replay(settings, date(2027, 1, 4), date(2027, 2, 26), tmp_path, out)
    text = out.getvalue()
    alerts = re.findall(r"^\w{3} (\d\d \w{3}) \d\d:\d\d CST\s+(STAR 50 .+)$", text, re.MULTILINE)
    assert any("month-to-date" in t and d.endswith("Jan") for d, t in alerts), text
    assert any(d.startswith("15 Feb") and "on the day" in t for d, t in alerts), text
    # nothing at all on a closed day: no alert, no digest, no bar
    fired_on = set(re.findall(r"^\w{3} (\d\d \w{3}) \d\d:\d\d CST", text, re.MULTILINE))
    assert "22 Jan" in fired_on
    assert "15 Feb" in fired_on
    for closed in ("05 Feb", "08 Feb", "09 Feb", "10 Feb", "11 Feb", "12 Feb"):
        assert closed not in fired_on, text
    assert "0 pending, 0 failed" in text


# -- the live watcher on an injected clock ----------------------------------------------------
@pytest.fixture
async def fake() -> Any:
    providers = FakeProviders()
    await providers.start()
    yield providers
    await providers.close()


async def test_live_watcher_polls_and_alerts_on_star50_in_january_2027(
    redis_client: Redis, redis_server: RedisServer, fake: FakeProviders, session: Any
) -> None:
    day = date(2027, 1, 5)
    clock = SimClock(shanghai(day, 9, 50))
    core = await build_core(make_settings(redis_server, fake.url), redis_client, clock)
    await star50_closes(core, [(date(2027, 1, 4), 1000.0), (date(2026, 12, 31), 995.0)])
    spec = parse_rule(["STAR50", "1d", "down", "3"], core.watchlist)
    rule, _ = await core.service.add_rule("telegram:1", spec, clock.now())
    job = quotes_job(core, session)
    for minute, price in ((50, 990.0), (51, 975.0), (52, 965.0)):
        now = shanghai(day, 9, minute)
        clock.set(now)
        fake.row("1.000688", f2=price, f17=998.0, f18=1000.0, f124=int(now.timestamp()) - 20)
        await job.run_once(now)
    assert any(
        s.query.get("secids", "").find("1.000688") >= 0 for s in fake.hits("/api/qt/ulist.np/get")
    )
    sent = await outbox_to(redis_client, "telegram:1")
    assert [a["message"]["title"] for a in sent] == ["STAR 50 \u22123.5% on the day"]


async def test_a_day_the_table_calls_open_but_the_provider_never_trades_is_closed(
    redis_client: Redis, redis_server: RedisServer, fake: FakeProviders, session: Any
) -> None:
    day = date(2027, 3, 3)  # a Wednesday the table calls open
    clock = SimClock(shanghai(day, 9, 25))
    core = await build_core(make_settings(redis_server, fake.url), redis_client, clock)
    await star50_closes(core, [(date(2027, 3, 1), 1000.0), (date(2027, 3, 2), 1000.0)])
    spec = parse_rule(["STAR50", "1d", "down", "3"], core.watchlist)
    await core.service.add_rule("telegram:1", spec, clock.now())
    # The provider keeps answering with Tuesday's last trade, 6% down: stale data a
    # careless bot would alert on at the open or take as Wednesday's close.
    last = shanghai(date(2027, 3, 2), 15, 0)
    fake.row("1.000688", f2=940.0, f17=1000.0, f18=1000.0, f124=int(last.timestamp()))
    job = quotes_job(core, session)
    await run_replay([job], clock, shanghai(day, 16, 0))
    xshg = core.markets["XSHG"]
    assert not xshg.is_session(day)
    assert xshg.source_of(day) == "provider"
    assert await outbox_to(redis_client, "telegram:1") == []  # no alert
    assert await redis_client.hget("divbot:daily:STAR50", day.isoformat()) is None  # no bar
    polls = [s for s in fake.hits("/api/qt/ulist.np/get")]
    assert polls
    assert len(polls) <= 32
    op = OPERATOR.split(":")[1]
    lines = (await status(core, Command("telegram", "telegram:1", op, "status"))).lines
    said = [line for line in lines if "no trade" in line]
    assert len(said) == 1, lines
    assert "calendar:XSHG" in said[0]
    ops = await outbox_to(redis_client, OPS_CHAT)
    assert [a["message"]["title"] for a in ops] == ["XSHG did not trade on Wed 03 Mar 2027"]


async def test_a_day_the_table_calls_closed_but_the_provider_trades_is_watched(
    redis_client: Redis, redis_server: RedisServer, fake: FakeProviders, session: Any
) -> None:
    day = date(2027, 2, 8)  # provisional Spring Festival closure
    clock = SimClock(shanghai(day, 9, 0))
    core = await build_core(make_settings(redis_server, fake.url), redis_client, clock)
    await star50_closes(core, [(date(2027, 2, 4), 1000.0)])
    assert not core.markets["XSHG"].is_session(day)
    traded = shanghai(day, 10, 0) + timedelta(seconds=30)
    fake.row("1.000688", f2=1010.0, f17=1000.0, f18=1000.0, f124=int(traded.timestamp()))
    job = quotes_job(core, session)
    await run_replay([job], clock, shanghai(day, 10, 5))
    xshg = core.markets["XSHG"]
    assert xshg.is_session(day)
    assert xshg.source_of(day) == "provider"
    latest = core.service.engine.latest.get("STAR50")
    assert latest is not None
    assert latest.session == day
    ops = await outbox_to(redis_client, OPS_CHAT)
    assert [a["message"]["title"] for a in ops] == [
        "XSHG calendar is wrong: it traded on Mon 08 Feb 2027"
    ]
    # and it survives a restart: the next build of the core reads it from Redis
    again = await build_core(make_settings(redis_server, fake.url), redis_client, clock)
    assert again.markets["XSHG"].is_session(day)


# -- the operators ------------------------------------------------------------------------------
async def test_horizon_warnings_at_60_30_7_1_days_once_each_across_restarts(
    redis_client: Redis, redis_server: RedisServer
) -> None:
    clock = SimClock(datetime(2027, 10, 20, 1, 0, tzinfo=UTC))
    settings = make_settings(redis_server)

    async def warn_at(when: datetime) -> int:
        clock.set(when)
        core = await build_core(settings, redis_client, clock)  # a fresh process each time
        return await CalendarsJob(core.markets, core.days, core.operators).warn(when)

    assert await warn_at(datetime(2027, 10, 20, 1, 0, tzinfo=UTC)) == 0  # 72 days left
    sent = []
    for when in (
        (2027, 11, 1),
        (2027, 11, 1),
        (2027, 11, 15),
        (2027, 12, 1),
        (2027, 12, 2),
        (2027, 12, 24),
        (2027, 12, 30),
        (2027, 12, 30),
        (2028, 1, 3),
        (2028, 1, 4),
    ):
        sent.append(await warn_at(datetime(*when, 2, 0, tzinfo=UTC)))
    assert sent == [1, 0, 0, 1, 0, 1, 1, 0, 1, 0]
    titles = [a["message"]["title"] for a in await outbox_to(redis_client, OPS_CHAT)]
    assert titles == [
        "Shanghai (XSHG) calendar runs out in 60 day(s), on 2027-12-31",
        "Shanghai (XSHG) calendar runs out in 30 day(s), on 2027-12-31",
        "Shanghai (XSHG) calendar runs out in 7 day(s), on 2027-12-31",
        "Shanghai (XSHG) calendar runs out in 1 day(s), on 2027-12-31",
        "Shanghai (XSHG) calendar ran out on 2027-12-31",
    ]


async def test_provisional_closures_ahead_are_told_once_and_shown_in_status(
    redis_client: Redis, redis_server: RedisServer
) -> None:
    clock = SimClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    core = await build_core(make_settings(redis_server), redis_client, clock)
    job = CalendarsJob(core.markets, core.days, core.operators)
    assert await job.warn(clock.now()) == 1
    assert await job.warn(clock.now()) == 0
    (notice,) = await outbox_to(redis_client, OPS_CHAT)
    assert notice["message"]["title"] == "Shanghai (XSHG): 2027 closures are provisional"
    op = OPERATOR.split(":")[1]
    lines = (await status(core, Command("telegram", "telegram:1", op, "status"))).lines
    assert any("provisional closure" in line and "Fri 01 Jan 2027" in line for line in lines)
    assert not any("upgrade exchange_calendars" in line for line in lines)
    # an ordinary user's /status keeps to what affects their alerts
    lines = (await status(core, Command("telegram", "telegram:1", "u1", "status"))).lines
    assert not any("provisional" in line for line in lines)


async def test_an_operators_closure_survives_a_restart_and_can_be_undone(
    redis_client: Redis, redis_server: RedisServer
) -> None:
    clock = SimClock(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
    settings = make_settings(redis_server)
    core = await build_core(settings, redis_client, clock)
    op_user = OPERATOR.split(":")[1]
    cmd = Command(
        "telegram",
        "telegram:-1001",
        op_user,
        "closure",
        ("add", "XSHG", "2027-03-03", "Typhoon", "warning"),
    )
    reply = await closure(core, cmd)
    assert "closed" in reply.title
    restarted = await build_core(settings, redis_client, clock)
    xshg = restarted.markets["XSHG"]
    assert not xshg.is_session(date(2027, 3, 3))
    assert xshg.source_of(date(2027, 3, 3)) == "operator"
    assert xshg.closure_name(date(2027, 3, 3)) == "Typhoon warning"
    listing = await closure(
        restarted, Command("telegram", "telegram:1", "u9", "closure", ("XSHG", "2027"))
    )
    assert any("Typhoon warning" in line and "[operator]" in line for line in listing.lines)
    await closure(
        restarted,
        Command("telegram", "telegram:-1001", op_user, "closure", ("rm", "XSHG", "2027-03-03")),
    )
    assert restarted.markets["XSHG"].is_session(date(2027, 3, 3))


async def test_a_non_operator_cannot_change_a_calendar_and_redis_is_unchanged(
    redis_client: Redis, redis_server: RedisServer
) -> None:
    clock = SimClock(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
    core = await build_core(make_settings(redis_server), redis_client, clock)
    before = {k: await redis_client.dump(k) for k in await redis_client.keys("*")}
    for args in (
        ("add", "XSHG", "2027-03-03", "fake"),
        ("open", "XSHG", "2027-02-08"),
        ("rm", "XSHG", "2027-02-08"),
    ):
        # a private chat (the user is "admin of their own chat") is not enough
        cmd = Command("telegram", "telegram:555", "555", "closure", args, can_admin=True)
        refused = await handle(core, cmd)
        assert refused.title.startswith("Only the bot's operators can /closure")
        assert refused.private
    after = {k: await redis_client.dump(k) for k in await redis_client.keys("*")}
    assert after == before
    assert not core.markets["XSHG"].is_session(date(2027, 2, 8))
    assert core.markets["XSHG"].is_session(date(2027, 3, 3))


async def test_closure_arguments_are_validated_in_one_line(
    redis_client: Redis, redis_server: RedisServer
) -> None:
    clock = SimClock(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
    core = await build_core(make_settings(redis_server), redis_client, clock)
    op_user = OPERATOR.split(":")[1]
    cases = {
        ("add", "XXXX", "2027-03-03"): "unknown market",
        ("add", "XSHG", "tomorrow"): "expected a date",
        ("add", "XSHG", "2027-03-06"): "weekends",
        ("add", "XSHG", "2031-03-03"): "out of range",
        ("add", "XSHG"): "usage",
        ("rm", "XSHG", "2027-03-04"): "no operator or provider call",
    }
    for args, expected in cases.items():
        with pytest.raises(UsageError, match=expected) as err:
            await closure(core, Command("telegram", "telegram:1", op_user, "closure", args))
        assert "\n" not in str(err.value)
    assert await redis_client.hgetall("divbot:market:days") == {}


async def test_an_instrument_that_cannot_be_watched_is_named_never_only_skipped(
    redis_client: Redis, redis_server: RedisServer, fake: FakeProviders, session: Any
) -> None:
    day = date(2027, 1, 5)
    clock = SimClock(shanghai(day, 10, 5))
    core = await build_core(make_settings(redis_server, fake.url), redis_client, clock)
    await star50_closes(core, [(date(2027, 1, 4), 1000.0)])
    fake.row("1.000688", f2="-", f124=int(clock.now().timestamp()))  # Eastmoney: no price
    job = quotes_job(core, session)
    for minute in (5, 6, 7):
        clock.set(shanghai(day, 10, minute))
        await job.run_once(clock.now())
        if minute == 5:  # named in /status within the poll
            lines = (await status(core, Command("telegram", "telegram:1", "u1", "status"))).lines
            assert any(line.startswith("BAD watch:STAR50: no usable quote") for line in lines)
    ops = await outbox_to(redis_client, OPS_CHAT)
    assert [a["message"]["title"] for a in ops] == ["STAR 50 is not being watched"]
    assert "no price" in " ".join(ops[0]["message"]["lines"])


def test_divbot_calendars_loads_a_closure_file_into_redis(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import redis as sync_redis

    from bot.cli import main

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    sync = sync_redis.Redis.from_url(redis_server.url, decode_responses=True)
    sync.flushall()
    path = tmp_path / "xshg-2028.toml"
    path.write_text(
        "[XSHG]\nthrough = 2028-12-31\n[[XSHG.closure]]\ndate = 2028-01-03\n"
        'name = "New Year"\nstatus = "confirmed"\n'
    )
    assert main(["calendars", "load", str(path)]) == 0
    assert sync.hgetall("divbot:market:days").keys() == {"XSHG:2028-01-03"}
    assert main(["calendars", "--market", "XSHG", "--year", "2028"]) == 0
    shown = capsys.readouterr().out
    assert "2028-01-03 Mon  New Year (confirmed)" in shown
    assert "operator" in shown
    path.write_text('[XSHG]\nthrough = "soon"\n')
    assert main(["calendars", "load", str(path)]) == 2
    assert "XSHG.through" in capsys.readouterr().err
    sync.close()


async def test_a_closure_listing_for_a_year_out_of_range_is_one_line(
    redis_client: Redis, redis_server: RedisServer
) -> None:
    clock = SimClock(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
    core = await build_core(make_settings(redis_server), redis_client, clock)
    for year in ("0000", "1990", "9999"):
        answer = await handle(core, Command("telegram", "telegram:1", "1", "closure", (year,)))
        assert answer.title.startswith(f"year {int(year)} is out of range"), answer.title
        assert answer.private
