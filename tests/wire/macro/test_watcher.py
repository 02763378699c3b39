"""The macro watcher against a real Redis and a fake datacenter on loopback: reminders
once each across a restart, a print after three empty polls, a provider that never
answers (late notice, then /macro set), malformed answers raising nothing, chat filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.cmdref import for_platform
from bot.macro.alerts import publish_print
from bot.macro.calendar import seed_calendar
from bot.macro.history import load_history
from bot.macro.replay_prints import ReplayMacroSource
from bot.sources.datacenter import EastmoneyMacroSource
from bot.state.leader import LEADER
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from jobs.runner import run_replay
from tests.fakes.datacenter import FakeDatacenter
from tests.fakes.providers import Reply
from tests.wire.macro.conftest import CHAT, make_job, queued, titles

RELEASE = datetime(2026, 1, 9, 1, 30, tzinfo=UTC)  # 09:30 Beijing, 9 January
PPI_DEC = {"REPORT_DATE": "2025-12-01 00:00:00", "TIME": "2025年12月份", "BASE": 98.1,
           "BASE_SAME": -1.9, "BASE_ACCUMULATE": 97.4}  # fmt: skip
CPI_DEC = {"REPORT_DATE": "2025-12-01 00:00:00", "TIME": "2025年12月份",
           "NATIONAL_SAME": 0.8, "NATIONAL_BASE": 100.8}  # fmt: skip


def no_prints(core: Core) -> ReplayMacroSource:
    """A source that covers nothing: reminders only."""
    return ReplayMacroSource([], core.clock)


def cmd(name: str, *args: str, admin: bool = True, chat: str = CHAT) -> Command:
    return Command("telegram", chat, "u1", name, tuple(args), can_admin=admin)


async def test_reminders_fire_once_each_across_a_restart(
    core: Core, redis_client: Redis, macro_clock: SimClock
) -> None:
    first = make_job(core, no_prints(core))
    await first.refresh()
    assert first.next_run(macro_clock.now()) == RELEASE - timedelta(minutes=30)
    await run_replay([first], macro_clock, RELEASE - timedelta(minutes=10))
    assert await titles(redis_client) == ["In 30 min: CPI Dec 2025, PPI Dec 2025"]
    (chat, alert), = await queued(redis_client)  # fmt: skip
    assert chat == CHAT
    assert "consensus −2.0% y/y · previous −2.2% y/y (Nov 2025)" in alert.message.lines[2]

    # Restart: a new job (no memory) on the same Redis, run at the same moment and after.
    second = make_job(core, no_prints(core))
    await second.run_once(macro_clock.now())
    await run_replay([second], macro_clock, RELEASE - timedelta(seconds=1))
    third = make_job(core, no_prints(core))
    await third.run_once(macro_clock.now())
    assert await titles(redis_client) == [
        "In 30 min: CPI Dec 2025, PPI Dec 2025",
        "In 5 min: CPI Dec 2025, PPI Dec 2025",
    ]


async def test_after_downtime_only_the_latest_due_reminder_is_sent(
    core: Core, redis_client: Redis, macro_clock: SimClock
) -> None:
    macro_clock.set(RELEASE - timedelta(minutes=3))  # down through both reminder times
    await make_job(core, no_prints(core)).run_once(macro_clock.now())
    await make_job(core, no_prints(core)).run_once(macro_clock.now())
    assert await titles(redis_client) == ["In 5 min: CPI Dec 2025, PPI Dec 2025"]


async def test_a_print_arriving_after_three_empty_polls(
    core: Core,
    redis_client: Redis,
    macro_clock: SimClock,
    datacenter: FakeDatacenter,
    eastmoney_macro: EastmoneyMacroSource,
) -> None:
    job = make_job(core, eastmoney_macro, offsets=(30,), timeout_s=600)
    macro_clock.set(RELEASE - timedelta(minutes=1))
    await job.refresh()
    for _ in range(3):  # 09:30, 09:30:30, 09:31: the provider still shows November
        when = job.next_run(macro_clock.now())
        assert when is not None
        macro_clock.set(when)
        await job.run_once(when)
    assert len(datacenter.hits("RPT_ECONOMY_PPI")) == 3
    assert await titles(redis_client) == []
    datacenter.release("RPT_ECONOMY_PPI", PPI_DEC)
    datacenter.release("RPT_ECONOMY_CPI", CPI_DEC)
    when = job.next_run(macro_clock.now())
    assert when == RELEASE + timedelta(seconds=90)
    macro_clock.set(when)
    await job.run_once(when)
    assert await titles(redis_client) == [
        "CPI Dec 2025 +0.8% y/y, 3rd straight month above zero",
        "PPI Dec 2025 −1.9% y/y, 39th straight month below zero",
    ]
    ppi = (await queued(redis_client))[1][1].message
    assert dict(ppi.fields) == {
        "Actual": "−1.9% y/y",
        "Consensus": "−2.0% y/y",
        "Previous": "−2.2% y/y (Nov 2025)",
    }
    assert ppi.lines[1] == "Surprise +0.1pp vs consensus (σ needs 4 past surprises, have 0)"
    assert (await load_history(redis_client, "PPI"))[-1] == (
        RELEASE.date().replace(2025, 12, 1),
        -1.9,
    )
    assert core.health.is_ok("eastmoney-macro")
    # Done: no more polling of this release, and a restart does not publish it again.
    assert job.next_run(macro_clock.now()) > RELEASE + timedelta(days=1)
    await make_job(core, eastmoney_macro).run_once(macro_clock.now())
    assert len(await titles(redis_client)) == 2


async def test_a_provider_that_never_answers_then_an_admin_sets_the_print(
    core: Core,
    redis_client: Redis,
    macro_clock: SimClock,
    datacenter: FakeDatacenter,
    eastmoney_macro: EastmoneyMacroSource,
) -> None:
    for report in ("RPT_ECONOMY_PPI", "RPT_ECONOMY_CPI"):
        datacenter.always(report, Reply(status=503, body="busy"))
    job = make_job(core, eastmoney_macro, offsets=(30,))
    macro_clock.set(RELEASE - timedelta(seconds=1))
    await job.refresh()
    await run_replay([job], macro_clock, RELEASE + timedelta(minutes=5))
    assert len(datacenter.hits("RPT_ECONOMY_PPI")) == 3  # +0s, +30s, and at the 60s timeout
    assert await titles(redis_client) == ["CPI Dec 2025 is late", "PPI Dec 2025 is late"]
    late = (await queued(redis_client))[1][1].message
    assert [for_platform(line, "telegram") for line in late.lines] == [
        "Scheduled Fri 09 Jan 09:30 CST; no new print from eastmoney-macro after 1m.",
        "Last answer: HTTP 503 after 1 try",
        "An operator can publish it by hand: /macro set PPI VALUE",
    ]
    health = core.health.get("eastmoney-macro")
    assert health is not None
    assert (health.ok, health.reason) == (False, "HTTP 503 after 1 try")

    # a chat admin who is not one of the bot's operators may not publish a print for all
    not_operator = Command("telegram", CHAT, "u2", "macro", ("set", "PPI", "-1.9"), can_admin=True)
    refused = await handle(core, not_operator)
    assert refused.private
    assert refused.title.startswith("Only the bot's operators can /macro set")
    assert len(await titles(redis_client)) == 2
    done = await handle(core, cmd("macro", "set", "PPI", "-1.9"))
    assert done.title == "Published PPI Dec 2025: −1.9% y/y"
    assert (await titles(redis_client))[
        -1
    ] == "PPI Dec 2025 −1.9% y/y, 39th straight month below zero"
    again = await handle(core, cmd("macro", "set", "PPI", "-1.8"))
    assert again.title == "PPI Dec 2025 was already published; nothing changed"
    assert (await load_history(redis_client, "PPI"))[-1][1] == -1.9


async def test_malformed_answers_raise_no_alert_and_mark_the_source_unhealthy(
    core: Core,
    redis_client: Redis,
    macro_clock: SimClock,
    datacenter: FakeDatacenter,
    eastmoney_macro: EastmoneyMacroSource,
) -> None:
    bad = [
        Reply(body='{"result":{"data":[{"REPORT_DATE":"2025-12-01 00:00:00","BASE_SAME":NaN}]}}'),
        Reply(body={"result": {"data": [{**PPI_DEC, "BASE_SAME": None}]}}),
        Reply(body={"result": {"data": [{**PPI_DEC, "REPORT_DATE": "soon"}]}}),
        Reply(body={"result": None, "success": False, "code": 9201}),
        Reply(body="<html>maintenance</html>"),
        Reply(body='{"result": {"data": [{"REPORT_DATE": "2025-12-01 00:00:00", "BASE_SAME": -1.'),
    ]
    datacenter.always("RPT_ECONOMY_CPI", Reply(status=503))
    job = make_job(core, eastmoney_macro, offsets=(30,))
    macro_clock.set(RELEASE)
    reasons = []
    for i, reply in enumerate(bad):
        datacenter.queue("RPT_ECONOMY_PPI", reply)
        await job.run_once(RELEASE + timedelta(seconds=5 * i))
        health = core.health.get("eastmoney-macro")
        assert health is not None
        assert not health.ok
        reasons.append(health.reason)
    assert await titles(redis_client) == []
    assert (await load_history(redis_client, "PPI"))[-1][0].month == 11  # nothing stored
    assert reasons[0] == "row 0: BASE_SAME missing or not a number"
    assert reasons[3] == "no data (result null, code 9201)"
    assert reasons[4] == "answered HTML, not JSON"
    assert reasons[5] == "answered malformed or truncated JSON"
    stored = await core.store.load_health()
    assert stored["eastmoney-macro"]["ok"] is False


async def test_chat_filters_pass_only_big_surprises_or_streak_changes(
    core: Core, redis_client: Redis, macro_clock: SimClock
) -> None:
    from bot.models import Family

    big, streaky = "telegram:-1002", "telegram:-1003"
    for chat in (big, streaky):
        await core.store.subscribe(chat, Family.MACRO)
    assert (await handle(core, cmd("macro", "alert", "PPI", "surprise", "0.3", chat=big))).title
    await handle(core, cmd("macro", "alert", "PPI", "streak", chat=streaky))
    entries = {e.key: e for e in seed_calendar(core.settings.seeds_dir)}
    macro_clock.set(RELEASE)
    ppi = entries["PPI:2025-12"]
    assert ppi.period is not None
    await publish_print(core, "PPI", ppi.period, -1.9, entry=ppi, source="test", at=RELEASE)
    # +0.1 surprise, the streak goes on: only the unfiltered chat hears it
    assert [chat for chat, _ in await queued(redis_client)] == [CHAT]
    jan = entries["PPI:2026-01"]
    assert jan.period is not None
    await publish_print(core, "PPI", jan.period, 0.0, entry=jan, source="test", at=RELEASE)
    chats = [chat for chat, a in await queued(redis_client) if "zero" in a.message.title]
    assert sorted(chats) == sorted([CHAT, CHAT, streaky])  # the streak ended at zero
    last = (await queued(redis_client))[-1][1].message.title
    assert last == "PPI Jan 2026 +0.0% y/y, at zero: ends 39 months below zero"


async def test_sigma_of_past_surprises_once_there_are_enough(
    core: Core, redis_client: Redis, macro_clock: SimClock
) -> None:
    from bot.state import keys

    await redis_client.hset(
        keys.macro_surprises("PPI"),
        mapping={
            "2025-07-01": "0.1",
            "2025-08-01": "-0.1",
            "2025-09-01": "0.1",
            "2025-10-01": "-0.1",
        },
    )
    entry = {e.key: e for e in seed_calendar(core.settings.seeds_dir)}["PPI:2025-12"]
    assert entry.period is not None
    published = await publish_print(
        core, "PPI", entry.period, -1.9, entry=entry, source="test", at=RELEASE
    )
    assert published is not None
    assert (
        published.alert.message.lines[1]
        == "Surprise +0.1pp vs consensus (+0.9σ of 4 past surprises)"
    )


async def test_year_to_date_gdp_is_posted_as_such_and_the_quarter_can_still_be_set(
    core: Core,
    redis_client: Redis,
    macro_clock: SimClock,
    eastmoney_macro: EastmoneyMacroSource,
) -> None:
    gdp_release = datetime(2026, 1, 19, 2, 0, tzinfo=UTC)
    macro_clock.set(gdp_release)
    job = make_job(core, eastmoney_macro, offsets=(30,))
    await job.run_once(gdp_release)
    posted = [t for t in await titles(redis_client) if t.startswith("GDP")]
    assert posted == ["GDP year-to-date 2025 (to Q4) +5.0% y/y"]
    assert (await load_history(redis_client, "GDP_YTD"))[-1][1] == 5.0
    assert (await load_history(redis_client, "GDP"))[-1][0].month == 7  # Q4 not faked
    done = await handle(core, cmd("macro", "set", "GDP", "4.5", "2025-Q4"))
    assert done.title == "Published GDP Q4 2025: +4.5% y/y"
    assert (await titles(redis_client))[
        -1
    ] == "GDP Q4 2025 +4.5% y/y, 2nd straight quarter below target"


async def test_a_print_seen_by_a_leader_whose_term_ended_is_published_by_the_next(
    core: Core,
    redis_client: Redis,
    macro_clock: SimClock,
    datacenter: FakeDatacenter,
    eastmoney_macro: EastmoneyMacroSource,
) -> None:
    """The release marked published, the print stored and the alert recorded are one
    fenced write: a leader whose term ended writes none of them, and the next leader
    publishes the print (the stale one had stored nothing that would make it skip it)."""
    datacenter.release("RPT_ECONOMY_PPI", PPI_DEC)
    datacenter.release("RPT_ECONOMY_CPI", CPI_DEC)
    macro_clock.set(RELEASE + timedelta(seconds=30))
    await redis_client.set(LEADER, "b:2")
    stale = await build_core(core.settings, redis_client, macro_clock, fence=lambda: "a:1")
    job = make_job(stale, eastmoney_macro, offsets=(30,), timeout_s=600)
    await job.run_once(macro_clock.now())
    assert await titles(redis_client) == []
    assert (await load_history(redis_client, "PPI"))[-1][0] < RELEASE.date().replace(2025, 12, 1)
    leader = await build_core(core.settings, redis_client, macro_clock, fence=lambda: "b:2")
    await make_job(leader, eastmoney_macro, offsets=(30,), timeout_s=600).run_once(
        macro_clock.now()
    )
    assert await titles(redis_client) == [
        "CPI Dec 2025 +0.8% y/y, 3rd straight month above zero",
        "PPI Dec 2025 −1.9% y/y, 39th straight month below zero",
    ]
