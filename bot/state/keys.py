"""The Redis key schema, in one place. Every key the bot writes is built here.

All keys live under the ``divbot:`` namespace and are built only from validated ids
(rule ids ``r<digits>``, chat keys ``platform:id``, instrument keys ``[A-Z0-9]``), so
user text never becomes part of a key.

=====================================  ======  ==============================================
key                                    type    holds
=====================================  ======  ==============================================
divbot:rule:seq                        string  counter for new rule ids
divbot:rules                           hash    rule id -> rule JSON
divbot:chat:{chat}:rules               set     rule ids owned by a chat
divbot:house:rules                     set     ids of the default (house) rules
divbot:rulestate                       hash    "{rule}:{side}" -> "1" armed / "0" disarmed
divbot:rulefired                       hash    rule id -> epoch seconds it last fired
divbot:rules:changes                   stream  rule ids a command changed, and by which replica
                                               (capped; every replica's engine follows it)
divbot:engine:version                  string  bumped by the leader each time it writes engine
                                               state (a new leader reloads when it moved)
divbot:subs:{family}                   set     chat keys subscribed to an alert family
divbot:chat:{chat}:mute                string  epoch seconds the mute ends (TTL = mute)
divbot:chat:{chat}:mute:{rule}         string  one rule muted for one chat (TTL = mute)
divbot:quote:{instrument}              string  last accepted quote JSON
divbot:daily:{instrument}              hash    ISO date -> close
divbot:margin:share                    hash    ISO date -> margin financing balance as % of
                                               free-float market cap (RZYEZB; bot.market.margin)
divbot:daily:{instrument}:from         string  ISO date the deep history (/backtest, up to
                                               10 years) was fetched from; absent: not yet
divbot:health                          hash    source name -> health JSON
divbot:outbox                          stream  deliveries: alert JSON + destination
divbot:outbox:dead                     stream  deliveries given up, with the reason
divbot:outbox:due                      zset    entry id -> epoch a failed delivery may go again
divbot:outbox:attempts                 hash    entry id -> attempts so far
divbot:alerts:owed                     hash    alert id -> its durable record (alert JSON and
                                               audience), written with the state change that
                                               raised it;
                                               deleted once fanned out to every chat
divbot:alerts:cursor                   hash    alert id -> the last chat its fan-out reached
divbot:alerts:lease:{alert}            string  the consumer fanning an alert out (PX lease)
divbot:alerts:recorded:{alert}         string  an alert recorded once (claim, TTL)
divbot:enq:{alert}:{chat}              string  enqueue idempotency (SET NX, TTL)
divbot:sent:{alert}:{chat}             string  delivered marker (SET NX, TTL)
divbot:stats                           hash    counters shown in /status
divbot:leader                          string  the watchers' leader "{replica}:{fence}" (TTL)
divbot:leader:fence                    string  fencing counter, only ever incremented
divbot:macro:{indicator}               hash    ISO period start -> print (bot.macro.history)
divbot:chat:{chat}:dormant             string  families a chat had when it blocked the bot (403);
                                               /start restores them and deletes the key
divbot:tg:admin:{chat}:{user}          string  "1"/"0": is a Telegram user a chat admin (TTL 60s)
divbot:tg:update:{update_id}           string  a webhook update already handled (SET NX, TTL 1d)
divbot:hl:seen:{kind}:{digest}         string  a headline story seen (kind title|link|guid;
                                               TTL HEADLINE_SEEN_TTL_S, > the max story age)
divbot:hl:latest                       list    latest matched stories, JSON, newest first
                                               (capped, bot.headlines.store.LATEST_CAP)
divbot:hl:events                       zset    open headline events: event id -> epoch opened
                                               (older than the event window are dropped)
divbot:hl:event:{id}                   string  one event's signature and reports, JSON (TTL 2d)
divbot:hl:validators:{source}          hash    a feed's ETag / Last-Modified (conditional GET)
divbot:chat:{chat}:headlines           hash    categories ("*" = all, or csv) and min_severity
divbot:chat:{chat}:keywords            set     a chat's own headline keywords (folded text)


divbot:macro:surprise:{indicator}      hash    ISO period start -> actual minus consensus
divbot:macro:at:{indicator}            hash    ISO period start -> when the print was public
                                               (UTC ISO; bot.macro.history)
divbot:macro:reminded:{entry}:{min}    string  reminder sent N minutes before (SET NX, TTL)
divbot:macro:published:{entry}         string  print published for a release (SET NX, TTL)
divbot:macro:late:{entry}              string  late notice sent for a release (SET NX, TTL)
divbot:calendar:overrides              hash    calendar entry key -> entry JSON (/calendar add)
divbot:chat:{chat}:tz                  string  the chat's IANA time zone (/timezone)
divbot:chat:{chat}:macrorules          hash    indicator -> macro alert filter JSON
divbot:chat:{chat}:quiet               string  quiet hours JSON (/quiet; bot.chat.quiet)
divbot:chat:{chat}:notify              hash    family -> on|silent|off; "group" -> seconds
divbot:chat:{chat}:topics              hash    family -> Telegram message_thread_id
divbot:chat:{chat}:held                list    alert JSON held during quiet hours
divbot:noise:held:due                  zset    chat -> epoch its quiet period ends
divbot:chat:{chat}:group:{family}      list    alert JSON waiting out the grouping window
divbot:noise:group:due                 zset    "{chat}|{family}" -> epoch the window closes
divbot:noise:lock:{chat}               string  one replica flushes a chat's buffers (TTL)
divbot:noise:members:{alert}           string  csv ids of the alerts a group/summary carries
divbot:chat:{chat}:first:{rule}:{day}  string  message id of a rule's first alert in a
                                               session (follow-ups reply to it; TTL 2d)
divbot:chat:{chat}:fires:{rule}        zset    when a rule fired for a chat (flap window)
divbot:chat:{chat}:flap:{rule}         string  a house rule paused here by flap protection
divbot:chat:{chat}:flapnote:{rule}     string  the pause notice was sent (SET NX)
divbot:chat:{chat}:history             zset    alert id -> epoch it fired (capped)
divbot:chat:{chat}:history:items       hash    alert id -> history entry JSON
divbot:market:days                     hash    "{market}:{ISO date}" -> a day declared open or
                                               closed against the calendar (bot.market.days)
divbot:ops:told:{what}                 string  an operators' notice already sent (SET NX)
divbot:replica:{consumer}:alive        string  an outbox consumer's heartbeat (PX): while it
                                               is there, no one claims that consumer's entries
divbot:market:probed:{market}:{day}    string  the quiet check of a closed weekday ran (TTL 2d)
divbot:rate:{scope}:all                zset    a token's sends in its overall window: send id ->
                                               when it stops counting (scope: platform and a
                                               hash of the token; bot.delivery.shared_limits)
divbot:rate:{scope}:chat:{chat}        zset    the same, one chat's window
divbot:rate:{scope}:group:{chat}       zset    the same, one group's per-minute window
divbot:rate:{scope}:due                string  when the next evenly spaced overall send is due
divbot:rate:{scope}:pause              string  a 429 holds every send with the token (PX)
divbot:rate:{scope}:pause:{chat}       string  a 429 holds one chat (PX)
divbot:rate:{scope}:replies            zset    command replies waiting for the overall window
divbot:rate:{scope}:reply:{chat}       string  a command reply waiting for this chat (PX)
divbot:catalogue                       hash    instrument key -> instrument JSON: what chats
                                               added with /watch (validated; bot.market.catalogue)
divbot:catalogue:watchers              hash    instrument key -> how many chats watch it
divbot:catalogue:version               string  bumped on every catalogue change (replicas sync)
divbot:chat:{chat}:watching            set     instrument keys a chat watches (/watchlist)
divbot:baskets                         hash    basket key -> basket JSON (/basket; market.baskets)
=====================================  ======  ==============================================
"""

from __future__ import annotations

import re

from bot.models import CHAT_KEY, INSTRUMENT_KEY, RULE_ID

NS = "divbot"
RULE_SEQ = f"{NS}:rule:seq"
RULES = f"{NS}:rules"
RULE_STATE = f"{NS}:rulestate"
RULE_FIRED = f"{NS}:rulefired"
RULE_CHANGES = f"{NS}:rules:changes"
ENGINE_VERSION = f"{NS}:engine:version"
HEALTH = f"{NS}:health"
OUTBOX = f"{NS}:outbox"
OUTBOX_DEAD = f"{NS}:outbox:dead"
OUTBOX_GROUP = "senders"
OUTBOX_RETRY_DUE = f"{NS}:outbox:due"
OUTBOX_ATTEMPTS = f"{NS}:outbox:attempts"
LEADER = f"{NS}:leader"
LEADER_FENCE = f"{NS}:leader:fence"
STATS = f"{NS}:stats"
HEADLINES_LATEST = f"{NS}:hl:latest"
HEADLINE_EVENTS = f"{NS}:hl:events"
CALENDAR_OVERRIDES = f"{NS}:calendar:overrides"
CATALOGUE = f"{NS}:catalogue"
CATALOGUE_WATCHERS = f"{NS}:catalogue:watchers"
CATALOGUE_VERSION = f"{NS}:catalogue:version"
BASKETS = f"{NS}:baskets"


_RATE_SCOPE = re.compile(r"^[a-z]{1,16}(:[0-9a-f]{16})?$")


def _rate(scope: str) -> str:
    if not _RATE_SCOPE.match(scope):
        raise ValueError(f"invalid rate scope {scope!r}")
    return f"{NS}:rate:{scope}"


def rate_keys(scope: str, chat: str) -> list[str]:
    """A send's keys for bot.delivery.shared_limits, in its scripts' order: overall, chat
    and group windows, the overall schedule, the token's and the chat's 429 pauses, the
    replies waiting for the overall window and the one waiting for this chat."""
    base, chat = _rate(scope), valid_chat(chat)
    return [
        f"{base}:all",
        f"{base}:chat:{chat}",
        f"{base}:group:{chat}",
        f"{base}:due",
        f"{base}:pause",
        f"{base}:pause:{chat}",
        f"{base}:replies",
        f"{base}:reply:{chat}",
    ]


def rate_pause(scope: str, chat: str | None) -> str:
    """The 429 pause of a whole token (chat None) or of one chat."""
    base = _rate(scope)
    return f"{base}:pause" if chat is None else f"{base}:pause:{valid_chat(chat)}"


def valid_chat(chat: str) -> str:
    if not CHAT_KEY.match(chat):
        raise ValueError(f"invalid chat key {chat!r}")
    return chat


def _instrument(key: str) -> str:
    if not INSTRUMENT_KEY.match(key):
        raise ValueError(f"invalid instrument key {key!r}")
    return key


# A headline event's reports thread like a rule's follow-ups (bot.headlines.alert): its
# rule id is "ev" + the event's digest, never a rule's "r<number>".
EVENT_RULE_ID = re.compile(r"^ev[0-9a-f]{8,24}$")


def _rule(rule_id: str) -> str:
    if not (RULE_ID.match(rule_id) or EVENT_RULE_ID.match(rule_id)):
        raise ValueError(f"invalid rule id {rule_id!r}")
    return rule_id


def chat_rules(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:rules"


def owner_rules(owner: str) -> str:
    """The set of rule ids of a chat, or of the house (default rules)."""
    return f"{NS}:house:rules" if owner == "house" else chat_rules(owner)


def chat_mute(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:mute"


def rule_mute(chat: str, rule_id: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:mute:{_rule(rule_id)}"


def subscribers(family: str) -> str:
    return f"{NS}:subs:{family}"


def quote(instrument: str) -> str:
    return f"{NS}:quote:{_instrument(instrument)}"


def daily(instrument: str) -> str:
    return f"{NS}:daily:{_instrument(instrument)}"


MARGIN_SHARE = f"{NS}:margin:share"


def daily_from(instrument: str) -> str:
    return f"{NS}:daily:{_instrument(instrument)}:from"


def rule_side(rule_id: str, side: int) -> str:
    return f"{_rule(rule_id)}:{side}"


ALERTS_OWED = f"{NS}:alerts:owed"
ALERTS_CURSOR = f"{NS}:alerts:cursor"
_ALERT = re.compile(r"^[A-Za-z0-9_.:-]{1,160}$")


def _alert(alert_id: str) -> str:
    if not _ALERT.match(alert_id):
        raise ValueError(f"bad alert id: {alert_id!r}")
    return alert_id


def alert_lease(alert_id: str) -> str:
    return f"{NS}:alerts:lease:{_alert(alert_id)}"


def alert_recorded(alert_id: str) -> str:
    return f"{NS}:alerts:recorded:{_alert(alert_id)}"


def enqueued(alert_id: str, chat: str) -> str:
    return f"{NS}:enq:{alert_id}:{valid_chat(chat)}"


def sent(alert_id: str, chat: str) -> str:
    return f"{NS}:sent:{alert_id}:{valid_chat(chat)}"


def chat_dormant(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:dormant"


def telegram_admin(chat: str, user_id: int) -> str:
    return f"{NS}:tg:admin:{valid_chat(chat)}:{int(user_id)}"


def telegram_update(update_id: int) -> str:
    return f"{NS}:tg:update:{int(update_id)}"


_STORY_KEY = re.compile(r"^(title|link|guid):[0-9a-f]{20}$")
_SOURCE_ID = re.compile(r"^[a-z0-9_]{2,32}$")


def headline_seen(story_key: str) -> str:
    """A seen-story marker; `story_key` is bot.headlines.story's "kind:digest"."""
    if not _STORY_KEY.match(story_key):
        raise ValueError(f"invalid story key {story_key!r}")
    return f"{NS}:hl:seen:{story_key}"


_EVENT_ID = re.compile(r"^[a-z0-9]{4,40}$")


def headline_event(event_id: str) -> str:
    """One headline event: its signature and every report of it (bot.headlines.store)."""
    if not _EVENT_ID.match(event_id):
        raise ValueError(f"invalid event id {event_id!r}")
    return f"{NS}:hl:event:{event_id}"


def feed_validators(source: str) -> str:
    if not _SOURCE_ID.match(source):
        raise ValueError(f"invalid feed id {source!r}")
    return f"{NS}:hl:validators:{source}"


def chat_headlines(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:headlines"


def chat_keywords(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:keywords"


def _entry(entry_key: str) -> str:
    # Calendar keys are built by bot.macro.calendar from validated ids: "CPI:2025-12".
    if not re.match(r"^[A-Za-z0-9_:-]{3,64}$", entry_key):
        raise ValueError(f"invalid calendar entry key {entry_key!r}")
    return entry_key


def macro_surprises(indicator: str) -> str:
    if not re.match(r"^[A-Z][A-Z0-9_]{1,15}$", indicator):
        raise ValueError(f"invalid indicator {indicator!r}")
    return f"{NS}:macro:surprise:{indicator}"


def macro_published_at(indicator: str) -> str:
    if not re.match(r"^[A-Z][A-Z0-9_]{1,15}$", indicator):
        raise ValueError(f"invalid indicator {indicator!r}")
    return f"{NS}:macro:at:{indicator}"


def macro_reminded(entry_key: str, minutes: int) -> str:
    return f"{NS}:macro:reminded:{_entry(entry_key)}:{int(minutes)}"


def macro_published(entry_key: str) -> str:
    return f"{NS}:macro:published:{_entry(entry_key)}"


def macro_late(entry_key: str) -> str:
    return f"{NS}:macro:late:{_entry(entry_key)}"


def chat_tz(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:tz"


def macro_rules(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:macrorules"


# -- noise control (bot/noise/) ---------------------------------------------------------
HELD_DUE = f"{NS}:noise:held:due"
GROUP_DUE = f"{NS}:noise:group:due"
_FAMILY = re.compile(r"^[a-z]{2,16}$")
_ALERT_ID = re.compile(r"^[A-Za-z0-9_:.-]{1,80}$")
_SESSION = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _family(family: str) -> str:
    if not _FAMILY.match(family):
        raise ValueError(f"invalid family {family!r}")
    return family


def chat_quiet(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:quiet"


def chat_notify(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:notify"


def chat_topics(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:topics"


def chat_held(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:held"


def chat_group(chat: str, family: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:group:{_family(family)}"


def noise_lock(chat: str) -> str:
    return f"{NS}:noise:lock:{valid_chat(chat)}"


def noise_members(alert_id: str) -> str:
    if not _ALERT_ID.match(alert_id):
        raise ValueError(f"invalid alert id {alert_id!r}")
    return f"{NS}:noise:members:{alert_id}"


def first_message(chat: str, rule_id: str, session: str) -> str:
    if not _SESSION.match(session):
        raise ValueError(f"invalid session {session!r}")
    return f"{NS}:chat:{valid_chat(chat)}:first:{_rule(rule_id)}:{session}"


def rule_fires(chat: str, rule_id: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:fires:{_rule(rule_id)}"


def flap_paused(chat: str, rule_id: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:flap:{_rule(rule_id)}"


def flap_notice(chat: str, rule_id: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:flapnote:{_rule(rule_id)}"


def chat_history(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:history"


def chat_history_items(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:history:items"


MARKET_DAYS = f"{NS}:market:days"
_MARKET = re.compile(r"^[A-Z]{4}$")
_OPS_WHAT = re.compile(r"^[A-Za-z0-9_:.-]{1,120}$")


def market_day(code: str, day: str) -> str:
    """A field of MARKET_DAYS."""
    if not _MARKET.match(code) or not _SESSION.match(day):
        raise ValueError(f"bad market day: {code!r} {day!r}")
    return f"{code}:{day}"


_CONSUMER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def consumer_alive(consumer: str) -> str:
    """An outbox consumer's heartbeat (bot.delivery.outbox.Outbox.beat)."""
    if not _CONSUMER.match(consumer):
        raise ValueError(f"bad consumer name: {consumer!r}")
    return f"{NS}:replica:{consumer}:alive"


def ops_told(what: str) -> str:
    if not _OPS_WHAT.match(what):
        raise ValueError(f"bad notice key: {what!r}")
    return f"{NS}:ops:told:{what}"


def market_probed(code: str, day: str) -> str:
    return f"{NS}:market:probed:{market_day(code, day)}"


def chat_watching(chat: str) -> str:
    return f"{NS}:chat:{valid_chat(chat)}:watching"
