"""`divbot replay`: drive the real jobs over bundled data on a simulated clock.

The replay always runs on a fresh embedded store (it never touches a live Redis), with
the house rules from seeds/ and one console chat subscribed to every family, and prints
every alert as it would have been delivered, at its simulated time. Same data, same
alerts: the run is deterministic.

`divbot replay --scenario FILE` replays a scenario (bot.scenario: its days, data, chats,
commands at given times, provider faults and bad ticks) through the same jobs, engine and
pipeline, records what each scenario chat received, and compares it with what the file
expects.
"""

from __future__ import annotations

import csv
import shlex
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.clock import Clock, SimClock
from bot.config import Settings
from bot.delivery.deliverer import Deliverer
from bot.divergence.snapshot import refresh_pulse
from bot.macro import history as macro_history
from bot.macro.calendar import parse_period, scheduled_releases
from bot.macro.history import DEFINITIONS
from bot.macro.replay_prints import ReplayMacroSource
from bot.market.quote_feed import QuoteFeed
from bot.market.sessions import Market
from bot.market.validate import QuoteValidator
from bot.models import SUBSCRIBABLE, ChatRef, DailyCloses, Family, Instrument, Message
from bot.scenario import Delivered, Difference, Scenario, ScenarioError, compare
from bot.sources.base import RawQuote, SourceError
from bot.sources.datacenter import MacroPrint
from bot.sources.replay_quotes import ReplaySource, read_bars, read_daily
from bot.state.connect import embedded_redis
from bot.transports.console import ConsoleSender, render_text
from bot.wiring import Core, build_core, seed_house_rules
from handlers.base import Command
from handlers.dispatch import handle
from jobs.digest import DigestJob
from jobs.headlines import build_replay_job
from jobs.macro import replay_macro_job
from jobs.quotes import QuotesJob
from jobs.runner import Job, run_replay
from jobs.trading_day import TradingDayCheck

DEMO_CHAT = "console:demo"


@dataclass
class ReplayResult:
    delivered: int = 0
    steps: int = 0
    alerts: list[Delivered] = field(default_factory=list)  # what scenario chats received
    replies: list[str] = field(default_factory=list)  # scenario commands that were refused


@dataclass
class Plan:
    """What a replay runs: the demo's, or a scenario's (`scenario_plan`)."""

    chats: dict[str, list[Family]]  # console chat -> families it subscribes to
    house_rules: bool = True
    jobs: tuple[str, ...] = ("quotes", "headlines", "macro", "digest")
    poll_minutes: int = 15
    setup: list[tuple[str, str]] = field(default_factory=list)  # (chat, command) at start
    steps: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, chat, command)
    faults: list[tuple[datetime, datetime, str]] = field(default_factory=list)
    record: bool = False  # keep every delivered alert (scenarios)
    headlines: Path | None = None  # a file of [[headline]] tables (default: the seeds')
    prints: list[tuple[str, str, float, datetime | None]] = field(default_factory=list)


DEMO = Plan({DEMO_CHAT: list(SUBSCRIBABLE)})


class RecordingSender(ConsoleSender):
    """The console, also keeping what each chat received and when (simulated time)."""

    def __init__(self, out: TextIO, tz: str, clock: Clock) -> None:
        super().__init__(out, tz)
        self.clock = clock
        self.received: list[Delivered] = []

    async def send(self, chat: ChatRef, message: Message) -> object:  # type: ignore[override]
        text = render_text(message, message.tz or self.tz)
        self.received.append(Delivered(self.clock.now(), chat.key, message.title, text))
        print(f"[{chat.key}]", file=self.out)
        return await super().send(chat, message)


class FaultySource:
    """A quote source that misbehaves when a scenario says so: `down` raises the
    provider's error, `frozen` repeats its last answer before the fault."""

    def __init__(
        self, inner: ReplaySource, faults: list[tuple[datetime, datetime, str]], clock: Clock
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.faults = faults
        self.clock = clock
        self._last: dict[str, RawQuote] = {}

    def covers(self, instrument: Instrument) -> bool:
        return self.inner.covers(instrument)

    async def fetch_quotes(self, instruments: list[Instrument]) -> dict[str, RawQuote]:
        now = self.clock.now()
        for start, end, kind in self.faults:
            if start <= now < end:
                if kind == "down":
                    raise SourceError(self.name, "provider down (scenario fault)")
                return {i.key: self._last[i.key] for i in instruments if i.key in self._last}
        answer = await self.inner.fetch_quotes(instruments)
        self._last.update(answer)
        return answer

    async def fetch_daily(
        self, instrument: Instrument, start: date, end: date
    ) -> list[tuple[date, float]]:
        return await self.inner.fetch_daily(instrument, start, end)


async def replay(
    settings: Settings,
    start: date,
    end: date,
    data_dir: Path,
    out: TextIO | None = None,
    plan: Plan = DEMO,
    title: str | None = None,
) -> ReplayResult:
    out = out or sys.stdout
    zone = ZoneInfo(settings.timezone)
    begin = datetime.combine(start, time(0), zone)
    until = datetime.combine(end + timedelta(days=1), time(0), zone)
    clock = SimClock(begin)
    core = await build_core(settings, embedded_redis(), clock)
    replay_source = ReplaySource(data_dir, clock, core.markets)
    source = FaultySource(replay_source, plan.faults, clock) if plan.faults else replay_source
    instruments = [i for i in core.watchlist if source.covers(i)]
    for inst in instruments:
        history = await source.fetch_daily(inst, date(1990, 1, 1), start - timedelta(days=1))
        await core.store.put_closes(inst.key, history)
        core.service.engine.set_closes(inst.key, DailyCloses.from_pairs(history))
    if plan.house_rules:
        await seed_house_rules(core, begin)
    await macro_history.seed_if_empty(
        core.redis,
        settings.seeds_dir / "macro_history.csv",
        released_before=start,
        scheduled=scheduled_releases(core.releases.seed),
    )
    await refresh_pulse(core)
    for chat, families in plan.chats.items():
        for family in families:
            await core.store.subscribe(chat, family)
        # The replay prints every alert on its own line, as it fired: no grouping (a
        # scenario's setup may turn it on).
        await core.noise.prefs.set_group_window(chat, 0)
    result = ReplayResult()
    for chat, command in plan.setup:
        await _command(core, chat, command, result)
    feed = QuoteFeed(
        [source], QuoteValidator(core.markets.__getitem__, settings), core.health, core.watchlist
    )
    # The provider's last word on each day, as live (jobs.trading_day); no operators here.
    day_check = TradingDayCheck(
        core.markets, instruments, core.days, core.health, core.redis, feed.trade_times
    )
    quotes = QuotesJob(
        instruments,
        feed,
        core.service,
        core.markets,
        core.health,
        poll_interval_s=plan.poll_minutes * 60,
        close_settle_s=0,
        day_check=day_check,
    )
    console = (
        RecordingSender(out, settings.timezone, clock)
        if plan.record
        else ConsoleSender(out, settings.timezone)
    )
    rules = await core.store.rules_of("house")
    print(
        title
        or f"Replaying {start:%d %b %Y} to {end:%d %b %Y} over {data_dir} "
        f"(synthetic series, see seeds/README.md)",
        file=out,
    )
    print(f"{len(rules)} house rules; times in {settings.timezone}", file=out)
    print("", file=out)

    # The live delivery loop, one send at a time, on the simulated clock: what a step
    # queued is delivered before the next step (bot.delivery.deliverer.Deliverer.drain).
    delivery = Deliverer(
        core.outbox,
        {"console": console},
        {},
        max_in_flight=1,
        now=lambda: clock.now().timestamp(),
    )

    async def deliver() -> None:
        # Steps are minutes apart on the simulated clock, so a grouping window opened
        # by this step has closed before the next one: release it now (bot.chat.gate).
        await core.noise.flush(clock.now(), early_s=core.settings.noise_group_window_s)
        await delivery.drain()

    jobs: list[Job] = []
    if plan.steps:
        jobs.append(ScriptJob(core, plan.steps, result))
    if plan.record:
        # Held alerts go out when a chat's quiet hours end (live: jobs/noise every
        # second); a scenario looks every quarter hour, so they arrive on the quarter.
        jobs.append(QuarterHours())
    for name in plan.jobs:
        if name == "quotes":
            jobs.append(quotes)
        elif name == "headlines":  # SYNTHETIC headlines, seeds/headlines_january2026.toml
            jobs.append(build_replay_job(core, plan.headlines))
        elif name == "macro":
            # Macro releases: only the 30-minute reminder, so each release reads as two
            # lines (reminder, print) among the index alerts rather than three.
            own = _prints(core, plan.prints, clock) if plan.prints else None
            jobs.append(await replay_macro_job(core, begin, offsets_min=[30], prints=own))
        elif name == "digest":
            # The digest is the /divergence table after each Shanghai close (no image).
            jobs.append(DigestJob(core, with_chart=False))
    result.steps = await run_replay(jobs, clock, until, deliver)
    result.delivered = console.printed
    if isinstance(console, RecordingSender):
        result.alerts = console.received
    print(
        f"\n{console.printed} alerts delivered; "
        f"{await core.outbox.pending()} pending, {await core.outbox.dead()} failed",
        file=out,
    )
    await core.redis.aclose()
    return result


async def _command(core: Core, chat: str, text: str, result: ReplayResult) -> None:
    """Run one scenario command as the chat's admin typed it; a refusal is kept."""
    words = shlex.split(text)
    name, args = words[0].lstrip("/"), tuple(words[1:])
    answer = await handle(core, Command("console", chat, "scenario", name, args, can_admin=True))
    if answer.private:  # usage errors and refusals are private
        result.replies.append(f"{chat} /{text}: {answer.title}")


class ScriptJob:
    """A scenario's commands, each run at its time (before the jobs due then)."""

    name = "scenario"

    def __init__(
        self, core: Core, steps: list[tuple[datetime, str, str]], result: ReplayResult
    ) -> None:
        self.core = core
        self.steps = sorted(steps, key=lambda s: s[0])
        self.result = result
        self.done = 0

    def next_run(self, now: datetime) -> datetime | None:
        return self.steps[self.done][0] if self.done < len(self.steps) else None

    async def run_once(self, now: datetime) -> None:
        while self.done < len(self.steps) and self.steps[self.done][0] <= now:
            _, chat, command = self.steps[self.done]
            self.done += 1
            await _command(self.core, chat, command, self.result)


def _prints(
    core: Core, rows: list[tuple[str, str, float, datetime | None]], clock: Clock
) -> ReplayMacroSource:
    """A scenario's own macro prints, each available from its release time."""
    scheduled = scheduled_releases(core.releases.seed)
    prints = []
    for indicator, period_word, value, at in rows:
        known = DEFINITIONS.get(indicator)
        period = parse_period(period_word, known.quarterly if known else None)[0]
        when = at or scheduled.get((indicator, period))
        if when is None:
            raise ScenarioError(
                f"print {indicator} {period_word}: no release in the calendar; give its `at`"
            )
        prints.append((when, MacroPrint(indicator, period, value)))
    return ReplayMacroSource(prints, clock)


class QuarterHours:
    """Wakes the replay on every quarter hour (its deliveries then release held alerts)."""

    name = "quarter-hours"

    def next_run(self, now: datetime) -> datetime | None:
        return now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)

    async def run_once(self, now: datetime) -> None:
        return None


# -- scenarios --------------------------------------------------------------------------


def scenario_plan(scenario: Scenario) -> Plan:
    f = scenario.file
    return Plan(
        chats={c.key: [Family(x) for x in c.subscribe] for c in f.chat},
        house_rules=f.house_rules,
        jobs=tuple(f.jobs),
        poll_minutes=f.poll_minutes,
        setup=[(c.key, command) for c in f.chat for command in c.setup],
        steps=[(s.at, scenario.chat_of(s), s.command) for s in f.step],
        faults=[(x.start, x.end, x.kind) for x in f.fault],
        record=True,
        headlines=scenario.path if f.headline else None,
        prints=[(p.indicator, p.period, p.value, p.at) for p in f.print],
    )


def write_data(
    scenario: Scenario, seeds: Path, markets: Callable[[str], Market], into: Path
) -> None:
    """The scenario's data folder: seeds/history (data = "seeds") with the scenario's
    series replacing whole instruments, its bad ticks added as bars, and each session's
    close, where the series does not give it, taken from its last bar in the session."""
    (into / "daily").mkdir(parents=True)
    (into / "bars").mkdir()
    daily: dict[str, list[tuple[date, float]]] = {}
    bars: dict[str, list[tuple[datetime, float]]] = {}
    if scenario.file.data == "seeds":
        for path in sorted((seeds / "history" / "daily").glob("*.csv")):
            daily[path.stem] = read_daily(path)
        for path in sorted((seeds / "history" / "bars").glob("*.csv")):
            bars[path.stem] = read_bars(path)
    for key, all_rows in scenario.bars.items():
        given = dict(scenario.daily.get(key, []))
        market = markets(key)
        rows = [(at, p) for at, p in all_rows if _in_hours(market, at)]
        for day in sorted({at.astimezone(market.tz).date() for at, _ in rows}):
            session = market.session_on(day)
            inside = [p for at, p in rows if session and session.open <= at <= session.close]
            if inside and day not in given:
                given[day] = inside[-1]
        daily[key] = sorted(given.items())
        bars[key] = list(rows)
    for key, rows2 in scenario.daily.items():
        if key not in scenario.bars:
            daily[key] = rows2
            bars.setdefault(key, [])
    for tick in scenario.file.tick:
        bars.setdefault(tick.instrument, []).append((tick.at, tick.price))
    for key, d in daily.items():
        with (into / "daily" / f"{key}.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["date", "close"])
            w.writerows((x.isoformat(), repr(c)) for x, c in d)
    for key, b in bars.items():
        with (into / "bars" / f"{key}.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["at", "price"])
            w.writerows(
                (at.astimezone(ZoneInfo("UTC")).isoformat(), repr(p)) for at, p in sorted(b)
            )


def _in_hours(market: Market, at: datetime) -> bool:
    """Trading at `at`, or at its session's morning close or close (the edge bars)."""
    session = market.session_at(at) or market.last_session_before(at)
    if session is None:
        return False
    return session.is_trading(at) or at in (session.close, session.break_start)


@dataclass
class ScenarioRun:
    result: ReplayResult
    difference: Difference


async def run_scenario(
    settings: Settings, scenario: Scenario, out: TextIO | None = None
) -> ScenarioRun:
    """Replay a scenario and compare what its chats received with what it expects."""
    from bot.market.sessions import market as load_market
    from bot.market.watchlist import Watchlist

    f = scenario.file
    settings = settings.model_copy(update={"timezone": f.tz})
    watchlist = Watchlist.load(settings.seeds_dir / "watchlist.toml")
    cache: dict[str, Market] = {}

    def market_of(key: str) -> Market:
        code = watchlist[key].calendar
        if code not in cache:
            cache[code] = load_market(code, settings.seeds_dir)
        return cache[code]

    with tempfile.TemporaryDirectory(prefix="divbot-scenario-") as tmp:
        data = Path(tmp) / "data"
        write_data(scenario, settings.seeds_dir, market_of, data)
        label = "synthetic data" if f.synthetic else "data as reported"
        result = await replay(
            settings,
            f.start,
            f.end,
            data,
            out,
            scenario_plan(scenario),
            title=f"Scenario {scenario.path.name}: {f.name} ({label})",
        )
    return ScenarioRun(result, compare(scenario, result.alerts))
