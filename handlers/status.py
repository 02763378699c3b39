"""/status: sources' health, last quotes, the outbox, calendars, version.

Any replica can answer: health and last quotes are read from Redis (the leader writes
them), merged with this replica's own memory. While Redis is unreachable it still
answers from memory, and says how many alerts wait to be queued.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot import __version__, fmt
from bot.chat.timezone import chat_timezone
from bot.clock import Clock
from bot.cmdref import ref
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.market.horizons import horizon_line, provisional_line
from bot.market.sessions import Market
from bot.market.watchlist import Watchlist
from bot.models import Message, Quote, SourceHealth
from bot.ops.health import HealthBoard
from bot.ops.operators import Operators
from bot.rules.backlog import UNREACHABLE
from bot.rules.service import AlertService
from bot.state.store import Store
from handlers.base import Command, UsageError


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def health(self) -> HealthBoard: ...

    @property
    def markets(self) -> dict[str, Market]: ...

    @property
    def operators(self) -> Operators: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def redis(self) -> Any: ...

    @property
    def service(self) -> AlertService: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def watchlist(self) -> Watchlist: ...


def _checked(h: SourceHealth) -> float:
    return h.last_checked.timestamp() if h.last_checked else 0.0


async def _health(core: Needs) -> list[SourceHealth]:
    """Newest of what this replica saw and what Redis holds, per source."""
    board = {h.name: h for h in core.health.all()}
    for h in await core.store.stored_health():
        if h.name not in board or _checked(h) > _checked(board[h.name]):
            board[h.name] = h
    return [board[name] for name in sorted(board)]


async def _quotes(core: Needs) -> dict[str, Quote]:
    latest = core.service.latest_quotes()
    for key, q in (await core.store.load_quotes(core.watchlist.keys())).items():
        if key not in latest or q.at > latest[key].at:
            latest[key] = q
    return latest


def _for_everyone(name: str, reason: str) -> str:
    """What a source's trouble means to someone who is not an operator: an instrument not
    watched holds its alerts; why a provider or feed fails is the operators' detail."""
    if name.startswith("watch:") and reason:
        return "no usable quote: alerts on it wait for one"
    return ""


async def status(core: Needs, cmd: Command) -> Message:
    if cmd.args:
        raise UsageError(f"usage: {ref('status')} (takes no arguments)")
    now = core.clock.now()
    try:
        tz = await chat_timezone(core.redis, cmd.chat)  # every time in the chat's own zone
    except UNREACHABLE:
        tz = core.settings.timezone
    lines = []
    try:
        healths, latest, reachable = await _health(core), await _quotes(core), True
    except UNREACHABLE:
        healths, latest, reachable = core.health.all(), core.service.latest_quotes(), False
    # What the operators act on (why a source fails, calendars running out and what to
    # upgrade, provisional closures) is theirs; /status for everyone else keeps to what
    # affects their alerts: which source answers, since when, and what is pending.
    operator = core.operators.is_operator(cmd.platform, cmd.user)
    for h in healths:
        seen = (
            f"last ok {fmt.duration((now - h.last_ok).total_seconds())} ago"
            if h.last_ok
            else "never ok"
        )
        reason = h.reason if operator else _for_everyone(h.name, h.reason)
        lines.append(
            f"{'ok ' if h.ok else 'BAD'} {h.name}: {reason or seen}"
            + (f" ({seen})" if reason else "")
        )
    if not lines:
        lines.append("no source polled yet")
    for key, q in sorted(latest.items()):
        lines.append(f"    {key}: {fmt.price(q.price)} at {fmt.when(q.at, tz)} from {q.source}")
    for _, market in sorted(core.markets.items()):
        today = now.astimezone(market.tz).date()
        shown = [horizon_line(market, today, operator)]
        if operator:
            shown.append(provisional_line(market, today))
        lines += [line for line in shown if line is not None]
    waiting = core.service.backlog.alerts
    if reachable:
        try:
            pending, dead = await core.outbox.pending(), await core.outbox.dead()
            retrying, owed = await core.outbox.retrying(), await core.service.fanout.owed()
            stats = await core.store.stats()
        except UNREACHABLE:
            reachable = False
    if reachable:
        # Every alert is in exactly one of these places from the moment it is raised.
        lines.append(
            f"alerts: {stats.get('alerts_fired', 0)} fired, {owed} being handed to chats, "
            f"{stats.get('muted', 0)} muted"
        )
        lines.append(
            f"deliveries: {stats.get('sent', 0)} sent, {pending} pending "
            f"({retrying} retrying), {dead} failed"
        )
    else:
        lines.append("BAD redis: unreachable; deliveries resume when it answers")
    if waiting:
        lines.append(f"alerts waiting for Redis to be queued: {waiting}")
    lines.append(f"rules: {core.service.rule_count()} · version {__version__}")
    return Message(title="Status", lines=lines, preformatted=True, at=now)
