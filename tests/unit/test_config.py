"""Settings: a bad value stops the program with one line naming the variable."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import REPO_ROOT, Settings


def run_divbot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in {"REDIS_URL", "TELEGRAM_TOKEN", "PORT", "POLL_INTERVAL_S", "TIMEZONE"}
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("var", "value", "expect"),
    [
        ("POLL_INTERVAL_S", "often", "POLL_INTERVAL_S"),
        ("POLL_INTERVAL_S", "1", "POLL_INTERVAL_S"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: an IANA time zone"),
        ("YAHOO_BASE", "not a url", "YAHOO_BASE"),
        ("PORT", "70000", "PORT"),
    ],
)
def test_bad_config_exits_2_naming_the_variable(var: str, value: str, expect: str) -> None:
    result = run_divbot("check-config", **{var: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert expect in lines[0]


def test_secret_values_are_never_echoed() -> None:
    token = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    result = run_divbot("check-config", TELEGRAM_TOKEN=token, POLL_INTERVAL_S="x")
    assert result.returncode == 2
    assert token not in result.stderr + result.stdout
    settings = Settings(_env_file=None, telegram_token=token)  # type: ignore[call-arg]
    assert token not in repr(settings)
    assert token not in str(settings.model_dump())


def test_good_config() -> None:
    result = run_divbot("check-config")
    assert result.returncode == 0, result.stderr
    assert "config ok" in result.stdout


def test_the_env_example_copied_to_env_is_a_valid_config(tmp_path: Path) -> None:
    """README: `cp .env.example .env`. Its empty lines (`TELEGRAM_TOKEN=`) mean unset."""
    shutil.copy(REPO_ROOT / ".env.example", tmp_path / ".env")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check-config"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "SLACK"))},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "config ok"
