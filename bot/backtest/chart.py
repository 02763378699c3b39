"""The /backtest chart: the rule's signal (the instrument's close; for a spread, both legs
rebased to 100) over the period, each fire marked, a fire inside the cooldown hollow.

Drawn like the /divergence chart (bot.divergence.chart): matplotlib's object API on the
Agg canvas, imported on first use, behind that module's lock, in a worker thread.
"""

from __future__ import annotations

import asyncio
import bisect
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.backtest.replay import Fire
from bot.divergence.chart import _LOCK, BENCH_COLOR, COLORS, DPI, HEIGHT, WIDTH, rebased

UP, DOWN = "#2ca02c", "#d62728"


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    dates: tuple[date, ...]
    closes: tuple[float, ...]


def draw(title: str, lines: list[Line], fires: list[Fire], rebase: bool) -> bytes:
    """PNG bytes: each line (rebased to 100 when `rebase`), the first one's fires marked."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    from matplotlib import dates as mdates  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    first: list[float] = []
    for i, line in enumerate(lines):
        if not line.closes:
            continue
        ys = rebased(line.closes) if rebase else list(line.closes)
        color = COLORS[0] if i == 0 else BENCH_COLOR
        ax.plot(_x(line.dates), ys, color=color, linewidth=1.2, label=line.name)
        if i == 0:
            first = ys
    if lines and first:
        by_day = dict(zip(lines[0].dates, first, strict=True))
        days = lines[0].dates
        for side, color, marker in ((1, UP, "^"), (-1, DOWN, "v")):
            for suppressed in (False, True):
                xs, ys = [], []
                for fire in fires:
                    if fire.side != side or fire.suppressed != suppressed:
                        continue
                    day = _on_or_before(days, fire.day)
                    if day is not None:
                        xs.append(day)
                        ys.append(by_day[day])
                if not xs:
                    continue
                label = ("fire up" if side == 1 else "fire down") + (
                    " (cooldown)" if suppressed else ""
                )
                ax.scatter(
                    _x(xs),
                    ys,
                    marker=marker,
                    s=36,
                    color="none" if suppressed else color,
                    edgecolors=color,
                    zorder=3,
                    label=label,
                )
    ax.set_ylabel("rebased = 100" if rebase else "close", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    locator = mdates.AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _x(dates: Any) -> Any:
    return list(dates)


def _on_or_before(days: tuple[date, ...], day: date) -> date | None:
    i = bisect.bisect_right(days, day)
    return days[i - 1] if i else None


def draw_locked(title: str, lines: list[Line], fires: list[Fire], rebase: bool) -> bytes:
    with _LOCK:
        return draw(title, lines, fires, rebase)


async def render_png(title: str, lines: list[Line], fires: list[Fire], rebase: bool) -> bytes:
    """Draw in a worker thread, so a render never blocks the event loop."""
    return await asyncio.to_thread(draw_locked, title, lines, fires, rebase)
