"""The benchmarks' memory figures are the measured process's own: `make bench` runs every
bench in one `python -m bench` process, and the memory bench must report the same figures
there as alone, whatever the benches before it allocated in that process.

The memory bench runs for real (its own child, redis-server and fake Bot API) at toy size.
The summary table that opens BENCHMARKS.md is written to a temporary file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import engine_ticks, memory, summary
from bench.__main__ import HEADER, write
from bench.process import peak_mb
from bench.summary import Figure, Report

pytestmark = pytest.mark.slow  # runs benchmarks in child processes (~20 s)

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


def test_the_summary_opens_the_file_and_a_bench_rewrites_only_its_own_rows(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# An old header\n\n<!-- bench:memory -->\nold\n<!-- /bench:memory -->\n")
    fast = Figure("alert p99", "13.0 ms", "p99 < 20 ms (issue 8)", True)
    write("alert_latency", Report("### Alert latency", [fast]), out)
    write("memory", Report("### Peak memory", [Figure("peak", "205 MB", "< 250 MB", True)]), out)
    slow = Figure("alert p99", "25.0 ms", "p99 < 20 ms (issue 8)", False)
    write("alert_latency", Report("### Alert latency again", [slow]), out)
    write("engine_ticks", Report("### Engine", [Figure("ratio", "1,458x")]), out)

    text = out.read_text()
    assert text.startswith(HEADER)
    table = text[text.index("<!-- bench:summary -->") : text.index("<!-- /bench:summary -->")]
    assert text.index("<!-- /bench:summary -->") < text.index("<!-- bench:memory -->")
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r.split("|")[1].strip() for r in rows] == [
        "bench",
        "engine_ticks",
        "alert_latency",
        "memory",
    ]  # in the order `make bench` runs them, each bench's rows once
    engine, alert, memory_row = rows[1:]
    assert "| 1,458x | none set | — |" in engine
    assert "| 25.0 ms | p99 < 20 ms (issue 8) | **NO** |" in alert
    assert "| 205 MB | < 250 MB | **yes** |" in memory_row
    assert "13.0 ms" not in text
    assert "old" not in text  # the old header and the memory section's old body
    assert text.count("### Alert latency") == 1
    for row in rows[1:]:
        assert row.rstrip(" |").endswith(summary.machine())


def test_feed_memory_documents_are_the_sizes_named_and_the_attacks_are_refused() -> None:
    """bench.feed_memory (issue 18.3): the flat-entity feeds of 40 KB and 310 KB are
    refused by the watcher's parser; the ordinary document fills the 2 MB cap and parses."""
    from bench import feed_memory

    assert abs(len(feed_memory.flat_entity(40_000)) - 40_000) < 100
    assert abs(len(feed_memory.flat_entity(310_000)) - 310_000) < 100
    for kind in ("entity_40k", "entity_310k"):
        assert feed_memory.child(kind)["outcome"] == "refused: the document declares DTD entities"
    big = feed_memory.child("ordinary_cap")
    assert feed_memory.CAP_BYTES - 1_000 < int(big["bytes"]) <= feed_memory.CAP_BYTES  # type: ignore[call-overload]
    assert str(big["outcome"]).startswith("parsed: ")
