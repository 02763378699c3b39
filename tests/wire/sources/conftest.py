"""Fixtures for the quote sources: fake providers on loopback, a guarded session, settings."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from bot.config import REPO_ROOT, Settings
from bot.market.quote_feed import QuoteFeed
from bot.market.sessions import market
from bot.market.validate import QuoteValidator
from bot.market.watchlist import Watchlist
from bot.ops.health import HealthBoard
from bot.sources.eastmoney import EastmoneySource
from bot.sources.yahoo import YahooSource
from tests.fakes.providers import FakeProviders

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.wiring import Core
    from tests.conftest import RedisServer

# Wednesday 21 Jan 2026, 10:00 in Shanghai and Hong Kong (both trading); New York closed.
NOW = datetime(2026, 1, 21, 2, 0, tzinfo=UTC)


class Sleeps(list[float]):
    """Records backoff sleeps instead of sleeping, so retries cost no wall-clock time."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    providers = FakeProviders()
    await providers.start()
    yield providers
    await providers.close()


def make_settings(base: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "eastmoney_quote_base": base,
        "eastmoney_history_base": base,
        "yahoo_base": base,
        "http_timeout_s": 5.0,
        "http_retries": 2,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(fake: FakeProviders) -> Settings:
    return make_settings(fake.url)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(scope="session")
def watchlist() -> Watchlist:
    return Watchlist.load(REPO_ROOT / "seeds" / "watchlist.toml")


@pytest.fixture
def health() -> HealthBoard:
    return HealthBoard()


@pytest.fixture
def eastmoney(
    session: aiohttp.ClientSession, settings: Settings, sleeps: Sleeps
) -> EastmoneySource:
    return EastmoneySource(session, settings, sleep=sleeps)


@pytest.fixture
def yahoo(session: aiohttp.ClientSession, settings: Settings, sleeps: Sleeps) -> YahooSource:
    return YahooSource(session, settings, sleep=sleeps)


@pytest.fixture(scope="session")
def markets() -> None:
    """Build the calendars once, hushing exchange_calendars' Pandas4Warning (pandas >= 3.1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        for code in ("XSHG", "XHKG", "XNYS", "XTAI"):
            market(code)


@pytest.fixture
def validator(settings: Settings, markets: None) -> QuoteValidator:
    return QuoteValidator(market, settings)


@pytest.fixture
def feed(
    eastmoney: EastmoneySource,
    yahoo: YahooSource,
    validator: QuoteValidator,
    health: HealthBoard,
    watchlist: Watchlist,
) -> QuoteFeed:
    return QuoteFeed([eastmoney, yahoo], validator, health, watchlist)


@pytest.fixture
def eastmoney_feed(
    eastmoney: EastmoneySource,
    validator: QuoteValidator,
    health: HealthBoard,
    watchlist: Watchlist,
) -> QuoteFeed:
    """Eastmoney alone, so a bad Eastmoney answer cannot be papered over by failover."""
    return QuoteFeed([eastmoney], validator, health, watchlist)


# -- /watch and /basket (tests.support.watching) ----------------------------------------
@pytest.fixture
def watch_settings(fake: FakeProviders, redis_server: RedisServer) -> Settings:
    return make_settings(
        fake.url,
        redis_url=redis_server.url,
        eastmoney_search_base=fake.url,
        yahoo_search_base=fake.url,
        watch_max_per_chat=8,
        watch_max_total=10,
    )


@pytest.fixture
async def core(
    fake: FakeProviders,
    watch_settings: Settings,
    redis_client: Redis,
    session: aiohttp.ClientSession,
) -> Core:
    from tests.support.watching import make_core, program

    program(fake)
    return await make_core(watch_settings, redis_client, session)
