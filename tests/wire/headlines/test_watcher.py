"""The headlines watcher end to end: fake feeds over loopback HTTP, a real Redis, the real
job, outbox and dispatch. Synthetic feed content (tests/fixtures/feeds/README.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.cmdref import for_platform
from bot.headlines.store import HeadlineStore
from bot.headlines.text import fold
from bot.models import Family
from bot.sources.headline_feeds import FeedError, FeedSource, load_feeds
from bot.state import keys
from bot.state.leader import LEADER
from bot.wiring import Core, build_core
from handlers.base import Command
from handlers.dispatch import handle
from jobs.headlines import HeadlinesJob, build_live_job
from tests.fakes.feeds import FakeFeedHost, FeedReply, feed_fixture
from tests.support.delivering import deliver_now
from tests.wire.headlines.conftest import NOW, RecordingSender

CSRC = "/searchList/c100028"
HKEX = "/Services/RSS-Feeds/News-Releases"
HKEX_REG = "/Services/RSS-Feeds/regulatory-announcements"
SCMP = "/rss/318421/feed"
RTHK = "/rthk/news/rss/c_expressnews_cfinance.xml"
CHAT = "telegram:-100200"
EMPTY_RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'

MARGIN_ZH = "经中国证监会批准，沪深北交易所将融资保证金最低比例从80%提高至100%"
HFT_ZH = "证监会依法从严监管程序化交易，规范高频交易行为"
MEETING_ZH = "证监会召开2026年系统工作会议"
MARGIN_EN = "China raises margin requirement for new financing purchases to 100%"
HFT_EN = "China orders removal of servers dedicated to high-frequency trading"
HFT_HK = "內地監管要求券商移除高頻交易專用伺服器"


def serve_all(host: FakeFeedHost) -> None:
    json_type = "application/json;charset=UTF-8"
    host.serve(
        CSRC, FeedReply(feed_fixture("csrc-searchlist.synthetic.json"), content_type=json_type)
    )
    host.serve(
        HKEX,
        FeedReply(feed_fixture("rsshub-csrc.synthetic.atom"), content_type="application/atom+xml"),
    )
    host.serve(HKEX_REG, FeedReply(EMPTY_RSS))
    host.serve(SCMP, FeedReply(feed_fixture("scmp-china-economy.synthetic.xml")))
    host.serve(RTHK, FeedReply(feed_fixture("rthk-cfinance.synthetic.xml")))


async def subscribe(core: Core, chat: str = CHAT, *args: str) -> None:
    answer = await handle(core, Command("telegram", chat, "u1", "subscribe", args, can_admin=True))
    assert answer.title.startswith("Subscribed"), answer.title


async def poll(job: HeadlinesJob, core: Core, at: object = NOW) -> RecordingSender:
    sender = RecordingSender()
    await job.run_once(at)  # type: ignore[arg-type]
    await deliver_now(core.outbox, {"telegram": sender})
    return sender


async def test_rss_atom_and_csrc_json_in_both_languages_alert_once_each(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    serve_all(host)
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core)
    # The CSRC margin story is in the JSON list and (spaced differently) in the Atom
    # feed: one alert. Stories matching no category (工作会议, tourism, 恒指) raise none.
    assert sorted(sender.titles()) == sorted([MARGIN_ZH, HFT_ZH, HFT_EN, MARGIN_EN, HFT_HK])
    by_title = {m.title: m for _, m in sender.sent}
    margin = by_title[MARGIN_ZH]
    assert margin.fields == [
        ("Category", "margin financing"),
        ("Severity", "critical"),
        ("Direction", "tightening"),
    ]
    assert margin.source == "CSRC"
    assert margin.lines == ["http://www.csrc.gov.cn/csrc/c100028/c7600001/content.shtml"]
    assert margin.at is not None
    assert margin.at.isoformat() == "2026-01-14T09:30:00+00:00"
    # a relative CSRC url is joined to the (overridden) base
    assert by_title[HFT_ZH].lines == [f"{host.url}/csrc/c100028/c7600003/content.shtml"]
    assert by_title[HFT_HK].fields[0] == ("Category", "high-frequency / program trading")
    assert all(core.health.is_ok(f"feed:{fid}") for fid in ("csrc", "scmp_china_economy"))
    assert all(h.ok for h in core.health.all()), [(h.name, h.reason) for h in core.health.all()]
    # latest list kept for /headlines
    latest = await handle(core, Command("telegram", CHAT, "u1", "headlines", ("margin",)))
    assert latest.title == "Latest headlines: margin financing"
    # one event (issue 18.1): the CSRC story first, SCMP's English report folded into it
    assert any(MARGIN_ZH in line for line in latest.lines)
    assert not any(MARGIN_EN in line for line in latest.lines)
    assert any(line.startswith("  also: SCMP China economy ") for line in latest.lines)


async def test_not_modified_path_uses_stored_validators(
    core: Core, host: FakeFeedHost, session: object, redis_client: Redis
) -> None:
    serve_all(host)
    host.serve(
        SCMP,
        FeedReply(feed_fixture("scmp-china-economy.synthetic.xml"), headers={"ETag": '"v1"'}),
    )
    modified = "Thu, 15 Jan 2026 03:00:00 GMT"
    host.serve(
        RTHK,
        FeedReply(feed_fixture("rthk-cfinance.synthetic.xml"), headers={"Last-Modified": modified}),
    )
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    first = await poll(job, core)
    assert HFT_EN in first.titles()
    assert HFT_HK in first.titles()
    assert await redis_client.hgetall(keys.feed_validators("scmp_china_economy")) == {
        "etag": '"v1"'
    }
    later = NOW + timedelta(minutes=10)
    assert job.next_run(NOW) <= later
    second = await poll(job, core, later)
    assert second.sent == []
    assert host.hits(SCMP)[-1].headers.get("If-None-Match") == '"v1"'
    assert host.hits(RTHK)[-1].headers.get("If-Modified-Since") == modified
    assert core.health.is_ok("feed:scmp_china_economy")
    assert core.health.is_ok("feed:rthk_finance")


_SCMP = feed_fixture("scmp-china-economy.synthetic.xml")
TRUNCATED = _SCMP[: _SCMP.index(b"China raises margin") + 16]  # inside the second title
MACROMAN = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><item>'
    b"<title>\xc3\x28\xa0\xa1 margin financing \xff\xfe</title><link>http://a.example/1</link>"
    b"</item></channel></rss>"
)


def illformed(name: str) -> bytes:
    return feed_fixture(f"feedparser/{name}")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (FeedReply(b""), "empty body"),
        (FeedReply(b"   \n  "), "empty body"),
        (FeedReply(b"<!DOCTYPE html><html><body>Login</body></html>", "text/html"), "HTML"),
        (FeedReply(b'{"error": "rate limited"}', "application/json"), "answered JSON"),
        (FeedReply(illformed("aaa_illformed.xml")), "malformed feed"),
        (FeedReply(illformed("undeclared_namespace.xml")), "malformed feed"),
        (FeedReply(illformed("rss_incomplete_cdata.xml")), "malformed feed"),
        (FeedReply(illformed("rss_item_link_corrupted_ampersands.xml")), "malformed feed"),
        (
            FeedReply(
                b'<rss version="2.0"><channel><item><title>margin lending</title></item>'
                b"</channel></rss>"
            ),
            "no usable entries",
        ),
        (FeedReply(MACROMAN), "wrongly encoded"),
        # GB2312 without a declared encoding decodes (chardet) but its item has no link
        (FeedReply(illformed("chardet_gb2312.xml"), "application/xml"), "no usable entries"),
        (FeedReply(b"\x00\x9c\xfe\xff" * 50, "application/octet-stream"), "malformed feed"),
        (FeedReply(b"<rss" + b" " * 2_100_000 + b"/>"), "body over 2,000,000 bytes"),
        (FeedReply(b"<rss" + b" " * 2_100_000 + b"/>", chunked=True), "body over 2,000,000"),
        (FeedReply(b"oops", status=500), "HTTP 500"),
        (FeedReply(b"", status=404, content_type="text/html"), "HTTP 404"),
    ],
)
async def test_a_bad_feed_is_marked_unhealthy_and_the_others_keep_working(
    core: Core, host: FakeFeedHost, session: object, reply: FeedReply, reason: str
) -> None:
    serve_all(host)
    host.serve(SCMP, reply)
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core)
    health = core.health.get("feed:scmp_china_economy")
    assert health is not None
    assert not health.ok
    assert reason in health.reason
    assert "127.0.0.1" not in health.reason  # reasons never carry URLs
    assert HFT_EN not in sender.titles()
    assert MARGIN_EN not in sender.titles()
    assert HFT_HK in sender.titles()
    assert MARGIN_ZH in sender.titles()
    assert core.health.is_ok("feed:rthk_finance")
    # backoff: the next poll of the bad feed is two intervals away, the good ones one
    assert job.due["scmp_china_economy"] == NOW + timedelta(seconds=600)
    assert job.due["rthk_finance"] == NOW + timedelta(seconds=300)


async def test_backoff_doubles_honours_retry_after_and_resets_on_success(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    serve_all(host)
    host.serve(SCMP, FeedReply(b"busy", status=503, headers={"Retry-After": "1800"}))
    job = build_live_job(core, session)  # type: ignore[arg-type]
    await job.run_once(NOW)
    assert job.due["scmp_china_economy"] == NOW + timedelta(seconds=1800)
    host.serve(SCMP, FeedReply(b"", status=502))
    at = job.due["scmp_china_economy"]
    await job.run_once(at)
    assert job.due["scmp_china_economy"] == at + timedelta(seconds=300 * 4)
    host.serve(SCMP, FeedReply(feed_fixture("scmp-china-economy.synthetic.xml")))
    at = job.due["scmp_china_economy"]
    await job.run_once(at)
    assert job.due["scmp_china_economy"] == at + timedelta(seconds=300)
    assert core.health.is_ok("feed:scmp_china_economy")


async def test_bozo_feed_with_good_entries_is_used_and_reported(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    serve_all(host)
    host.serve(SCMP, FeedReply(TRUNCATED))  # cut inside the second item
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core)
    assert HFT_EN in sender.titles()
    assert MARGIN_EN not in sender.titles()  # its title was cut off: not a story yet
    health = core.health.get("feed:scmp_china_economy")
    assert health is not None
    assert not health.ok
    assert "malformed feed" in health.reason
    assert "1 stories used" in health.reason


async def test_gb2312_feed_without_declared_encoding_reads_correctly(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    serve_all(host)
    body = (
        "<rss version='2.0'><channel><title>合成</title><item><title>央行宣布下调存款准备金率"
        "0.5个百分点</title><link>http://gb.example/1</link></item></channel></rss>"
    ).encode("gb2312")
    host.serve(SCMP, FeedReply(body, content_type="application/xml"))
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core)
    assert "央行宣布下调存款准备金率0.5个百分点" in sender.titles()
    msg = next(m for _, m in sender.sent if "央行" in m.title)
    assert msg.fields[0] == ("Category", "monetary easing")
    assert msg.fields[2] == ("Direction", "easing")


async def test_same_story_in_two_feeds_and_after_a_restart_alerts_once(
    core: Core, host: FakeFeedHost, session: object, redis_client: Redis
) -> None:
    serve_all(host)
    # HKEX's feed carries SCMP's story: other tracking parameters, upper-case host,
    # full-width characters and extra spaces in the title, another GUID.
    relisted = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>x</title>"
        "<item><title>China  orders removal of servers dedicated to ＨＩＧＨ-frequency trading"
        "</title><link>HTTPS://WWW.SCMP.COM/synthetic/economy/3339001/hft-servers?utm_source="
        "hkex&amp;utm_campaign=x#top</link><guid>hkex-991</guid>"
        "<pubDate>Thu, 15 Jan 2026 03:00:00 +0000</pubDate></item></channel></rss>"
    ).encode()
    host.serve(HKEX, FeedReply(relisted))
    host.serve(RTHK, FeedReply(EMPTY_RSS))
    host.serve(
        CSRC, FeedReply(b'{"data":{"data":{"results":[]}}}', content_type="application/json")
    )
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    first = await poll(job, core)
    # HKEX is polled first, so its variant of the title is the one alerted
    assert [fold(t) for t in sorted(first.titles())] == [fold(HFT_EN), fold(MARGIN_EN)]

    # The bot restarts: a new core and job on the same Redis, the feeds unchanged, and
    # the SCMP feed re-titles a story it already sent (same GUID).
    edited = feed_fixture("scmp-china-economy.synthetic.xml").replace(
        b"to 100%]]>", b"to 100% (updated)]]>"
    )
    host.serve(SCMP, FeedReply(edited))
    restarted = await build_core(core.settings, redis_client, core.clock)
    job2 = build_live_job(restarted, session)  # type: ignore[arg-type]
    again = await poll(job2, restarted, NOW + timedelta(hours=1))
    assert again.sent == []
    assert await redis_client.ttl(next(iter(await redis_client.keys("divbot:hl:seen:*")))) > 0


async def test_old_stories_are_not_alerted(core: Core, host: FakeFeedHost, session: object) -> None:
    serve_all(host)
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core, NOW + timedelta(days=5))
    assert sender.sent == []


async def test_each_chat_gets_its_categories_severity_and_keywords(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    serve_all(host)
    margin_only, critical_only, keyword_chat, not_subscribed = (
        "telegram:-1",
        "telegram:-2",
        "telegram:-3",
        "telegram:-4",
    )
    await subscribe(core, margin_only, "headlines", "两融")
    await subscribe(core, critical_only, "headlines", "min=critical")
    await subscribe(core, keyword_chat, "headlines", "ipo")
    await subscribe(core, not_subscribed, "moves")
    for chat in (keyword_chat, not_subscribed):
        added = await handle(
            core, Command("telegram", chat, "u1", "keywords", ("add", "证监会"), can_admin=True)
        )
        assert added.title == "Keywords added: 1"
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core)
    assert sorted(sender.titles(margin_only)) == sorted([MARGIN_ZH, MARGIN_EN])
    assert sorted(sender.titles(critical_only)) == sorted(
        [MARGIN_ZH, MARGIN_EN, HFT_ZH, HFT_EN, HFT_HK]
    )
    assert sorted(sender.titles(keyword_chat)) == sorted([MARGIN_ZH, HFT_ZH, MEETING_ZH])
    meeting = next(m for c, m in sender.sent if m.title == MEETING_ZH)
    assert meeting.fields[0] == ("Category", "your keywords")
    assert sender.titles(not_subscribed) == []
    assert Family.HEADLINES not in await core.store.subscriptions(not_subscribed)


async def test_a_feed_that_hangs_times_out_with_a_reason(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    host.serve(SCMP, FeedReply(feed_fixture("scmp-china-economy.synthetic.xml"), delay_s=2.0))
    book = load_feeds(core.settings.seeds_dir / "feeds.toml", core.settings.feed_base_overrides)
    cfg = next(f for f in book.feeds if f.id == "scmp_china_economy")
    source = FeedSource(cfg, session, HeadlineStore(core.redis), timeout_s=0.2, max_bytes=10_000)  # type: ignore[arg-type]
    with pytest.raises(FeedError, match=r"timed out \(0.2s\)"):
        await source.fetch(NOW)


async def test_a_flood_of_new_stories_is_ten_alerts_and_one_summary(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    """10,000 matching items once made 10,000 alerts for a chat with grouping off (issue
    18.5). SYNTHETIC feed: 60 distinct margin stories in one SCMP poll."""
    serve_all(host)
    items = "".join(
        f"<item><title>China raises margin requirement, step {i}</title>"
        f"<link>https://www.scmp.com/economy/{i}</link>"
        "<pubDate>Wed, 14 Jan 2026 10:00:00 GMT</pubDate></item>"
        for i in range(60)
    )
    head = '<?xml version="1.0"?><rss version="2.0"><channel><title>SCMP</title>'
    flood = f"{head}{items}</channel></rss>"
    host.serve(SCMP, FeedReply(flood.encode()))
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core)
    scmp = [t for t in sender.titles() if "margin requirement, step" in t]
    assert len(scmp) == 10
    (summary,) = [
        m for _, m in sender.sent if m.title == "50 more headlines from SCMP China economy"
    ]
    # the top five, each with its severity, category and link (issue 18.6), and the rest
    assert len(summary.lines) == 11
    for title, about in zip(summary.lines[:10:2], summary.lines[1:10:2], strict=True):
        step = title.rsplit(" ", 1)[1]
        assert title == f"• China raises margin requirement, step {step}"
        assert about == f"  critical · margin financing · https://www.scmp.com/economy/{step}"
    assert for_platform(summary.lines[-1], "telegram") == "… and 45 more: /headlines"


async def test_a_story_seen_by_a_leader_whose_term_ended_is_raised_by_the_next(
    core: Core, host: FakeFeedHost, session: object, redis_client: Redis
) -> None:
    """The story marked seen and its alert recorded are one fenced write: a leader whose
    term ended while it polled writes neither, so the next leader's poll raises it."""
    serve_all(host)
    await subscribe(core, CHAT, "headlines")
    await redis_client.set(LEADER, "b:2")  # b leads now; a does not know yet
    stale = await build_core(core.settings, redis_client, core.clock, fence=lambda: "a:1")
    assert (await poll(build_live_job(stale, session), stale)).sent == []  # type: ignore[arg-type]
    assert await redis_client.keys("divbot:hl:seen:*") == []
    assert await redis_client.lrange(keys.HEADLINES_LATEST, 0, -1) == []
    leader = await build_core(core.settings, redis_client, core.clock, fence=lambda: "b:2")
    sent = await poll(build_live_job(leader, session), leader)  # type: ignore[arg-type]
    assert fold(MARGIN_EN) in [fold(t) for t in sent.titles(CHAT)]
