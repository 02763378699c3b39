"""/headlines, /keywords, and the headline options of /subscribe.

- `/headlines [CATEGORY] [N]`: the latest matched events (all, or one category), each
  with its first report and an "also: SCMP 18:10, RTHK 18:25" line naming the later ones.
- `/keywords`, `/keywords add WORD…`, `/keywords rm WORD…`, `/keywords clear`: a chat's
  own words; a headline containing one reaches the chat whatever its category.
- `/subscribe headlines [CATEGORY…] [min=info|warning|critical]`: parsed here by
  `split_headline_options`, so /subscribe keeps taking families as before.

Every argument is validated before anything is written; a bad one is one line.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot import fmt
from bot.chat.timezone import chat_timezone
from bot.clock import Clock
from bot.cmdref import ref
from bot.config import Settings
from bot.headlines.classifier import SEVERITIES, Classifier, Severity, load_rules
from bot.headlines.store import LATEST_CAP, MAX_KEYWORDS, HeadlineStore, LatestItem
from bot.headlines.text import fold
from bot.models import Family, Message
from handlers.base import Command, UsageError, reply


class Needs(Protocol):
    """What these commands use of the wiring (bot.wiring.Core provides it)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def headlines(self) -> HeadlineStore: ...

    @property
    def redis(self) -> Any: ...

    @property
    def settings(self) -> Settings: ...


DEFAULT_N = 5
MAX_N = 20
KEYWORDS_USAGE = f"usage: {ref('keywords [add|rm WORD…]')} or {ref('keywords clear')}"
_KEYWORD_CHARS = re.compile(r"^[\w\-.&+#%]+$")


def classifier(core: Needs) -> Classifier:
    return load_rules(core.settings.seeds_dir / "headline_rules.toml")


def _store(core: Needs) -> HeadlineStore:
    return core.headlines


def _category_names(rules: Classifier) -> str:
    return " ".join(rules.ids())


# -- /subscribe headlines … --------------------------------------------------------
HeadlineFilter = tuple[frozenset[str] | None, Severity]


def split_headline_options(
    core: Needs, args: tuple[str, ...]
) -> tuple[tuple[str, ...], HeadlineFilter | None]:
    """Families left for /subscribe, and the headline filter named after `headlines`.

    None when `headlines` is not named (the chat's filter stays as it is). Category
    names and `min=` are only understood when `headlines` is among the families.
    """
    if not any(a.lower() == Family.HEADLINES.value for a in args):
        return args, None
    families = {f.value for f in Family} | {"all"}
    rules = classifier(core)
    left: list[str] = []
    categories: set[str] = set()
    floor: Severity = "info"
    for word in args:
        low = word.lower()
        if low in families:
            left.append(word)
        elif low.startswith("min="):
            value = low.removeprefix("min=")
            if value not in SEVERITIES:
                raise UsageError(f"min= takes {'|'.join(SEVERITIES)}, not {fmt.excerpt(value)}")
            floor = value
        else:
            cat = rules.category(word)
            if cat is None:
                raise UsageError(
                    f"unknown headline category {fmt.excerpt(word)}; categories: "
                    f"{_category_names(rules)} (and min=warning|critical)"
                )
            categories.add(cat.id)
    return tuple(left), (frozenset(categories) or None, floor)


async def save_headline_filter(core: Needs, chat: str, wanted: HeadlineFilter) -> str:
    """Store the filter; return the line describing it."""
    categories, floor = wanted
    await _store(core).set_filter(chat, categories, floor)
    return describe_filter(categories, floor)


async def clear_headline_filter(core: Needs, chat: str) -> None:
    await _store(core).clear_filter(chat)


def describe_filter(categories: frozenset[str] | None, floor: str) -> str:
    which = "all categories" if categories is None else ", ".join(sorted(categories))
    return f"Headlines: {which}, severity {floor} and up"


# -- /headlines ------------------------------------------------------------------------
def _parse_list_args(rules: Classifier, args: tuple[str, ...]) -> tuple[str | None, int]:
    usage = f"usage: {ref('headlines [CATEGORY] [N]')}, e.g. {ref('headlines margin 10')}"
    if len(args) > 2:
        raise UsageError(usage)
    category: str | None = None
    n: int | None = None
    for word in args:
        if word.isascii() and word.isdigit():
            if n is not None or not 1 <= int(word) <= MAX_N:
                raise UsageError(f"N must be 1..{MAX_N}; {usage}")
            n = int(word)
            continue
        cat = rules.category(word)
        if cat is None or category is not None:
            raise UsageError(
                f"unknown category {fmt.excerpt(word)}; categories: {_category_names(rules)}"
            )
        category = cat.id
    return category, n or DEFAULT_N


async def headlines(core: Needs, cmd: Command) -> Message:
    rules = classifier(core)
    category, n = _parse_list_args(rules, cmd.args)
    items = await _store(core).latest(category, LATEST_CAP)
    cat = rules.category(category) if category else None
    title = f"Latest headlines: {cat.label}" if cat else "Latest headlines"
    if not items:
        return Message(title=title, lines=["No matching stories yet."])
    lines: list[str] = []
    tz = await chat_timezone(core.redis, cmd.chat)  # every time in the chat's own zone
    for item, later in _events(items)[:n]:
        h = item.headline
        stamp = fmt.when(h.published, tz) if h.published else "undated"
        labels = ", ".join(item.labels)
        lines.append(f"{stamp} · {labels} · {item.severity} · {item.direction} · {h.source_name}")
        lines.append(f"  {h.title}")
        if h.link:
            lines.append(f"  {h.link}")
        if later:
            zone = ZoneInfo(tz)
            also = [
                f"{x.headline.source_name} {x.headline.published.astimezone(zone):%H:%M}"
                if x.headline.published
                else x.headline.source_name
                for x in later
            ]
            lines.append("  also: " + ", ".join(also))
    return Message(title=title, lines=lines, at=core.clock.now())


def _events(items: list[LatestItem]) -> list[tuple[LatestItem, list[LatestItem]]]:
    """Newest first, one entry per event: its first report and the later ones (oldest
    first). A later report whose first fell off the list stands on its own."""
    firsts = {i.event for i in items if i.event and not i.follow_up}
    later: dict[str, list[LatestItem]] = {}
    out: list[tuple[LatestItem, list[LatestItem]]] = []
    for item in items:
        if item.follow_up and item.event in firsts:
            later.setdefault(item.event, []).insert(0, item)
            continue
        out.append((item, later.setdefault(item.event, []) if item.event else []))
    return out


# -- /keywords ------------------------------------------------------------------------
def _keyword(word: str) -> str:
    folded = fold(word)
    shown = word[:24]
    if any(unicodedata.category(ch)[0] == "C" for ch in folded) or not _KEYWORD_CHARS.match(folded):
        raise UsageError(f"keyword {fmt.excerpt(shown)}: letters, digits and - . & + # % only")
    if len(folded) < 2 or len(folded) > 32:
        raise UsageError(f"keyword {fmt.excerpt(shown)}: 2 to 32 characters")
    return folded


async def keywords(core: Needs, cmd: Command) -> Message:
    store = _store(core)
    if not cmd.args:
        words = await store.keywords(cmd.chat)
        if not words:
            return reply("No keywords", f"Add one: {ref('keywords add 证监会')}")
        return reply(f"Keywords ({len(words)})", " ".join(words))
    verb, rest = cmd.args[0].lower(), cmd.args[1:]
    if verb == "clear" and not rest:
        await store.clear_keywords(cmd.chat)
        return reply("Keywords cleared")
    if verb not in ("add", "rm", "remove", "del") or not rest:
        raise UsageError(KEYWORDS_USAGE)
    words = sorted({_keyword(w) for w in rest})
    if verb == "add":
        have = set(await store.keywords(cmd.chat))
        if len(have | set(words)) > MAX_KEYWORDS:
            raise UsageError(f"at most {MAX_KEYWORDS} keywords per chat ({len(have)} already)")
        added = await store.add_keywords(cmd.chat, words)
        return reply(
            f"Keywords added: {added}",
            "Now: " + " ".join(await store.keywords(cmd.chat)),
        )
    removed = await store.remove_keywords(cmd.chat, words)
    left = await store.keywords(cmd.chat)
    return reply(f"Keywords removed: {removed}", "Now: " + (" ".join(left) or "none"))
