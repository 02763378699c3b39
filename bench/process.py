"""A benchmark's own process: running a measurement in a fresh interpreter, and reading
that process's own memory figures.

Memory figures come from `/proc/self/status`: VmHWM (peak resident set) and VmRSS (resident
now). VmHWM belongs to the process's address space, which `exec` replaces, so a fresh
interpreter starts it afresh. `getrusage(...).ru_maxrss` does not: on Linux it survives
`exec` and keeps the peak of the process that started the child (the runner of
`make bench`, holding the benches that ran before), so it is never used here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATUS = Path("/proc/self/status")


def _status_mb(field: str) -> float:
    found = re.search(rf"^{field}:\s+(\d+) kB$", STATUS.read_text(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no {field} in {STATUS}: the memory benches need Linux")
    return int(found.group(1)) / 1024


def peak_mb() -> float:
    """This process's peak resident set (VmHWM) so far, in MB."""
    return _status_mb("VmHWM")


def rss_mb() -> float:
    """This process's resident set (VmRSS) now, in MB."""
    return _status_mb("VmRSS")


def run_child(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m MODULE child ARGS…` in a fresh interpreter and return the JSON object
    on the last line it printed (its figures, measured in its own process)."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", module, "child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module} child failed ({out.returncode}):\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
