"""The headline classifier: categories with bilingual keywords, a severity and a direction.

Rules live in seeds/headline_rules.toml. A category matches a title when any of its
keywords or patterns is found in the folded title (bot.headlines.text.fold: case- and
width-insensitive, Chinese without spaces). Its `when` sub-rules then refine severity and
direction from the verbs around it ("raises", "提高" -> tightening); the first sub-rule
that matches wins, otherwise the category's defaults stand.

Keywords that are plain ASCII match on word boundaries (optionally plural), so "IPO" is
not found in "tripod" and "chip" finds "chips"; any other keyword (Chinese) matches as a
substring, which is how Chinese is read.

Owns seeds/headline_rules.toml and its model (`RulesFile`: `[[category]]` rows, each with
`[[category.when]]` sub-rules), validated before a `Classifier` is built from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.headlines.text import fold
from bot.seedfiles import At, SeedFileError, load_seed_file, validate_seed

Severity = Literal["info", "warning", "critical"]
HeadlineDirection = Literal["tightening", "easing", "neutral"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
DIRECTIONS: tuple[HeadlineDirection, ...] = ("tightening", "easing", "neutral")
CATEGORY_ID = re.compile(r"^[a-z][a-z0-9_]{1,23}$")


class RulesError(SeedFileError):
    """seeds/headline_rules.toml is wrong; the message names the field's path."""


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


# -- seeds/headline_rules.toml ------------------------------------------------------
def _not_blank(word: str) -> str:
    if not word.strip():
        raise ValueError("must not be blank")
    return word


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad pattern {pattern!r} ({exc})") from None
    return pattern


Word = Annotated[str, AfterValidator(_not_blank)]
Pattern = Annotated[str, AfterValidator(_regex)]


class WhenRow(BaseModel):
    """A ``[[category.when]]`` sub-rule: words that refine severity and/or direction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any: list[Word] = Field(default_factory=list, validate_default=True)
    severity: Severity | None = None
    direction: HeadlineDirection | None = None

    @field_validator("any")
    @classmethod
    def _some_words(cls, words: list[str]) -> list[str]:
        if not words:
            raise ValueError("needs `any` words")
        return words


class CategoryRow(BaseModel):
    """One ``[[category]]``: its names, defaults and what finds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CATEGORY_ID.pattern)
    label: str | None = None  # the id when absent
    aliases: list[Word] = []
    severity: Severity = "info"
    direction: HeadlineDirection = "neutral"
    keywords: list[Word] = []
    patterns: list[Pattern] = []
    when: list[WhenRow] = []

    @model_validator(mode="after")
    def _findable(self) -> CategoryRow:
        if not self.keywords and not self.patterns:
            raise At(("keywords",), "needs keywords or patterns")
        return self

    def category(self) -> Category:
        return Category(
            id=self.id,
            label=self.label or self.id,
            aliases=tuple(self.aliases),
            severity=self.severity,
            direction=self.direction,
            matcher=Matcher(self.keywords, self.patterns),
            when=tuple(Refinement(Matcher(w.any), w.severity, w.direction) for w in self.when),
        )


class RulesFile(BaseModel):
    """seeds/headline_rules.toml: the categories, in the order titles are tried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: list[CategoryRow] = Field(default_factory=list, validate_default=True)

    @field_validator("category")
    @classmethod
    def _distinct_names(cls, rows: list[CategoryRow]) -> list[CategoryRow]:
        if not rows:
            raise ValueError("no [[category]] tables")
        names: set[str] = set()
        for i, row in enumerate(rows):
            named: list[tuple[tuple[str | int, ...], str]] = [((i, "id"), row.id)]
            named += [((i, "aliases", j), alias) for j, alias in enumerate(row.aliases)]
            for where, name in named:
                if fold(name) in names:
                    raise At(where, f"name {name!r} is used twice")
                names.add(fold(name))
        return rows

    def classifier(self) -> Classifier:
        return Classifier([row.category() for row in self.category])


def parse_rules(doc: dict[str, Any], name: str = "headline rules") -> Classifier:
    """Build the classifier from a TOML document, or raise RulesError naming the field."""
    return validate_seed(doc, RulesFile, name, error=RulesError).classifier()


@lru_cache(maxsize=4)
def load_rules(path: Path) -> Classifier:
    """seeds/headline_rules.toml, validated and parsed once per path."""
    return load_seed_file(path, RulesFile, error=RulesError).classifier()
