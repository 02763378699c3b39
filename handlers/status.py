"""/status: sources' health, the outbox, calendars, version."""

from __future__ import annotations

from bot import __version__, fmt
from bot.core import Core
from bot.models import Message
from handlers.base import Command, UsageError


async def status(core: Core, cmd: Command) -> Message:
    if cmd.args:
        raise UsageError("usage: /status (takes no arguments)")
    now = core.clock.now()
    lines = []
    for h in core.health.all():
        seen = (
            f"last ok {fmt.duration((now - h.last_ok).total_seconds())} ago"
            if h.last_ok
            else "never ok"
        )
        lines.append(
            f"{'ok ' if h.ok else 'BAD'} {h.name}: {h.reason or seen}"
            + (f" ({seen})" if h.reason else "")
        )
    if not lines:
        lines.append("no source polled yet")
    for key, q in sorted(core.service.engine.latest.items()):
        lines.append(
            f"    {key}: {fmt.price(q.price)} at {fmt.when(q.at, core.settings.timezone)}"
            f" from {q.source}"
        )
    for code, market in sorted(core.markets.items()):
        days_left = (market.last_day - now.date()).days
        if days_left < 60:
            lines.append(
                f"calendar {code} data ends {market.last_day} ({days_left} days): "
                "upgrade exchange_calendars"
            )
    pending, dead = await core.outbox.pending(), await core.outbox.dead()
    stats = await core.store.stats()
    lines.append(
        f"deliveries: {pending} pending, {dead} failed; "
        f"{stats.get('alerts_fired', 0)} alerts fired, {stats.get('muted', 0)} muted"
    )
    lines.append(f"rules: {len(core.service.engine.rules)} · version {__version__}")
    return Message(title="Status", lines=lines, preformatted=True, at=now)
