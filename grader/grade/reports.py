"""What grading writes: the report JSON (the spec's contract), a Markdown report a student
can read, the gradebook CSV, and the class summary printed at the end of a batch.

Everything a student wrote reaches a report only bounded and escaped: in Markdown inside
a code span whose fence is longer than any run of backticks in the text.
"""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache, partial
from typing import Any

from grader.core.fileio import dump_json
from grader.core.memo import IdentityMemo
from grader.core.numbers import fmt_frac, round_half_away
from grader.core.wording import say
from grader.course.submission import shown
from grader.grade.file_problems import FileProblem
from grader.grade.grading import STATUSES, FieldResult, Report, total

SCORE_DECIMALS = 2
# flags: for the instructor, ';'-separated (copied_from:<id>, ambiguous_division:<pointer>)
GRADEBOOK_HEADER = ("student", "name", "score", "max_score", "status", "reason", "flags")
CODE_CHARS = 60  # how much of an answer the Markdown report shows
HISTOGRAM_BINS = 10


def score_number(x: Fraction) -> int | float:
    """A score as a JSON number rounded to 2 decimals (an int when it is whole), so the
    report is deterministic and readable; sums are taken exactly before rounding."""
    return _score_number(x.numerator, x.denominator)


@lru_cache(maxsize=1024)  # a batch has few distinct scores per field
def _score_number(numerator: int, denominator: int) -> int | float:
    r = round_half_away(Fraction(numerator, denominator), SCORE_DECIMALS)
    return int(r) if r.denominator == 1 else float(r)


def score_text(x: Fraction) -> str:
    return str(score_number(x))


# ---------------------------------------------------------------- report JSON


def report_json(report: Report, file_problems: Sequence[FileProblem] = ()) -> dict[str, Any]:
    """``{"assignment", "student", "score", "max_score", "fields": [...], "file_problems":
    [...]}``, every gradable field once, in the order a student computes them, then what
    is wrong with the file as a file (``{"pointer", "line", "column", "message"}``)."""
    return {
        "assignment": report.assignment,
        "student": report.student,
        "score": score_number(report.score),
        "max_score": score_number(report.max_score),
        "fields": [_field_json(f) for f in report.fields],
        "file_problems": [p.as_json() for p in file_problems],
    }


def unreadable_report_json(
    assignment: str, student: str, max_score: Fraction, problem: FileProblem
) -> dict[str, Any]:
    """The report of a file that could not be read at all: score 0, no fields, the reason."""
    return {
        "assignment": assignment,
        "student": student,
        "score": 0,
        "max_score": score_number(max_score),
        "fields": [],
        "file_problems": [problem.as_json()],
    }


def _field_json(f: FieldResult) -> dict[str, Any]:
    return {
        "pointer": f.pointer,
        "status": f.status,
        "given": f.given,
        "expected": f.expected,
        "points": score_number(f.points),
        "max_points": score_number(f.max_points),
        "feedback": f.feedback,
        "diagnosis": [{"id": d.id, "detail": d.detail} for d in f.diagnosis],
    }


def report_json_text(report: Report, file_problems: Sequence[FileProblem] = ()) -> str:
    """Exactly ``dump_json(report_json(report, file_problems))``, written field by field: a
    batch writes thousands of these, and the general writer walks every value one call at
    a time."""
    enc = _encode_str
    head = (
        f'{{\n  "assignment": {enc(report.assignment)},\n  "student": {enc(report.student)},\n'
        f'  "score": {_number_text(report.score)},\n'
        f'  "max_score": {_number_text(report.max_score)},\n  "fields": '
    )
    tail = f',\n  "file_problems": {_problems_text(file_problems)}\n}}\n'
    if not report.fields:
        return head + "[]" + tail
    fields = ",\n".join(_field_text(f) for f in report.fields)
    return f"{head}[\n{fields}\n  ]{tail}"


def _problems_text(problems: Sequence[FileProblem]) -> str:
    if not problems:
        return "[]"
    return dump_json([p.as_json() for p in problems]).rstrip("\n").replace("\n", "\n  ")


# Grading hands every student who wrote the same right answer the same FieldResult, and
# every student who handed in the same work the same tuple of them, so most of a batch's
# report text is written once (by the results' identity: grader.core.memo.IdentityMemo).
_FIELD_TEXTS: IdentityMemo[FieldResult, str] = IdentityMemo(5_000)  # one field's JSON
_SECTIONS: IdentityMemo[FieldResult, list[str]] = IdentityMemo(500)  # an exercise's Markdown


def _field_text(f: FieldResult) -> str:
    return _FIELD_TEXTS.make(f, lambda: _write_field_text(f))


def _write_field_text(f: FieldResult) -> str:
    enc = _encode_str
    if f.diagnosis:
        items = ",\n".join(
            f'        {{\n          "id": {enc(d.id)},\n          "detail": {enc(d.detail)}\n        }}'
            for d in f.diagnosis
        )
        diagnosis = f"[\n{items}\n      ]"
    else:
        diagnosis = "[]"
    return (
        f'    {{\n      "pointer": {enc(f.pointer)},\n      "status": {enc(f.status)},\n'
        f'      "given": {"null" if f.given is None else enc(f.given)},\n'
        f'      "expected": {"null" if f.expected is None else enc(f.expected)},\n'
        f'      "points": {_number_text(f.points)},\n'
        f'      "max_points": {_number_text(f.max_points)},\n'
        f'      "feedback": {enc(f.feedback)},\n      "diagnosis": {diagnosis}\n    }}'
    )


def _number_text(x: Fraction) -> str:
    n = score_number(x)
    return int.__repr__(n) if isinstance(n, int) else float.__repr__(n)


_encode_str = json.encoder.encode_basestring  # as json.dumps(..., ensure_ascii=False) does


# ---------------------------------------------------------------- Markdown

# Inline Markdown syntax (links need [ ], so parentheses alone are harmless).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md_text(text: str, limit: int = 400) -> str:
    """Plain text safe in Markdown: one line, bounded, special characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", shown(text, limit))


def code_span(text: str, limit: int = CODE_CHARS) -> str:
    """A student's text as an inline code span: bounded, one line, and fenced with more
    backticks than the longest run inside, so nothing in it can end the span early."""
    body = shown(text, limit)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def report_markdown(
    report: Report,
    *,
    name: str,
    title: str,
    file_problems: Sequence[FileProblem] = (),
    language: str = "en",
) -> str:
    """A report a student can read: what was right, what was carried forward, what went
    wrong and the likely reason, with the expected values; what is wrong with the file
    first (each field it costs says so too)."""
    lines = [
        f"# {md_text(say(language, 'report_title', title=title), 1200)}",
        "",
        f"**{say(language, 'report_student')}:** {md_text(name)} ({code_span(report.student)})  ",
        f"**{say(language, 'report_score')}:** "
        f"{score_text(report.score)} / {score_text(report.max_score)}",
        "",
    ]
    if file_problems:
        lines += _file_problem_lines(file_problems, language)
    by_exercise: dict[str, list[FieldResult]] = {}
    for f in report.fields:
        by_exercise.setdefault(f.exercise, []).append(f)
    for ex, fields in by_exercise.items():
        lines += _SECTIONS.make_for(
            fields, partial(_exercise_lines, ex, fields, language), (language, ex)
        )
    if report.problems and not file_problems:
        lines += [f"## {md_text(say(language, 'about_the_file'))}", ""]
        lines += [f"- {md_text(p)}" for p in report.problems]
        lines.append("")
    return "\n".join(lines)


def _file_problem_lines(problems: Sequence[FileProblem], language: str) -> list[str]:
    lines = [f"## {md_text(say(language, 'about_the_file'))}", ""]
    for p in problems:
        at = (
            say(language, "file_problem_at", line=p.line, column=p.column) + ": "
            if p.line is not None
            else ""
        )
        where = f" ({code_span(p.pointer, 120)})" if p.pointer else ""
        lines.append(f"- {md_text(at + p.message, 1200)}{where}")
    lines.append("")
    return lines


def unreadable_report_markdown(
    *,
    name: str,
    title: str,
    student: str,
    max_score: Fraction,
    problem: FileProblem,
    language: str,
) -> str:
    """The Markdown report of a file that could not be read at all (score 0)."""
    lines = [
        f"# {md_text(say(language, 'report_title', title=title), 1200)}",
        "",
        f"**{say(language, 'report_student')}:** {md_text(name)} ({code_span(student)})  ",
        f"**{say(language, 'report_score')}:** 0 / {score_text(max_score)}",
        "",
        say(language, "unreadable_report"),  # our words (Markdown as written)
        "",
    ]
    return "\n".join(lines + _file_problem_lines([problem], language))


def _exercise_lines(ex: str, fields: Sequence[FieldResult], language: str = "en") -> list[str]:
    """One exercise's part of the Markdown report."""
    lines: list[str] = []
    got = total(f.points for f in fields)
    top = total(f.max_points for f in fields)
    # our words, a code span and two numbers: nothing to escape
    heading = say(
        language,
        "report_exercise",
        exercise=code_span(ex),
        got=score_text(got),
        top=score_text(top),
    )
    lines += [f"## {heading}", ""]
    by_status: dict[str, list[FieldResult]] = {status: [] for status in STATUSES}
    for f in fields:
        by_status[f.status].append(f)
    words = partial(say, language)
    lines += _section(
        words("report_wrong"), by_status["incorrect"], words("report_wrong_intro"), language
    )
    lines += _section(
        words("report_carried"),
        by_status["carried_forward"],
        words("report_carried_intro"),
        language,
    )
    lines += _section(
        words("report_missing"),
        [f for f in fields if f.status in ("missing", "invalid")],
        "",
        language,
    )
    correct = by_status["correct"]
    if correct:
        lines += [
            f"### {words('report_correct', count=len(correct), total=len(fields))}",
            "",
            ", ".join(_md_label(f.label) for f in correct),
            "",
        ]
    return lines


@lru_cache(maxsize=4096)  # labels repeat in every report of a batch
def _md_label(label: str) -> str:
    return md_text(symbol_label(label))


_SUBSCRIPT_DIGITS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
# a symbol's index: digits right after a letter (b3, W2, δ3, h1), not a free number (step 1)
_SYMBOL_INDEX = re.compile(r"(?<=[^\W\d_])(\d{1,2})(?!\d)")
# the entry of a matrix or vector field, as grading writes it: " [0][1]" (0-based)
_ENTRY = re.compile(r"\s*((?:\[\d+\])+)$")


def symbol_label(label: str) -> str:
    """A label as the sheet writes it: every symbol's index as a subscript ("new b3 after
    step 1" → "new b₃ after step 1") and a matrix entry 1-based on the quantity's symbol
    ("h1 = X·W1 [0][1]" → "h₁[1,2] = X·W₁")."""
    entry = _ENTRY.search(label)
    if entry is not None:  # on the quantity's own symbol, the label's first word
        indices = ",".join(str(int(i) + 1) for i in re.findall(r"\d+", entry.group(1)))
        head, space, rest = label[: entry.start()].partition(" ")
        label = f"{head}[{indices}]{space}{rest}"
    return _SYMBOL_INDEX.sub(lambda m: m.group(1).translate(_SUBSCRIPT_DIGITS), label)


def _section(
    heading: str, fields: Sequence[FieldResult], intro: str, language: str = "en"
) -> list[str]:
    if not fields:
        return []
    lines = [f"### {heading} ({len(fields)})", ""]
    if intro:
        lines += [intro, ""]
    for f in fields:
        # a missing field's feedback says so itself ("No answer. Expected …")
        given = (
            ""
            if f.given is None
            else say(language, "report_you_wrote", text=code_span(f.given)) + " "
        )
        lines.append(f"- **{md_text(symbol_label(f.label))}**: {given}{md_text(f.feedback, 1200)}")
        lines.append(f"  ({code_span(f.pointer, 120)})")
    lines.append("")
    return lines


# ---------------------------------------------------------------- gradebook


@dataclass(frozen=True)
class GradebookRow:
    student: str
    name: str
    score: Fraction | None
    max_score: Fraction | None
    status: str  # submitted, missing, invalid, unmatched
    reason: str
    flags: str = ""  # ';'-separated codes for the instructor (copied_from:<id>, …)
    late: bool = False  # an LMS download marked the upload late

    def as_dict(self) -> dict[str, str]:
        """The row as the gradebook writes it (what grader.grade.lms reads)."""
        return dict(zip(GRADEBOOK_HEADER, self.cells(), strict=True))

    def plain(self) -> dict[str, str]:
        """The row for a page people read (bounded, one line; the spreadsheet guard ``'``
        belongs in CSV files only)."""
        cells = self.cells()
        cells[0], cells[1], cells[5] = (
            shown(self.student),
            shown(self.name),
            shown(self.reason, 1000),
        )
        return dict(zip(GRADEBOOK_HEADER, cells, strict=True))

    def cells(self) -> list[str]:
        return [
            _safe_cell(self.student),
            _safe_cell(self.name),
            "" if self.score is None else score_text(self.score),
            "" if self.max_score is None else score_text(self.max_score),
            self.status,
            _safe_cell(self.reason),
            _safe_cell(self.flags),
        ]


def _safe_cell(text: str) -> str:
    """Spreadsheets run a cell that starts with = + - @ as a formula: neutralize it."""
    text = shown(text, 1000)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def gradebook_csv(rows: Iterable[GradebookRow], *, lms_columns: bool = False) -> str:
    """The gradebook; graded from an LMS download it also has a ``late`` column (``yes``
    or empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*GRADEBOOK_HEADER, "late") if lms_columns else GRADEBOOK_HEADER)
    for row in rows:
        cells = row.cells()
        if lms_columns:
            cells.append("yes" if row.late else "")
        writer.writerow(cells)
    return out.getvalue()


def report_flags(report: Report) -> str:
    """The gradebook's ``flags`` of a graded submission: each field's, once, sorted."""
    return ";".join(sorted({flag for f in report.fields for flag in f.flags}))


def report_reason(report: Report) -> str:
    """A gradebook ``reason`` for a graded submission: the counts per status."""
    counts = Counter(f.status for f in report.fields)  # one pass (every report asks)
    parts = [f"{counts[s]} {s.replace('_', ' ')}" for s in STATUSES if counts[s]]
    review = sum(1 for f in report.fields if f.review)
    if review:
        parts.append(f"{review} to review by hand")
    if report.problems:
        parts.append(f"{len(report.problems)} file problem(s): {report.problems[0]}")
    return "; ".join(parts)


# ---------------------------------------------------------------- class summary


@dataclass
class ClassSummary:
    """Counts a batch accumulates (small, whatever the number of submissions)."""

    ratios: list[Fraction] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    mistakes: Counter[str] = field(default_factory=Counter)  # students with each mistake
    max_score: Fraction | None = None

    def add(self, row: GradebookRow, mistakes: Iterable[str] = ()) -> None:
        self.statuses[row.status] += 1
        if row.status == "submitted" and row.score is not None and row.max_score:
            self.ratios.append(row.score / row.max_score)
            self.max_score = row.max_score
            self.mistakes.update(set(mistakes))  # order-free: ties are sorted by name below

    def render(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        lines = [f"Class summary: {counts or 'nothing graded'}"]
        if self.ratios:
            pct = [float(r) * 100 for r in self.ratios]
            lines.append(
                f"  scores (% of max{f' {fmt_frac(self.max_score)}' if self.max_score else ''}): "
                f"mean {statistics.fmean(pct):.1f}, median {statistics.median(pct):.1f}, "
                f"min {min(pct):.1f}, max {max(pct):.1f}"
            )
            bins = [0] * HISTOGRAM_BINS
            for r in self.ratios:
                bins[min(int(r * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
            top = max(bins)
            for i, n in enumerate(bins):
                lo = i * 100 // HISTOGRAM_BINS
                hi = (i + 1) * 100 // HISTOGRAM_BINS
                bar = "#" * max(1 if n else 0, round(30 * n / top)) if top else ""
                lines.append(f"  {lo:3d}–{hi:3d}% {n:4d} {bar}")
        if self.mistakes:
            ranked = sorted(self.mistakes.items(), key=lambda item: (-item[1], item[0]))
            common = ", ".join(f"{m} ({n})" for m, n in ranked[:5])
            lines.append(f"  most common mistakes (students): {common}")
        return "\n".join(lines)
