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
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import partial

from bot.chat.gate import Gate
from bot.clock import Clock
from bot.config import Settings
from bot.delivery.fanout import FanOut, record
from bot.delivery.outbox import Outbox
from bot.market.watchlist import Watchlist
from bot.models import Alert, DailyCloses, Quote, Rule, Window
from bot.ops import crashpoint
from bot.rules.backlog import UNREACHABLE, Backlog, Step, Waiting
from bot.rules.crossing_alerts import build_alert
from bot.rules.engine import Engine, Leg
from bot.rules.grammar import RuleSpec
from bot.rules.live import LiveRules
from bot.state import keys
from bot.state.atomic import Batch, StaleLeader, apply
from bot.state.store import Store

log = logging.getLogger(__name__)


class AlertService:
    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        gate: Gate,
        fanout: FanOut,
        rules: LiveRules,
        watchlist: Watchlist,
        settings: Settings,
        clock: Clock,
        fence: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.outbox = outbox
        # The noise gate (bot.chat.gate): levels, flap protection, quiet hours and
        # grouping between dispatch and the outbox.
        self.gate = gate
        # Records become deliveries here (bot.delivery.fanout), resumably.
        self.fanout = fanout
        self.rules = rules
        self.watchlist = watchlist
        self.settings = settings
        self.backlog = Backlog(settings.outage_backlog)
        # The leader's token when watchers run under leader election (bot.state.leader):
        # their enqueues are fenced so a stale leader's alerts are refused.
        self.fence = fence

    @property
    def engine(self) -> Engine:
        return self.rules.engine

    # -- what the engine knows, for watchers and commands --------------------------------
    def latest_quotes(self) -> dict[str, Quote]:
        """The last accepted quote of each instrument (a copy)."""
        return dict(self.engine.latest)

    def latest_quote(self, instrument: str) -> Quote | None:
        return self.engine.latest.get(instrument)

    def previous_close(self, instrument: str, session: date) -> float | None:
        """The instrument's last daily close before `session`, as the engine has it."""
        closes = self.engine.closes.get(instrument)
        found = closes.last_before(session) if closes is not None else None
        return found[1] if found is not None else None

    def leg(self, instrument: str, window: Window) -> Leg | None:
        """The instrument's move over `window` from its latest quote (None: no base)."""
        return self.engine.leg(instrument, window)

    def last_close_quote(self, instrument: str) -> Quote | None:
        """The instrument's latest daily close as a quote (before any live quote today)."""
        closes = self.engine.closes.get(instrument)
        if closes is None or not closes.dates:
            return None
        day, close = closes.dates[-1], closes.closes[-1]
        at = datetime.combine(day, datetime.min.time(), UTC)
        return Quote(instrument, close, at, day, "daily close", closing=True)

    def leg_of(self, quote: Quote, window: Window) -> Leg:
        return self.engine.leg_of(quote, window)

    def set_closes(self, instrument: str, closes: DailyCloses) -> None:
        self.engine.set_closes(instrument, closes)

    def is_armed(self, rule_id: str, side: int) -> bool | None:
        return self.engine.index.is_armed(rule_id, side)

    def is_pending(self, rule_id: str) -> bool:
        """No value seen yet for the rule's signal: its first value decides its state."""
        return any(self.engine.index.is_pending(rule_id, side) for side in (1, -1))

    def rule_count(self) -> int:
        return len(self.engine.rules)

    # -- rules (the live rule book does the work) ---------------------------------------
    async def add_rule(self, owner: str, spec: RuleSpec, now: datetime) -> tuple[Rule, bool | None]:
        return await self.rules.add_rule(owner, spec, now)

    async def remove_rule(self, rule: Rule) -> None:
        await self.rules.remove_rule(rule)

    async def set_paused(self, rule: Rule, paused: bool) -> Rule:
        return await self.rules.set_paused(rule, paused)

    async def take_over(self) -> None:
        """This replica just became the leader: write what an earlier term left waiting
        (or drop it, refused), then reload unless this engine is already current."""
        await self.backlog.flush()
        if self.backlog.take_diverged():
            # A step evaluated in memory was refused (its term ended) or failed: the
            # engine holds state Redis never got (a rule disarmed, say). Redis is right.
            log.info("steps of an earlier term were not written: reloading the engine")
            await self.rules.reload()
        elif int(await self.store.redis.get(keys.ENGINE_VERSION) or 0) != self.rules.version:
            log.info("another leader wrote engine state since this replica loaded: reloading")
            await self.rules.reload()

    async def keep_writing(self) -> None:
        """On every replica (commands can leave work waiting too): write what waits for
        Redis as soon as it answers."""
        await self.backlog.keep_flushing()

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
        """Write one evaluated step — its state and its alerts' records, in one atomic
        batch fenced by the term's token — then fan the alerts out. Safe to repeat: a
        retry after a lost reply finds the records claimed, writes nothing and finishes
        the fan-out."""
        batch = Batch()
        self.store.stage_quote_step(batch, step.states, step.quote, step.fired, step.close)
        batch.call("INCR", keys.ENGINE_VERSION)
        await self._raise(step.alerts, batch, None, step.fence)
        self.rules.version = int(await self.store.redis.get(keys.ENGINE_VERSION) or 0)

    async def _raise(
        self, alerts: list[Alert], batch: Batch, audience: Iterable[str] | None, fence: str | None
    ) -> tuple[bool, list[str]]:
        """Apply `batch` with the alerts' records; then fan them out. Returns whether the
        batch applied (False: a claim in it existed) and the chats the alerts went to."""
        now = self.clock.now().timestamp()
        for alert in alerts:
            record(batch, alert, audience, self.outbox.consumer, now)
        ids = [a.id for a in alerts]
        self.fanout.reserve(ids)
        try:
            applied = await apply(self.store.redis, batch, fence)
            if alerts:
                crashpoint.reached("raised")
            if applied and self.outbox.metrics is not None:
                for alert in alerts:
                    self.outbox.metrics.alerts_fired.labels(alert.family.value).inc()
            chats: list[str] = []
            for alert in alerts:
                chats += await self.fanout.expand(alert.id)
            return applied, chats
        finally:
            self.fanout.release(ids)

    async def raise_alert(
        self,
        alert: Alert,
        *,
        audience: Iterable[str] | None = None,
        batch: Batch | None = None,
        fence: str | None = None,
    ) -> list[str] | None:
        """Raise one alert: its record in one atomic batch with the state change that
        raised it (`batch`: a story marked seen, a release marked published), fenced with
        `fence` (default: this term's token); then fan it out.

        `audience`, when given, is every chat it is for (narrowed by the caller: headline
        categories, macro filters); otherwise the owner or the family's subscribers.
        Returns the chats it was handed to, or None when a claim in `batch` existed (the
        story or release was raised before)."""
        claimed_by_caller = bool(batch and batch.claims)
        applied, chats = await self._raise(
            [alert], batch or Batch(), audience, fence if fence is not None else self.fence()
        )
        return chats if applied or not claimed_by_caller else None

    async def raise_or_keep(
        self,
        what: str,
        alert: Alert,
        *,
        audience: Iterable[str] | None = None,
        batch: Batch | None = None,
    ) -> list[str] | None:
        """`raise_alert`, or — Redis unreachable — keep the raise in the backlog to run when
        it answers, fenced with this term's token. Returns as raise_alert does; [] when kept."""
        fence = self.fence()
        kept_batch = batch or Batch()
        raise_it = partial(
            self.raise_alert, alert, audience=audience, batch=kept_batch, fence=fence
        )
        try:
            return await raise_it()
        except StaleLeader:
            # Refused whole: nothing of it landed (the story is not marked seen, the
            # release not marked published), so the current leader raises it.
            log.warning("%s %s: leadership lost; left to the next leader", what, alert.id)
            return []
        except UNREACHABLE as exc:
            log.warning("%s %s: Redis unreachable (%s); kept", what, alert.id, type(exc).__name__)
            self.backlog.add(Waiting(f"{what} {alert.id}", [alert], raise_it, fence))
            return []

    async def write_or_keep(self, what: str, batch: Batch) -> None:
        """Apply a batch that raises no alert (a story nobody follows marked seen), fenced
        with this term's token; kept in the backlog while Redis is unreachable."""
        fence = self.fence()
        write = partial(apply, self.store.redis, batch, fence)
        try:
            await write()
        except StaleLeader:
            log.warning("%s: leadership lost; left to the next leader", what)
        except UNREACHABLE as exc:
            log.warning("%s: Redis unreachable (%s); kept", what, type(exc).__name__)
            self.backlog.add(Waiting(what, [], write, fence))

    async def dispatch(
        self,
        alert: Alert,
        accept: Callable[[str], bool] | None = None,
        fence: str | None = None,
    ) -> list[str]:
        """Raise an alert that changes no other state: for its owner, or every subscriber
        of a house alert; `accept`, when given, narrows the subscribers. Returns the chats
        it was handed to."""
        audience = None
        if accept is not None:
            audience = {c for c in await self.store.subscribers(alert.family) if accept(c)}
        chats = await self.raise_alert(alert, audience=audience, fence=fence)
        return chats or []

    async def note(self, alert: Alert, chat: str, status: str) -> None:
        """Write an alert the chat will not get (muted) to its history."""
        await self.gate.history.record(chat, alert, status)
