"""The class report ``summary.html``: one self-contained page (inline SVG, no network),
from the jinja2 template ``templates/grade/summary.html.j2`` in the assignment's language.

It reads only the public contracts — grade reports and gradebook rows as the spec
defines them — so it can be regenerated from a ``reports/`` directory at any time.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
import yaml
from markupsafe import Markup

HISTOGRAM_BINS = 10
BAR_WIDTH = 160  # of a field's success bar
HELP_THRESHOLD = Fraction(1, 2)  # below half the points: may need help
# A summary category, not a diagnosis: fields whose answer could not be read (invalid).
FORMAT_PROBLEM = "format_problem"


@lru_cache(maxsize=4)
def summary_words(language: str) -> dict[str, Markup]:
    """The page's words in ``language`` (templates/grade/summary.words.yaml): our own text,
    put into the page as written (each value the page fills in is escaped)."""
    text = resources.files("grader.templates").joinpath("grade/summary.words.yaml")
    table = yaml.safe_load(text.read_text("utf-8"))
    return {key: Markup(value) for key, value in table[language].items()}


# what the page calls each diagnosis of the catalogue (and the format problem)
MISTAKE_NAMES = {
    key.removeprefix("mistake_"): str(value)
    for key, value in summary_words("en").items()
    if key.startswith("mistake_")
}


def _escape(value: Any) -> Any:
    """Every value the template prints, escaped as html.escape does (``&#x27;`` for a
    quote: the page's bytes stay what they were); our words and macros pass as written."""
    return value if isinstance(value, Markup) else Markup(html.escape(str(value), quote=True))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.templates", "grade"),
        autoescape=True,  # every value is escaped (by _escape) unless it is our own words
        finalize=_escape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _ratio(score: Any, max_score: Any) -> float:
    try:
        top = float(max_score)
        return float(score) / top if top > 0 else 0.0
    except (TypeError, ValueError):
        return 0.0


@dataclass(frozen=True)
class _Bar:
    x: float
    y: float
    width: float
    height: float
    middle: float
    count: int
    low: int
    high: int


def _histogram(ratios: Sequence[float]) -> dict[str, Any]:
    """The histogram's geometry: a bar per tenth of the points."""
    counts = [0] * HISTOGRAM_BINS
    for r in ratios:
        counts[min(int(max(r, 0.0) * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    width, height, pad = 520, 220, 30
    bar_w = (width - 2 * pad) / HISTOGRAM_BINS
    top = max(counts) or 1
    bars = []
    for i, c in enumerate(counts):
        h = (height - 2 * pad) * c / top
        x = pad + i * bar_w
        bars.append(_Bar(x, height - pad - h, bar_w, h, x + bar_w / 2, c, i * 10, (i + 1) * 10))
    return {"width": width, "height": height, "pad": pad, "axis": height - pad, "bars": bars}


def _score_cell(row: Mapping[str, Any]) -> str:
    score, top = row.get("score"), row.get("max_score")
    return f"{score}/{top}" if score not in (None, "") else "—"


_RIGHT = ("correct", "carried_forward")


@dataclass
class ItemStats:
    """Per-field and per-mistake counts, accumulated one report at a time (memory grows with
    the number of fields, not of submissions)."""

    right: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    order: dict[str, None] = field(default_factory=dict)
    mistake_fields: Counter[str] = field(default_factory=Counter)
    mistake_students: Counter[str] = field(default_factory=Counter)
    top_mistake: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # pointer -> the sheet's label
    format_students: set[str] = field(default_factory=set)  # with unreadable fields

    def add(
        self,
        student: str,
        fields: Iterable[tuple[str, str, tuple[str, ...]]],
        labels: Iterable[tuple[str, str]] = (),
    ) -> None:
        """One graded submission: (pointer, status, diagnosis ids) per field, and the
        fields' labels (pointer, label) as the sheet writes them."""
        fields = list(fields)
        pointers = [ptr for ptr, _, _ in fields]
        self.order.update(dict.fromkeys(pointers))  # new pointers at the end, in order
        for ptr, label in labels:
            self.labels.setdefault(ptr, label)
        self.answered.update(pointers)
        self.right.update(ptr for ptr, status, _ in fields if status in _RIGHT)
        # the likeliest reading of each field; an unreadable one is a format problem
        seen = Counter(diagnosis[0] for _, _, diagnosis in fields if diagnosis)
        seen.update(FORMAT_PROBLEM for _, status, _ in fields if status == "invalid")
        if seen[FORMAT_PROBLEM]:
            self.format_students.add(student)
        self.mistake_fields.update(seen)
        self.mistake_students.update(set(seen))
        if seen:
            self.top_mistake[student] = seen.most_common(1)[0][0]

    def items(self) -> list[tuple[str, int, int]]:
        """(pointer, right, answered) in the order of the solution."""
        return [(p, self.right[p], self.answered[p]) for p in self.order]

    def mistakes(self) -> list[tuple[str, int, int]]:
        """(mistake id, students, fields), most students first."""
        return sorted(
            ((m, self.mistake_students[m], n) for m, n in self.mistake_fields.items()),
            key=lambda t: (-t[1], -t[2], t[0]),
        )


def _group(ptr: str, words: Mapping[str, Markup]) -> str:
    """The exercise and step a field belongs to ("sgd, step 2"), as the sheet groups them."""
    parts = ptr.split("/")
    exercise = parts[2] if len(parts) > 2 else ""
    if len(parts) > 4 and parts[3] == "steps" and parts[4].isdigit():
        return str(words["step"]).format(exercise=exercise, step=int(parts[4]) + 1)
    return exercise


def _item_groups(stats: ItemStats, words: Mapping[str, Markup]) -> list[dict[str, Any]]:
    """One group (a collapsible table, closed at first) per exercise and step: a bar per
    field, coloured by success rate; a field nobody got right is red all along its row."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for ptr, ok, n in stats.items():
        rate = ok / n if n else 0.0
        color = "#2e9e5b" if rate >= 0.7 else "#e0a21b" if rate >= 0.4 else "#d2453c"
        label = stats.labels.get(ptr) or "/".join(ptr.split("/")[3:]) or ptr
        groups.setdefault(_group(ptr, words), []).append(
            {
                "label": label,
                "pointer": ptr,
                "bar": {
                    "width": BAR_WIDTH,
                    "filled": max(0.0, min(1.0, rate)) * BAR_WIDTH,
                    "color": color,
                },  # fmt: skip
                "rate": f"{rate:.0%}",
                "right": ok,
                "graded": n,
                "none_right": ok == 0,
            }
        )
    return [{"name": name, "rows": rows} for name, rows in groups.items()]


def render_summary(
    *,
    assignment_id: str,
    title: str,
    stats: ItemStats,
    gradebook: Sequence[Mapping[str, Any]],
    language: str = "en",
) -> str:
    """The page (templates/grade/summary.html.j2), in ``language``.  ``gradebook`` rows are
    dicts with the gradebook's columns."""
    words = summary_words(language)
    graded = [r for r in gradebook if r.get("status") == "submitted"]
    ratios = [_ratio(r.get("score"), r.get("max_score")) for r in graded]
    statuses = Counter(str(row.get("status", "")) for row in gradebook)
    mean = sum(ratios) / len(ratios) if ratios else 0.0
    median = statistics.median(ratios) if ratios else 0.0  # as the console says it

    def name(mistake: str) -> str:
        return str(words.get(f"mistake_{mistake}", mistake))

    def said(status: str) -> str:  # a gradebook status in words (the CSV keeps the code)
        return str(words.get(f"status_{status}", status))

    mistakes = [
        {"name": name(m), "id": m, "students": students, "fields": n}
        for m, students, n in stats.mistakes()
    ]
    help_rows = []
    for row in gradebook:
        status = str(row.get("status", ""))
        if status == "unmatched":
            continue
        sid = str(row.get("student", ""))
        low = _ratio(row.get("score"), row.get("max_score")) < float(HELP_THRESHOLD)
        if status != "submitted" or low or sid in stats.format_students:
            top = stats.top_mistake.get(sid, "")
            likely = str(words.get(f"mistake_{top}", "")) or str(row.get("reason", ""))[:160]
            help_rows.append(
                {
                    "student": sid,
                    "name": row.get("name", ""),
                    "score": _score_cell(row),
                    "status": said(status),
                    "likely": likely,
                }
            )
    # work that follows a classmate's variant, and other flags for the instructor
    flag_rows = [
        {
            "student": row.get("student", ""),
            "name": row.get("name", ""),
            "flags": str(row.get("flags", "")).replace(";", "; "),
        }
        for row in gradebook
        if row.get("flags")
    ]
    return (
        _environment()
        .get_template("summary.html.j2")
        .render(
            lang=language,
            w=words,
            title=title,
            assignment_id=assignment_id,
            graded=len(graded),
            rows=len(gradebook),
            mean=f"{mean:.0%}",
            median=f"{median:.0%}",
            statuses=[(said(s), n) for s, n in sorted(statuses.items())],
            histogram=_histogram(ratios),
            mistakes=mistakes,
            help=help_rows,
            flags=flag_rows,
            groups=_item_groups(stats, words),
        )
    )
