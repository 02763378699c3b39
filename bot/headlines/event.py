"""Events, not articles: when two headlines report the same event (issue 18.1).

A headline's *signature* is what it says happened, in a form every language shares: its
primary category and direction, the actors it names (CSRC/证监会/證監會 are one actor,
SSE/上交所, PBOC/人民银行/人行, MOFCOM/商务部, the US government/美方/美國 …), the
objects of the measure (margin ratio/保证金比例/保證金比例, servers/服务器/伺服器, RRR/准备金率
…) and the numbers and dates in the title, normalised (``100%`` = ``百分之百``, ``0.5 个百分点``
= ``50 basis points`` = ``半厘``, ``1万亿元`` = ``1 trillion yuan``, ``1月15日`` = ``Jan 15``).
The actor and object vocabularies are the ``[[actor]]`` and ``[[term]]`` tables of
seeds/headline_rules.toml.

Two signatures are the same event (`same_event`) when category and direction agree, none
of actors, objects and numbers contradicts the other (both named and nothing in common),
their stances agree (a denial, a delay, a reversal, or a plain report), and they share
evidence: an object or a number, or — for a denial, delay or reversal, which names
neither — the actor. Category, direction and actor alone never fold two stories: two
distinct critical margin stories of one day stay two events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

# Reports of one event arrive within hours; a story later than this opens a new event.
EVENT_WINDOW = timedelta(hours=12)

_NUM = r"(\d+(?:\.\d+)?)"
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CN_DIGITS |= {"八": 8, "九": 9, "十": 10}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_SCALE = {
    "trillion": 1e12,
    "billion": 1e9,
    "million": 1e6,
    "万亿": 1e12,
    "萬億": 1e12,
    "亿": 1e8,
    "億": 1e8,
}
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"{_NUM}\s*(?:个百分点|個百分點|percentage points?|ppts?)"), "pp"),
    (re.compile(rf"{_NUM}\s*(?:basis points?|bps?|个基点|個基點)"), "bp"),
    (re.compile(rf"{_NUM}\s*(?:%|％|per ?cent)"), "pct"),
    (re.compile(rf"{_NUM}\s*厘"), "pct"),
    (re.compile(r"百分之(\d+(?:\.\d+)?)"), "pct"),
    (re.compile(rf"{_NUM}\s*(trillion|billion|million)\s*yuan"), "amt"),
    (re.compile(rf"{_NUM}\s*(万亿|萬億|亿|億)元?"), "amt"),
    (re.compile(r"(\d{1,2})月(\d{1,2})日"), "date"),
    (re.compile(rf"\b({'|'.join(_MONTHS)})[a-z]*\.? (\d{{1,2}})\b"), "date_en"),
]
_HALF_POINT = re.compile(r"半厘|half a (?:percentage )?point|半个百分点|半個百分點")
_CN_PCT = re.compile("百分之百|百分百")


def _n(value: float) -> str:
    return f"{value:g}"


def numbers_in(folded: str) -> frozenset[str]:
    """The numbers and dates of a folded title, in one normal form for every language."""
    out: set[str] = set()
    text = folded
    if _HALF_POINT.search(text):
        out.add("pp:0.5")
        text = _HALF_POINT.sub(" ", text)
    if _CN_PCT.search(text):
        out.add("pct:100")
        text = _CN_PCT.sub(" ", text)
    for pattern, kind in _PATTERNS:
        for m in pattern.finditer(text):
            if kind == "pp":
                out.add(f"pp:{_n(float(m.group(1)))}")
            elif kind == "bp":
                out.add(f"pp:{_n(float(m.group(1)) / 100)}")
            elif kind == "pct":
                out.add(f"pct:{_n(float(m.group(1)))}")
            elif kind == "amt":
                out.add(f"amt:{_n(float(m.group(1)) * _SCALE[m.group(2)])}")
            elif kind == "date":
                out.add(f"date:{int(m.group(1)):02d}-{int(m.group(2)):02d}")
            else:
                month = _MONTHS.index(m.group(1)) + 1
                out.add(f"date:{month:02d}-{int(m.group(2)):02d}")
        text = pattern.sub(" ", text)  # a number is read once, by its most specific unit
    for m in re.finditer(r"(?:至|到|为|為)([一二两兩三四五六七八九十])成", text):
        out.add(f"pct:{_CN_DIGITS[m.group(1)] * 10}")
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Signature:
    """What a headline says happened, comparable across languages."""

    category: str
    direction: str
    actors: frozenset[str]
    terms: frozenset[str]
    numbers: frozenset[str]
    stance: str = ""  # "", or the qualifier that shaped it: reversal | denial | delay

    def to_json(self) -> dict[str, object]:
        return {
            "category": self.category,
            "direction": self.direction,
            "actors": sorted(self.actors),
            "terms": sorted(self.terms),
            "numbers": sorted(self.numbers),
            "stance": self.stance,
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Signature:
        def words(key: str) -> frozenset[str]:
            raw = d.get(key)
            return frozenset(str(w) for w in raw) if isinstance(raw, list) else frozenset()

        return cls(
            str(d["category"]),
            str(d["direction"]),
            words("actors"),
            words("terms"),
            words("numbers"),
            str(d.get("stance", "")),
        )


def same_event(a: Signature, b: Signature) -> bool:
    """Do two headlines report one event? (See the module docstring.)"""
    if a.category != b.category or a.direction != b.direction or a.stance != b.stance:
        return False
    for mine, theirs in ((a.actors, b.actors), (a.terms, b.terms), (a.numbers, b.numbers)):
        if mine and theirs and mine.isdisjoint(theirs):
            return False  # both name it, differently: another event
    if a.terms & b.terms or a.numbers & b.numbers:
        return True
    return bool(a.stance) and bool(a.actors & b.actors)
