"""How well the headline classifier does on a labelled set of titles (issue 18.2).

The set is a text file (seeds/headline_eval.synthetic.txt, team-written): one title a
line, ``label | category | severity | direction | language | source | title``, ``#``
comments and blank lines ignored. `load_eval_set` reads it (a bad line is one error naming
the line); `evaluate` classifies every title and counts:

- alert vs noise: a title is *predicted* an alert when the classifier finds a category;
- per category: predicted = the primary category (the strongest match);
- critical: predicted = the primary match's severity is critical;
- direction: on the titles both call alerts, how often the primary direction agrees.

`report` renders the figures as the lines `divbot eval-headlines` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.headlines.classifier import DIRECTIONS, SEVERITIES, Classifier

LABELS = ("alert", "noise")


class EvalSetError(ValueError):
    """The evaluation file is malformed; the message names the line."""


@dataclass(frozen=True, slots=True)
class Example:
    label: str  # alert | noise
    category: str | None
    severity: str | None
    direction: str | None
    language: str
    source: str
    title: str
    line: int


def load_eval_set(path: Path, categories: list[str]) -> list[Example]:
    """Every example in the file, validated against the classifier's categories."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalSetError(f"{path}: cannot read ({type(exc).__name__})") from None
    out: list[Example] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|", 6)]
        if len(parts) != 7 or not parts[6]:
            raise EvalSetError(f"{path.name}:{n}: expected 7 fields separated by |")
        label, category, severity, direction, language, source, title = parts
        if label not in LABELS:
            raise EvalSetError(f"{path.name}:{n}: label must be alert or noise, not {label!r}")
        if label == "noise":
            out.append(Example(label, None, None, None, language, source, title, n))
            continue
        if category not in categories:
            raise EvalSetError(f"{path.name}:{n}: unknown category {category!r}")
        if severity not in SEVERITIES:
            raise EvalSetError(f"{path.name}:{n}: unknown severity {severity!r}")
        if direction not in DIRECTIONS:
            raise EvalSetError(f"{path.name}:{n}: unknown direction {direction!r}")
        out.append(Example(label, category, severity, direction, language, source, title, n))
    if not out:
        raise EvalSetError(f"{path.name}: no examples")
    return out


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1


@dataclass(frozen=True, slots=True)
class Miss:
    """One title the classifier got wrong, as the report lists it."""

    example: Example
    got: str  # "noise" or "category severity direction"


@dataclass(slots=True)
class Evaluation:
    examples: int = 0
    alert: Counts = field(default_factory=Counts)
    critical: Counts = field(default_factory=Counts)
    categories: dict[str, Counts] = field(default_factory=dict)
    direction_agree: int = 0
    direction_total: int = 0
    severity_agree: int = 0
    misses: list[Miss] = field(default_factory=list)

    @property
    def direction_accuracy(self) -> float:
        return self.direction_agree / self.direction_total if self.direction_total else 1.0

    @property
    def severity_accuracy(self) -> float:
        return self.severity_agree / self.direction_total if self.direction_total else 1.0


def evaluate(classifier: Classifier, examples: list[Example]) -> Evaluation:
    result = Evaluation(categories={c: Counts() for c in classifier.ids()})
    for ex in examples:
        result.examples += 1
        primary = classifier.classify(ex.title).primary
        is_alert = ex.label == "alert"
        result.alert.add(primary is not None, is_alert)
        result.critical.add(
            primary is not None and primary.severity == "critical", ex.severity == "critical"
        )
        for cat, counts in result.categories.items():
            counts.add(primary is not None and primary.category == cat, ex.category == cat)
        if primary is not None and is_alert:
            result.direction_total += 1
            result.direction_agree += primary.direction == ex.direction
            result.severity_agree += primary.severity == ex.severity
        wrong = (primary is None) == is_alert or (
            primary is not None
            and (ex.category, ex.severity, ex.direction)
            != (primary.category, primary.severity, primary.direction)
            and is_alert
        )
        if wrong:
            got = (
                "noise"
                if primary is None
                else f"{primary.category} {primary.severity} {primary.direction}"
            )
            result.misses.append(Miss(ex, got))
    return result


def report(result: Evaluation, *, misses: bool = False) -> list[str]:
    """The figures, one per line; with `misses`, every title the classifier got wrong."""
    a, c = result.alert, result.critical
    lines = [
        f"titles: {result.examples}",
        f"alert     precision {a.precision:.3f}  recall {a.recall:.3f}  "
        f"(tp {a.tp}, fp {a.fp}, fn {a.fn})",
        f"critical  precision {c.precision:.3f}  recall {c.recall:.3f}  "
        f"(tp {c.tp}, fp {c.fp}, fn {c.fn})",
    ]
    for cat, k in result.categories.items():
        lines.append(
            f"{cat:<9} precision {k.precision:.3f}  recall {k.recall:.3f}  "
            f"(tp {k.tp}, fp {k.fp}, fn {k.fn})"
        )
    lines.append(
        f"on titles both call alerts: severity agrees {result.severity_accuracy:.3f}, "
        f"direction agrees {result.direction_accuracy:.3f} ({result.direction_total})"
    )
    if misses:
        for miss in result.misses:
            ex = miss.example
            want = "noise" if ex.label == "noise" else f"{ex.category} {ex.severity} {ex.direction}"
            lines.append(f"  line {ex.line}: want {want}, got {miss.got}: {ex.title}")
    return lines
