"""/alerts and /alert: a chat's own rules — list, add, remove, pause, resume, mute."""

from __future__ import annotations

from typing import Protocol

from bot import fmt
from bot.chat.gate import Gate
from bot.clock import Clock
from bot.cmdref import ref
from bot.config import Settings
from bot.market.watchlist import Watchlist
from bot.models import HOUSE, RULE_ID, Button, Message, Rule, RuleKind
from bot.rules.crossing_alerts import describe_rule
from bot.rules.grammar import USAGE, RuleSpecError, parse_duration, parse_rule
from bot.rules.service import AlertService
from bot.state.store import Store
from handlers import buttons
from handlers.base import Command, UsageError, reply


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def noise(self) -> Gate: ...

    @property
    def service(self) -> AlertService: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def watchlist(self) -> Watchlist: ...


BACKTEST_BUTTONS = 24  # one "Backtest" button per rule, for the first this many
WORDS = {  # (what is crossed, what crosses it) in a confirmation
    RuleKind.LEVEL: ("level", "the price"),
    RuleKind.MOVE: ("threshold", "the move"),
    RuleKind.SPREAD: ("threshold", "the spread"),
    RuleKind.DIVERGENCE: ("threshold", "the divergence score"),
}
ALERT_USAGE = " | ".join(
    ref(f"alert {words}") for words in ("add …", "rm ID", "pause ID", "resume ID", "mute ID 1h")
)
HELP = f"usage: {ALERT_USAGE} · adding a rule: " + USAGE.removeprefix("usage: ")


def rule_text(core: Needs, rule: Rule) -> str:
    names = [core.watchlist[rule.instrument].name]
    if rule.other:
        names.append(core.watchlist[rule.other].name)
    return describe_rule(rule.kind, names, rule.window, rule.direction.value, rule.threshold)


def rule_state(core: Needs, rule: Rule) -> str:
    if rule.paused:
        return "paused"
    armed = [core.service.is_armed(rule.id, side) for side in (1, -1)]
    if any(a for a in armed if a):
        return "armed"
    if core.service.is_pending(rule.id):
        return "waiting for a first quote"
    return "waiting to re-arm"


async def list_alerts(core: Needs, cmd: Command) -> Message:
    rules = await core.store.rules_of(cmd.chat)
    if not rules:
        return reply(
            "No alert rules in this chat yet",
            f"Add one: {ref('alert add STAR50 1d up 3')} (or {ref('help alert')}).",
        )
    lines = [f"{r.id:<5} {rule_text(core, r)} · {rule_state(core, r)}" for r in rules]
    shown = rules[:BACKTEST_BUTTONS]
    if len(rules) > len(shown):
        lines.append(
            f"(backtest the others with {ref('backtest ID')}, "
            f"e.g. {ref(f'backtest {rules[-1].id}')})"
        )
    return Message(
        title=f"{len(rules)} alert rule{'s' if len(rules) != 1 else ''}",
        lines=lines,
        preformatted=True,
        buttons=[Button(f"Backtest {r.id}", buttons.backtest(r.id)) for r in shown],
    )


async def _owned_rule(core: Needs, cmd: Command, rule_id: str) -> Rule:
    if not RULE_ID.match(rule_id):
        raise UsageError(
            f"{fmt.excerpt(rule_id)} is not a rule id; ids look like r12 (see {ref('alerts')})"
        )
    rule = await core.store.get_rule(rule_id)
    if rule is None or rule.owner != cmd.chat:
        raise UsageError(f"no rule {rule_id} in this chat; {ref('alerts')} lists this chat's rules")
    return rule


async def alert(core: Needs, cmd: Command) -> Message:
    if not cmd.args:
        raise UsageError(f"usage: {ALERT_USAGE}")
    sub, rest = cmd.args[0].lower(), list(cmd.args[1:])
    if sub == "add":
        return await _add(core, cmd, rest)
    if sub in ("rm", "remove", "del", "delete", "pause", "resume", "mute"):
        if not rest:
            raise UsageError(f"usage: {ref(f'alert {sub} ID')} (ids are listed by {ref('alerts')})")
        rule_id = rest[0].lower()
        if sub == "mute":
            return await _mute(core, cmd, rule_id, rest[1:])
        if sub == "resume" and RULE_ID.match(rule_id):
            resumed = await _resume_flap(core, cmd, rule_id)
            if resumed is not None:
                return resumed
        rule = await _owned_rule(core, cmd, rule_id)
        if sub in ("pause", "resume"):
            updated = await core.service.set_paused(rule, sub == "pause")
            state = "paused" if updated.paused else rule_state(core, updated)
            return reply(f"Rule {rule.id} {state}", rule_text(core, rule))
        await core.service.remove_rule(rule)
        return reply(f"Removed rule {rule.id}", rule_text(core, rule))
    raise UsageError(f"unknown {ref('alert')} action {fmt.excerpt(sub)}; usage: {ALERT_USAGE}")


async def _resume_flap(core: Needs, cmd: Command, rule_id: str) -> Message | None:
    """Resume after flap protection (bot.chat.gate): a house rule paused for this chat
    only is resumed here; the chat's own rule also forgets its recent fires. None when
    the ordinary resume should answer."""
    rule = await core.store.get_rule(rule_id)
    if rule is None or rule.owner not in (cmd.chat, HOUSE):
        return None
    was_paused_here = await core.noise.resume_here(cmd.chat, rule_id)
    if rule.owner == HOUSE:
        if not was_paused_here:
            raise UsageError(f"rule {rule_id} is not paused in this chat")
        return reply(f"Rule {rule.id} resumed here", rule_text(core, rule))
    return None


async def _add(core: Needs, cmd: Command, words: list[str]) -> Message:
    try:
        spec = parse_rule(words, core.watchlist)
    except RuleSpecError as exc:
        raise UsageError(str(exc)) from None
    limit = core.settings.max_rules_per_chat
    if await core.store.count_rules(cmd.chat) >= limit:
        raise UsageError(
            f"this chat has {limit} rules, the most allowed; {ref('alert rm')} one first"
        )
    rule, armed = await core.service.add_rule(cmd.chat, spec, core.clock.now())
    # A level rule is about the price, the others about a move, a spread or a score.
    line, mover = WORDS.get(rule.kind, ("threshold", "the move"))
    if armed is None:
        note = (
            f"no quote yet: the first one arms it, or, if the market is already past the "
            f"{line} then, it fires only on a later cross"
        )
    elif armed:
        note = f"armed: it fires when {mover} crosses the {line}"
    else:
        note = f"already past the {line} now: it fires on the next cross, after it re-arms"
    return reply(
        f"Added rule {rule.id}: {rule_text(core, rule)}",
        note,
        f"cooldown {fmt.duration(rule.cooldown_s)} · remove with {ref(f'alert rm {rule.id}')}",
    )


async def _mute(core: Needs, cmd: Command, rule_id: str, rest: list[str]) -> Message:
    if not RULE_ID.match(rule_id):
        raise UsageError(
            f"{fmt.excerpt(rule_id)} is not a rule id; ids look like r12 (see {ref('alerts')})"
        )
    rule = await core.store.get_rule(rule_id)
    if rule is None or rule.owner not in (cmd.chat, HOUSE):
        raise UsageError(
            f"no rule {rule_id} alerts this chat; {ref('alerts')} lists this chat's rules"
        )
    try:
        seconds = parse_duration(rest[0] if rest else "1h", max_s=7 * 86400)
    except RuleSpecError as exc:
        raise UsageError(str(exc)) from None
    until = core.clock.now().timestamp() + seconds
    await core.store.mute_rule(cmd.chat, rule.id, until, seconds)
    return reply(f"Rule {rule.id} muted here for {fmt.duration(seconds)}", rule_text(core, rule))


__all__ = ["ALERT_USAGE", "HELP", "USAGE", "alert", "list_alerts"]
