"""`divbot replay`: drive the real jobs over bundled data on a simulated clock.

The replay always runs on a fresh embedded store (it never touches a live Redis), with
the house rules from seeds/ and one console chat subscribed to every family, and prints
every alert as it would have been delivered, at its simulated time. Same data, same
alerts: the run is deterministic.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.clock import SimClock
from bot.config import Settings
from bot.divergence.snapshot import refresh_pulse
from bot.macro import history as macro_history
from bot.macro.calendar import scheduled_releases
from bot.market.quote_feed import QuoteFeed
from bot.market.validate import QuoteValidator
from bot.models import SUBSCRIBABLE, DailyCloses
from bot.sources.replay_quotes import ReplaySource
from bot.state.connect import embedded_redis
from bot.transports.console import ConsoleSender
from bot.wiring import build_core, seed_house_rules
from jobs.digest import DigestJob
from jobs.headlines import build_replay_job
from jobs.macro import replay_macro_job
from jobs.quotes import QuotesJob
from jobs.runner import run_replay
from jobs.trading_day import TradingDayCheck

DEMO_CHAT = "console:demo"


@dataclass
class ReplayResult:
    delivered: int = 0
    steps: int = 0


async def replay(
    settings: Settings, start: date, end: date, data_dir: Path, out: TextIO | None = None
) -> ReplayResult:
    out = out or sys.stdout
    zone = ZoneInfo(settings.timezone)
    begin = datetime.combine(start, time(0), zone)
    until = datetime.combine(end + timedelta(days=1), time(0), zone)
    clock = SimClock(begin)
    core = await build_core(settings, embedded_redis(), clock)
    source = ReplaySource(data_dir, clock, core.markets)
    instruments = [i for i in core.watchlist if source.covers(i)]
    for inst in instruments:
        history = await source.fetch_daily(inst, date(1990, 1, 1), start - timedelta(days=1))
        await core.store.put_closes(inst.key, history)
        core.service.engine.set_closes(inst.key, DailyCloses.from_pairs(history))
    await seed_house_rules(core, begin)
    await macro_history.seed_if_empty(
        core.redis,
        settings.seeds_dir / "macro_history.csv",
        released_before=start,
        scheduled=scheduled_releases(core.releases.seed),
    )
    await refresh_pulse(core)
    for family in SUBSCRIBABLE:
        await core.store.subscribe(DEMO_CHAT, family)
    # The demo prints every alert on its own line, as it fired: no grouping.
    await core.noise.prefs.set_group_window(DEMO_CHAT, 0)
    feed = QuoteFeed(
        [source], QuoteValidator(core.markets.__getitem__, settings), core.health, core.watchlist
    )
    # The provider's last word on each day, as live (jobs.trading_day); no operators here.
    day_check = TradingDayCheck(
        core.markets, instruments, core.days, core.health, core.redis, feed.trade_times
    )
    job = QuotesJob(
        instruments,
        feed,
        core.service,
        core.markets,
        core.health,
        poll_interval_s=15 * 60,
        close_settle_s=0,
        day_check=day_check,
    )
    console = ConsoleSender(out, settings.timezone)
    result = ReplayResult()
    rules = await core.store.rules_of("house")
    print(
        f"Replaying {start:%d %b %Y} to {end:%d %b %Y} over {data_dir} "
        f"(synthetic series, see seeds/README.md)",
        file=out,
    )
    print(f"{len(rules)} house rules; times in {settings.timezone}", file=out)
    print("", file=out)

    async def deliver() -> None:
        # Steps are minutes apart on the simulated clock, so a grouping window opened
        # by this step has closed before the next one: release it now (bot.chat.gate).
        await core.noise.flush(clock.now(), early_s=core.settings.noise_group_window_s)
        await core.outbox.deliver({"console": console})

    # The digest is the /divergence table after each Shanghai close (no image on a console).
    digest = DigestJob(core, with_chart=False)
    headlines = build_replay_job(core)  # SYNTHETIC headlines, seeds/headlines_january2026.toml
    # Macro releases: only the 30-minute reminder, so each release reads as two lines
    # (reminder, print) among the index alerts rather than three.
    macro = await replay_macro_job(core, begin, offsets_min=[30])
    result.steps = await run_replay([job, headlines, macro, digest], clock, until, deliver)
    result.delivered = console.printed
    print(
        f"\n{console.printed} alerts delivered; "
        f"{await core.outbox.pending()} pending, {await core.outbox.dead()} failed",
        file=out,
    )
    await core.redis.aclose()
    return result
