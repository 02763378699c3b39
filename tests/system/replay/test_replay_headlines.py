"""`make demo` shows the SYNTHETIC January 2026 headlines among the index alerts, at their
times, once per story."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from bot.config import Settings
from bot.replay import replay


@pytest.mark.slow
async def test_january_replay_interleaves_headlines_with_index_alerts() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    out = io.StringIO()
    await replay(settings, date(2026, 1, 1), date(2026, 1, 31), settings.seeds_dir / "history", out)
    text = out.getvalue()
    titles = re.findall(r"^(\w{3} \d\d \w{3} \d\d:\d\d CST)\s+(.+)$", text, re.MULTILINE)
    others = ("China tech vs economy", "In 30 min:", "CPI ", "PPI ", "GDP ", "Manufacturing PMI ")
    titles = [(at, t) for at, t in titles if not t.startswith(others)]  # digest and macro
    stamps = [t for t, _ in titles]
    assert titles[2:11] == [
        (
            "Wed 14 Jan 13:40 CST",
            "TSMC fourth-quarter profit beats estimates, lifting Asian tech stocks",
        ),
        ("Wed 14 Jan 15:15 CST", "HS TECH +5.0% month-to-date"),
        (
            "Wed 14 Jan 17:30 CST",
            "经中国证监会批准，沪深北交易所将融资保证金最低比例从80%提高至100%",
        ),
        (
            "Wed 14 Jan 18:10 CST",
            "China raises margin requirement for new financing purchases to 100% "
            "to cool stock rally",
        ),
        ("Wed 14 Jan 18:25 CST", "滬深北交易所上調融資保證金最低比例至100%，下周一生效"),
        ("Thu 15 Jan 09:50 CST", "內地監管要求券商移除高頻交易專用伺服器"),
        (
            "Thu 15 Jan 10:20 CST",
            "China orders removal of servers dedicated to high-frequency trading",
        ),
        ("Thu 15 Jan 10:30 CST", "STAR 50 −1.1% on the day"),
        ("Thu 15 Jan 16:30 CST", "Alibaba upgrades Qwen AI app with shopping features; shares dip"),
    ]
    assert (
        "Fri 16 Jan 16:45 CST",
        "MSCI Asia Pacific index closes at record high as AI bubble fears fade",
    ) in titles
    # the re-listed HFT story (second feed, other tracking parameters) is not alerted again,
    # and the holiday notice matches no category
    assert sum("high-frequency trading" in t for _, t in titles) == 1
    assert not any("Holiday Arrangements" in t for _, t in titles)
    assert "Category margin financing · Severity critical · Direction tightening" in text
    assert stamps == sorted(stamps, key=lambda s: (s[4:6], s[11:16]))  # time order in January
