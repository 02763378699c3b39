"""A test-only hook: the process dies (SIGKILL, as `kill -9`) at a named point.

The crash tests (tests/system/test_crash_points.py) set ``DIVBOT_CRASH_AT`` to one point
of the alert pipeline and check that a restarted replica makes every delivery owed. In
production the variable is unset and `reached` is one comparison with an empty string.

Points: ``raised`` (an alert's record and its state change written, nothing fanned out),
``fanout-checkpoint`` (the first checkpoint of a fan-out written, the rest not),
``fanned-out`` (every chat handed to the noise gate, nothing sent yet).
"""

from __future__ import annotations

import os
import signal

POINTS = frozenset({"raised", "fanout-checkpoint", "fanned-out"})
_AT = os.environ.get("DIVBOT_CRASH_AT", "")


def reached(point: str) -> None:
    """Die here if this is the point the crash test named."""
    if _AT and point == _AT:
        os.kill(os.getpid(), signal.SIGKILL)
