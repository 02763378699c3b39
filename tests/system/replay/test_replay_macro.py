"""`make demo` tells January's macro story: reminders and prints at their release times,
with the prints released in January arriving as releases, not as starting history."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from bot.config import Settings
from bot.replay import replay


@pytest.mark.slow
async def test_january_macro_releases_in_the_replay() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    out = io.StringIO()
    await replay(settings, date(2026, 1, 1), date(2026, 1, 31), settings.seeds_dir / "history", out)
    text = out.getvalue()
    titles = re.findall(r"^(\w{3} \d\d \w{3} \d\d:\d\d CST)\s+(.+)$", text, re.MULTILINE)
    macro = [t for t in titles if t[1].startswith(("In 30", "CPI", "PPI", "GDP", "Manufacturing"))]
    assert macro == [
        ("Fri 09 Jan 09:00 CST", "In 30 min: CPI Dec 2025, PPI Dec 2025"),
        ("Fri 09 Jan 09:30 CST", "CPI Dec 2025 +0.8% y/y, 3rd straight month above zero"),
        ("Fri 09 Jan 09:30 CST", "PPI Dec 2025 −1.9% y/y, 39th straight month below zero"),
        ("Tue 13 Jan 21:00 CST", "In 30 min: US CPI Dec 2025"),  # 08:00 in New York
        (
            "Mon 19 Jan 09:30 CST",
            "In 30 min: GDP Q4 2025, Industrial output Dec 2025, Retail sales Dec 2025",
        ),
        ("Mon 19 Jan 10:00 CST", "GDP Q4 2025 +4.5% y/y, 2nd straight quarter below target"),
        ("Sat 31 Jan 09:00 CST", "In 30 min: Manufacturing PMI Jan 2026"),
        (
            "Sat 31 Jan 09:30 CST",
            "Manufacturing PMI Jan 2026 49.3, first month below 50 after 1 month above",
        ),
    ]
    assert "GDP Q4 2025 · previous +4.8% y/y (Q3 2025) · target around 5% (2025 target)" in text
    assert "is late" not in text  # IP and retail sales are not served in the replay: no poll
