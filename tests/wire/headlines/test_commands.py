"""/subscribe headlines …, /keywords, /headlines and /status against a real Redis; bad
input answers one line and stores nothing; outside text stays plain text."""

from __future__ import annotations

import io

import pytest
from redis.asyncio import Redis

from bot.headlines.store import HeadlineStore
from bot.models import Family
from bot.transports.console import render_text
from bot.wiring import Core
from handlers.base import Command
from handlers.dispatch import REFUSALS, handle
from jobs.headlines import build_live_job
from tests.fakes.feeds import FakeFeedHost, FeedReply
from tests.support.delivering import deliver_now
from tests.wire.handlers.test_commands import snapshot
from tests.wire.headlines.conftest import RecordingSender
from tests.wire.headlines.test_watcher import CSRC, EMPTY_RSS, HKEX, HKEX_REG, RTHK, SCMP

CHAT = "slack:C0001"


def cmd(name: str, *args: str, admin: bool = True) -> Command:
    return Command("slack", CHAT, "U1", name, tuple(args), can_admin=admin)


async def test_subscribe_headlines_with_categories_and_floor(core: Core) -> None:
    answer = await handle(core, cmd("subscribe", "headlines", "margin", "高频交易", "min=warning"))
    assert answer.title == "Subscribed: headlines"
    assert answer.lines[-1] == "Headlines: hft, margin, severity warning and up"
    prefs = await HeadlineStore(core.redis).prefs(CHAT)
    assert prefs.categories == {"margin", "hft"}
    assert prefs.min_severity == "warning"
    # plain families still work, alone and mixed, and leave the filter alone
    assert (await handle(core, cmd("subscribe", "moves", "spreads"))).title == (
        "Subscribed: moves, spreads"
    )
    assert (await HeadlineStore(core.redis).prefs(CHAT)).categories == {"margin", "hft"}
    await handle(core, cmd("subscribe", "headlines"))
    assert (await HeadlineStore(core.redis).prefs(CHAT)).categories is None
    await handle(core, cmd("unsubscribe", "headlines"))
    assert Family.HEADLINES not in await core.store.subscriptions(CHAT)
    assert await core.redis.exists(f"divbot:chat:{CHAT}:headlines") == 0


@pytest.mark.parametrize(
    "args",
    [
        ("subscribe", "headlines", "margins-ish"),
        ("subscribe", "headlines", "margin", "min=loud"),
        ("subscribe", "margin"),  # a category without the family
        ("subscribe", "headlines", "frobnicate", "moves"),
        ("keywords", "add"),
        ("keywords", "add", "x"),
        ("keywords", "add", "<!channel>"),
        ("keywords", "add", "a" * 40),
        ("keywords", "add", "ok\u200bword"),
        ("keywords", "frob", "证监会"),
        ("keywords", "clear", "now"),
        ("headlines", "nonsense"),
        ("headlines", "margin", "0"),
        ("headlines", "margin", "99"),
        ("headlines", "margin", "hft"),
        ("headlines", "1", "2", "3"),
    ],
)
async def test_bad_input_is_one_line_and_stores_nothing(
    core: Core, redis_client: Redis, args: tuple[str, ...]
) -> None:
    await handle(core, cmd("keywords", "add", "证监会"))
    before = await snapshot(redis_client)
    answer = await handle(core, cmd(*args))
    assert answer.private, answer
    assert answer.lines == []
    assert "\n" not in answer.title
    assert await snapshot(redis_client) == before


async def test_keywords_add_list_remove(core: Core) -> None:
    added = await handle(core, cmd("keywords", "add", "证监会", "ＣＳＲＣ", "csrc"))
    assert added.title == "Keywords added: 2"  # full-width and case fold to one word
    assert added.lines == ["Now: csrc 证监会"]
    listed = await handle(core, cmd("keywords"))
    assert (listed.title, listed.lines) == ("Keywords (2)", ["csrc 证监会"])
    removed = await handle(core, cmd("keywords", "rm", "CSRC"))
    assert (removed.title, removed.lines) == ("Keywords removed: 1", ["Now: 证监会"])
    refused = await handle(core, cmd("keywords", "add", "x1", admin=False))
    assert refused.title == REFUSALS["slack"]
    assert (await handle(core, cmd("keywords", admin=False))).title == "Keywords (1)"
    many = [f"word{i}" for i in range(25)]
    assert "at most 20" in (await handle(core, cmd("keywords", "add", *many))).title
    assert (await handle(core, cmd("keywords", "clear"))).title == "Keywords cleared"


TRICKY = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>Margin &lt;b&gt;lending&lt;/b&gt; curbs &amp; &lt;!channel&gt; @here</title>"
    b"<link>https://tricky.example/a?x=1&amp;y=2</link><guid>t1</guid>"
    b"<pubDate>Thu, 15 Jan 2026 03:00:00 +0000</pubDate></item>"
    b"<item><title><![CDATA[CSRC <!channel> & margin trading < 100% *bold* _it_]]></title>"
    b"<link>https://tricky.example/b</link><guid>t2</guid>"
    b"<pubDate>Thu, 15 Jan 2026 03:30:00 +0000</pubDate></item>"
    b"</channel></rss>"
)
TRICKY_TITLES = [
    "Margin lending curbs & <!channel> @here",  # RSS titles are HTML: the <b> tags go
    "CSRC <!channel> & margin trading < 100% *bold* _it_",
]


async def test_outside_text_stays_plain_and_ours_adds_no_markup(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    for path in (CSRC, HKEX, HKEX_REG, RTHK):
        host.serve(path, FeedReply(EMPTY_RSS))
    host.serve(CSRC, FeedReply(b'{"data":{"data":{"results":[]}}}', "application/json"))
    host.serve(SCMP, FeedReply(TRICKY))
    await handle(core, cmd("subscribe", "headlines"))
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = RecordingSender(platform="slack")
    await job.run_once(core.clock.now())
    await deliver_now(core.outbox, {"slack": sender})
    assert sender.titles() == TRICKY_TITLES  # verbatim: not escaped, not stripped
    for _, message in sender.sent:
        ours = [v for pair in message.fields for v in pair] + [message.source or ""]
        assert not any(ch in text for text in ours for ch in "<>&*_`[]"), ours
        assert message.lines in (["https://tricky.example/a?x=1&y=2"], ["https://tricky.example/b"])
    rendered = render_text(sender.sent[1][1])
    assert "CSRC <!channel> & margin trading < 100%" in rendered
    listing = await handle(core, cmd("headlines", "margin", "2"))
    assert listing.title == "Latest headlines: margin financing"
    assert [line.strip() for line in listing.lines[1::3]] == list(reversed(TRICKY_TITLES))
    assert not any(ch in listing.lines[0] for ch in "<>&*_`")


async def test_status_shows_a_bad_feed_with_its_reason(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    host.serve(SCMP, FeedReply(b"<html><body>captcha</body></html>", "text/html"))
    job = build_live_job(core, session)  # type: ignore[arg-type]
    await job.run_once(core.clock.now())
    operator = Command("slack", CHAT, "UOPS", "status")
    status = await handle(core, operator)
    assert "BAD feed:scmp_china_economy: answered HTML, not a feed (never ok)" in status.lines
    # why it fails is the operators' detail; everyone sees that it does
    status = await handle(core, cmd("status"))
    assert "BAD feed:scmp_china_economy: never ok" in status.lines


async def test_headlines_listing_when_empty(core: Core) -> None:
    answer = await handle(core, cmd("headlines"))
    assert (answer.title, answer.lines) == ("Latest headlines", ["No matching stories yet."])
    assert not io.StringIO().getvalue()
