"""The /divergence chart: a PNG of the indexes rebased to 100, the spread shaded, and the
economy's standardised deviations as a small bar panel.

Rendered with matplotlib's object API on the Agg canvas (never pyplot, which keeps global
state), always at WIDTH x HEIGHT pixels, and off the event loop: `render_png` runs the
drawing in a worker thread. A lock serialises renders because matplotlib's font and text
caches are not documented as thread-safe; the GIL would serialise most of the work anyway.

matplotlib is imported on the first render, not with this module: it costs the process
about 28 MB of RSS, and only /divergence charts (and the digest's) need it.
"""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import date
from typing import Any

WIDTH, HEIGHT, DPI = 800, 500, 100
_LOCK = threading.Lock()
COLORS = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b")
BENCH_COLOR = "#1f77b4"


def _x(dates: tuple[date, ...] | list[date]) -> Any:
    """Dates for an x axis (matplotlib converts them; its stubs only name arrays)."""
    return list(dates)


def rebased(closes: tuple[float, ...]) -> list[float]:
    """The series as 100 x close / first close."""
    first = closes[0]
    return [100.0 * c / first for c in closes]


def _asof(dates: tuple[date, ...], values: list[float], on: list[date]) -> list[float | None]:
    """`values` sampled on `on`: the last value dated on or before each day."""
    out: list[float | None] = []
    i = 0
    for day in on:
        while i < len(dates) and dates[i] <= day:
            i += 1
        out.append(values[i - 1] if i else None)
    return out


def draw(
    title: str,
    tech: list[tuple[str, tuple[date, ...], tuple[float, ...]]],
    benchmark: tuple[str, tuple[date, ...], tuple[float, ...]] | None,
    deviations: list[tuple[str, float | None]],
) -> bytes:
    """The chart as PNG bytes. `tech` and `benchmark` are (name, dates, closes) from each
    leg's window base to its end; `deviations` are (indicator, z) with None for n/a."""
    # Imported here, on first use (see the module docstring); later calls find them loaded.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import dates as mdates  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.45)
    top = fig.add_subplot(grid[0])
    bars = fig.add_subplot(grid[1])
    top.set_title(title, fontsize=10)
    top.axhline(100, color="#999999", linewidth=0.6)
    bench_line: list[float | None] = []
    if benchmark is not None and len(benchmark[2]) >= 1:
        name, dates, closes = benchmark
        top.plot(_x(dates), rebased(closes), color=BENCH_COLOR, linewidth=1.6, label=name)
    for i, (name, dates, closes) in enumerate(tech):
        if not closes:
            continue
        line = rebased(closes)
        top.plot(_x(dates), line, color=COLORS[i % len(COLORS)], linewidth=1.6, label=name)
        if i == 0 and benchmark is not None and benchmark[2]:
            bench_line = _asof(benchmark[1], rebased(benchmark[2]), list(dates))
            xs = [d for d, b in zip(dates, bench_line, strict=True) if b is not None]
            ys = [v for v, b in zip(line, bench_line, strict=True) if b is not None]
            bs = [b for b in bench_line if b is not None]
            if xs:
                top.fill_between(_x(xs), ys, bs, color=COLORS[0], alpha=0.15, label="spread")
    top.set_ylabel("rebased = 100", fontsize=8)
    top.tick_params(labelsize=7)
    top.legend(fontsize=7, loc="upper left")
    top.grid(alpha=0.3)
    locator = mdates.AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
    top.xaxis.set_major_locator(locator)
    top.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    labels = [k for k, _ in deviations]
    values = [v if v is not None else 0.0 for _, v in deviations]
    colors = [
        "#bbbbbb" if v is None else ("#2ca02c" if v >= 0 else "#d62728") for _, v in deviations
    ]
    bars.bar(labels, values, color=colors)
    bars.axhline(0, color="#666666", linewidth=0.6)
    for x, (_, v) in enumerate(deviations):
        if v is None:
            bars.text(x, 0, "n/a", ha="center", va="bottom", fontsize=7)
    bars.set_title("economy: deviation from neutral, in standard deviations", fontsize=8)
    bars.tick_params(labelsize=7)
    out = io.BytesIO()
    # No tight bbox: the pixel size must not depend on the labels. No metadata: same
    # input, same bytes.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def draw_locked(
    title: str,
    tech: list[tuple[str, tuple[date, ...], tuple[float, ...]]],
    benchmark: tuple[str, tuple[date, ...], tuple[float, ...]] | None,
    deviations: list[tuple[str, float | None]],
) -> bytes:
    with _LOCK:
        return draw(title, tech, benchmark, deviations)


async def render_png(
    title: str,
    tech: list[tuple[str, tuple[date, ...], tuple[float, ...]]],
    benchmark: tuple[str, tuple[date, ...], tuple[float, ...]] | None,
    deviations: list[tuple[str, float | None]],
) -> bytes:
    """Draw in a worker thread, so a render never blocks the event loop."""
    return await asyncio.to_thread(draw_locked, title, tech, benchmark, deviations)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR; raises ValueError if it is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
