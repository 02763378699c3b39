"""Send pacing: never more than a platform's windows allow, 429s pause only their scope,
and state stays bounded."""

from __future__ import annotations

import heapq
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ratelimit import TELEGRAM, RateLimiter


def simulate(chats: dict[str, tuple[int, bool]]) -> list[tuple[float, str]]:
    """Send every chat's messages as early as the limiter allows; return (time, chat)."""
    limiter = RateLimiter(TELEGRAM)
    left = {chat: n for chat, (n, _) in chats.items()}
    heap = [(0.0, chat) for chat in chats]
    sent: list[tuple[float, str]] = []
    while heap:
        t, chat = heapq.heappop(heap)
        is_group = chats[chat][1]
        ready = limiter.ready_at(chat, is_group, t)
        if ready > t:
            heapq.heappush(heap, (ready, chat))
            continue
        limiter.record(chat, is_group, t)
        sent.append((t, chat))
        left[chat] -= 1
        if left[chat]:
            heapq.heappush(heap, (t, chat))
    return sent


def max_in_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - seconds:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"c[0-9]{1,3}", fullmatch=True),
        st.tuples(st.integers(1, 25), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_no_window_is_ever_exceeded(chats: dict[str, tuple[int, bool]]) -> None:
    sent = simulate(chats)
    assert len(sent) == sum(n for n, _ in chats.values())
    assert max_in_window([t for t, _ in sent], 1.0) <= 30
    per_chat: dict[str, list[float]] = defaultdict(list)
    for t, chat in sent:
        per_chat[chat].append(t)
    for chat, times in per_chat.items():
        assert max_in_window(times, 1.0) <= 1
        if chats[chat][1]:
            assert max_in_window(times, 60.0) <= 20


def test_a_fan_out_runs_at_the_overall_limit() -> None:
    sent = simulate({f"c{i}": (1, False) for i in range(3000)})
    duration = sent[-1][0] - sent[0][0]
    assert len(sent) / (duration + 1.0) >= 29.0  # 30/s, the first second counted in full


def test_a_group_is_held_to_twenty_a_minute() -> None:
    sent = simulate({"g": (21, True)})
    second, minute = 1.0 * (1 + TELEGRAM.headroom), 60.0 * (1 + TELEGRAM.headroom)
    assert sent[19][0] == pytest.approx(19 * second)  # one a second for the first twenty
    assert sent[20][0] == pytest.approx(minute)  # the 21st waits for the first to leave


def test_a_429_pauses_only_its_chat_unless_global() -> None:
    limiter = RateLimiter(TELEGRAM)
    limiter.pause("blocked", until=10.0)
    assert limiter.ready_at("blocked", False, 0.0) == 10.0
    assert limiter.ready_at("other", False, 0.0) == 0.0
    limiter.pause(None, until=5.0)
    assert limiter.ready_at("other", False, 0.0) == 5.0


def test_state_is_pruned_once_chats_go_quiet() -> None:
    limiter = RateLimiter(TELEGRAM)
    for i in range(10_000):
        limiter.record(f"c{i}", i % 2 == 0, i / 1000)
    assert len(limiter) == 10_000
    limiter.pause("held", until=500.0)
    assert limiter.prune(now=100.0) == 10_000
    assert len(limiter) == 1  # the paused chat stays until its pause ends
