"""Events, not articles (issue 18.1): one event reported by CSRC (simplified Chinese), SCMP
(English) and RTHK (traditional Chinese) alerts once; the later reports thread into it as
follow-ups. Distinct events of one category on one day stay distinct. Fake feeds over
loopback HTTP, a real Redis, the real job, gate, outbox and send-time routing.

Every title here is SYNTHETIC, written the way each outlet headlines such news.
"""

from __future__ import annotations

import json
from datetime import timedelta

from bot.clock import SimClock
from bot.models import Message
from bot.wiring import Core
from handlers.base import Command
from handlers.dispatch import handle
from jobs.headlines import build_live_job
from jobs.noise import NoiseJob
from tests.fakes.feeds import FakeFeedHost, FeedReply
from tests.support.delivering import deliver_now
from tests.wire.headlines.conftest import NOW, RecordingSender
from tests.wire.headlines.test_watcher import (
    CHAT,
    CSRC,
    EMPTY_RSS,
    HKEX,
    HKEX_REG,
    RTHK,
    SCMP,
    poll,
    serve_all,
    subscribe,
)

# (CSRC, SCMP, RTHK) titles of five events, as each would headline it.
EVENTS = [
    (
        "经中国证监会批准，沪深北交易所将融资保证金最低比例从80%提高至100%",
        "China raises margin requirement for new financing purchases to 100% to cool rally",
        "滬深北交易所上調融資保證金最低比例至100%，下周一生效",
    ),
    (
        "证监会：要求证券公司移除高频交易专用服务器",
        "China orders removal of servers dedicated to high-frequency trading",
        "內地監管要求券商移除高頻交易專用伺服器",
    ),
    (
        "中国人民银行决定于2026年1月15日下调金融机构存款准备金率0.5个百分点",
        "PBOC cuts reserve requirement ratio by 50 basis points, releasing 1 trillion yuan",
        "人民銀行宣布下調存款準備金率0.5個百分點",
    ),
    (
        "商务部 海关总署关于对镓、锗相关物项实施出口管制的公告",
        "China imposes export controls on gallium and germanium",
        "商務部宣布對鎵、鍺相關物項實施出口管制",
    ),
    (
        "证监会：没有收紧两融的计划",
        "CSRC denies plans to tighten margin rules",
        "中證監否認收緊兩融 稱無相關計劃",
    ),
]


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><pubDate>{when}</pubDate></item>"
        for t, link, when in items
    )
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
    return f"{head}{body}</channel></rss>".encode()


def _csrc(items: list[tuple[str, str, int]]) -> bytes:
    results = [{"title": t, "url": u, "publishedTime": ms} for t, u, ms in items]
    return json.dumps({"data": {"data": {"results": results}}}, ensure_ascii=False).encode()


NOW_MS = int(NOW.timestamp() * 1000)


def _serve(host: FakeFeedHost, events: list[tuple[str, str, str]]) -> None:
    """CSRC at NOW-60 min, SCMP at NOW-20 min, RTHK at NOW-5 min, for every event."""
    serve_all(host)
    csrc = [
        (zh, f"http://www.csrc.gov.cn/csrc/e{i}/content.shtml", NOW_MS - 3_600_000)
        for i, (zh, _, _) in enumerate(events)
    ]
    host.serve(CSRC, FeedReply(_csrc(csrc), content_type="application/json;charset=UTF-8"))
    scmp_at = (NOW - timedelta(minutes=20)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    rthk_at = (NOW - timedelta(minutes=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    host.serve(
        SCMP,
        FeedReply(
            _rss(
                [
                    (en, f"https://www.scmp.com/e/{i}", scmp_at)
                    for i, (_, en, _) in enumerate(events)
                ]
            )
        ),
    )
    host.serve(
        RTHK,
        FeedReply(
            _rss(
                [
                    (hk, f"https://news.rthk.hk/e/{i}", rthk_at)
                    for i, (_, _, hk) in enumerate(events)
                ]
            )
        ),
    )


def _firsts(sender: RecordingSender) -> list[Message]:
    return [m for _, m in sender.sent if not any(x.startswith("Follow-up") for x in m.lines)]


def _follow_ups(sender: RecordingSender) -> list[Message]:
    return [m for _, m in sender.sent if any(x.startswith("Follow-up") for x in m.lines)]


async def test_five_events_in_three_languages_alert_once_each_with_folded_follow_ups(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    """Each of 5 events reported by CSRC, SCMP and RTHK once reached a chat 3 times."""
    _serve(host, EVENTS)
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core)
    firsts = _firsts(sender)
    assert sorted(m.title for m in firsts) == sorted(zh for zh, _, _ in EVENTS)
    follow_ups = _follow_ups(sender)
    assert sorted(m.title for m in follow_ups) == sorted(
        t for _, en, hk in EVENTS for t in (en, hk)
    )
    # one severity per event, whatever the language; the follow-ups say who else reported
    severity = {m.title: dict(m.fields)["Severity"] for m in firsts}
    for zh, en, hk in EVENTS:
        shown = {dict(m.fields)["Severity"] for m in follow_ups if m.title in (en, hk)}
        assert shown == {severity[zh]}, zh
    rthk = next(m for m in follow_ups if m.title == EVENTS[0][2])
    assert rthk.lines[:2] == [
        "Follow-up: first reported by CSRC at 11:00",
        "also: SCMP China economy 11:40, RTHK 財經 11:55",
    ]
    assert severity[EVENTS[0][0]] == "critical"
    assert severity[EVENTS[4][0]] == "warning"


async def test_follow_ups_reply_in_the_first_alerts_thread_and_wait_out_quiet_hours(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    """Later reports thread into the first alert (Telegram reply_parameters) and never
    break through quiet hours again, though the first, critical, one did."""
    await subscribe(core, CHAT, "headlines")
    answer = await handle(
        core, Command("telegram", CHAT, "u1", "quiet", ("00:00-23:59",), can_admin=True)
    )
    assert "Quiet" in answer.title or "quiet" in " ".join(answer.lines), answer.title
    job = build_live_job(core, session)  # type: ignore[arg-type]
    _serve(host, EVENTS[:1])
    host.serve(SCMP, FeedReply(_rss([])))
    host.serve(RTHK, FeedReply(_rss([])))
    first = await poll(job, core)
    assert first.titles() == [EVENTS[0][0]]  # critical: through quiet hours
    _serve(host, EVENTS[:1])
    later = await poll(job, core, NOW + timedelta(minutes=10))
    assert later.sent == []  # the follow-ups are held, not sent
    assert await core.noise.held_count(CHAT) == 2


async def test_a_follow_up_replies_to_the_first_message(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    _serve(host, EVENTS[:1])
    host.serve(SCMP, FeedReply(_rss([])))
    host.serve(RTHK, FeedReply(_rss([])))
    await job.run_once(NOW)

    class Numbered(RecordingSender):
        async def send(self, chat, message):  # type: ignore[no-untyped-def]
            from bot.delivery.sending import Delivery, Outcome

            self.sent.append((chat.key, message))
            return Delivery(Outcome.SENT, message_id=str(100 + len(self.sent)))

    sender = Numbered()
    await deliver_now(core.outbox, {"telegram": sender})
    assert [m.reply_to for _, m in sender.sent] == [None]
    _serve(host, EVENTS[:1])
    await job.run_once(NOW + timedelta(minutes=10))
    await deliver_now(core.outbox, {"telegram": sender})
    assert [m.reply_to for _, m in sender.sent] == [None, "101", "101"]


async def test_distinct_events_of_one_category_on_one_day_stay_distinct(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    """Folding by category and direction alone once swallowed distinct critical stories:
    two critical tightening margin events and two chip export controls on one day are
    four alerts, not two."""
    distinct = [
        ("沪深北交易所将融资保证金最低比例从80%提高至100%", "", ""),
        ("证监会指导券商收紧融资业务 防范杠杆资金过快增长", "", ""),
        ("商务部决定将15家美国企业列入出口管制管控名单", "", ""),
        ("美国将多家中国半导体企业列入实体清单", "", ""),
    ]
    for path in (HKEX, HKEX_REG):
        host.serve(path, FeedReply(EMPTY_RSS))
    csrc = [
        (zh, f"http://www.csrc.gov.cn/csrc/d{i}/content.shtml", NOW_MS - 600_000 * (i + 1))
        for i, (zh, _, _) in enumerate(distinct)
    ]
    host.serve(CSRC, FeedReply(_csrc(csrc), content_type="application/json;charset=UTF-8"))
    host.serve(SCMP, FeedReply(_rss([])))
    host.serve(RTHK, FeedReply(_rss([])))
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    sender = await poll(job, core)
    assert sorted(sender.titles()) == sorted(zh for zh, _, _ in distinct)
    assert _follow_ups(sender) == []
    severities = [dict(m.fields)["Severity"] for _, m in sender.sent]
    assert severities == ["critical"] * 4


async def test_headlines_lists_an_event_with_its_later_reports(
    core: Core, host: FakeFeedHost, session: object
) -> None:
    _serve(host, EVENTS[:1])
    await subscribe(core, CHAT, "headlines")
    job = build_live_job(core, session)  # type: ignore[arg-type]
    await poll(job, core)
    answer = await handle(core, Command("telegram", CHAT, "u1", "headlines", ()))
    text = "\n".join(answer.lines)
    assert text.count(EVENTS[0][0]) == 1
    assert "also: SCMP China economy 11:40, RTHK 財經 11:55" in text
    assert EVENTS[0][1] not in text  # folded into the event, not listed as a story of its own


async def test_a_grouped_headline_message_keeps_each_storys_link_category_and_severity(
    core: Core, host: FakeFeedHost, session: object, now_clock: SimClock
) -> None:
    """Grouped headline messages once listed bare titles (issue 18.6)."""
    distinct = [
        ("沪深北交易所将融资保证金最低比例从80%提高至100%", "", ""),
        ("美国将多家中国半导体企业列入实体清单", "", ""),
    ]
    for path in (HKEX, HKEX_REG, SCMP, RTHK):
        host.serve(path, FeedReply(EMPTY_RSS))
    csrc = [
        (zh, f"http://www.csrc.gov.cn/csrc/g{i}/content.shtml", NOW_MS - 600_000 * (i + 1))
        for i, (zh, _, _) in enumerate(distinct)
    ]
    host.serve(CSRC, FeedReply(_csrc(csrc), content_type="application/json;charset=UTF-8"))
    await subscribe(core, CHAT, "headlines")
    answer = await handle(
        core, Command("telegram", CHAT, "u1", "notify", ("group", "10s"), can_admin=True)
    )
    assert "10" in answer.title + " ".join(answer.lines), answer
    job = build_live_job(core, session)  # type: ignore[arg-type]
    await job.run_once(NOW)
    now_clock.set(NOW + timedelta(seconds=11))
    await NoiseJob(core.noise).run_once(now_clock.now())  # type: ignore[arg-type]
    sender = RecordingSender()
    await deliver_now(core.outbox, {"telegram": sender})
    [(_, group)] = sender.sent
    assert group.title == "2 headlines alerts at once"
    assert group.lines == [
        "• 美国将多家中国半导体企业列入实体清单",
        "  critical · chips and export controls · http://www.csrc.gov.cn/csrc/g1/content.shtml",
        "• 沪深北交易所将融资保证金最低比例从80%提高至100%",
        "  critical · margin financing · http://www.csrc.gov.cn/csrc/g0/content.shtml",
    ]
