"""Noise control end to end on Telegram: the real gate, outbox and transport against the
fake Bot API, asserting what reached the wire. Alerts are synthetic.

Quiet hours for a New York chat across midnight and the 8 March 2026 spring-forward
change (held alerts in one summary, the critical one at once); a silent level sent with
disable_notification; a burst of 20 delivered as one message; a follow-up as a reply to
the first alert's message; a topic subscription routed with message_thread_id; a flapping
rule paused, the chat told once, and resumed by its button.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

import pytest

from bot.clock import SimClock
from bot.delivery.sending import Sender
from bot.models import HOUSE, Alert, Family, Message
from bot.rules.grammar import parse_rule
from bot.transports.telegram import TelegramTransport
from bot.wiring import Core
from handlers.base import Command
from handlers.dispatch import handle
from jobs.noise import NoiseJob
from tests.fakes.telegram_api import FakeTelegram
from tests.support.delivering import deliver_now
from tests.support.headline_events import MARGIN_CSRC, MARGIN_SCMP, ListFeed, event_job

GROUP = -100200
CHAT = f"telegram:{GROUP}"
ADMIN = 7
# Saturday 7 March 2026, 21:00 EST: New York moves to EDT at 02:00 the next morning.
START = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


def senders(transport: TelegramTransport) -> dict[str, Sender]:
    return {"telegram": transport.sender()}


def make_alert(
    n: int,
    family: Family = Family.MOVES,
    severity: Literal["info", "warning", "critical"] = "warning",
    *,
    at: datetime = START,
    rule_id: str | None = None,
    owner: str | None = CHAT,
    session: date | None = None,
) -> Alert:
    title = f"Synthetic alert {n:02d}"
    return Alert(
        f"syn{n:04d}",
        family,
        Message(title, lines=[f"line of {n}"], at=at),
        at,
        rule_id=rule_id,
        owner=owner,
        severity=severity,
        session=session,
    )


async def admin(core: Core, name: str, *args: str) -> Message:
    return await handle(core, Command("telegram", CHAT, str(ADMIN), name, args, can_admin=True))


async def test_quiet_hours_across_midnight_and_dst_in_new_york(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core, clock: SimClock
) -> None:
    await admin(core, "timezone", "America/New_York")
    answer = await admin(core, "quiet", "22:00-07:00")
    assert answer.title.startswith("Quiet hours set: 22:00-07:00 daily")
    await core.store.subscribe(CHAT, Family.HEADLINES)
    job = NoiseJob(core.noise)  # type: ignore[arg-type]

    clock.set(datetime(2026, 3, 8, 3, 30, tzinfo=UTC))  # Sat 22:30 EST: quiet
    assert await core.service.dispatch(make_alert(1, at=clock.now())) == [CHAT]
    clock.set(datetime(2026, 3, 8, 6, 15, tzinfo=UTC))  # Sun 01:15 EST, after midnight
    await core.service.dispatch(make_alert(2, at=clock.now()))
    critical = make_alert(3, Family.HEADLINES, "critical", at=clock.now(), owner=None)
    await core.service.dispatch(critical)
    clock.set(datetime(2026, 3, 8, 7, 30, tzinfo=UTC))  # Sun 03:30 EDT, after the jump
    await core.service.dispatch(make_alert(4, at=clock.now()))

    assert await deliver_now(core.outbox, senders(transport)) == 1  # only the critical one
    [urgent] = fake_tg.requests("sendMessage", chat_id=GROUP)
    assert "Synthetic alert 03" in urgent.params["text"]
    assert "EST" in urgent.params["text"]  # the footer in the chat's zone, not CST

    # 06:59 EDT is 10:59 UTC; without the DST change the night would end at 12:00 UTC.
    clock.set(datetime(2026, 3, 8, 10, 59, tzinfo=UTC))
    await job.run_once(clock.now())
    assert await deliver_now(core.outbox, senders(transport)) == 0
    clock.set(datetime(2026, 3, 8, 11, 0, 1, tzinfo=UTC))  # 07:00:01 EDT
    await job.run_once(clock.now())
    assert await deliver_now(core.outbox, senders(transport)) == 1
    sent = fake_tg.requests("sendMessage", chat_id=GROUP)
    assert len(sent) == 2
    summary = sent[1].params["text"]
    assert summary.startswith("<b>Quiet hours over: 3 alerts held</b>")
    assert "Sat 22:30  Synthetic alert 01" in summary
    assert "Sun 01:15  Synthetic alert 02" in summary
    assert "Sun 03:30  Synthetic alert 04" in summary
    # nothing is left behind, and a second run sends nothing more
    await job.run_once(clock.now() + timedelta(seconds=1))
    assert await deliver_now(core.outbox, senders(transport)) == 0

    shown = await admin(core, "history")
    text = "\n".join(shown.lines)
    assert "Synthetic alert 01 — delivered (in the quiet-hours summary)" in text
    assert "Synthetic alert 03 — delivered" in text
    assert "Sat 07 Mar 22:30 EST" in text  # when it fired, in the chat's zone


async def test_silent_level_sends_without_notification(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    answer = await admin(core, "notify", "headlines", "silent")
    assert answer.title == "headlines: silent"
    await core.service.dispatch(make_alert(1, Family.HEADLINES))
    await core.service.dispatch(make_alert(2, Family.MOVES))
    assert await deliver_now(core.outbox, senders(transport)) == 2
    quiet, loud = fake_tg.requests("sendMessage", chat_id=GROUP)
    assert "Synthetic alert 01" in quiet.params["text"]
    assert quiet.params["disable_notification"] is True
    assert "Synthetic alert 02" in loud.params["text"]
    assert "disable_notification" not in loud.params

    await admin(core, "notify", "moves", "off")
    assert await core.service.dispatch(make_alert(3, Family.MOVES)) == []
    assert await deliver_now(core.outbox, senders(transport)) == 0
    shown = await admin(core, "history", "moves")
    assert shown.lines[0].endswith("Synthetic alert 03 — off (not delivered)")


async def test_a_burst_of_twenty_goes_out_as_one_message(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core, clock: SimClock
) -> None:
    await admin(core, "notify", "group", "5s")
    job = NoiseJob(core.noise)  # type: ignore[arg-type]
    for n in range(20):  # the market open: twenty crossings within two seconds
        await core.service.dispatch(make_alert(n, at=clock.now()))
        clock.set(clock.now() + timedelta(milliseconds=100))
    await job.run_once(clock.now())  # the window is still open
    assert await deliver_now(core.outbox, senders(transport)) == 0
    clock.set(START + timedelta(seconds=5))
    await job.run_once(clock.now())
    assert await deliver_now(core.outbox, senders(transport)) == 1
    [one] = fake_tg.requests("sendMessage", chat_id=GROUP)
    assert one.params["text"].startswith("<b>20 moves alerts at once</b>")
    assert all(f"• Synthetic alert {n:02d}" in one.params["text"] for n in range(20))
    # an alert after the window is its own message
    await core.service.dispatch(make_alert(21, at=clock.now()))
    clock.set(clock.now() + timedelta(seconds=6))
    await job.run_once(clock.now())
    assert await deliver_now(core.outbox, senders(transport)) == 1
    assert "Synthetic alert 21" in fake_tg.requests("sendMessage", chat_id=GROUP)[1].params["text"]
    shown = await admin(core, "history", "30")
    assert sum("delivered (in a group)" in line for line in shown.lines) == 20


async def test_a_follow_up_replies_to_the_first_alert_of_the_session(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    day, next_day = date(2026, 3, 9), date(2026, 3, 10)
    await core.service.dispatch(make_alert(1, rule_id="r7", session=day))
    assert await deliver_now(core.outbox, senders(transport)) == 1
    [first] = fake_tg.requests("sendMessage", chat_id=GROUP)
    assert "reply_parameters" not in first.params
    # the id the fake answered with, as stored on delivery; the follow-ups must quote it
    stored = await core.redis.get(f"divbot:chat:{CHAT}:first:r7:{day.isoformat()}")
    assert stored is not None
    await core.service.dispatch(make_alert(2, rule_id="r7", session=day))
    await core.service.dispatch(make_alert(3, rule_id="r7", session=day))
    await core.service.dispatch(make_alert(4, rule_id="r7", session=next_day))
    assert await deliver_now(core.outbox, senders(transport)) == 3
    second, third, fourth = fake_tg.requests("sendMessage", chat_id=GROUP)[1:]
    assert second.params["reply_parameters"]["message_id"] == int(stored)
    assert third.params["reply_parameters"]["message_id"] == int(stored)  # still the first
    assert "reply_parameters" not in fourth.params  # a new session starts a new thread


async def test_subscribe_inside_a_topic_routes_that_family_there(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core
) -> None:
    fake_tg.set_member(GROUP, ADMIN, "administrator")
    fake_tg.send_text(
        "/subscribe headlines",
        chat_id=GROUP,
        user_id=ADMIN,
        message_thread_id=77,
        is_topic_message=True,
    )
    [ack] = await fake_tg.wait_for("sendMessage", chat_id=GROUP)
    assert "Their alerts go to this topic." in ack.params["text"]
    assert ack.params["message_thread_id"] == 77
    fake_tg.send_text("/subscribe moves", chat_id=GROUP, user_id=ADMIN)  # the main chat
    await fake_tg.wait_for("sendMessage", chat_id=GROUP, count=2)

    await core.service.dispatch(make_alert(1, Family.HEADLINES, owner=None))
    await core.service.dispatch(make_alert(2, Family.MOVES, owner=None))
    assert await deliver_now(core.outbox, senders(transport)) == 2
    headline, move = fake_tg.requests("sendMessage", chat_id=GROUP)[2:]
    assert "Synthetic alert 01" in headline.params["text"]
    assert headline.params["message_thread_id"] == 77
    assert "message_thread_id" not in move.params


async def test_a_flapping_rule_pauses_tells_once_and_resumes_by_its_button(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core, clock: SimClock
) -> None:
    limit = core.settings.flap_max_fires
    rule, _ = await core.service.add_rule(
        HOUSE, parse_rule(["STAR50", "1d", "up", "3"], core.watchlist), clock.now()
    )
    await core.store.subscribe(CHAT, Family.MOVES)
    for n in range(limit + 3):  # one a minute, well within the flap window
        await core.service.dispatch(make_alert(n, rule_id=rule.id, owner=HOUSE))
        clock.set(clock.now() + timedelta(minutes=1))
    assert await deliver_now(core.outbox, senders(transport)) == limit + 1  # the fires + one notice
    sent = fake_tg.requests("sendMessage", chat_id=GROUP)
    notice = sent[-1]
    assert notice.params["text"].startswith(f"<b>Rule {rule.id} paused: it fired {limit + 1} times")
    [[button]] = notice.params["reply_markup"]["inline_keyboard"]
    assert button == {"text": "Resume", "callback_data": f"resume:{rule.id}"}
    shown = await admin(core, "history", "3")
    assert all(line.endswith("paused (flapping) (flap protection)") for line in shown.lines)

    fake_tg.set_member(GROUP, ADMIN, "administrator")
    fake_tg.push(fake_tg.callback_update(f"resume:{rule.id}", chat_id=GROUP, user_id=ADMIN))
    [answer] = await fake_tg.wait_for("answerCallbackQuery")
    assert answer.params["text"] == f"Rule {rule.id} resumed here"
    await core.service.dispatch(make_alert(50, rule_id=rule.id, owner=HOUSE))
    assert await deliver_now(core.outbox, senders(transport)) == 1
    assert "Synthetic alert 50" in fake_tg.requests("sendMessage", chat_id=GROUP)[-1].params["text"]


async def test_a_chat_rule_that_flaps_is_paused_at_the_engine(
    transport: TelegramTransport, core: Core, clock: SimClock
) -> None:
    await admin(core, "alert", "add", "STAR50", "1d", "up", "3")
    [rule] = await core.store.rules_of(CHAT)
    for n in range(core.settings.flap_max_fires + 1):
        await core.service.dispatch(make_alert(n, rule_id=rule.id))
    paused = await core.store.get_rule(rule.id)
    assert paused is not None
    assert paused.paused
    assert core.service.engine.rules[rule.id].paused
    answer = await admin(core, "alert", "resume", rule.id)
    assert answer.title.startswith(f"Rule {rule.id} ")
    resumed = await core.store.get_rule(rule.id)
    assert resumed is not None
    assert not resumed.paused
    # its fire count was forgotten: the next fire is delivered, not paused again
    assert await core.service.dispatch(make_alert(90, rule_id=rule.id)) == [CHAT]


async def test_a_headline_events_later_report_replies_to_its_first_alert(
    fake_tg: FakeTelegram, transport: TelegramTransport, core: Core, clock: SimClock
) -> None:
    """One event, two outlets (issue 18.1): the SCMP report is a reply to the CSRC alert
    (reply_parameters), carrying who reported it, not a second alert of its own."""
    await core.store.subscribe(CHAT, Family.HEADLINES)
    csrc, scmp = ListFeed("csrc", "CSRC"), ListFeed("scmp_china_economy", "SCMP")
    job = event_job(core, csrc, scmp)
    csrc.publish(MARGIN_CSRC, clock.now() - timedelta(minutes=30), 1)
    await job.run_once(clock.now())
    assert await deliver_now(core.outbox, senders(transport)) == 1
    scmp.publish(MARGIN_SCMP, clock.now() - timedelta(minutes=10), 2)
    clock.set(clock.now() + timedelta(minutes=5))
    await job.run_once(clock.now())
    assert await deliver_now(core.outbox, senders(transport)) == 1
    first, second = fake_tg.requests("sendMessage", chat_id=GROUP)
    assert "reply_parameters" not in first.params
    assert MARGIN_CSRC in first.params["text"]
    # the id the fake answered the first with, as stored on delivery under the event
    [key] = await core.redis.keys(f"divbot:chat:{CHAT}:first:ev*")
    answered = await core.redis.get(key)
    assert second.params["reply_parameters"]["message_id"] == int(answered)
    assert MARGIN_SCMP in second.params["text"]
    assert "also: SCMP " in second.params["text"]
