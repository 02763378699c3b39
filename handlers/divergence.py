"""/divergence [WINDOW] [X [B]]: how far China tech has run from the economy and US tech.

Without instruments: STAR 50 and Hang Seng TECH against the Nasdaq-100. The reply is the
aligned table of bot.divergence.snapshot with the chart (bot.divergence.chart) as its
image; the numbers are as of the clock, so a replay or a test gets the same answer every time.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.chat.timezone import chat_timezone
from bot.clock import Clock
from bot.cmdref import ref
from bot.divergence import snapshot
from bot.divergence.metrics import WINDOWS
from bot.divergence.snapshot import Sources
from bot.divergence.watch_next import watch_line
from bot.fmt import excerpt
from bot.headlines.store import HeadlineStore
from bot.macro.calendar import ReleaseCalendar
from bot.market import margin
from bot.market.watchlist import UnknownInstrument, Watchlist
from bot.models import Message
from handlers.base import Command, UsageError


class Needs(Sources, Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def headlines(self) -> HeadlineStore: ...

    @property
    def redis(self) -> Any: ...

    @property
    def releases(self) -> ReleaseCalendar: ...

    @property
    def watchlist(self) -> Watchlist: ...


USAGE = (
    f"usage: {ref('divergence [WINDOW] [X [B]]')} (windows: "
    + " ".join(WINDOWS)
    + f"; e.g. {ref('divergence 3m')}, {ref('divergence ytd STAR50 NDX')})"
)


def parse(core: Needs, args: tuple[str, ...]) -> tuple[str, list[tuple[str, str]]]:
    """(window, [(X, B), …]) from the arguments; UsageError with one line otherwise."""
    words = [w for w in args if w.strip()]
    window = snapshot.DEFAULT_WINDOW
    if words and words[0].lower() in WINDOWS:
        window = words.pop(0).lower()
    if len(words) > 2:
        raise UsageError(USAGE)
    keys = []
    for word in words:
        try:
            keys.append(core.watchlist.resolve(word).key)
        except UnknownInstrument:
            valid = " ".join(core.watchlist.keys())
            raise UsageError(
                f"unknown window or instrument {excerpt(word)}; windows: {' '.join(WINDOWS)}; "
                f"instruments: {valid}"
            ) from None
    if not keys:
        return window, [(x, snapshot.DEFAULT_BENCHMARK) for x in snapshot.DEFAULT_TECH]
    bench = keys[1] if len(keys) == 2 else snapshot.DEFAULT_BENCHMARK
    if keys[0] == bench:
        raise UsageError(f"compare two different instruments, got {keys[0]} twice; {USAGE}")
    return window, [(keys[0], bench)]


async def divergence(core: Needs, cmd: Command) -> Message:
    window, pairs = parse(core, cmd.args)
    snap = await snapshot.snapshot(core, window, pairs)
    message = snapshot.render(
        core,
        snap,
        await watch_line(
            core.headlines,
            core.releases,
            await chat_timezone(core.redis, cmd.chat),
            core.clock.now(),
        ),
    )
    figures = await margin.latest(core.store)
    if figures is not None:  # the leverage behind the rally (jobs/margin.py)
        message.lines.append(margin.line_text(figures))
    message.image = await snapshot.chart_png(core, snap)
    return message
