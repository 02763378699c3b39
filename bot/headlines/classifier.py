"""The headline classifier: categories with bilingual keywords, a severity and a direction.

Rules live in seeds/headline_rules.toml. A category matches a title when any of its
keywords or patterns is found in the folded title (bot.headlines.text.fold: case- and
width-insensitive, Chinese without spaces). Its `when` sub-rules then refine severity and
direction from the verbs around it ("raises", "提高" -> tightening); the first sub-rule
that matches wins, otherwise the category's defaults stand.

Keywords that are plain ASCII match on word boundaries (optionally plural), so "IPO" is
not found in "tripod" and "chip" finds "chips"; any other keyword (Chinese) matches as a
substring, which is how Chinese is read.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from bot.headlines.text import fold

Severity = Literal["info", "warning", "critical"]
HeadlineDirection = Literal["tightening", "easing", "neutral"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
DIRECTIONS: tuple[HeadlineDirection, ...] = ("tightening", "easing", "neutral")
CATEGORY_ID = re.compile(r"^[a-z][a-z0-9_]{1,23}$")


class RulesError(ValueError):
    """seeds/headline_rules.toml is wrong; the message names the category and the field."""


def severity_rank(severity: str) -> int:
    """0 info, 1 warning, 2 critical (an unknown word ranks as info)."""
    for rank, name in enumerate(SEVERITIES):
        if name == severity:
            return rank
    return 0


class Matcher:
    """Finds any of a set of keywords / regex patterns in folded text."""

    def __init__(self, keywords: Iterable[str], patterns: Iterable[str] = ()) -> None:
        self.substrings: list[str] = []
        regexes: list[str] = []
        for word in keywords:
            folded = fold(word)
            if not folded:
                continue
            if folded.isascii():
                regexes.append(rf"(?<![a-z0-9]){re.escape(folded)}(?:s|es)?(?![a-z0-9])")
            else:
                self.substrings.append(folded)
        regexes.extend(patterns)
        self.regex = re.compile("|".join(f"(?:{r})" for r in regexes)) if regexes else None

    def find(self, folded: str) -> str | None:
        """The first keyword found in already-folded text, or None."""
        for word in self.substrings:
            if word in folded:
                return word
        if self.regex is not None:
            m = self.regex.search(folded)
            if m:
                return m.group(0)
        return None


@dataclass(frozen=True, slots=True)
class Refinement:
    matcher: Matcher
    severity: Severity | None
    direction: HeadlineDirection | None


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    label: str
    aliases: tuple[str, ...]
    severity: Severity
    direction: HeadlineDirection
    matcher: Matcher
    when: tuple[Refinement, ...]


@dataclass(frozen=True, slots=True)
class Match:
    """One category found in a title, with the severity and direction it implies."""

    category: str
    label: str
    severity: Severity
    direction: HeadlineDirection
    keyword: str  # what matched, in folded form


@dataclass(frozen=True, slots=True)
class Classification:
    """All categories a title falls in, the strongest first."""

    matches: tuple[Match, ...]

    @property
    def primary(self) -> Match | None:
        return self.matches[0] if self.matches else None

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(m.category for m in self.matches)


class Classifier:
    def __init__(self, categories: list[Category]) -> None:
        self.categories = categories
        self.by_name: dict[str, Category] = {}
        for cat in categories:
            for name in (cat.id, *cat.aliases):
                self.by_name[fold(name)] = cat

    def category(self, name: str) -> Category | None:
        """A category by its id or one of its aliases, in any case or width."""
        return self.by_name.get(fold(name))

    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def classify(self, title: str) -> Classification:
        folded = fold(title)
        found: list[tuple[int, int, Match]] = []
        for order, cat in enumerate(self.categories):
            keyword = cat.matcher.find(folded)
            if keyword is None:
                continue
            severity, direction = cat.severity, cat.direction
            for rule in cat.when:
                if rule.matcher.find(folded) is not None:
                    severity = rule.severity or severity
                    direction = rule.direction or direction
                    break
            match = Match(cat.id, cat.label, severity, direction, keyword)
            found.append((-severity_rank(severity), order, match))
        return Classification(tuple(m for _, _, m in sorted(found, key=lambda t: t[:2])))


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulesError(f"{where}: expected a list of non-empty strings")
    return list(value)


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> Any:
    if value not in allowed:
        raise RulesError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _patterns(value: Any, where: str) -> list[str]:
    out = _strings(value, where)
    for pattern in out:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RulesError(f"{where}: bad pattern {pattern!r} ({exc})") from None
    return out


def parse_rules(doc: dict[str, Any]) -> Classifier:
    """Build the classifier from the TOML document, or raise RulesError naming the fault."""
    items = doc.get("category")
    if not isinstance(items, list) or not items:
        raise RulesError("headline rules: no [[category]] tables")
    categories: list[Category] = []
    names: set[str] = set()
    for i, item in enumerate(items):
        cid = item.get("id") if isinstance(item, dict) else None
        where = f"category {cid or i}"
        if not isinstance(cid, str) or not CATEGORY_ID.match(cid):
            raise RulesError(f"{where}: id must match {CATEGORY_ID.pattern}")
        keywords = _strings(item.get("keywords", []), f"{where}.keywords")
        patterns = _patterns(item.get("patterns", []), f"{where}.patterns")
        if not keywords and not patterns:
            raise RulesError(f"{where}: needs keywords or patterns")
        aliases = _strings(item.get("aliases", []), f"{where}.aliases")
        when = []
        for j, sub in enumerate(item.get("when", [])):
            sub_where = f"{where}.when[{j}]"
            words = _strings(sub.get("any", []), f"{sub_where}.any")
            if not words:
                raise RulesError(f"{sub_where}: needs `any` words")
            sev = sub.get("severity")
            direction = sub.get("direction")
            when.append(
                Refinement(
                    Matcher(words),
                    _choice(sev, SEVERITIES, f"{sub_where}.severity") if sev else None,
                    _choice(direction, DIRECTIONS, f"{sub_where}.direction") if direction else None,
                )
            )
        for name in (cid, *aliases):
            if fold(name) in names:
                raise RulesError(f"{where}: name {name!r} is used twice")
            names.add(fold(name))
        categories.append(
            Category(
                id=cid,
                label=str(item.get("label") or cid),
                aliases=tuple(aliases),
                severity=_choice(item.get("severity", "info"), SEVERITIES, f"{where}.severity"),
                direction=_choice(
                    item.get("direction", "neutral"), DIRECTIONS, f"{where}.direction"
                ),
                matcher=Matcher(keywords, patterns),
                when=tuple(when),
            )
        )
    return Classifier(categories)


@lru_cache(maxsize=4)
def load_rules(path: Path) -> Classifier:
    """seeds/headline_rules.toml, parsed once per path."""
    with path.open("rb") as fh:
        return parse_rules(tomllib.load(fh))
