"""Send pacing to the chat platforms' published limits, shared by Telegram and Slack.

Each limit is a sliding window (at most N sends in any W seconds), which is exactly how a
platform counts, so pacing by it reaches the limit without crossing it:

- Telegram: 30 messages/s overall, 1/s per chat, 20/min per group;
- Slack: 1 message/s per channel (and a generous overall cap).

A platform counts our requests when they *arrive*, somewhere between the moment we let
one go and the moment its answer is back; the hop there jitters (event-loop turns, the
Redis reads that prepare a message, HTTP, the platform's own queue), by tens or hundreds
of milliseconds on a busy machine. So a send occupies its windows from ``start`` (it
counts at once) until ``finish`` (its answer arrived) and then for a full window after
that: whatever the jitter, the platform saw it no later than that, so the send a window
later cannot land inside its window. This costs each send's round trip once per window,
not a fixed share of it. On top, every window is counted ``headroom`` longer (a share of
it, and at least ``min_headroom_s``) against the platform counting a little differently;
and sends under the overall limit are spaced evenly (W/N apart) rather than fired in
bursts of N, so they do not queue behind each other on the way out, and lateness is
not made up in a burst (a burst's slots free together a window later and it repeats).

A 429 pauses only its own scope (one chat, or the whole platform when it says so) until
``retry_after`` has passed. State is per chat and dropped once a chat's windows are empty,
so 10,000 chats cost 10,000 small entries at most, and fewer once they go quiet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RateWindow:
    count: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Limits:
    overall: RateWindow
    per_chat: RateWindow
    per_group: RateWindow | None = None
    headroom: float = 0.005  # each window counted this much longer (a share of it) …
    min_headroom_s: float = 0.001  # … and at least this much
    # Overall spacing: sends running late (a busy event loop, a slow answer) may catch up
    # on this much lateness (at least one send's worth) rather than lose it for good.
    # None beyond that by default: a clump of sends frees its slots together a window
    # later and the sends taking them go one after another, so a clump would come back
    # every window and cost its length each time (issue 15: measured in bench/fanout.py).
    catch_up_s: float = 0.0


TELEGRAM = Limits(
    overall=RateWindow(30, 1.0), per_chat=RateWindow(1, 1.0), per_group=RateWindow(20, 60.0)
)
SLACK = Limits(overall=RateWindow(50, 1.0), per_chat=RateWindow(1, 1.0))


@dataclass(slots=True)
class _Log:
    """The sends one window counts: `in_flight` ones (started, no answer yet) and the
    times finished ones were answered, oldest first; `spaced`: also W/N apart."""

    window: RateWindow
    headroom_s: float = 0.0
    spaced: bool = False
    catch_up_s: float = 0.0
    times: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    # Spacing as a virtual schedule (GCRA): the next send is due at `due`; sends running
    # late may go early by up to `catch_up_s` (at least one spacing), so lateness does not
    # accumulate. The window, not the spacing, is what keeps a catch-up within the limit.
    due: float = 0.0

    @property
    def seconds(self) -> float:
        return self.window.seconds + self.headroom_s

    def ready_at(self, now: float) -> float:
        seconds = self.seconds
        while self.times and self.times[0] <= now - seconds:
            self.times.popleft()
        ready = now
        if self.spaced:
            ready = max(ready, self.due - max(seconds / self.window.count, self.catch_up_s))
        room = self.window.count - self.in_flight  # sends in flight count as the newest
        if len(self.times) < room:
            return ready
        if room <= 0:
            # The window is all sends still in flight: not before one is answered (and
            # a window after); a caller looks again when a send finishes.
            return max(ready, now + seconds)
        # The room-th latest answer, not the oldest kept: float rounding may keep one the
        # pruning above judged still inside the window.
        return max(ready, self.times[-room] + seconds)

    def start(self, now: float) -> None:
        self.in_flight += 1
        if self.spaced:
            self.due = max(self.due, now) + self.seconds / self.window.count

    def finish(self, now: float) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.times.append(now)

    @property
    def quiet(self) -> bool:
        return not self.times and not self.in_flight


@dataclass(slots=True)
class _Chat:
    chat: _Log
    group: _Log | None
    paused_until: float = 0.0


class RateLimiter:
    """When may the next message to a chat go, and bookkeeping once it went."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._overall = self._log(limits.overall, spaced=True)
        self._paused_until = 0.0
        self._chats: dict[str, _Chat] = {}

    def __len__(self) -> int:
        return len(self._chats)

    def _log(self, window: RateWindow, spaced: bool = False) -> _Log:
        limits = self.limits
        headroom_s = max(window.seconds * limits.headroom, limits.min_headroom_s)
        return _Log(window, headroom_s, spaced, limits.catch_up_s if spaced else 0.0)

    def _state(self, chat: str, is_group: bool) -> _Chat:
        state = self._chats.get(chat)
        if state is None:
            limits = self.limits
            group = self._log(limits.per_group) if is_group and limits.per_group else None
            state = self._chats[chat] = _Chat(self._log(limits.per_chat), group)
        return state

    def chat_ready_at(self, chat: str, is_group: bool, now: float) -> float:
        """Earliest time the chat's own limits allow a send (ignoring the overall cap)."""
        state = self._chats.get(chat)
        if state is None:
            return now
        ready = max(now, state.paused_until, state.chat.ready_at(now))
        if state.group is not None:
            ready = max(ready, state.group.ready_at(now))
        return ready

    def overall_ready_at(self, now: float) -> float:
        return max(now, self._paused_until, self._overall.ready_at(now))

    def ready_at(self, chat: str, is_group: bool, now: float) -> float:
        return max(self.chat_ready_at(chat, is_group, now), self.overall_ready_at(now))

    def start(self, chat: str, is_group: bool, now: float) -> None:
        """A send to `chat` goes now: it counts in every window from this moment."""
        state = self._state(chat, is_group)
        state.chat.start(now)
        if state.group is not None:
            state.group.start(now)
        self._overall.start(now)

    def finish(self, chat: str, is_group: bool, now: float) -> None:
        """The send to `chat` started earlier was answered (or failed) at `now`: it counts
        until a window after this, since the platform may have counted it as late as now.
        Every `start` needs its `finish`, or the send stays counted as in flight."""
        state = self._state(chat, is_group)
        state.chat.finish(now)
        if state.group is not None:
            state.group.finish(now)
        self._overall.finish(now)

    def record(self, chat: str, is_group: bool, now: float) -> None:
        """A send to `chat` started and was answered at `now` (a round trip of nothing)."""
        self.start(chat, is_group, now)
        self.finish(chat, is_group, now)

    def pause(self, chat: str | None, until: float) -> None:
        """A 429: hold one chat, or everything (chat=None), until `until`."""
        if chat is None:
            self._paused_until = max(self._paused_until, until)
        else:
            state = self._state(chat, False)
            state.paused_until = max(state.paused_until, until)

    def prune(self, now: float) -> int:
        """Forget chats whose windows have emptied and who are not paused."""
        idle = []
        for chat, state in self._chats.items():
            state.chat.ready_at(now)  # drops send times older than the window
            if state.group is not None:
                state.group.ready_at(now)
            quiet = state.chat.quiet and (state.group is None or state.group.quiet)
            if quiet and state.paused_until <= now:
                idle.append(chat)
        for chat in idle:
            del self._chats[chat]
        return len(idle)
