"""The benchmarks' memory figures are the measured process's own: `make bench` runs every
bench in one `python -m bench` process, and the memory bench must report the same figures
there as alone, whatever the benches before it allocated in that process.

The memory bench runs for real (its own child, redis-server and fake Bot API) at toy size.
"""

from __future__ import annotations

import pytest

from bench import engine_ticks, memory
from bench.process import peak_mb

TOY = {"chats": 200, "rules": 2_000}
TOLERANCE_MB = 20  # the same run twice differs by a few MB (allocator, GC timing)


@pytest.mark.timeout(300)  # three real runs (~20 s alone): a guard, not a limit measured
def test_memory_figures_do_not_depend_on_what_ran_before_in_the_runner() -> None:
    alone = memory.measure(**TOY)
    assert alone["sent"] == alone["queued"] == TOY["chats"]

    # Another bench's work in the same runner (the engine bench's measurement, which
    # `make bench` ran in-process before the memory bench): 200,000 rules and their index
    # take this process's peak far above the toy memory bench's.
    engine_ticks.run(n_rules=200_000, n_ticks=100, linear_ticks=2)
    assert peak_mb() > alone["peak"] + 100, "the runner must have held more"

    after = memory.measure(**TOY)
    for figure in ("base", "loaded", "peak"):
        assert abs(after[figure] - alone[figure]) < TOLERANCE_MB, (figure, alone, after)
