"""Numbers range-checked for what they mean (issue 17, item 8): a CPI consensus of 123% was
accepted. A print or a consensus given by hand is refused, in one line naming the
indicator's plausible range, and nothing is stored. Real Redis, the real dispatch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.clock import SimClock
from bot.config import Settings
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from tests.conftest import RedisServer
from tests.wire.handlers.test_permissions import dump

OPERATOR = "900"
WHEN = ("2026-03-09", "09:30")


@pytest.fixture
async def core(redis_client: Redis, redis_server: RedisServer) -> Core:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url=redis_server.url, operators=f"telegram:{OPERATOR}"
    )
    return await build_core(settings, redis_client, SimClock(datetime(2026, 3, 2, 2, tzinfo=UTC)))


async def ask(core: Core, name: str, *args: str) -> str:
    cmd = Command("telegram", f"telegram:{OPERATOR}", OPERATOR, name, args, can_admin=True)
    answer = await handle(core, cmd)
    return "\n".join([answer.title, *answer.lines])


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("CPI", "2026-02", *WHEN, "consensus=123"), "-10 to 30 (% y/y)"),
        (("CPI", "2026-02", *WHEN, "consensus=-12"), "-10 to 30 (% y/y)"),
        (("PPI", "2026-02", *WHEN, "consensus=45"), "-20 to 30 (% y/y)"),
        (("PMI", "2026-02", "2026-03-04", "09:30", "consensus=150"), "0 to 100 (index)"),
        (("GDP", "2026-Q1", "2026-04-16", "10:00", "consensus=55"), "-20 to 25 (% y/y)"),
        (("CPI", "2026-02", *WHEN, "target=2-150"), "-10 to 30 (% y/y)"),
    ],
)
async def test_an_implausible_consensus_is_one_line_naming_the_range(
    core: Core, redis_client: Redis, args: tuple[str, ...], named: str
) -> None:
    before = await dump(redis_client)
    answer = await ask(core, "calendar", "add", *args)
    assert named in answer
    assert "is outside" in answer
    assert "\n" not in answer
    assert await dump(redis_client) == before


async def test_a_plausible_consensus_is_stored(core: Core) -> None:
    answer = await ask(core, "calendar", "add", "CPI", "2026-02", *WHEN, "consensus=0.8")
    assert answer.startswith("Calendar: CPI Feb 2026"), answer
    answer = await ask(core, "calendar", "add", "PMI", "2026-02", "2026-03-04", "09:30")
    assert answer.startswith("Calendar: Manufacturing PMI Feb 2026"), answer


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("CPI", "45", "2026-02"), "-10 to 30"),
        (("CPI", "123", "2026-02"), "-10 to 30"),
        (("PMI", "150", "2026-02"), "0 to 100"),
        (("PPI", "-25", "2026-02"), "-20 to 30"),
        (("CPI", "nan", "2026-02"), "-10 to 30"),
    ],
)
async def test_an_implausible_print_is_refused_and_nothing_is_published(
    core: Core, redis_client: Redis, args: tuple[str, ...], named: str
) -> None:
    before = await dump(redis_client)
    answer = await ask(core, "macro", "set", *args)
    assert named in answer
    assert "nothing was published" in answer
    assert await dump(redis_client) == before
