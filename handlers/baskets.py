"""/basket add|rm, /baskets: a desk's own basket of instruments, set rules on like an index.

`/basket add AI3 CAMBRICON 688981 HK01347 [weights=equal|cap]` makes the basket AI3 from
instruments named by code, name or alias. A member the bot does not know yet is found
as `/watch` finds it (search, a first quote, its calendar), and this chat watches it from
then on; a name that could mean several instruments is refused with their codes, and a
refusal stores nothing (no basket, no watch). Weights: equal, or free-float market cap
(one currency: members of one market). Its level is chained from its members' returns
(bot.market.baskets), starts at 1,000 and behaves like an index: `/quote AI3`,
`/alert add AI3 1d up 2`, `/alert add AI3 vs NDX mtd up 5`, `/divergence 1d AI3 NDX`.
The chat that made a basket (its admins) removes it.
"""

from __future__ import annotations

from typing import Protocol

from bot.cmdref import ref
from bot.fmt import excerpt
from bot.market.baskets import MAX_MEMBERS, Basket, Scheme, establish, normalised
from bot.market.finder import Refused
from bot.market.sessions import Market
from bot.models import INSTRUMENT_KEY, Instrument, Message
from bot.state.store import Store
from handlers import watch
from handlers.base import Command, UsageError, reply


def _watch_first(name: str) -> str:
    """'/watch NVDA', or just '/watch it' for a name too long to repeat."""
    return ref(f"watch {name}") if len(name) <= 20 and name.isprintable() else ref("watch") + " it"


ABOUT = f"Members by code or name; one the bot does not know is found as {ref('watch')} finds it."
USAGE = (
    f"{ref('basket add NAME MEMBER MEMBER… [weights=equal|cap]')}, {ref('basket rm NAME')}, "
    f"{ref('baskets')}. Members by code or name (found as {ref('watch')} finds them)."
)


class Needs(watch.Needs, Protocol):
    """What /watch uses, and the stores a basket's level needs."""

    @property
    def store(self) -> Store: ...

    @property
    def markets(self) -> dict[str, Market]: ...


async def basket(core: Needs, cmd: Command) -> Message:
    sub = cmd.args[0].lower() if cmd.args else ""
    if sub == "add":
        return await _add(core, cmd, list(cmd.args[1:]))
    if sub in ("rm", "remove", "del"):
        return await _remove(core, cmd, cmd.args[1:])
    raise UsageError(f"usage: {USAGE}")


async def _add(core: Needs, cmd: Command, words: list[str]) -> Message:
    scheme: Scheme = "equal"
    if words and words[-1].lower().startswith("weights="):
        value = words.pop().lower().removeprefix("weights=")
        if value not in ("equal", "cap"):
            raise UsageError(f"weights= takes equal or cap, not {excerpt(value)}")
        scheme = "cap" if value == "cap" else "equal"
    if len(words) < 3:
        raise UsageError(f"usage: {USAGE}")
    key, names = words[0].upper(), words[1:]
    if not INSTRUMENT_KEY.match(key):
        raise UsageError(
            f"a basket's name is 2-12 capital letters or digits, not {excerpt(words[0])}"
        )
    await core.catalogue.sync(core.watchlist)
    if key in core.watchlist or _known(core, key) is not None:
        raise UsageError(f"{key} already names an instrument or a basket; choose another name")
    if len(names) > MAX_MEMBERS:
        raise UsageError(f"a basket has at most {MAX_MEMBERS} members, got {len(names)}")
    members: list[Instrument] = []
    found: list[Instrument] = []  # members found by search: this chat watches them too
    for name in names:
        inst = _known(core, name)
        if inst is None:
            inst = await _find(core, name)
            if inst.key not in core.watchlist.seeded:  # every chat has the seed ones
                found.append(inst)
        if inst.key in core.catalogue.baskets:
            raise UsageError(f"{inst.key} is a basket: a basket's members are instruments")
        if inst.key in (m.key for m in members):
            raise UsageError(f"{inst.key} is named twice")
        members.append(inst)
    if scheme == "cap":
        if len({m.calendar for m in members}) > 1:
            raise UsageError("weights=cap needs members of one market (caps in one currency)")
        caps = await core.finder.caps(members) if core.finder is not None else {}
        missing = [m.key for m in members if m.key not in caps]
        if missing:
            raise UsageError(
                f"no free-float market cap for {', '.join(missing)}: try weights=equal"
            )
        weights = normalised({m.key: caps[m.key] for m in members})
    else:
        weights = tuple(1 / len(members) for _ in members)
    made = Basket(
        key, tuple(m.key for m in members), weights, scheme, cmd.chat, members[0].calendar
    )
    market = core.markets[made.calendar]
    last = market.last_session_before(core.clock.now())
    if last is None:
        raise UsageError(f"no past session of {made.calendar} to start {key} from")
    await _check_room(core, cmd.chat, found)
    watched = await _watch_found(core, cmd.chat, found)
    if not await core.catalogue.add_basket(made):
        for inst in watched:  # a refusal stores nothing
            await core.catalogue.remove(cmd.chat, inst.key)
        raise UsageError(f"{key} already names a basket; choose another name")
    core.service.set_closes(key, await establish(made, core.store, last.day))
    await core.catalogue.sync(core.watchlist)
    shares = " · ".join(f"{m} {w:.0%}" for m, w in zip(made.members, made.weights, strict=True))
    also = [f"This chat now watches {', '.join(i.key for i in watched)} too"] if watched else []
    return reply(
        f"Basket {key}: {len(members)} members, {scheme} weights",
        shares,
        *also,
        f"{ref(f'quote {key}')} · {ref(f'alert add {key} 1d up 2')} · "
        f"{ref(f'alert add {key} vs NDX mtd up 5')}",
    )


async def _find(core: Needs, name: str) -> Instrument:
    """A member the bot does not know yet, found and validated as /watch does (nothing
    stored here)."""
    if core.finder is None:
        raise UsageError(
            f"{excerpt(name)} is not an instrument the bot knows: {_watch_first(name)} first"
        )
    try:
        found = await core.finder.find(name)
        if isinstance(found, list):
            codes = ", ".join(c.code for c in found[:4])
            raise UsageError(
                f"{excerpt(name)} could mean {len(found)} instruments ({codes}): "
                "name the member by its code"
            )
        if isinstance(found, Instrument):
            return found
        return await core.finder.admit(found, core.clock.now())
    except Refused as exc:
        raise UsageError(str(exc)) from None


def _full(who: str, most: int) -> UsageError:
    return UsageError(
        f"{who} would watch more than {most} instrument{'s' if most != 1 else ''}, "
        f"the most it may; nothing stored"
    )


async def _check_room(core: Needs, chat: str, found: list[Instrument]) -> None:
    """Refuse, before anything is stored, members found by search past /watch's caps."""
    s = core.settings
    watching = set(await core.catalogue.watching(chat))
    if len(watching | {i.key for i in found}) > s.watch_max_per_chat:
        raise _full("this chat", s.watch_max_per_chat)
    new = {i.key for i in found} - set(core.watchlist.keys())
    if new and await core.catalogue.size() + len(new) > s.watch_max_total:
        raise _full("the bot", s.watch_max_total)


async def _watch_found(core: Needs, chat: str, found: list[Instrument]) -> list[Instrument]:
    """This chat watches the members found by search, all of them or none (the caps were
    checked; a change by another chat meanwhile undoes what this one added). Returns
    those newly watched."""
    s = core.settings
    watched: list[Instrument] = []
    for inst in found:
        seeded = inst.key in core.watchlist.seeded
        result = await core.catalogue.add(
            chat, inst, seeded, s.watch_max_per_chat, s.watch_max_total
        )
        if result in ("chat-full", "full"):
            for done in watched:
                await core.catalogue.remove(chat, done.key)
            if result == "chat-full":
                raise _full("this chat", s.watch_max_per_chat)
            raise _full("the bot", s.watch_max_total)
        if result != "already":
            watched.append(inst)
    return watched


def _known(core: Needs, words: str) -> Instrument | None:
    if core.finder is not None:
        return core.finder.known(words)
    try:
        return core.watchlist.resolve(words)
    except ValueError:
        return None


async def _remove(core: Needs, cmd: Command, words: tuple[str, ...]) -> Message:
    if len(words) != 1:
        raise UsageError(f"usage: {USAGE}")
    await core.catalogue.sync(core.watchlist)
    made = core.catalogue.baskets.get(words[0].upper())
    if made is None:
        raise UsageError(f"no basket {excerpt(words[0])}; {ref('baskets')} lists them")
    if made.illustration:
        raise UsageError(f"{made.key} is the seed basket, an illustration every chat shares")
    if made.owner != cmd.chat:
        raise UsageError(f"{made.key} was made in another chat: only that chat removes it")
    await core.catalogue.remove_basket(made.key)
    await core.catalogue.sync(core.watchlist)
    return reply(f"Removed basket {made.key}")


async def baskets(core: Needs, cmd: Command) -> Message:
    await core.catalogue.sync(core.watchlist)
    if not core.catalogue.baskets:
        return reply("No baskets yet.", f"usage: {USAGE}")
    lines = []
    for made in sorted(core.catalogue.baskets.values(), key=lambda b: b.key):
        q = core.service.latest_quote(made.key) or core.service.last_close_quote(made.key)
        level = f"{q.price:,.2f}" if q is not None else "no level yet"
        note = " (illustration, not advice)" if made.illustration else ""
        members = " ".join(made.members)
        lines.append(f"{made.key}{note}: {members} · {made.scheme} · {level}")
    return reply("Baskets", *lines)
