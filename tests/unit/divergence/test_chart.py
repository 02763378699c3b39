"""The /divergence chart: a valid PNG of a fixed pixel size, whatever the data."""

from __future__ import annotations

import zlib
from datetime import date, timedelta

import pytest

from bot.divergence import chart


def series(n: int, start: float, step: float) -> tuple[tuple[date, ...], tuple[float, ...]]:
    days = tuple(date(2025, 12, 31) + timedelta(days=i) for i in range(n))
    return days, tuple(start + step * i for i in range(n))


def check_png(data: bytes) -> None:
    """Signature, then every chunk's CRC, ending with IEND."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    kinds = []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        crc = int.from_bytes(data[pos + 8 + length : pos + 12 + length], "big")
        assert zlib.crc32(kind + body) == crc, kind
        kinds.append(kind)
        pos += 12 + length
    assert kinds[0] == b"IHDR"
    assert kinds[-1] == b"IEND"


async def test_chart_is_a_png_of_the_expected_size() -> None:
    star, ndx = series(12, 1334.0, 15.0), series(11, 25250.0, 30.0)
    png = await chart.render_png(
        "STAR 50 vs NDX — MTD",
        [("STAR 50", *star), ("HS TECH", *series(11, 5510.0, 30.0))],
        ("NDX", *ndx),
        [("PPI", -1.4), ("CPI", -0.9), ("PMI", 0.2), ("GDP", None)],
    )
    check_png(png)
    assert chart.png_size(png) == (chart.WIDTH, chart.HEIGHT) == (800, 500)


def test_size_does_not_depend_on_the_data_and_output_is_deterministic() -> None:
    one = chart.draw("x", [("A", *series(2, 1.0, 1.0))], None, [])
    long_title = "a very long title " * 8
    two = chart.draw(long_title, [("B" * 40, *series(300, 10.0, -0.01))], None, [("PPI", 9.0)])
    assert chart.png_size(one) == chart.png_size(two) == (800, 500)
    assert one == chart.draw("x", [("A", *series(2, 1.0, 1.0))], None, [])


def test_png_size_rejects_other_bytes() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        chart.png_size(b"GIF89a" + b"\0" * 30)
