"""`python -m bench [NAME…]`: run benchmarks, rewrite their sections of BENCHMARKS.md and
their rows of the summary table that opens it (bench.summary).

Each benchmark module has `TITLE` and `def main() -> Report` (bench.summary): its section's
Markdown and its headline figures with their goals. A section is replaced in place
(between its marker comments), so one benchmark can be re-run alone.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import summary

BENCHES = [
    "bench.engine_ticks",
    "bench.scale",
    "bench.divergence_latency",
    "bench.fanout",
    "bench.alert_latency",
    "bench.memory",
    "bench.status_latency",
    "bench.feed_memory",
    "bench.poll_latency",
    "bench.backtest_latency",
]
NAMES = [b.rsplit(".", 1)[-1] for b in BENCHES]
OUT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\nMeasured by `make bench` (`python -m bench`), which writes this file; the"
    " machine and date are given with each figure and section. Ratios compare implementations"
    " side by side in the same run; absolute numbers depend on a shared, noisy machine."
    " Memory figures are each measured process's own (VmHWM), the same alone or in one run.\n"
)


def write(name: str, report: summary.Report, out: Path = OUT) -> None:
    """Rewrite `name`'s section and its summary rows in `out`; the header is HEADER."""
    text = out.read_text() if out.exists() else ""
    first = text.find("<!-- bench:")
    text = HEADER + "\n" + (text[first:] if first >= 0 else "")
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}"
    stamp = f"{when}; {summary.machine()}"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{start}\n_{stamp}_\n\n{report.body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else (text.rstrip() + "\n\n" + section + "\n")
    )
    text = summary.update(text, NAMES, name, report.figures, stamp)
    out.write_text(text)


def main(argv: list[str]) -> int:
    names = argv
    unknown = set(names) - set(NAMES)
    if unknown:
        print(f"unknown bench: {', '.join(sorted(unknown))} (known: {', '.join(NAMES)})")
        return 2
    for name in [b for b in BENCHES if not names or b.rsplit(".", 1)[-1] in names]:
        module = importlib.import_module(name)
        print(f"running {name} …", flush=True)
        report: summary.Report = module.main()
        print(report.body)
        write(name.rsplit(".", 1)[-1], report)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
