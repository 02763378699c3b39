"""The summary table that opens BENCHMARKS.md: each headline figure, its goal (from the
issues), met or not, and when and on what machine it was measured.

Each bench's `main()` returns a Report: the Markdown of its own section and its headline
Figures. The runner (bench.__main__) replaces that bench's rows of the table and keeps the
other benches' rows as they were, so a bench run alone (`python -m bench NAME`) updates
only its own, and every row says when and where its figure was measured.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

START, END = "<!-- bench:summary -->", "<!-- /bench:summary -->"
HEAD = "| bench | figure | measured | goal | met | measured on |\n|---|---|---|---|---|---|"


@dataclass(frozen=True)
class Figure:
    """One headline figure. `goal` cites the issue that set it; None when none did."""

    figure: str
    value: str
    goal: str | None = None
    met: bool | None = None


@dataclass(frozen=True)
class Report:
    """What a bench's `main()` returns: its section's Markdown and its headline figures."""

    body: str
    figures: list[Figure]


def machine() -> str:
    """'Intel(R) Xeon(R) Processor, 2 CPUs, 23.5 GB RAM, Linux x86_64, CPython 3.11.7'."""
    cpu = platform.processor() or platform.machine()
    ram = ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", info, re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
        total = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        ram = f", {int(total.group(1)) / 1024**2:.1f} GB RAM" if total else ""
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs{ram}, {platform.system()} {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def row(bench: str, f: Figure, stamp: str) -> str:
    met = "—" if f.met is None else ("**yes**" if f.met else "**NO**")
    goal = f.goal or "none set"
    return f"| {bench} | {f.figure} | {f.value} | {goal} | {met} | {stamp} |"


def rows_by_bench(text: str) -> dict[str, list[str]]:
    """The table rows already in `text`, by bench (the first cell)."""
    found: dict[str, list[str]] = {}
    start, end = text.find(START), text.find(END)
    if start < 0 or end < 0:
        return found
    for line in text[start:end].splitlines():
        cells = line.split("|")
        if len(cells) > 2 and line.startswith("| ") and not line.startswith(HEAD[:9]):
            found.setdefault(cells[1].strip(), []).append(line)
    return found


def section(benches: list[str], rows: dict[str, list[str]]) -> str:
    table = "\n".join(line for b in benches for line in rows.get(b, []))
    return f"""{START}
## Summary

Each headline figure, the goal the issues set for it, and whether it was met. The sections
below give every figure with how it was measured. A bench run alone (`python -m bench
NAME`) rewrites its own rows and section only; each row says when and where it was run,
with the load average as the bench ended (the machine is shared: a load above its CPU
count slows the latency and rate figures).

{HEAD}
{table}
{END}"""


def update(text: str, benches: list[str], bench: str, figures: list[Figure], stamp: str) -> str:
    """`text` (BENCHMARKS.md) with `bench`'s rows replaced, the table placed first."""
    rows = rows_by_bench(text)
    rows[bench] = [row(bench, f, stamp) for f in figures]
    table = section(benches, rows)
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: table, text)
    first = text.find("<!-- bench:")
    if first < 0:
        return text.rstrip() + "\n\n" + table + "\n"
    return text[:first] + table + "\n\n" + text[first:]
