"""Send pacing to the chat platforms' published limits, shared by Telegram and Slack.

Each limit is a sliding window (at most N sends in any W seconds), which is exactly how a
platform counts, so pacing by it reaches the limit without crossing it:

- Telegram: 30 messages/s overall, 1/s per chat, 20/min per group;
- Slack: 1 message/s per channel (and a generous overall cap).

Two guards against the platform seeing more than we sent: a platform counts our requests
when they *arrive*, and the hop there jitters, so every window is counted ``headroom``
longer (2%: 20 ms on a 1 s window); and sends under the overall limit are spaced
evenly (W/N apart) rather than fired in bursts of N, so they do not queue behind each
other on the way out.

A 429 pauses only its own scope (one chat, or the whole platform when it says so) until
``retry_after`` has passed. State is per chat and dropped once a chat's windows are empty,
so 10,000 chats cost 10,000 small entries at most, and fewer once they go quiet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Window:
    count: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Limits:
    overall: Window
    per_chat: Window
    per_group: Window | None = None
    headroom: float = 0.02  # each window counted this much longer (a share of it)


TELEGRAM = Limits(overall=Window(30, 1.0), per_chat=Window(1, 1.0), per_group=Window(20, 60.0))
SLACK = Limits(overall=Window(50, 1.0), per_chat=Window(1, 1.0))
SPACING_CATCH_UP = 1  # sends that may go early to make up for a late one


@dataclass(slots=True)
class _Log:
    """Send times inside one window, oldest first; `spaced`: also W/N apart."""

    window: Window
    headroom: float = 0.0
    spaced: bool = False
    times: deque[float] = field(default_factory=deque)
    # Spacing as a virtual schedule (GCRA): the next send is due at `due`; a send that went
    # late lets up to SPACING_CATCH_UP sends catch up, so lateness does not accumulate.
    due: float = 0.0

    @property
    def seconds(self) -> float:
        return self.window.seconds * (1 + self.headroom)

    def ready_at(self, now: float) -> float:
        seconds = self.seconds
        while self.times and self.times[0] <= now - seconds:
            self.times.popleft()
        ready = now
        if self.spaced:
            ready = max(ready, self.due - SPACING_CATCH_UP * seconds / self.window.count)
        if len(self.times) < self.window.count:
            return ready
        # The count-th latest send, not the oldest kept: float rounding may keep a send
        # the pruning above judged still inside the window.
        return max(ready, self.times[-self.window.count] + seconds)

    def record(self, now: float) -> None:
        self.times.append(now)
        if self.spaced:
            self.due = max(self.due, now) + self.seconds / self.window.count


@dataclass(slots=True)
class _Chat:
    chat: _Log
    group: _Log | None
    paused_until: float = 0.0


class RateLimiter:
    """When may the next message to a chat go, and bookkeeping once it went."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._overall = _Log(limits.overall, limits.headroom, spaced=True)
        self._paused_until = 0.0
        self._chats: dict[str, _Chat] = {}

    def __len__(self) -> int:
        return len(self._chats)

    def _state(self, chat: str, is_group: bool) -> _Chat:
        state = self._chats.get(chat)
        if state is None:
            limits = self.limits
            group = (
                _Log(limits.per_group, limits.headroom) if is_group and limits.per_group else None
            )
            state = self._chats[chat] = _Chat(_Log(limits.per_chat, limits.headroom), group)
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

    def record(self, chat: str, is_group: bool, now: float) -> None:
        """A send to `chat` started at `now`."""
        state = self._state(chat, is_group)
        state.chat.record(now)
        if state.group is not None:
            state.group.record(now)
        self._overall.record(now)

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
            quiet = not state.chat.times and (state.group is None or not state.group.times)
            if quiet and state.paused_until <= now:
                idle.append(chat)
        for chat in idle:
            del self._chats[chat]
        return len(idle)
