"""Seed files: each is validated by its pydantic model, a bad value or a typo'd key is
refused with the file and the field's path, the shipped seeds load, and a bad seed stops
`divbot` at start-up with exit status 2 and one line.

Every case edits a copy of the shipped file in tmp_path, so it breaks one thing in a file
that is otherwise real.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import REPO_ROOT, Settings
from bot.headlines.classifier import load_rules
from bot.macro.calendar import CalendarError, load_seed, parse_entry
from bot.market.closures import load_closure_file
from bot.market.watchlist import Watchlist
from bot.seedfiles import SeedFileError
from bot.sources.headline_feeds import load_feeds
from bot.wiring import check_seeds, load_house_rules

SEEDS = REPO_ROOT / "seeds"
WATCHLIST = Watchlist.load(SEEDS / "watchlist.toml")

LOADERS: dict[str, Callable[[Path], object]] = {
    "watchlist.toml": Watchlist.load,
    "closures.toml": load_closure_file,
    "feeds.toml": load_feeds,
    "headline_rules.toml": load_rules,
    "calendar_2026.toml": load_seed,
    "default_rules.toml": lambda path: load_house_rules(path, WATCHLIST),
}


def seeds_copy(tmp_path: Path) -> Path:
    """The shipped seed files (TOML only) in a folder of their own."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    for path in SEEDS.glob("*.toml"):
        shutil.copy(path, folder / path.name)
    return folder


def edited(tmp_path: Path, name: str, old: str, new: str) -> Path:
    """A copy of seeds/`name` with the first `old` that starts a line (not a comment's
    words) replaced by `new`."""
    path = seeds_copy(tmp_path) / name
    text = path.read_text(encoding="utf-8")
    changed, found = re.subn(f"^{re.escape(old)}", lambda _: new, text, count=1, flags=re.M)
    assert found, f"{name} no longer has a line starting {old!r}: update this test"
    path.write_text(changed, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(SeedFileError) as caught:
        LOADERS[path.name](path)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("name", "old", "new", "expect"),
    [
        ("watchlist.toml", "band = [500, 5000]", "band = [5000, 500]",
         "watchlist.toml: STAR50.band: must be [low, high]"),
        ("watchlist.toml", 'role = "tech"', 'role = "growth"',
         "watchlist.toml: STAR50.role: Input should be 'tech'"),
        ("watchlist.toml", 'calendar = "XSHG"', 'calendar = "SHANGHAI"',
         "watchlist.toml: STAR50.calendar: unknown exchange_calendars code 'SHANGHAI'"),
        ("watchlist.toml", "[STAR50]", "[star50]",
         "watchlist.toml: star50: not an instrument key"),
        ("closures.toml", 'status = "provisional"', 'status = "maybe"',
         "closures.toml: XSHG.closure.0.status: Input should be 'provisional' or 'confirmed'"),
        ("closures.toml", "date = 2027-02-05", "date = 2027-02-06",
         "closures.toml: XSHG.closure.1.date: closure 2027-02-06 is a weekend day"),
        ("feeds.toml", "interval_s = 300", "interval_s = 5",
         "feeds.toml: feed.0.interval_s: Input should be greater than or equal to 10"),
        ("feeds.toml", 'id = "hkex_regulatory"', 'id = "hkex_news"',
         "feeds.toml: feed.2.id: id 'hkex_news' is used twice"),
        ("feeds.toml", "max_bytes = 2_000_000", "max_bytes = 10",
         "feeds.toml: defaults.max_bytes: Input should be greater than or equal to 1024"),
        ("headline_rules.toml", 'severity = "warning"', 'severity = "severe"',
         "headline_rules.toml: category.0.severity: Input should be 'info', 'warning' or"),
        ("headline_rules.toml", 'aliases = ["两融"', 'aliases = ["hft"',
         "headline_rules.toml: category.1.id: name 'hft' is used twice"),
        ("headline_rules.toml", "patterns = ['(?<![a-z])margin", "patterns = ['(?<![a-z]margin",
         "headline_rules.toml: category.0.patterns.0: bad pattern"),
        ("calendar_2026.toml", 'period = "2025-12"', 'period = "2025-13"',
         "calendar_2026.toml: release.0.period: period '2025-13': expected 2025-12"),
        ("calendar_2026.toml", 'at = "2026-01-09T09:30"', 'at = "2026-01-09T25:30"',
         "calendar_2026.toml: release.0.at: at '2026-01-09T25:30' is not a time"),
        ("calendar_2026.toml", 'indicator = "PPI"\nperiod = "2025-12"',
         'indicator = "CPI"\nperiod = "2025-12"',
         "calendar_2026.toml: release.1: CPI:2025-12 is listed twice"),
        ("default_rules.toml", 'spec = "STAR50 mtd up 10"', 'spec = "STAR50 mtd upward 10"',
         "default_rules.toml: rule.0.spec: 'STAR50 mtd upward 10' does not parse"),
        ("default_rules.toml", 'spec = "NDX above 26000"', 'spec = "NASDAQ above 26000"',
         "default_rules.toml: rule.5.spec: 'NASDAQ above 26000' does not parse: unknown"),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_naming_the_file_and_field_path(
    tmp_path: Path, name: str, old: str, new: str, expect: str
) -> None:
    message = refusal(edited(tmp_path, name, old, new))
    assert message.startswith(expect), message


@pytest.mark.parametrize(
    ("name", "old", "new", "expect"),
    [
        ("watchlist.toml", 'name = "STAR 50"', 'nmae = "STAR 50"', "watchlist.toml: STAR50.nmae"),
        ("closures.toml", "through = 2027-12-31", "through = 2027-12-31\nthru = 2028-12-31",
         "closures.toml: XSHG.thru"),
        ("feeds.toml", "interval_s = 300", "interval = 300", "feeds.toml: feed.0.interval"),
        ("feeds.toml", "max_age_h = 48", "max_age = 48", "feeds.toml: defaults.max_age"),
        ("headline_rules.toml", "keywords = [", "keyword = [",
         "headline_rules.toml: category.0.keyword"),
        ("headline_rules.toml", "  any = [", "  words = [",
         "headline_rules.toml: category.0.when.0.words"),
        ("calendar_2026.toml", "consensus = 0.8", "concensus = 0.8",
         "calendar_2026.toml: release.0.concensus"),
        ("calendar_2026.toml", "[[event]]", "[[events]]", "calendar_2026.toml: events"),
        ("default_rules.toml", "why = ", "reason = ", "default_rules.toml: rule.0.reason"),
    ],
)  # fmt: skip
def test_an_unknown_key_is_refused_naming_the_file_and_field_path(
    tmp_path: Path, name: str, old: str, new: str, expect: str
) -> None:
    # A typo'd key also leaves its intended key missing: the typo is what is reported.
    assert refusal(edited(tmp_path, name, old, new)) == f"{expect}: unknown key"


def test_an_unreadable_seed_file_is_one_line_naming_it(tmp_path: Path) -> None:
    path = edited(tmp_path, "feeds.toml", "[defaults]", "[defaults")
    assert refusal(path).startswith("feeds.toml: not valid TOML (")


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_the_shipped_seed_files_load(name: str) -> None:
    assert LOADERS[name](SEEDS / name)


def test_check_seeds_accepts_the_shipped_seeds_and_refuses_a_bad_one(tmp_path: Path) -> None:
    check_seeds(Settings(_env_file=None))  # type: ignore[call-arg]
    path = edited(tmp_path, "default_rules.toml", 'spec = "STAR50 1d down 1"', 'spec = "STAR50 1d"')
    folder = path.parent
    with pytest.raises(SeedFileError, match=r"^default_rules\.toml: rule\.3\.spec: "):
        check_seeds(Settings(_env_file=None, seeds_dir=folder))  # type: ignore[call-arg]


def test_the_chat_calendar_path_keeps_its_one_line_reasons() -> None:
    # /calendar add builds the same rows as the seed file, but a chat sees the reason alone.
    good: dict[str, Any] = {"indicator": "CPI", "period": "2026-01", "at": "2026-02-11T09:30"}
    for raw, reason in [
        ({**good, "colour": "red"}, "unknown field 'colour'"),
        ({**good, "tz": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        ({**good, "consensus": "0.4"}, "consensus must be a number"),
    ]:
        with pytest.raises(CalendarError) as caught:
            parse_entry("release", raw, origin="chat")
        assert str(caught.value) == reason


def run_divbot(seeds_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    unset = {"REDIS_URL", "TELEGRAM_TOKEN", "PORT", "POLL_INTERVAL_S", "TIMEZONE"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in unset}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**env, "SEEDS_DIR": str(seeds_dir)},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args", [("check-config",), ("run",), ("replay", "--from", "2026-01-05", "--to", "2026-01-05")]
)
def test_a_bad_seed_stops_divbot_with_exit_2_and_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    path = edited(tmp_path, "watchlist.toml", "band = [500, 5000]", "band = [5000, 500]")
    result = run_divbot(path.parent, *args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.match(r"^seed error: watchlist\.toml: STAR50\.band: ", lines[0]), lines[0]
    assert result.stdout == ""


def test_divbot_check_config_validates_the_shipped_seeds() -> None:
    result = run_divbot(SEEDS, "check-config")
    assert result.returncode == 0, result.stderr
    assert "config ok" in result.stdout
