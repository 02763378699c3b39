"""The alerting service: the engine with its state kept in Redis, and alerts dispatched.

It loads rules, armed states, cooldown clocks, daily closes and last quotes from the
store into the engine; on each quote it evaluates the engine in memory, then writes what
changed and hands each alert to the outbox for every chat that should get it. The write
goes through the outage backlog (bot.rules.backlog): while Redis is unreachable, evaluated
steps wait in memory, in order, and are written when it answers.

Rule changes made by commands are announced on the change stream (bot.rules.sync) so the
leader's engine learns rules added on another replica; a replica that becomes leader
reloads its engine if another leader wrote state since it loaded (`take_over`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Settings
from bot.delivery.outbox import Outbox
from bot.market.watchlist import Watchlist
from bot.models import HOUSE, Alert, Quote, Rule, RuleKind
from bot.rules.backlog import UNREACHABLE, Backlog, Step, Waiting
from bot.rules.crossing_alerts import build_alert
from bot.rules.engine import Engine
from bot.rules.grammar import RuleSpec
from bot.rules.sync import START, RuleChanges
from bot.state import keys
from bot.state.store import Store

if TYPE_CHECKING:
    from bot.chat.gate import Gate

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
        # Other replicas' rule changes reach this engine through the change stream.
        self.changes = RuleChanges(store.redis, outbox.consumer)
        self.changes_seen = START  # the last change this engine has
        self.version = 0  # divbot:engine:version as of this engine's state
        self.backlog = Backlog(settings.outage_backlog)
        # True while this replica leads (set by the app): only the leader writes armed states.
        self.leading: Callable[[], bool] = lambda: False
        # The leader's token when watchers run under leader election (bot.state.leader): their
        # enqueues are fenced so a stale leader's alerts are refused.
        self.fence: Callable[[], str | None] = lambda: None
        # The noise gate (bot.chat.gate), set by build_core: levels, flap protection,
        # quiet hours and grouping between dispatch and the outbox.
        self.gate: Gate | None = None

    async def load(self) -> None:
        """Build the engine from Redis: what a restart does."""
        self.engine = await self._loaded(self.engine)

    async def reload(self) -> None:
        """Replace the engine with a fresh one built from Redis (the pulse carries over).
        The old one is let go first, so memory never holds two rule sets; the new one
        fills while the watchers are not running (a takeover) or, rarely, between ticks."""
        fresh = Engine()
        fresh.pulse = self.engine.pulse
        self.engine = fresh
        await self._loaded(fresh)

    async def _loaded(self, engine: Engine) -> Engine:
        # The markers first: anything written while loading makes them look old, so the
        # next check errs towards another reload, never towards a stale engine.
        self.version = int(await self.store.redis.get(keys.ENGINE_VERSION) or 0)
        self.changes_seen = await self.changes.head()
        for inst in self.watchlist:
            engine.set_closes(inst.key, await self.store.load_closes(inst.key))
        engine.latest.update(await self.store.load_quotes(self.watchlist.keys()))
        engine.last_fired.update(await self.store.load_fired())
        async for rules, states in self.store.rule_batches():
            engine.load_rules(rules, states)
        log.info("engine loaded %d rules", len(engine.rules))
        return engine

    async def take_over(self) -> None:
        """This replica just became the leader: write what an earlier term left waiting
        (or drop it, refused), then reload unless this engine is already current."""
        await self.backlog.flush()
        if int(await self.store.redis.get(keys.ENGINE_VERSION) or 0) != self.version:
            log.info("another leader wrote engine state since this replica loaded: reloading")
            await self.reload()

    async def keep_writing(self) -> None:
        """On every replica (commands can leave work waiting too): write what waits for
        Redis as soon as it answers."""
        await self.backlog.keep_flushing()

    async def apply_change(self, rule_id: str) -> None:
        """Another replica changed a rule: mirror it here (bot.rules.sync)."""
        rule = await self.store.get_rule(rule_id)
        if rule is None:
            self.engine.remove_rule(rule_id)
            return
        current = self.engine.rules.get(rule_id)
        if current is not None and replace(current, owner=rule.owner) == rule:
            self.engine.rules[rule_id] = rule  # a chat that moved: armed state unchanged
            return
        # Armed from this engine's own latest quote. Only the leader's is current, so
        # only the leader writes it back (over what the command's replica guessed).
        states = self.engine.add_rule(rule)
        if self.leading():
            await self.store.save_states([(rule.id, side, armed) for side, armed in states.items()])

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
        await self.changes.note([rule.id])
        return rule, all(states.values())

    async def remove_rule(self, rule: Rule) -> None:
        await self.store.delete_rule(rule)
        self.engine.remove_rule(rule.id)
        await self.changes.note([rule.id])

    async def set_paused(self, rule: Rule, paused: bool) -> Rule:
        updated = replace(rule, paused=paused)
        await self.store.save_rule(updated)
        states = self.engine.add_rule(updated)
        await self.store.save_states([(rule.id, s, a) for s, a in states.items()])
        await self.changes.note([rule.id])
        return updated

    async def pause_by_id(self, rule_id: str) -> None:
        """Pause a rule (flap protection); nothing when it no longer exists."""
        rule = await self.store.get_rule(rule_id)
        if rule is not None and not rule.paused:
            await self.set_paused(rule, True)

    async def move_chat(self, old: str, new: str) -> None:
        """A chat got a new id (Telegram group -> supergroup): its rules follow it."""
        moved = await self.store.move_chat(old, new)
        for rule in moved:
            if rule.id in self.engine.rules:  # the index is keyed by rule id, not owner
                self.engine.rules[rule.id] = replace(self.engine.rules[rule.id], owner=new)
        await self.changes.note([rule.id for rule in moved])
        log.info("chat %s moved to %s", old, new)

    # -- quotes ----------------------------------------------------------------
    async def on_quotes(self, quotes: list[Quote], now: datetime) -> list[Alert]:
        """Evaluate each quote, then write the steps (or keep them while Redis is
        unreachable: see bot.rules.backlog). Returns the alerts raised."""
        alerts: list[Alert] = []
        for quote in quotes:
            step = self._evaluate(quote, now)  # raises OutageFull before touching the engine
            alerts += step.alerts
        await self.backlog.flush()
        return alerts

    def _evaluate(self, quote: Quote, now: datetime) -> Step:
        self.backlog.check_room()
        result = self.engine.on_quote(quote, now)
        step = Step(quote, result.state, [], [], fence=self.fence())
        for crossing in result.crossings:
            if crossing.suppressed:
                log.info("rule %s crossed inside its cooldown: no alert", crossing.rule.id)
                continue
            step.fired.append((crossing.rule.id, now.timestamp()))
            step.alerts.append(build_alert(crossing, self.watchlist, self.settings.timezone))
        if quote.closing:
            self.engine.put_close(quote.instrument, quote.session, quote.price)
            step.close = (quote.instrument, quote.session, quote.price)
        self.backlog.add(
            Waiting(
                f"{quote.instrument} quote", step.alerts, partial(self._write, step), step.fence
            )
        )
        return step

    async def _write(self, step: Step) -> None:
        """Write one evaluated step and queue its alerts (idempotent: safe to repeat)."""
        await self.store.save_states(step.states)
        await self.store.save_quote(step.quote)
        for rule_id, epoch in step.fired:
            await self.store.set_fired(rule_id, epoch)
        if step.close is not None:
            instrument, session, close = step.close
            await self.store.put_closes(instrument, [(session, close)])
        self.version = int(await self.store.redis.incr(keys.ENGINE_VERSION))
        for alert in step.alerts:
            await self.dispatch(alert, fence=step.fence)

    async def dispatch_or_keep(
        self, what: str, alert: Alert, send: Callable[[str | None], Awaitable[object]]
    ) -> None:
        """Run `send(fence)` (a dispatch of `alert` whose story or release is already
        claimed); while Redis is unreachable keep it in the backlog, to run when it
        answers, fenced with this term's token."""
        fence = self.fence()
        try:
            await send(fence)
        except UNREACHABLE as exc:
            log.warning("%s %s: Redis unreachable (%s); kept", what, alert.id, type(exc).__name__)
            self.backlog.add(Waiting(f"{what} {alert.id}", [alert], partial(send, fence), fence))

    async def dispatch(
        self,
        alert: Alert,
        accept: Callable[[str], bool] | None = None,
        fence: str | None = None,
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
            if await self.admit(alert, chat, fence if fence is not None else self.fence()):
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
