"""Ground truth as data (issue 16, deliver 2): every scenario in tests/scenarios/ replayed
through the real replay (bot.replay: the live jobs, engine and pipeline on a simulated
clock) delivers exactly the alerts its file expects, worked out by hand in its comments;
and replaying a scenario twice gives the same alerts (determinism, a hypothesis property).
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import REPO_ROOT, Settings
from bot.replay import run_scenario
from bot.scenario import describe, load

SCENARIOS = sorted((REPO_ROOT / "tests" / "scenarios").glob("*.toml"))


def test_there_are_at_least_fifteen_scenarios() -> None:
    assert len(SCENARIOS) >= 15


def _run(path: Path) -> tuple[list[tuple[str, str, str]], list[str], list[str]]:
    scenario = load(path)
    bot_settings = Settings(_env_file=None)  # type: ignore[call-arg]
    run = asyncio.run(run_scenario(bot_settings, scenario, io.StringIO()))
    alerts = [(a.at.isoformat(), a.chat, a.text) for a in run.result.alerts]
    return alerts, run.result.replies, describe(run.difference, scenario.file.tz)


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_delivers_what_it_expects(path: Path) -> None:
    _, refused, differences = _run(path)
    assert refused == []  # every command of the scenario was accepted
    assert differences == []


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(SCENARIOS))
def test_replaying_a_scenario_twice_gives_the_same_alerts(path: Path) -> None:
    first, _, _ = _run(path)
    second, _, _ = _run(path)
    assert first == second
