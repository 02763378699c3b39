"""The live rule book: this replica's engine and the rules in Redis, kept in step.

Owns loading the engine from Redis (start-up, a reload, a takeover), mirroring other
replicas' rule changes into it (bot.rules.sync.follow), and every edit a command, flap
protection or a moved chat makes to a rule: written to Redis, applied to the engine and
announced on the change stream (bot.state.rule_changes). Evaluating quotes and
dispatching alerts is the alerting service's job (bot.rules.service).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.config import Settings
from bot.market.watchlist import Watchlist
from bot.models import Rule, RuleKind
from bot.rules.engine import Engine, Lag, same_region
from bot.rules.grammar import RuleSpec
from bot.state import keys
from bot.state.rule_changes import START, RuleChanges
from bot.state.store import Store

log = logging.getLogger(__name__)


class LiveRules:
    def __init__(
        self,
        store: Store,
        changes: RuleChanges,
        watchlist: Watchlist,
        settings: Settings,
        leading: Callable[[], bool] = lambda: False,
        lag: Lag = same_region,
    ) -> None:
        self.lag = lag  # which sessions pair in a spread (bot.rules.engine)
        self.store = store
        self.changes = changes
        self.watchlist = watchlist
        self.settings = settings
        # True while this replica leads: only the leader writes armed states.
        self.leading = leading
        self.engine = Engine(lag)
        self.changes_seen = START  # the last change this engine has
        self.version = 0  # divbot:engine:version as of this engine's state

    async def load(self) -> None:
        """Build the engine from Redis: what a restart does."""
        self.engine = await self._loaded(self.engine)

    async def reload(self) -> None:
        """Replace the engine with a fresh one built from Redis (the pulse carries over).
        The old one is let go first, so memory never holds two rule sets; the new one
        fills while the watchers are not running (a takeover) or, rarely, between ticks."""
        fresh = Engine(self.lag)
        fresh.pulse = self.engine.pulse
        self.engine = fresh
        await self._loaded(fresh)

    async def _loaded(self, engine: Engine) -> Engine:
        # The markers first: anything written while loading makes them look old, so the
        # next check errs towards another reload, never towards a stale engine.
        self.version = int(await self.store.redis.get(keys.ENGINE_VERSION) or 0)
        self.changes_seen = await self.changes.head()
        for inst, closes in (await self.store.load_closes_of(self.watchlist.keys())).items():
            engine.set_closes(inst, closes)
        engine.latest.update(await self.store.load_quotes(self.watchlist.keys()))
        engine.last_fired.update(await self.store.load_fired())
        async for rules, states in self.store.rule_batches():
            engine.load_rules(rules, states)
        engine.index.sort_all()
        log.info("engine loaded %d rules", len(engine.rules))
        return engine

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
            await self.store.save_states(_known(rule.id, states))

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

    async def add_rule(self, owner: str, spec: RuleSpec, now: datetime) -> tuple[Rule, bool | None]:
        """Store and index a rule; the flag says whether it is armed now (None: no value
        yet, the first quote decides without firing)."""
        rule = self.make_rule(await self.store.new_rule_id(), owner, spec, now)
        await self.store.save_rule(rule)
        states = self.engine.add_rule(rule)
        await self.store.save_states(_known(rule.id, states))
        await self.changes.note([rule.id])
        if any(armed is None for armed in states.values()):
            return rule, None
        return rule, all(states.values())

    async def remove_rule(self, rule: Rule) -> None:
        await self.store.delete_rule(rule)
        self.engine.remove_rule(rule.id)
        await self.changes.note([rule.id])

    async def set_paused(self, rule: Rule, paused: bool) -> Rule:
        updated = replace(rule, paused=paused)
        await self.store.save_rule(updated)
        states = self.engine.add_rule(updated)
        await self.store.save_states(_known(rule.id, states))
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


def _known(rule_id: str, states: dict[int, bool | None]) -> list[tuple[str, int, bool]]:
    """The sides whose state is known, to save (a pending side has none yet)."""
    return [(rule_id, side, armed) for side, armed in states.items() if armed is not None]
