"""/watch, /unwatch, /watchlist: any A-share, Hong Kong or US stock a trader names.

`/watch 寒武纪` (or 688256, 9988, NVDA, Cambricon) finds the instrument
(bot.market.finder: the watchlist, then Eastmoney's search, then Yahoo's), validates a
new one with its calendar and a first quote, and adds it to the shared catalogue and
this chat's watchlist (bot.market.catalogue); from then on `/quote`, `/alert add` and
`/divergence` take it by code, name or alias, on every replica within a second, and
the leader's quotes watcher polls it. Several candidates come back as buttons, one per
candidate; a delisted or unknown code is refused in one line and nothing is stored.
A chat's admins change its watchlist; anyone reads it.
"""

from __future__ import annotations

from typing import Protocol

from bot import fmt
from bot.clock import Clock
from bot.cmdref import ref
from bot.config import Settings
from bot.fmt import excerpt
from bot.market.catalogue import Catalogue
from bot.market.finder import Finder, Refused
from bot.market.watchlist import Watchlist
from bot.models import Button, Instrument, Message
from bot.rules.service import AlertService
from bot.sources.search import Candidate
from handlers import buttons
from handlers.base import Command, UsageError, reply

ABOUT = "Any A-share (Shanghai, Shenzhen, Beijing), Hong Kong or US stock, by code or name."
USAGE = (
    f"{ref('watch CODE|NAME')} (688256, 寒武纪, 9988, NVDA), {ref('unwatch CODE|NAME')}, "
    f"{ref('watchlist')}. A-shares (Shanghai, Shenzhen, Beijing), Hong Kong and US stocks."
)
MARKET_NAMES = {"SH": "Shanghai", "SZ": "Shenzhen", "BJ": "Beijing", "HK": "Hong Kong", "US": "US"}


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def watchlist(self) -> Watchlist: ...

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def finder(self) -> Finder | None: ...

    @property
    def service(self) -> AlertService: ...


def _choices(words: str, found: list[Candidate]) -> Message:
    lines = [f"{c.code}  {c.name}  ({MARKET_NAMES[c.market]})" for c in found]
    message = reply(f"{excerpt(words)} could mean {len(found)} instruments: choose one", *lines)
    message.buttons = [
        Button(f"{c.code} {c.name}"[:40], buttons.watch(c.eastmoney))
        for c in found
        if c.eastmoney is not None
    ]
    return message


async def watch(core: Needs, cmd: Command) -> Message:
    if not cmd.args:
        raise UsageError(f"usage: {USAGE}")
    words = " ".join(cmd.args)
    if core.finder is None:
        raise UsageError("finding instruments needs the data providers, not connected here")
    await core.catalogue.sync(core.watchlist)  # what other replicas added, first
    try:
        found = await core.finder.find(words)
        if isinstance(found, list):
            return _choices(words, found)
        inst = (
            found
            if isinstance(found, Instrument)
            else await core.finder.admit(found, core.clock.now())
        )
    except Refused as exc:
        raise UsageError(str(exc)) from None
    seeded = inst.key in core.watchlist.seeded
    s = core.settings
    result = await core.catalogue.add(
        cmd.chat, inst, seeded, s.watch_max_per_chat, s.watch_max_total
    )
    if result == "chat-full":
        raise UsageError(
            f"this chat watches {s.watch_max_per_chat} instruments, the most it may; "
            f"{ref('unwatch')} one first"
        )
    if result == "full":
        raise UsageError(
            f"the bot watches {s.watch_max_total} instruments, the most it may; nothing stored"
        )
    if not seeded:
        core.watchlist.add(inst)  # this replica at once; the others within a second
    if result == "already":
        return reply(f"This chat already watches {inst.name} ({inst.key}).")
    return reply(
        f"Watching {inst.name} ({inst.key})",
        f"{inst.calendar} · Eastmoney {inst.eastmoney or '-'} · Yahoo {inst.yahoo or '-'}",
        f"{ref(f'quote {inst.key}')} · {ref(f'alert add {inst.key} 1d up 5')} · "
        f"{ref(f'divergence 1d {inst.key} NDX')}",
    )


async def unwatch(core: Needs, cmd: Command) -> Message:
    if not cmd.args:
        raise UsageError(f"usage: {USAGE}")
    words = " ".join(cmd.args)
    await core.catalogue.sync(core.watchlist)
    inst = core.finder.known(words) if core.finder is not None else None
    if inst is None:
        inst = next((i for i in core.watchlist if i.key == words.strip().upper()), None)
    if inst is None:
        raise UsageError(
            f"this chat does not watch {excerpt(words)}; {ref('watchlist')} shows what it does"
        )
    result = await core.catalogue.remove(cmd.chat, inst.key)
    if result == "not-watched":
        raise UsageError(
            f"this chat does not watch {inst.name}; {ref('watchlist')} shows what it does"
        )
    if result == "gone":
        core.watchlist.remove(inst.key)
    return reply(f"No longer watching {inst.name} ({inst.key}) here.")


async def watchlist(core: Needs, cmd: Command) -> Message:
    await core.catalogue.sync(core.watchlist)
    watched = [
        core.watchlist[k] for k in await core.catalogue.watching(cmd.chat) if k in core.watchlist
    ]
    if not watched:
        return reply("This chat watches no instrument of its own yet.", f"usage: {USAGE}")
    lines = [f"{'':<10}{'':<14}{'last':>11}  market"]
    for inst in watched:
        q = core.service.latest_quote(inst.key)
        last = fmt.price(q.price) if q is not None else "no quote yet"
        lines.append(f"{inst.key:<10}{inst.name[:13]:<14}{last:>11}  {inst.calendar}")
    return Message(title=f"Watchlist ({len(watched)})", lines=lines, preformatted=True)
