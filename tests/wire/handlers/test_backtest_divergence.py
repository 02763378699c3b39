"""/backtest of a divergence-score rule against a real Redis: the fires over SYNTHETIC
closes and macro prints (tests/support/pulse_data.py: a print published on a holiday,
one after the close) are the hand-computed ones and what the live engine fires when the
same closes and prints arrive as they would live."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.divergence.snapshot import refresh_pulse
from bot.macro import history as macro_history
from bot.models import Quote
from bot.wiring import build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.support import pulse_data as pd

CHAT = "telegram:-1001"
AFTER = datetime(2025, 12, 1, 2, 0, tzinfo=UTC)  # Mon 1 Dec 2025, before Shanghai opens
SETTLE = timedelta(minutes=30)  # the history job's refresh after a close (any delay will do)


def cmd(name: str, *args: str) -> Command:
    return Command("telegram", CHAT, "u1", name, tuple(args), can_admin=True)


async def test_a_divergence_backtest_fires_by_hand_and_as_live(
    redis_client: Redis, settings: Settings
) -> None:
    probe = await build_core(settings, redis_client, SimClock(AFTER))
    sessions = probe.markets[probe.watchlist["STAR50"].calendar].sessions_between(pd.FIRST, pd.LAST)
    closes = pd.alternating([s.day for s in sessions])
    await probe.store.put_closes("STAR50", closes)
    # Without macro history there is no pulse: no score, no fire, and the answer says why
    bare = await handle(probe, cmd("backtest", *pd.RULE, "1y"))
    assert bare.lines[0].startswith("0 fires")
    assert bare.lines[2].startswith("no economy pulse in the period")
    for period, value, at in pd.PMI:
        await macro_history.save_prints(redis_client, "PMI", [(period, value)], at)

    core = await build_core(settings, redis_client, SimClock(AFTER))
    answer = await handle(core, cmd("backtest", *pd.RULE, "1y"))
    assert answer.title == (
        "Backtest: STAR 50 decoupling score 1d up 2 · 28 Nov 2024 to 28 Nov 2025"
    ), answer.title
    assert answer.lines[0].startswith(f"{len(pd.FIRES)} fires · hysteresis 0.5")
    assert answer.lines[1] == "per year: 2024 0 · 2025 9"
    assert answer.lines[2] == (
        "score = the window return's z-score minus the economy pulse of the macro prints "
        "published by each close from 01 Sep 2025"
    )
    listed = answer.lines[-1].removeprefix("fires: ").split(", ")
    assert [date.fromisoformat(f.split()[0]) for f in listed] == pd.FIRES
    for fire in listed:  # each about +1.00 - (-1.91)
        assert float(fire.split()[1].replace("+", "")) == pytest.approx(2.90, abs=0.02), fire
    assert answer.image is not None

    # Live: a fresh Redis with the closes up to the last session before September and the
    # prints public by then; the rest arrive in time order as live: a print when published
    # (the macro watcher refreshes the pulse), a close as the closing quote, then the
    # history job's refresh (the close stored, the engine's closes and pulse refreshed).
    await redis_client.flushall()
    start = date(2025, 9, 1)
    await probe.store.put_closes("STAR50", [(d, c) for d, c in closes if d < start])
    clock = SimClock(datetime(2025, 8, 30, tzinfo=UTC))
    for period, value, at in pd.PMI:
        if at <= clock.now():
            await macro_history.save_prints(redis_client, "PMI", [(period, value)], at)
    live = await build_core(settings, redis_client, clock)
    await refresh_pulse(live)
    added = await handle(live, cmd("alert", "add", *pd.RULE))
    assert added.title.startswith("Added rule"), added.title
    price = dict(closes)
    events: list[tuple[datetime, int, object]] = []
    events += [(at, 0, (p, v)) for p, v, at in pd.PMI if at > clock.now()]
    events += [(s.close, 1, s.day) for s in sessions if s.day >= start]
    events += [(s.close + SETTLE, 2, s.day) for s in sessions if s.day >= start]
    fired: list[date] = []
    for at, kind, what in sorted(events, key=lambda e: (e[0], e[1])):
        clock.set(at)
        if kind == 0:
            period, value = what  # type: ignore[misc]
            await macro_history.save_prints(redis_client, "PMI", [(period, value)], at)
            await refresh_pulse(live)
        elif kind == 1:
            assert isinstance(what, date)
            quote = Quote("STAR50", price[what], at, what, "history", closing=True)
            fired += [a.session for a in await live.service.on_quotes([quote], at)]
        else:
            assert isinstance(what, date)
            await live.store.put_closes("STAR50", [(what, price[what])])
            live.service.set_closes("STAR50", await live.store.load_closes("STAR50"))
            await refresh_pulse(live)
    assert fired == pd.FIRES
