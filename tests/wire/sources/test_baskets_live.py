"""Baskets (issue 19 item 2) against a real redis-server and the loopback provider fakes:
made from watched and seed instruments, a rule on one firing once on the cross through
the live quotes watcher, cap weights from the provider's free-float cap, a restart
keeping it. SYNTHETIC prices and caps; the search rows come from test_watch_any."""

from __future__ import annotations

from datetime import date, timedelta

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.market.quote_feed import QuoteFeed
from bot.market.validate import QuoteValidator
from bot.sources.eastmoney import EastmoneySource
from bot.wiring import Core, seed_basket
from handlers.dispatch import handle
from jobs.quotes import QuotesJob
from tests.fakes.providers import FakeProviders
from tests.support.watching import CHAT, OTHER, cmd, make_core, program
from tests.wire.handlers.test_commands import snapshot
from tests.wire.sources.conftest import NOW, Sleeps

PREV = date(2026, 1, 20)  # the session before NOW's (Wed 21 Jan 2026)
CLOSES = {"CAMBRICON": 100.0, "688981": 50.0, "BABA": 80.0}
SECIDS = {"CAMBRICON": "1.688256", "688981": "1.688981", "BABA": "116.09988"}


async def make_ai3(core: Core, fake: FakeProviders, *extra: str) -> None:
    assert (await handle(core, cmd("watch", "688981"))).title.startswith("Watching")
    for key, close in CLOSES.items():
        await core.store.put_closes(key, [(PREV - timedelta(days=1), close), (PREV, close)])
        core.service.set_closes(key, await core.store.load_closes(key))
        fake.row(SECIDS[key], f18=close)
    made = await handle(core, cmd("basket", "add", "AI3", "688256", "688981", "9988", *extra))
    assert made.title.startswith("Basket AI3: 3 members"), made.title


def price(fake: FakeProviders, at_s: float, **moves: float) -> None:
    for key, pct in moves.items():
        close = CLOSES[key]
        fake.row(
            SECIDS[key],
            f2=round(close * (1 + pct / 100), 4),
            f17=close,
            f124=(NOW + timedelta(seconds=at_s)).timestamp() - 5,
        )


def job(core: Core, session: aiohttp.ClientSession, settings: Settings) -> QuotesJob:
    feed = QuoteFeed(
        [EastmoneySource(session, settings, sleep=Sleeps())],  # type: ignore[list-item]
        QuoteValidator(core.markets.__getitem__, settings),
        core.health,
        core.watchlist,
    )
    return QuotesJob(
        core.watchlist,
        feed,
        core.service,
        core.markets,
        core.health,
        10,
        660,
        baskets=lambda: core.catalogue.baskets,
    )


async def test_a_rule_on_a_basket_fires_once_on_the_cross(
    fake: FakeProviders,
    core: Core,
    redis_client: Redis,
    session: aiohttp.ClientSession,
    watch_settings: Settings,
) -> None:
    await make_ai3(core, fake)
    assert (await core.store.load_closes("AI3")).closes == [1000.0, 1000.0]
    added = await handle(core, cmd("alert", "add", "AI3", "1d", "up", "2"))
    assert added.title.startswith("Added rule r1: AI3 basket 1d up 2%")
    quotes = job(core, session, watch_settings)

    price(fake, 0, CAMBRICON=1, **{"688981": 1}, BABA=0)  # basket +0.67%: below 2%
    await quotes.run_once(NOW)
    first = core.service.latest_quote("AI3")
    assert first is not None
    assert round(first.price, 4) == round(1000 * (1 + (0.01 + 0.01 + 0) / 3), 4)
    assert await redis_client.xlen("divbot:outbox") == 0

    price(fake, 10, CAMBRICON=4, **{"688981": 3}, BABA=1)  # (4+3+1)/3 = +2.67%: crosses
    await quotes.run_once(NOW + timedelta(seconds=10))
    after_cross = await redis_client.xlen("divbot:outbox")
    assert after_cross == 1

    price(fake, 20, CAMBRICON=5, **{"688981": 3}, BABA=1)  # still above: no second alert
    await quotes.run_once(NOW + timedelta(seconds=20))
    assert await redis_client.xlen("divbot:outbox") == 1
    level = core.service.latest_quote("AI3")
    assert level is not None
    assert round(level.price, 4) == 1030.0


async def test_a_member_not_quoted_today_contributes_nothing(
    fake: FakeProviders, core: Core, session: aiohttp.ClientSession, watch_settings: Settings
) -> None:
    await make_ai3(core, fake)
    price(fake, 0, CAMBRICON=3, **{"688981": 6})
    fake.row(SECIDS["BABA"], f2="-", f124=(NOW - timedelta(days=3)).timestamp())  # suspended
    await job(core, session, watch_settings).run_once(NOW)
    level = core.service.latest_quote("AI3")
    assert level is not None
    assert round(level.price, 4) == round(1000 * (1 + (0.03 + 0.06) / 3), 4)  # 1030


async def test_cap_weights_from_free_float_caps(
    fake: FakeProviders, core: Core, session: aiohttp.ClientSession
) -> None:
    assert (await handle(core, cmd("watch", "688981"))).title.startswith("Watching")
    assert (await handle(core, cmd("watch", "华虹公司"))).title.startswith("Watching")
    fake.row("1.688256", f21=3.0e11)
    fake.row("1.688981", f21=1.5e11)
    fake.row("1.688347", f21=0.5e11)
    made = await handle(
        core, cmd("basket", "add", "CHIP3", "688256", "688981", "688347", "weights=cap")
    )
    assert made.lines[0] == "CAMBRICON 60% · 688981 30% · 688347 10%"
    mixed = await handle(core, cmd("basket", "add", "MIX", "688256", "9988", "weights=cap"))
    assert mixed.title == "weights=cap needs members of one market (caps in one currency)"


async def test_refusals_store_nothing_and_only_its_chat_removes_it(
    fake: FakeProviders, core: Core, redis_client: Redis
) -> None:
    unknown = await handle(core, cmd("basket", "add", "AI3", "688256", "ZZZZQ"))
    assert unknown.title == "no A-share, Hong Kong or US stock found for 'ZZZZQ'; nothing stored"
    taken = await handle(core, cmd("basket", "add", "NDX", "688256", "9988"))
    assert taken.title == "NDX already names an instrument or a basket; choose another name"
    assert await redis_client.hlen("divbot:baskets") == 0
    await make_ai3(core, fake)
    other = await handle(core, cmd("basket", "rm", "AI3", chat=OTHER))
    assert other.title == "AI3 was made in another chat: only that chat removes it"
    assert (await handle(core, cmd("basket", "rm", "ai3"))).title == "Removed basket AI3"
    assert "AI3" not in core.watchlist


async def test_a_restart_keeps_baskets_and_their_rules(
    fake: FakeProviders,
    core: Core,
    redis_client: Redis,
    session: aiohttp.ClientSession,
    watch_settings: Settings,
) -> None:
    await make_ai3(core, fake)
    await handle(core, cmd("alert", "add", "AI3", "vs", "NDX", "1d", "up", "3"))

    restarted = await make_core(watch_settings, redis_client, session)

    assert restarted.watchlist.resolve("ai3").key == "AI3"
    listed = await handle(restarted, cmd("baskets"))
    assert listed.lines == ["AI3: CAMBRICON 688981 BABA · equal · 1,000.00"]
    alerts = await handle(restarted, cmd("alerts", chat=CHAT))
    assert alerts.lines[0].startswith("r1    AI3 basket vs NDX")
    compared = await handle(restarted, cmd("divergence", "1d", "AI3", "NDX"))
    assert not compared.private, compared.title  # taken like an index, not refused


async def test_the_seed_basket_is_an_illustration_made_once(
    core: Core, redis_client: Redis
) -> None:
    await seed_basket(core)
    await seed_basket(core)  # a second start changes nothing

    listed = await handle(core, cmd("baskets"))
    assert listed.lines == [
        "CNAI (illustration, not advice): CAMBRICON BABA TENCENT · equal · 1,000.00"
    ]
    assert await redis_client.hlen("divbot:baskets") == 1
    owner_only = await handle(core, cmd("basket", "rm", "CNAI"))
    assert owner_only.title == "CNAI is the seed basket, an illustration every chat shares"


async def test_members_the_bot_does_not_know_are_found_and_watched(
    core: Core, redis_client: Redis
) -> None:
    made = await handle(core, cmd("basket", "add", "CHIPS", "华虹公司", "688981", "寒武纪"))
    assert made.title == "Basket CHIPS: 3 members, equal weights"
    assert made.lines[:2] == [
        "688347 33% · 688981 33% · CAMBRICON 33%",
        "This chat now watches 688347, 688981 too",
    ]
    assert await core.catalogue.watching(CHAT) == ["688347", "688981"]
    assert core.watchlist.resolve("chips").key == "CHIPS"
    quoted = await handle(core, cmd("quote", "688347"))
    assert quoted.lines[1].startswith("华虹公司"), quoted.lines


@pytest.mark.parametrize(
    ("member", "line"),
    [
        (
            "中芯国际",
            "'中芯国际' could mean 2 instruments (688981, 00981): name the member by its code",
        ),
        (
            "600087",
            "600087 退市长油: no price from the providers (delisted or unknown); nothing stored",
        ),
        ("ZZZZQ", "no A-share, Hong Kong or US stock found for 'ZZZZQ'; nothing stored"),
    ],
)
async def test_a_member_the_search_refuses_stores_nothing(
    core: Core, redis_client: Redis, member: str, line: str
) -> None:
    before = await snapshot(redis_client)
    answer = await handle(core, cmd("basket", "add", "CHIPS", "华虹公司", member, "寒武纪"))
    assert answer.title == line
    assert await snapshot(redis_client) == before  # 华虹公司, found first, is not watched


async def test_members_past_the_chats_watch_cap_store_nothing(
    fake: FakeProviders,
    redis_client: Redis,
    session: aiohttp.ClientSession,
    watch_settings: Settings,
) -> None:
    program(fake)
    capped = watch_settings.model_copy(update={"watch_max_per_chat": 1})
    core = await make_core(capped, redis_client, session)
    before = await snapshot(redis_client)
    answer = await handle(core, cmd("basket", "add", "CHIPS", "华虹公司", "688981", "寒武纪"))
    assert answer.title == (
        "this chat would watch more than 1 instrument, the most it may; nothing stored"
    )
    assert await snapshot(redis_client) == before
