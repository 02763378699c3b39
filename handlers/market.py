"""/quote: the latest accepted price of instruments, with their moves over each window."""

from __future__ import annotations

from typing import Protocol

from bot import fmt
from bot.clock import Clock
from bot.market.sessions import Market
from bot.market.watchlist import UnknownInstrument, Watchlist
from bot.models import Message, Window
from bot.rules.service import AlertService
from handlers.base import Command, UsageError


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def markets(self) -> dict[str, Market]: ...

    @property
    def service(self) -> AlertService: ...

    @property
    def watchlist(self) -> Watchlist: ...


MAX_SYMBOLS = 10


async def quote(core: Needs, cmd: Command) -> Message:
    names = list(cmd.args) or [i.key for i in core.watchlist if i.role not in ("stock", "macro")]
    if len(names) > MAX_SYMBOLS:
        raise UsageError(f"at most {MAX_SYMBOLS} symbols at a time, got {len(names)}")
    try:
        instruments = [core.watchlist.resolve(n) for n in names]
    except UnknownInstrument as exc:
        raise UsageError(str(exc)) from None
    now = core.clock.now()
    header = f"{'':<10}{'last':>11}{'1d':>8}{'mtd':>8}{'ytd':>8}  market"
    lines = [header]
    stamp = None
    for inst in instruments:
        state = "open" if core.markets[inst.calendar].is_trading(now) else "closed"
        q = core.service.latest_quote(inst.key)
        if q is None:
            # Started while the market is closed: its last close is the last price.
            q = core.service.last_close_quote(inst.key)
            if q is None:
                lines.append(f"{inst.name:<10}{'no quote yet':>35}  {state}")
                continue
            state += f", last close {q.session:%d %b}"
        else:
            stamp = max(stamp, q.at) if stamp else q.at
        moves = []
        for window in (Window.D1, Window.MTD, Window.YTD):
            change = core.service.leg_of(q, window).change_pct
            moves.append(fmt.pct(change) if change is not None else "n/a")
        lines.append(
            f"{inst.name:<10}{fmt.price(q.price):>11}"
            f"{moves[0]:>8}{moves[1]:>8}{moves[2]:>8}  {state}"
        )
    return Message(
        title="Quotes",
        lines=lines,
        preformatted=True,
        at=stamp,
        source="last accepted quote per instrument",
    )
