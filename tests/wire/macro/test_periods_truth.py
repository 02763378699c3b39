"""Every macro figure names its period, and a year-old one is not "latest" (issue 16.8).

The store holds the seed history public by 9 Jan 2026 (PPI to Nov 2025, 38 months below
zero; PMI to Dec 2025). The clock is then moved to December 2026, with no print of 2026
stored: what a bot whose provider went quiet for a year would hold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from redis.asyncio import Redis

from bot.clock import SimClock
from bot.macro.alerts import publish_print
from bot.macro.history import load_history
from bot.wiring import Core
from handlers.base import Command
from handlers.dispatch import handle
from tests.wire.macro.conftest import CHAT, queued

DEC_2026 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 Beijing, 2 Dec 2026


def cmd(name: str, *args: str) -> Command:
    return Command("telegram", CHAT, "u1", name, tuple(args), can_admin=True)


async def test_macro_in_december_2026_calls_last_years_prints_stale(
    core: Core, macro_clock: SimClock
) -> None:
    macro_clock.set(DEC_2026)
    summary = await handle(core, cmd("macro"))
    assert "latest prints" in summary.title
    ppi = next(line for line in summary.lines if line.startswith("PPI "))
    # the period is named and the print is marked stale: December 2025 was due by mid-January
    assert ppi.startswith("PPI Nov 2025 −2.2% y/y (stale: Dec 2025 overdue)")
    pmi = next(line for line in summary.lines if line.startswith("Manufacturing PMI "))
    assert "Dec 2025 50.1 (stale: Jan 2026 overdue)" in pmi
    one = await handle(core, cmd("macro", "ppi"))
    assert one.title.startswith("PPI Nov 2025 −2.2% y/y (stale: Dec 2025 overdue)")


async def test_a_print_after_a_ten_month_gap_names_the_gap_not_a_40_month_streak(
    core: Core, redis_client: Redis, macro_clock: SimClock
) -> None:
    macro_clock.set(DEC_2026)
    # PPI Dec 2025 came in; then nothing until Nov 2026's print is set by hand
    await publish_print(core, "PPI", date(2025, 12, 1), -1.9, entry=None, source="t", at=DEC_2026)
    published = await publish_print(
        core, "PPI", date(2026, 11, 1), -1.5, entry=None, source="t", at=DEC_2026
    )
    assert published is not None
    message = published.alert.message
    # by hand: Jan..Oct 2026 are missing; the run before Nov 2026 is empty, so the print
    # is a first month below zero as far as the bot knows, and it says why
    assert message.title == (
        "PPI Nov 2026 −1.5% y/y, first month below zero "
        "(Jan 2026–Oct 2026 missing: no streak counted across it)"
    )
    assert ("Previous", "n/a (Oct 2026 missing)") in message.fields  # not Dec 2025's −1.9
    history = await handle(core, cmd("macro", "ppi"))
    assert history.lines[:3] == [
        "Nov 2026     −1.5% y/y",
        "Jan 2026–Oct 2026 missing",
        "Dec 2025     −1.9% y/y",
    ]
    assert len(await queued(redis_client)) == 2


async def test_previous_comes_from_the_provider_when_the_history_lacks_it(
    core: Core, redis_client: Redis, macro_clock: SimClock
) -> None:
    macro_clock.set(DEC_2026)
    published = await publish_print(
        core,
        "IP",
        date(2026, 11, 1),
        4.8,
        entry=None,
        source="t",
        at=DEC_2026,
        provider_previous=(date(2026, 10, 1), 4.9),  # the provider's answer held October
    )
    assert published is not None
    assert ("Previous", "+4.9% y/y (Oct 2026)") in published.alert.message.fields
    assert (date(2026, 10, 1), 4.9) in await load_history(redis_client, "IP")
