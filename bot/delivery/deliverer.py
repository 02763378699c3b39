"""The live delivery loop: the outbox drained as fast as the platforms allow, no faster.

- Entries are read from the outbox stream into one FIFO queue per chat, so each chat's
  alerts go out in order, one at a time.
- Chats wait on a heap keyed by the time their limits (bot.delivery.ratelimit) next allow a send;
  popping the heap interleaves chats, so no chat waits behind another's backlog.
- With `shared` windows (bot.delivery.shared_limits), each send also takes its slot in
  the token's windows in Redis, shared with every replica and with command replies (which
  go first); the local limiter only orders this replica's chats (the token's overall
  window is Redis's alone). The message is made before the slot is taken, so the slot,
  which counts until a window after the answer, covers the request alone. A 429 pauses
  the chat there for every replica too.
- A retryable failure keeps the entry at the head of its chat's queue and pauses that chat
  (a 429's `retry_after`, or backoff); only that chat waits.
- Reading stops while the in-memory backlog is full, so held entries stay fresh; held
  entries are touched regularly so other replicas' `XAUTOCLAIM` leaves them alone, while
  entries of a consumer that died are claimed after `abandoned_after_s`. A restart under
  the same consumer name (a fixed REPLICA_ID) picks up its own pending entries at once.
- Redis unreachable: no new sends start; reading, settling and sending back off together
  (exponentially, capped), so an outage costs a few attempts a second, never a hot loop.
  A send the platform accepted but that could not be settled is remembered in memory and
  only settled, not sent again, once Redis answers.

The `sent` marker is checked when entries are read (claimed ones included), in one round
trip per batch. Two consumers can hold one entry only if this one stopped touching it
for `abandoned_after_s` (Redis unreachable that long) and another claimed it.

Duplicate bound (see README): a crash between the platform accepting a message and the
`sent` marker being written re-sends at most the messages in flight at that moment
(`max_in_flight`).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping

from bot.delivery.outbox import Outbox, OutboxEntry
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.sending import Delivery, Outcome, Sender
from bot.delivery.shared_limits import SharedLimiter
from bot.models import ChatRef

log = logging.getLogger(__name__)
REDIS_BACKOFF_S = (0.1, 5.0)  # first and longest pause after Redis errors
HEARTBEAT_S = 2.0  # this consumer says it is alive; a lapsed heartbeat lets others claim
TOUCH_S = 5.0  # held entries are touched this often: idle longer, their holder is not there
DEAD_IDLE_MS = 8_000  # a heartbeat-less consumer's entry idle this long is claimed


def telegram_is_group(chat: ChatRef) -> bool:
    """Telegram groups, supergroups and channels have negative ids."""
    return chat.platform == "telegram" and chat.chat_id.startswith("-")


class Deliverer:
    def __init__(
        self,
        outbox: Outbox,
        senders: dict[str, Sender],
        limiters: Mapping[str, RateLimiter],
        is_group: Callable[[ChatRef], bool] = telegram_is_group,
        *,
        shared: Mapping[str, SharedLimiter] | None = None,
        max_in_flight: int = 64,
        backlog: int = 2000,
        abandoned_after_s: float = 60.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.senders = senders
        self.limiters = limiters
        # Per platform, the token's windows shared with every replica (in Redis): the local
        # limiter orders this replica's chats, the shared one has the last word on each send.
        self.shared: Mapping[str, SharedLimiter] = shared or {}
        self.is_group = is_group
        self.max_in_flight = max_in_flight
        self.backlog = backlog
        self.abandoned_after_s = abandoned_after_s
        self.now = now
        self.queues: dict[str, deque[OutboxEntry]] = {}
        # One heap per platform: when a platform's overall limit is reached, its chats wait
        # where they are (no re-keying thousands of chats per send).
        self._heaps: dict[str, list[tuple[float, int, str]]] = {}
        self._seq = itertools.count()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._last_touch = 0.0
        self._last_beat = -1e9
        self._last_claim = -1e9
        self._held: set[str] = set()
        # OutboxEntry id -> how its send went, when Redis could not record it: settle, don't resend.
        self._unsettled: dict[str, Delivery] = {}
        self._own_cursor: str | None = "0"  # reading our own pending entries; None: done
        self._redis_failures = 0
        self._redis_hold_until = 0.0
        self.redis_errors = 0  # Redis operations that failed, over the loop's life
        self.sent = 0

    @property
    def held(self) -> int:
        return len(self._held)

    def _limiter(self, chat: str) -> RateLimiter | None:
        return self.limiters.get(chat.split(":", 1)[0])

    def _schedule(self, chat: str, not_before: float = 0.0) -> None:
        ref = ChatRef.parse(chat)
        limiter = self._limiter(chat)
        now = self.now()
        ready = limiter.chat_ready_at(chat, self.is_group(ref), now) if limiter else now
        heap = self._heaps.setdefault(ref.platform, [])
        heapq.heappush(heap, (max(ready, not_before), next(self._seq), chat))

    def _take(self, entries: list[OutboxEntry], due: Mapping[str, float] | None = None) -> None:
        """Queue entries per chat; `due`: entry id -> epoch (the outbox's clock) before
        which a failed entry is not tried again."""
        wall = self.outbox.clock.now().timestamp() if due else 0.0
        for entry in entries:
            queue = self.queues.get(entry.chat)
            if queue is None:
                queue = self.queues[entry.chat] = deque()
                if entry.chat not in self._in_flight:
                    wait = max(0.0, due[entry.id] - wall) if due and entry.id in due else 0.0
                    self._schedule(entry.chat, self.now() + wait if wait else 0.0)
            if entry.id not in self._held:
                self._held.add(entry.id)
                queue.append(entry)

    async def fill(self, block_ms: int | None = None) -> int:
        """Read more entries while the backlog has room; reclaim abandoned ones."""
        room = self.backlog - self.held
        if room <= 0 or (self._held and room < self.backlog // 10):
            return 0  # read in batches, not one round trip per send
        taken: list[OutboxEntry] = []
        if self.now() - self._last_claim >= HEARTBEAT_S:
            self._last_claim = self.now()
            # A consumer without a heartbeat died or restarted under a new name: its entries
            # at once. Then anything idle past the timeout (a consumer alive but stuck).
            claimed = await self.outbox.claim_from_dead(room, DEAD_IDLE_MS)
            if len(claimed) < room:
                claimed += await self.outbox.claim_abandoned(
                    int(self.abandoned_after_s * 1000), room - len(claimed)
                )
            taken = [e for e in claimed if e.id not in self._held]
        if self._own_cursor is not None and len(taken) < room:
            # What this consumer read in a previous life (same REPLICA_ID) and never settled.
            own, self._own_cursor = await self.outbox.read_own(self._own_cursor, room)
            known = self._held | {e.id for e in taken}
            taken += [e for e in own if e.id not in known]
        if len(taken) < room:
            taken += await self.outbox.read(room - len(taken), block_ms)
        # The `sent` check for the whole batch here, in one round trip, rather than one per
        # send between the limiter's say-so and the request: that gap is jitter the
        # platform would count against us.
        done = await self.outbox.delivered(taken)
        for entry in taken:
            if entry.id in done:
                await self.outbox.settle(
                    entry, Delivery(Outcome.SENT, "already delivered", duplicate=True)
                )
        fresh = [e for e in taken if e.id not in done]
        # Entries read again (a restart, a claim) that failed before wait out their retry.
        self._take(fresh, await self.outbox.retry_due(fresh))
        return len(taken)

    # -- Redis trouble ---------------------------------------------------------------
    @property
    def redis_backoff_s(self) -> float:
        first, longest = REDIS_BACKOFF_S
        return float(min(longest, first * 2 ** max(0, self._redis_failures - 1)))

    def _redis_failed(self, exc: Exception) -> None:
        self.redis_errors += 1
        if self.now() < self._redis_hold_until:
            return  # the same outage seen by another send already in flight: no escalation
        self._redis_failures += 1
        self._redis_hold_until = self.now() + self.redis_backoff_s
        log.warning(
            "outbox: Redis failed (%s); holding sends %.1fs",
            type(exc).__name__,
            self.redis_backoff_s,
        )

    def _redis_answered(self) -> None:
        if self._redis_failures:
            log.info("outbox: Redis answers again; resuming")
            self._last_touch = -1e9  # refresh held entries at once, before anyone claims them
        self._redis_failures = 0

    # -- sending ---------------------------------------------------------------------
    async def _send(self, entry: OutboxEntry) -> None:
        result = self._unsettled.pop(entry.id, None)
        chat = entry.chat
        group = self.is_group(ChatRef.parse(chat))
        shared = self.shared.get(chat.split(":", 1)[0])
        slot: str | None = None
        try:
            if result is None:
                message = None
                if shared is not None:
                    # The message first (its Redis reads), then the token's windows, shared
                    # with every replica: the slot, once there, covers the request alone.
                    message = await self.outbox.prepare(entry)
                    slot = await shared.acquire(chat, group, give_up=self._stopping)
                if shared is None or slot is not None:
                    log.debug("alert %s to %s: sending", entry.alert.id, chat)
                    result = await self.outbox.send(
                        entry, self.senders, checked=True, message=message
                    )
        except Exception as exc:  # the sent-marker check or the shared windows: Redis
            self._redis_failed(exc)
        finally:
            # Answered (or failed): the limiter counts the send until a window from now.
            limiter = self._limiter(chat)
            if limiter is not None:
                limiter.finish(chat, group, self.now())
            if slot is not None and shared is not None:
                await self._finish_shared(shared, slot, chat, group)
        if result is None:
            self._requeue(chat, self.redis_backoff_s)
            return
        if result.retry_after is not None and shared is not None:
            with contextlib.suppress(Exception):  # Redis down: the local pause still holds
                await shared.pause(chat, result.retry_after)
        await self._settled(entry, result)

    async def _finish_shared(
        self, shared: SharedLimiter, slot: str, chat: str, group: bool
    ) -> None:
        try:
            await shared.finish(slot, chat, group)
        except Exception as exc:  # the slot lapses on its own (shared_limits.IN_FLIGHT_CAP_S)
            self._redis_failed(exc)

    async def _settled(self, entry: OutboxEntry, result: Delivery) -> None:
        chat = entry.chat
        try:
            delay = await self.outbox.settle(entry, result)
            self._redis_answered()
        except Exception as exc:
            self._redis_failed(exc)
            if result.outcome is not Outcome.RETRY:
                # Accepted (or refused for good) by the platform: only the record is missing.
                self._unsettled[entry.id] = result
            self._requeue(chat, self.redis_backoff_s)
            return
        queue = self.queues.get(chat)
        not_before = 0.0
        if delay is None:
            if result.outcome is Outcome.SENT and not result.duplicate:
                self.sent += 1
            if queue and queue[0].id == entry.id:
                queue.popleft()
                self._held.discard(entry.id)
        else:
            not_before = self.now() + delay
            limiter = self._limiter(chat)
            if limiter is not None and result.retry_after is not None:
                limiter.pause(chat, not_before)
        self._in_flight.pop(chat, None)
        if queue:
            self._schedule(chat, not_before)
        elif queue is not None:
            del self.queues[chat]
        self._wake.set()

    def _requeue(self, chat: str, delay: float) -> None:
        """The head entry of `chat` stays; try the chat again after `delay`."""
        self._in_flight.pop(chat, None)
        if self.queues.get(chat):
            self._schedule(chat, self.now() + delay)
        self._wake.set()

    def dispatch_ready(self) -> float | None:
        """Start every send the limits allow now; return when to look again."""
        if self.now() < self._redis_hold_until:
            return self._redis_hold_until
        next_at: float | None = None
        for platform, heap in self._heaps.items():
            at = self._dispatch_platform(platform, heap, self.limiters.get(platform))
            if at is not None and (next_at is None or at < next_at):
                next_at = at
        return next_at

    def _dispatch_platform(
        self, platform: str, heap: list[tuple[float, int, str]], limiter: RateLimiter | None
    ) -> float | None:
        while heap and len(self._in_flight) < self.max_in_flight:
            ready, _, chat = heap[0]
            now = self.now()
            if ready > now:
                return ready
            if limiter is not None and platform not in self.shared:
                # With shared windows the token's overall window is Redis's to keep: the
                # send waits for its slot there (bot.delivery.shared_limits), its message
                # made meanwhile; a local gate too would count that wait against the token.
                overall = limiter.overall_ready_at(now)
                if overall > now:
                    return overall
            heapq.heappop(heap)
            queue = self.queues.get(chat)
            if not queue or chat in self._in_flight:
                continue
            if limiter is not None:
                group = self.is_group(ChatRef.parse(chat))
                when = limiter.chat_ready_at(chat, group, now)
                if when > now:
                    heapq.heappush(heap, (when, next(self._seq), chat))
                    continue
                limiter.start(chat, group, now)
            self._in_flight[chat] = asyncio.create_task(self._send(queue[0]))
        return heap[0][0] if heap else None

    async def _keepalive(self) -> None:
        now = self.now()
        if now - self._last_beat >= HEARTBEAT_S:
            self._last_beat = now
            await self.outbox.beat(HEARTBEAT_S * 3)
        if now - self._last_touch >= min(TOUCH_S, self.abandoned_after_s / 3):
            self._last_touch = now
            await self.outbox.touch(list(self._held))
            for limiter in self.limiters.values():
                limiter.prune(now)

    def stop(self) -> None:
        """Finish the current pass, let in-flight sends settle, and return from run()."""
        self._stopping.set()
        self._wake.set()

    async def run(self, idle_block_ms: int = 1000) -> None:
        """Deliver until stop() (or cancellation)."""
        try:
            while not self._stopping.is_set():
                try:
                    if self.now() >= self._redis_hold_until:
                        await self._keepalive()
                        idle = not self.queues and not self._in_flight
                        await self.fill(block_ms=idle_block_ms if idle else None)
                        self._redis_answered()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._redis_failed(exc)
                next_at = self.dispatch_ready()
                wait = 0.2 if next_at is None else max(0.0, min(0.2, next_at - self.now()))
                if self._stopping.is_set():
                    break
                self._wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
                # arrives as the wait completes, and the loop would never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
        finally:
            await self.drain_in_flight()

    async def drain(self) -> int:
        """Deliver everything the limits and retry times allow now, then return: the
        loop's own steps (read, pace, send, settle) without waiting on a clock. `divbot
        replay` runs it after each step on its simulated clock (give the loop
        `now=` that clock), and tests use it for one pass. Returns sends made."""
        before = self.sent
        while True:
            await self.fill(block_ms=None)
            self.dispatch_ready()
            if not self._in_flight:
                return self.sent - before
            await asyncio.wait(list(self._in_flight.values()))

    async def drain_in_flight(self, timeout_s: float = 10.0) -> None:
        """On shutdown: let sends already started finish (their entries settle); the rest
        stay pending in the stream for the next consumer."""
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
