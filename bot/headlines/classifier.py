"""The headline classifier: categories with bilingual keywords, a severity and a direction.

Rules live in seeds/headline_rules.toml. A category matches a title when any of its
keywords or patterns is found in the folded title (bot.headlines.text.fold: case- and
width-insensitive, Chinese without spaces). Its `when` sub-rules then refine severity and
direction from the verbs around it ("raises", "提高" -> tightening); the first sub-rule
that matches wins, otherwise the category's defaults stand.

Keywords that are plain ASCII match on word boundaries (optionally plural; a hyphen is
part of a word), so "IPO" is not found in "tripod", "chip" finds "chips" but not
"blue-chip"; any other keyword (Chinese) matches as a substring, which is how Chinese is
read. A category's `exclude` patterns are cut out of the title before it is searched
("chips away", 新股民, "HFT Investment" the fund house), and its `unless` words rule it
out (a foreign central bank's rate cut is not PBOC easing).

Qualifiers (`[[qualifier]]`) then read what the title says about the measure found by a
`when` sub-rule (tightening or easing), in every script alike:

- reversal ("lifts ban", 解除, 暂停实施): a tightening lifted is easing, at warning;
- denial ("denies", "no plan", 没有…计划, 否認) and delay ("delays", 推迟, 暫緩): not the
  measure itself: neutral, at most warning;
- tentative ("pledges", 择机): intent, not action: at most warning.

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

from bot.headlines.event import Signature, numbers_in
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


QualifierKind = Literal["reversal", "denial", "delay", "tentative"]


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
                regexes.append(rf"(?<![a-z0-9-]){re.escape(folded)}(?:s|es)?(?![a-z0-9-])")
            else:
                self.substrings.append(folded)
        regexes.extend(patterns)
        self.regex = re.compile("|".join(f"(?:{r})" for r in regexes)) if regexes else None

    def first_at(self, folded: str) -> int | None:
        """Where the first keyword or pattern starts in already-folded text, or None."""
        found = [i for i in (folded.find(w) for w in self.substrings) if i >= 0]
        if self.regex is not None:
            m = self.regex.search(folded)
            if m:
                found.append(m.start())
        return min(found) if found else None

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
    exclude: re.Pattern[str] | None = None
    unless: Matcher | None = None

    def searched(self, folded: str) -> str:
        """The folded title with this category's excluded phrases cut out."""
        return self.exclude.sub(" ", folded) if self.exclude is not None else folded


def _stance(said: frozenset[QualifierKind]) -> str:
    """The stance an event signature records: the strongest qualifier said."""
    return next((k for k in ("reversal", "denial", "delay") if k in said), "")


def qualify(
    severity: Severity, direction: HeadlineDirection, said: frozenset[QualifierKind]
) -> tuple[Severity, HeadlineDirection]:
    """What the title says about the measure: reversed, denied, delayed or only intended."""
    if direction == "tightening" and "reversal" in said:
        return "warning", "easing"
    capped: Severity = "warning" if severity == "critical" else severity
    if "denial" in said or "delay" in said:
        return capped, "neutral"
    if "tentative" in said:
        return capped, direction
    return severity, direction


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
    def __init__(
        self,
        categories: list[Category],
        qualifiers: dict[QualifierKind, Matcher] | None = None,
        actors: dict[str, Matcher] | None = None,
        terms: dict[str, Matcher] | None = None,
    ) -> None:
        self.categories = categories
        self.qualifiers = qualifiers or {}
        self.actors = actors or {}
        self.terms = terms or {}
        self.by_name: dict[str, Category] = {}
        for cat in categories:
            for name in (cat.id, *cat.aliases):
                self.by_name[fold(name)] = cat

    def category(self, name: str) -> Category | None:
        """A category by its id or one of its aliases, in any case or width."""
        return self.by_name.get(fold(name))

    def ids(self) -> list[str]:
        return [c.id for c in self.categories]

    def signature(self, title: str, found: Classification) -> Signature | None:
        """The event a classified title reports (bot.headlines.event), or None when it
        matched no category."""
        primary = found.primary
        if primary is None:
            return None
        folded = fold(title)
        # The actor is who acts, the first one named: "商务部决定将15家美国企业列入…" is
        # MOFCOM's measure, "美国将多家中国半导体企业列入实体清单" Washington's.
        named = [(at, a) for a, m in self.actors.items() if (at := m.first_at(folded)) is not None]
        return Signature(
            primary.category,
            primary.direction,
            frozenset([min(named)[1]] if named else []),
            frozenset(t for t, m in self.terms.items() if m.find(folded) is not None),
            numbers_in(folded),
            _stance(self.qualifiers_in(folded)),
        )

    def qualifiers_in(self, folded: str) -> frozenset[QualifierKind]:
        return frozenset(k for k, m in self.qualifiers.items() if m.find(folded) is not None)

    def classify(self, title: str) -> Classification:
        folded = fold(title)
        said = self.qualifiers_in(folded)
        found: list[tuple[int, int, Match]] = []
        for order, cat in enumerate(self.categories):
            text = cat.searched(folded)
            keyword = cat.matcher.find(text)
            if keyword is None or (cat.unless is not None and cat.unless.find(text) is not None):
                continue
            severity, direction = cat.severity, cat.direction
            for rule in cat.when:
                if rule.matcher.find(text) is not None:
                    severity = rule.severity or severity
                    direction = rule.direction or direction
                    severity, direction = qualify(severity, direction, said)
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

    any: list[Word] = []
    patterns: list[Pattern] = []
    severity: Severity | None = None
    direction: HeadlineDirection | None = None

    @model_validator(mode="after")
    def _some_words(self) -> WhenRow:
        if not self.any and not self.patterns:
            raise At(("any",), "needs `any` words or patterns")
        return self


class QualifierRow(BaseModel):
    """A ``[[qualifier]]``: words saying a measure is reversed, denied, delayed or intended."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: QualifierKind
    any: list[Word] = []
    patterns: list[Pattern] = []

    @model_validator(mode="after")
    def _some_words(self) -> QualifierRow:
        if not self.any and not self.patterns:
            raise At(("any",), "needs `any` words or patterns")
        return self


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
    exclude: list[Pattern] = []  # cut out of the title before it is searched
    unless: list[Word] = []  # any of these (or unless_patterns) rules the category out
    unless_patterns: list[Pattern] = []
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
            when=tuple(
                Refinement(Matcher(w.any, w.patterns), w.severity, w.direction) for w in self.when
            ),
            exclude=re.compile("|".join(f"(?:{p})" for p in self.exclude))
            if self.exclude
            else None,
            unless=(
                Matcher(self.unless, self.unless_patterns)
                if self.unless or self.unless_patterns
                else None
            ),
        )


class VocabRow(BaseModel):
    """An ``[[actor]]`` or ``[[term]]`` of event signatures: one id, its words everywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CATEGORY_ID.pattern)
    any: list[Word] = []
    patterns: list[Pattern] = []

    @model_validator(mode="after")
    def _some_words(self) -> VocabRow:
        if not self.any and not self.patterns:
            raise At(("any",), "needs `any` words or patterns")
        return self

    def matcher(self) -> Matcher:
        return Matcher(self.any, self.patterns)


class RulesFile(BaseModel):
    """seeds/headline_rules.toml: the categories, in the order titles are tried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: list[CategoryRow] = Field(default_factory=list, validate_default=True)
    qualifier: list[QualifierRow] = []
    actor: list[VocabRow] = []
    term: list[VocabRow] = []

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
        words: dict[QualifierKind, tuple[list[str], list[str]]] = {}
        for row in self.qualifier:
            have = words.setdefault(row.kind, ([], []))
            have[0].extend(row.any)
            have[1].extend(row.patterns)
        qualifiers = {kind: Matcher(any_, pats) for kind, (any_, pats) in words.items()}
        return Classifier(
            [row.category() for row in self.category],
            qualifiers,
            {row.id: row.matcher() for row in self.actor},
            {row.id: row.matcher() for row in self.term},
        )


def parse_rules(doc: dict[str, Any], name: str = "headline rules") -> Classifier:
    """Build the classifier from a TOML document, or raise RulesError naming the field."""
    return validate_seed(doc, RulesFile, name, error=RulesError).classifier()


@lru_cache(maxsize=4)
def load_rules(path: Path) -> Classifier:
    """seeds/headline_rules.toml, validated and parsed once per path."""
    return load_seed_file(path, RulesFile, error=RulesError).classifier()
