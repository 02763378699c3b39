"""The noise gate: the stage between the alerting service and the outbox.

At dispatch, for one (alert, chat), in this order:

1. the family's level is ``off``: not delivered, recorded as ``off``;
2. flap protection: a rule that fired for this chat more than ``flap_max_fires`` times
   within ``flap_window_min`` pauses (the chat's own rule is paused; a house rule is paused
   for this chat only) and the chat is told once, with a *Resume* button;
3. quiet hours: inside the chat's quiet window (bot.chat.quiet), an alert below the
   chat's urgent level is *held* in Redis until the window ends, then sent with the
   others as one summary; an urgent one goes straight to the outbox;
4. grouping: alerts of one family for one chat that arrive within the chat's grouping
   window are buffered in Redis and leave as one message listing them;
5. otherwise the alert is queued in the outbox at once.

Buffers are Redis lists with a due time per buffer in a sorted set. `flush` (run by
jobs.noise every second) turns a due buffer into one outbox entry with a deterministic
id, and only then trims what it read: a crash in between re-queues the same id, which
the outbox's enqueue key turns into a no-op. So held and grouped alerts are in Redis from
dispatch until the platform accepts them (at least once, as the outbox promises).

What happens to a delivery at send time is bot.chat.routing's.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.chat.alert_history import AlertHistory
from bot.chat.prefs import Prefs, ZoneCache
from bot.chat.quiet import goes_through, quiet_window
from bot.clock import Clock
from bot.cmdref import ref
from bot.config import Settings
from bot.delivery.outbox import DEDUP_TTL_S, Outbox
from bot.models import Alert, Button, Family, Message
from bot.state import keys
from bot.state.atomic import StaleLeader
from bot.state.codec import alert_from_json, alert_to_json
from bot.state.leader import LEADER

log = logging.getLogger(__name__)
FIRST_MESSAGE_TTL_S = 2 * 86400  # a session is over well within two days
LOCK_TTL_S = 30
MEMBERS_TTL_S = DEDUP_TTL_S

# Buffer one alert: once per (alert, chat) — a re-dispatch is a no-op — and open the
# buffer's deadline if it has none yet (the first alert of a group sets the window).
_BUFFER = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], 'NX', ARGV[3], ARGV[4])
return 1
"""
# Drop what a flush read (and nothing that arrived since); close the buffer when empty,
# or give the late arrivals a new deadline.
_FINISH = """
redis.call('LTRIM', KEYS[1], ARGV[1], -1)
if redis.call('LLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
end
return 1
"""


def _digest(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]  # noqa: S324 - an id


class Gate:
    def __init__(
        self,
        redis: Any,
        outbox: Outbox,
        clock: Clock,
        settings: Settings,
        prefs: Prefs,
        history: AlertHistory,
        zones: ZoneCache,
        pause_rule: Callable[[str], Awaitable[None]],
    ) -> None:
        self.redis = redis
        self.outbox = outbox
        self.clock = clock
        self.settings = settings
        self.prefs = prefs
        self.history = history
        self.zones = zones
        # Pause a chat's own rule at the engine (bot.rules.live.LiveRules.pause_by_id).
        self.pause_rule = pause_rule

    # -- dispatch time ------------------------------------------------------------------
    async def admit(self, alert: Alert, chat: str, fence: str | None = None) -> bool:
        """Route one alert for one chat; True when it will reach the chat (now or later)."""
        if await self.prefs.level(chat, alert.family) == "off":
            await self.history.record(chat, alert, "off")
            return False
        # A headline event's reports share its rule id only to thread (bot.headlines.alert):
        # they are not a rule firing, so flap protection does not count them.
        flaps = alert.rule_id and alert.family is not Family.HEADLINES
        if flaps and await self._flapping(alert, chat, fence):
            return False
        now = self.clock.now()
        quiet = await self.prefs.quiet(chat)
        if quiet is not None:
            window = quiet_window(quiet, now, await self.zones.get(chat))
            if window is not None:
                if not goes_through(quiet, alert.severity):
                    await self._check_fence(fence)
                    await self._buffer(
                        alert, chat, keys.chat_held(chat), keys.HELD_DUE, chat, window[1]
                    )
                    await self.history.record(chat, alert, "held")
                    return True
                return await self._queue(alert, chat, fence)  # urgent: at once, ungrouped
        seconds = await self.prefs.group_window(chat)
        if seconds > 0:
            await self._check_fence(fence)
            due = datetime.fromtimestamp(now.timestamp() + seconds, now.tzinfo)
            member = f"{chat}|{alert.family.value}"
            await self._buffer(
                alert, chat, keys.chat_group(chat, alert.family.value), keys.GROUP_DUE, member, due
            )
            await self.history.record(chat, alert, "grouped")
            return True
        return await self._queue(alert, chat, fence)

    async def _queue(self, alert: Alert, chat: str, fence: str | None) -> bool:
        queued = await self.outbox.enqueue(alert, chat, fence)
        if queued:
            await self.history.record(chat, alert, "queued")
        return queued

    async def _check_fence(self, fence: str | None) -> None:
        if fence is not None and await self.redis.get(LEADER) != fence:
            raise StaleLeader("buffering refused: leadership lost")

    async def _buffer(
        self, alert: Alert, chat: str, list_key: str, due_key: str, member: str, due: datetime
    ) -> bool:
        return bool(
            await self.redis.eval(
                _BUFFER,
                3,
                keys.enqueued(f"{alert.id}.buf", chat),
                list_key,
                due_key,
                DEDUP_TTL_S,
                alert_to_json(alert),
                due.timestamp(),
                member,
            )
        )

    # -- flap protection ----------------------------------------------------------------
    async def _flapping(self, alert: Alert, chat: str, fence: str | None) -> bool:
        """Count this fire; True when the rule is (now) paused for this chat."""
        assert alert.rule_id is not None
        rule_id = alert.rule_id
        if await self.redis.exists(keys.flap_paused(chat, rule_id)):
            await self.history.record(chat, alert, "paused", "flap protection")
            return True
        window_s = self.settings.flap_window_min * 60
        now = self.clock.now().timestamp()
        fires = keys.rule_fires(chat, rule_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(fires, {alert.id: now})
            pipe.zremrangebyscore(fires, "-inf", now - window_s)
            pipe.zcard(fires)
            pipe.expire(fires, window_s)
            _, _, count, _ = await pipe.execute()
        limit = self.settings.flap_max_fires
        if int(count) <= limit:
            return False
        if alert.owner == chat:
            await self.pause_rule(rule_id)  # the chat's own rule: paused at the engine
        else:
            await self.redis.set(keys.flap_paused(chat, rule_id), "1")
        await self.history.record(chat, alert, "paused", "flap protection")
        if await self.redis.set(keys.flap_notice(chat, rule_id), "1", nx=True):
            minutes = self.settings.flap_window_min
            notice = Alert(
                id="flap" + _digest(chat, rule_id, str(now)),
                family=alert.family,
                message=Message(
                    title=f"Rule {rule_id} paused: it fired {count} times in {minutes} min",
                    lines=[
                        f"Last: {alert.message.title}",
                        "Nothing more from it here until you resume it "
                        f"({ref(f'alert resume {rule_id}')}).",
                    ],
                    at=self.clock.now(),
                    buttons=[Button("Resume", f"resume:{rule_id}")],
                ),
                at=self.clock.now(),
                severity="warning",
            )
            await self.outbox.enqueue(notice, chat, fence)
        log.info("rule %s flapping in %s: paused after %d fires", rule_id, chat, count)
        return True

    async def resume_here(self, chat: str, rule_id: str) -> bool:
        """Forget a flap pause in this chat; True when a house rule was paused here."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.flap_paused(chat, rule_id))
            pipe.delete(keys.rule_fires(chat, rule_id))
            pipe.delete(keys.flap_notice(chat, rule_id))
            paused, _, _ = await pipe.execute()
        return bool(paused)

    async def flap_paused_here(self, chat: str, rule_id: str) -> bool:
        return bool(await self.redis.exists(keys.flap_paused(chat, rule_id)))

    async def release_held_now(self, chat: str) -> None:
        """Quiet hours ended early (/quiet off): what is held goes out on the next flush."""
        await self.redis.zadd(keys.HELD_DUE, {chat: self.clock.now().timestamp()}, xx=True)

    async def held_count(self, chat: str) -> int:
        return int(await self.redis.llen(keys.chat_held(chat)))

    # -- releasing buffers ----------------------------------------------------------------
    async def flush(self, now: datetime, early_s: float = 0.0) -> int:
        """Queue every group whose window closed (or closes within `early_s`) and every
        quiet-hours summary whose period ended. Returns the outbox entries queued."""
        queued = 0
        cutoff = now.timestamp() + early_s
        for member in await self.redis.zrangebyscore(keys.GROUP_DUE, "-inf", cutoff):
            chat, _, family = member.rpartition("|")
            fam = Family(family)
            queued += await self._locked(chat, partial(self._flush_group, chat, fam, now))
        for chat in await self.redis.zrangebyscore(keys.HELD_DUE, "-inf", now.timestamp()):
            queued += await self._locked(chat, partial(self._release_held, chat, now))
        return queued

    async def _locked(self, chat: str, work: Callable[[], Awaitable[int]]) -> int:
        """Run `work` unless another replica is flushing this chat right now."""
        lock = keys.noise_lock(chat)
        if not await self.redis.set(lock, "1", nx=True, ex=LOCK_TTL_S):
            return 0
        try:
            return await work()
        finally:
            await self.redis.delete(lock)

    async def _finish(
        self, list_key: str, due_key: str, member: str, read: int, again: float
    ) -> None:
        await self.redis.eval(_FINISH, 2, list_key, due_key, read, member, again)

    async def _flush_group(self, chat: str, family: Family, now: datetime) -> int:
        list_key = keys.chat_group(chat, family.value)
        raws: list[str] = await self.redis.lrange(list_key, 0, -1)
        alerts = [alert_from_json(r) for r in raws]
        queued = 0
        if len(alerts) == 1:
            queued += await self.outbox.enqueue(alerts[0], chat)
            await self.history.update(chat, alerts[0].id, "queued")
        elif alerts:
            group = self._group_alert(chat, family, alerts)
            await self._members(group.id, alerts)
            queued += await self.outbox.enqueue(group, chat)
            for a in alerts:
                await self.history.update(chat, a.id, "grouped", f"one message of {len(alerts)}")
        window = await self.prefs.group_window(chat)
        await self._finish(
            list_key, keys.GROUP_DUE, f"{chat}|{family.value}", len(raws), now.timestamp() + window
        )
        return queued

    def _group_alert(self, chat: str, family: Family, alerts: list[Alert]) -> Alert:
        lines = [line for a in alerts for line in _group_lines(a)]
        first = alerts[0]
        message = Message(
            title=f"{len(alerts)} {family.value} alerts at once", lines=lines, at=first.at
        )
        return Alert(
            id="grp" + _digest(chat, *(a.id for a in alerts)),
            family=family,
            message=message,
            at=first.at,
            severity=max((a.severity for a in alerts), key=_rank),
        )

    async def _release_held(self, chat: str, now: datetime) -> int:
        quiet = await self.prefs.quiet(chat)
        tz = await self.zones.get(chat)
        if quiet is not None:
            window = quiet_window(quiet, now, tz)
            if window is not None:  # the hours were changed and it is still quiet: wait
                await self.redis.zadd(keys.HELD_DUE, {chat: window[1].timestamp()})
                return 0
        raws: list[str] = await self.redis.lrange(keys.chat_held(chat), 0, -1)
        alerts = [alert_from_json(r) for r in raws]
        queued = 0
        for bucket in await self._by_destination(chat, alerts):
            summary = await self._summary(chat, bucket, tz, now)
            await self._members(summary.id, bucket)
            queued += await self.outbox.enqueue(summary, chat)
        await self._finish(keys.chat_held(chat), keys.HELD_DUE, chat, len(raws), now.timestamp())
        return queued

    async def _by_destination(self, chat: str, alerts: list[Alert]) -> list[list[Alert]]:
        """Held alerts split by the forum topic their family goes to (one summary each)."""
        buckets: dict[str | None, list[Alert]] = {}
        for a in alerts:
            buckets.setdefault(await self.prefs.topic(chat, a.family), []).append(a)
        return list(buckets.values())

    async def _summary(self, chat: str, alerts: list[Alert], tz: str, now: datetime) -> Alert:
        zone = ZoneInfo(tz)
        lines = [f"{a.at.astimezone(zone):%a %H:%M}  {a.message.title}" for a in alerts]
        levels = await self.prefs.levels(chat)
        # The summary rings unless every family in it is silent.
        family = next((a.family for a in alerts if levels[a.family] == "on"), alerts[0].family)
        n = len(alerts)
        message = Message(
            title=f"Quiet hours over: {n} alert{'s' if n != 1 else ''} held",
            lines=lines,
            at=now,
        )
        return Alert(
            id="qs" + _digest(chat, *(a.id for a in alerts)),
            family=family,
            message=message,
            at=now,
        )

    async def _members(self, carrier_id: str, alerts: list[Alert]) -> None:
        await self.redis.set(
            keys.noise_members(carrier_id), ",".join(a.id for a in alerts), ex=MEMBERS_TTL_S
        )


def _group_lines(alert: Alert) -> list[str]:
    """One alert in a grouped message: its title; a headline keeps its severity, category
    and link (issue 18.6)."""
    if alert.family is not Family.HEADLINES:
        return [f"• {alert.message.title}"]
    fields = dict(alert.message.fields)
    link = next((line for line in alert.message.lines if line.startswith("http")), None)
    about = [fields.get("Severity", alert.severity), fields.get("Category"), link]
    return [f"• {alert.message.title}", "  " + " · ".join(p for p in about if p)]


def _rank(severity: str) -> int:
    return {"info": 0, "warning": 1, "critical": 2}.get(severity, 0)
