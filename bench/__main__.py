"""`python -m bench [NAME…]`: run benchmarks and rewrite their sections of BENCHMARKS.md.

Each benchmark module has `TITLE` and `def main() -> str` returning Markdown. A section is
replaced in place (between its marker comments), so one benchmark can be re-run alone.
"""

from __future__ import annotations

import importlib
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCHES = [
    "bench.engine_ticks",
    "bench.divergence_latency",
    "bench.fanout",
    "bench.alert_latency",
    "bench.memory",
    "bench.status_latency",
]
OUT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\nMeasured by `make bench` (`python -m bench`) on the machine named in each"
    " section. Ratios compare implementations side by side in the same run; absolute numbers"
    " depend on a shared, noisy machine.\n"
)


def write_section(name: str, body: str) -> None:
    text = OUT.read_text() if OUT.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    machine = (
        f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    )
    stamp = f"_{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine}_\n\n"
    section = f"{start}\n{stamp}{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else (text.rstrip() + "\n\n" + section + "\n")
    )
    OUT.write_text(text)


def main(argv: list[str]) -> int:
    chosen = [b for b in BENCHES if not argv or b.rsplit(".", 1)[-1] in argv]
    for name in chosen:
        module = importlib.import_module(name)
        print(f"running {name} …", flush=True)
        body = module.main()
        print(body)
        write_section(name.rsplit(".", 1)[-1], body)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
