"""The alerting service: the engine with its state kept in Redis, and alerts dispatched.

It loads rules, armed states, cooldown clocks, daily closes and last quotes from the
store into the engine; on each batch of quotes it persists what changed, builds alerts
for the crossings and hands each to the outbox for every chat that should get it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.alerts import build_alert
from bot.clock import Clock
from bot.config import Settings
from bot.engine import Engine
from bot.models import HOUSE, Alert, Quote, Rule, RuleKind
from bot.outbox import Outbox
from bot.rulespec import RuleSpec
from bot.store import Store
from bot.watchlist import Watchlist

if TYPE_CHECKING:
    from bot.noise.gate import Gate

log = logging.getLogger(__name__)


class AlertService:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        watchlist: Watchlist,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.watchlist = watchlist
        self.settings = settings
        self.engine = Engine()
        # The leader's token when watchers run under leader election (bot.leader): their
        # enqueues are fenced so a stale leader's alerts are refused.
        self.fence: Callable[[], str | None] = lambda: None
        # The noise gate (bot.noise.gate), set by build_core: levels, flap protection,
        # quiet hours and grouping between dispatch and the outbox.
        self.gate: Gate | None = None

    async def load(self) -> None:
        """Rebuild the engine from Redis: what a restart does."""
        for inst in self.watchlist:
            self.engine.set_closes(inst.key, await self.store.load_closes(inst.key))
        self.engine.latest.update(await self.store.load_quotes(self.watchlist.keys()))
        self.engine.last_fired.update(await self.store.load_fired())
        async for rules, states in self.store.rule_batches():
            self.engine.load_rules(rules, states)
        log.info("engine loaded %d rules", len(self.engine.rules))

    # -- rules -----------------------------------------------------------------
    def make_rule(self, rule_id: str, owner: str, spec: RuleSpec, now: datetime) -> Rule:
        if spec.hysteresis is not None:
            hysteresis = spec.hysteresis
        elif spec.kind is RuleKind.LEVEL:  # a level's band is a share of the level
            hysteresis = spec.threshold * self.settings.default_hysteresis / 100
        else:
            hysteresis = self.settings.default_hysteresis
        return Rule(
            id=rule_id,
            owner=owner,
            kind=spec.kind,
            instrument=spec.instrument,
            threshold=spec.threshold,
            direction=spec.direction,
            window=spec.window,
            other=spec.other,
            cooldown_s=(
                spec.cooldown_s if spec.cooldown_s is not None else self.settings.default_cooldown_s
            ),
            hysteresis=hysteresis,
            created_at=now.timestamp(),
        )

    async def add_rule(self, owner: str, spec: RuleSpec, now: datetime) -> tuple[Rule, bool]:
        """Store and index a rule; the flag says whether it is armed now."""
        rule = self.make_rule(await self.store.new_rule_id(), owner, spec, now)
        await self.store.save_rule(rule)
        states = self.engine.add_rule(rule)
        await self.store.save_states([(rule.id, side, armed) for side, armed in states.items()])
        return rule, all(states.values())

    async def remove_rule(self, rule: Rule) -> None:
        await self.store.delete_rule(rule)
        self.engine.remove_rule(rule.id)

    async def set_paused(self, rule: Rule, paused: bool) -> Rule:
        updated = replace(rule, paused=paused)
        await self.store.save_rule(updated)
        states = self.engine.add_rule(updated)
        await self.store.save_states([(rule.id, s, a) for s, a in states.items()])
        return updated

    async def pause_by_id(self, rule_id: str) -> None:
        """Pause a rule (flap protection); nothing when it no longer exists."""
        rule = await self.store.get_rule(rule_id)
        if rule is not None and not rule.paused:
            await self.set_paused(rule, True)

    async def move_chat(self, old: str, new: str) -> None:
        """A chat got a new id (Telegram group -> supergroup): its rules follow it."""
        for rule in await self.store.move_chat(old, new):
            if rule.id in self.engine.rules:  # the index is keyed by rule id, not owner
                self.engine.rules[rule.id] = replace(self.engine.rules[rule.id], owner=new)
        log.info("chat %s moved to %s", old, new)

    # -- quotes ----------------------------------------------------------------
    async def on_quotes(self, quotes: list[Quote], now: datetime) -> list[Alert]:
        alerts: list[Alert] = []
        for quote in quotes:
            result = self.engine.on_quote(quote, now)
            await self.store.save_states(result.state)
            await self.store.save_quote(quote)
            for crossing in result.crossings:
                if crossing.suppressed:
                    log.info("rule %s crossed inside its cooldown: no alert", crossing.rule.id)
                    continue
                await self.store.set_fired(crossing.rule.id, now.timestamp())
                alert = build_alert(crossing, self.watchlist, self.settings.timezone)
                await self.dispatch(alert)
                alerts.append(alert)
            if quote.closing:
                self.engine.put_close(quote.instrument, quote.session, quote.price)
                await self.store.put_closes(quote.instrument, [(quote.session, quote.price)])
        return alerts

    async def dispatch(
        self, alert: Alert, accept: Callable[[str], bool] | None = None
    ) -> list[str]:
        """Queue an alert for its owner, or for every subscriber of a house alert.

        `accept`, when given, narrows the subscribers further (a chat's headline
        categories, severity floor and keywords: see jobs.headlines)."""
        if alert.owner and alert.owner != HOUSE:
            targets = {alert.owner}
        else:
            targets = await self.store.subscribers(alert.family)
        if accept is not None:
            targets = {chat for chat in targets if accept(chat)}
        queued = []
        now = self.clock.now().timestamp()
        for chat in sorted(targets):
            if chat == alert.owner and await self.store.is_dormant(chat):
                continue  # it blocked or removed the bot; /start brings it back
            until = await self.store.muted_until(chat)
            if alert.rule_id and not (until and until > now):
                until = await self.store.rule_muted_until(chat, alert.rule_id)
            if until and until > now:
                await self.store.count("muted")
                await self.note(alert, chat, "muted")
                continue
            if await self.admit(alert, chat, self.fence()):
                queued.append(chat)
        await self.store.count("alerts_fired")
        if self.outbox.metrics is not None:
            self.outbox.metrics.alerts_fired.labels(alert.family.value).inc()
        return queued

    async def admit(self, alert: Alert, chat: str, fence: str | None = None) -> bool:
        """Hand one (alert, chat) to the noise gate, or straight to the outbox without one.
        True when the alert will reach the chat (queued, grouped or held)."""
        if self.gate is None:
            return await self.outbox.enqueue(alert, chat, fence)
        return await self.gate.admit(alert, chat, fence)

    async def note(self, alert: Alert, chat: str, status: str) -> None:
        """Write an alert the chat will not get (muted) to its history."""
        if self.gate is not None:
            await self.gate.history.record(chat, alert, status)
