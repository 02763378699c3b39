"""Any stock a trader names (issue 19 item 1): /watch by code or name in three scripts,
ambiguity as buttons, refusals that store nothing, the caps, other replicas and a restart.

Against a real redis-server and the loopback fakes of Eastmoney's and Yahoo's search and
quote endpoints (tests.fakes.providers; shapes from ../shared/DATA.md). Every search row
and price below is SYNTHETIC (names and codes are real listings, values are made up)."""

from __future__ import annotations

import aiohttp
import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from bot.config import Settings, describe_error
from bot.market.quote_feed import QuoteFeed
from bot.market.validate import QuoteValidator
from bot.sources.eastmoney import EastmoneySource
from bot.wiring import Core
from handlers import buttons
from handlers.dispatch import REFUSAL, handle
from jobs.quotes import QuotesJob
from tests.fakes.providers import ULIST, FakeProviders
from tests.support.watching import CHAT, OTHER, cmd, make_core
from tests.wire.handlers.test_commands import snapshot
from tests.wire.sources.conftest import NOW, Sleeps


async def test_names_and_codes_in_three_scripts(core: Core, redis_client: Redis) -> None:
    replies = {
        w: await handle(core, cmd("watch", *w.split()))
        for w in ["华虹公司", "688981", "NVDA", "Moore Threads", "寒武纪", "9988", "Cambricon"]
    }

    assert replies["华虹公司"].title == "Watching 华虹公司 (688347)"
    assert replies["688981"].title == "Watching 中芯国际 (688981)"
    assert replies["NVDA"].title == "Watching 英伟达 (NVDA)"  # exact code beats NVDL
    # An English name Eastmoney does not know: Yahoo's search finds it.
    assert replies["Moore Threads"].title == "Watching Moore Threads Technology (688795)"
    # Names of seed instruments (Chinese via Eastmoney, English via Yahoo) are the seeds.
    assert replies["寒武纪"].title == "Watching Cambricon (CAMBRICON)"
    assert replies["9988"].title == "Watching Alibaba HK (BABA)"
    assert replies["Cambricon"].title == "This chat already watches Cambricon (CAMBRICON)."
    assert sorted(await redis_client.hkeys("divbot:catalogue")) == [
        "688347",
        "688795",
        "688981",
        "NVDA",
    ]
    assert await core.catalogue.watching(CHAT) == [
        "688347",
        "688795",
        "688981",
        "BABA",
        "CAMBRICON",
        "NVDA",
    ]
    # At once, by code, name or alias, in the other commands.
    quote = await handle(core, cmd("quote", "华虹公司", "nvda", "688795.SS"))
    assert [line.split()[0] for line in quote.lines[1:]] == ["华虹公司", "英伟达", "Moore"]
    added = await handle(core, cmd("alert", "add", "中芯国际", "1d", "up", "5"))
    assert added.title == "Added rule r1: 中芯国际 1d up 5%"
    spread = await handle(core, cmd("alert", "add", "NVDA", "vs", "NDX", "mtd", "up", "10"))
    assert spread.title.startswith("Added rule r2")
    listed = await handle(core, cmd("watchlist"))
    assert [line.split()[0] for line in listed.lines[1:]] == [
        "688347",
        "688795",
        "688981",
        "BABA",
        "CAMBRICON",
        "NVDA",
    ]


async def test_an_ambiguous_name_answers_with_buttons_and_stores_nothing(
    core: Core, redis_client: Redis
) -> None:
    before = await snapshot(redis_client)

    answer = await handle(core, cmd("watch", "中芯国际"))

    assert answer.title == "'中芯国际' could mean 2 instruments: choose one"
    assert answer.lines == ["688981  中芯国际  (Shanghai)", "00981  中芯国际  (Hong Kong)"]
    assert [b.action for b in answer.buttons] == ["watch:1.688981", "watch:116.00981"]
    assert await snapshot(redis_client) == before
    # The button is /watch with the secid, on every platform (handlers.buttons).
    called = buttons.command(answer.buttons[1].action)
    assert called == ("watch", ("116.00981",))
    chosen = await handle(core, cmd(called[0], *called[1]))
    assert chosen.title == "Watching 中芯国际 (HK00981)"
    assert core.watchlist.resolve("981").key == "HK00981"


@pytest.mark.parametrize(
    ("words", "line"),
    [
        (
            "600087",
            "600087 退市长油: no price from the providers (delisted or unknown); nothing stored",
        ),
        (
            "000413",
            "000413 东旭光电: last traded 05 Jul 2025 (delisted or suspended); nothing stored",
        ),
        ("ZZZZQ", "no A-share, Hong Kong or US stock found for 'ZZZZQ'; nothing stored"),
        ("1.999999", "no A-share, Hong Kong or US stock found for '1.999999'; nothing stored"),
    ],
)
async def test_delisted_or_unknown_refused_in_one_line(
    core: Core, redis_client: Redis, words: str, line: str
) -> None:
    before = await snapshot(redis_client)

    answer = await handle(core, cmd("watch", words))

    assert (answer.title, answer.lines, answer.private) == (line, [], True)
    assert await snapshot(redis_client) == before
    assert words not in core.watchlist


async def test_caps_per_chat_and_in_total(
    fake: FakeProviders, core: Core, redis_client: Redis
) -> None:
    s = core.settings.model_copy(update={"watch_max_per_chat": 2, "watch_max_total": 3})
    core.settings = s
    assert (await handle(core, cmd("watch", "华虹公司"))).title.startswith("Watching")
    assert (await handle(core, cmd("watch", "688981"))).title.startswith("Watching")
    before = await snapshot(redis_client)
    full = await handle(core, cmd("watch", "NVDA"))
    assert full.title == "this chat watches 2 instruments, the most it may; /unwatch one first"
    assert await snapshot(redis_client) == before
    assert (await handle(core, cmd("watch", "NVDA", chat=OTHER))).title.startswith("Watching")
    # Another chat may watch what is in the catalogue already, but nothing new beyond 3.
    assert (await handle(core, cmd("watch", "688981", chat=OTHER))).title.startswith("Watching")
    third = cmd("watch", "Moore", "Threads", chat="telegram:-1003")
    assert (await handle(core, third)).title == (
        "the bot watches 3 instruments, the most it may; nothing stored"
    )
    assert await redis_client.hlen("divbot:catalogue") == 3
    assert "688795" not in core.watchlist


def test_caps_are_validated() -> None:
    with pytest.raises(ValidationError) as bad:
        Settings(_env_file=None, watch_max_per_chat=60, watch_max_total=50)  # type: ignore[call-arg]
    assert describe_error(bad.value) == (
        "config error: SETTINGS: WATCH_MAX_PER_CHAT (60) is above WATCH_MAX_TOTAL (50)"
    )
    with pytest.raises(ValidationError) as zero:
        Settings(_env_file=None, watch_max_per_chat=0)  # type: ignore[call-arg]
    assert describe_error(zero.value).startswith("config error: WATCH_MAX_PER_CHAT:")


async def test_only_admins_change_a_chats_watchlist(core: Core, redis_client: Redis) -> None:
    before = await snapshot(redis_client)
    answer = await handle(core, cmd("watch", "NVDA", admin=False))
    assert answer.title == REFUSAL
    assert await snapshot(redis_client) == before
    assert (await handle(core, cmd("watchlist", admin=False))).title.startswith("This chat")


async def test_other_replicas_and_the_leaders_quotes_watcher_learn_at_once(
    fake: FakeProviders,
    watch_settings: Settings,
    redis_client: Redis,
    session: aiohttp.ClientSession,
    core: Core,
) -> None:
    leader = await make_core(watch_settings, redis_client, session)  # built before the add
    assert (await handle(core, cmd("watch", "688981"))).title.startswith("Watching")
    assert "688981" not in leader.watchlist

    assert await leader.catalogue.sync(leader.watchlist)

    assert leader.watchlist.resolve("中芯国际").key == "688981"
    job = QuotesJob(
        leader.watchlist,
        leader.finder_feed if False else _feed(leader, session, watch_settings),
        leader.service,
        leader.markets,
        leader.health,
        10,
        close_settle_s=660,
    )
    await job.run_once(NOW)
    asked = fake.hits(ULIST)[-1].query["secids"].split(",")
    assert "1.688981" in asked
    assert leader.service.latest_quote("688981") is not None


def _feed(core: Core, session: aiohttp.ClientSession, settings: Settings) -> QuoteFeed:
    return QuoteFeed(
        [EastmoneySource(session, settings, sleep=Sleeps())],  # type: ignore[list-item]
        QuoteValidator(core.markets.__getitem__, settings),
        core.health,
        core.watchlist,
    )


async def test_unwatch_by_the_last_chat_leaves_the_catalogue(
    core: Core, redis_client: Redis
) -> None:
    await handle(core, cmd("watch", "NVDA"))
    await handle(core, cmd("watch", "NVDA", chat=OTHER))

    first = await handle(core, cmd("unwatch", "英伟达"))
    assert first.title == "No longer watching 英伟达 (NVDA) here."
    assert await redis_client.hkeys("divbot:catalogue") == ["NVDA"]
    await handle(core, cmd("unwatch", "nvda", chat=OTHER))
    assert await redis_client.hkeys("divbot:catalogue") == []
    assert "NVDA" not in core.watchlist
    again = await handle(core, cmd("unwatch", "NVDA"))
    assert again.title == "this chat does not watch 'NVDA'; /watchlist shows what it does"


async def test_a_restart_keeps_watchlists_and_rules_on_added_instruments(
    watch_settings: Settings,
    redis_client: Redis,
    session: aiohttp.ClientSession,
    core: Core,
) -> None:
    await handle(core, cmd("watch", "NVDA"))
    await handle(core, cmd("watch", "华虹公司"))
    await handle(core, cmd("alert", "add", "华虹公司", "1d", "down", "4"))

    restarted = await make_core(watch_settings, redis_client, session)

    assert restarted.watchlist.resolve("nvda").name == "英伟达"
    assert await restarted.catalogue.watching(CHAT) == ["688347", "NVDA"]
    alerts = await handle(restarted, cmd("alerts"))
    assert alerts.lines[0].startswith("r1    华虹公司 1d down 4%")
