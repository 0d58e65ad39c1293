"""The LaTeX documents of a build: problem sheets and solution keys.

One template per document kind renders either one student (``sheets/<id>.tex``) or a
whole class in one document (one TeX run instead of one per student).  Each student
starts on a fresh page numbered from 1, under a bookmark, between the named
destinations ``student<N>`` and ``student<N>-end`` that :mod:`grader.make.pdf` splits on.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel

from grader.core.latex import MAX_TEXT_CHARS, IndexMark, Tex, escape_tex
from grader.core.memo import IdentityMemo
from grader.core.numbers import fmt_exact_or_dec
from grader.course.assignment import Assignment, ExerciseSpec, Student
from grader.course.variants import Variant
from grader.exercises import get_exercise
from grader.exercises.base import Solution
from grader.make.rendering import render, render_block, shared_words, words

Kind = Literal["sheet", "key"]
STUDENT_MARK = "% ---- student "  # starts each student's part: maps a TeX error line to a student
BREAK_EVERY = 12  # a run of text without spaces may break after this many characters


@dataclass(frozen=True)
class ExerciseDoc:
    """One exercise of one student, as the partials see it."""

    ex: ExerciseSpec
    p: BaseModel
    s: Solution
    view: dict[str, Any]
    k: int
    title: str
    points: str


@dataclass(frozen=True)
class StudentDoc:
    index: int  # 1-based position in the document (names the PDF destinations)
    id: str
    name: str
    exercises: list[ExerciseDoc]

    @property
    def display_name(self) -> Tex:
        return breakable(self.name)


def breakable(text: str) -> Tex:
    """``text`` escaped, with line-break opportunities inside long runs without spaces
    (a path or an e-mail address as a name would otherwise run off the page)."""
    text = unicodedata.normalize("NFC", text)
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + "…"
    parts = []
    for word in re.split(r"(\s+)", text):
        for i in range(0, len(word), BREAK_EVERY):
            # never break right after a hyphen: it would read as a hyphenated word
            if i and word[i - 1] != "-":
                parts.append(r"\allowbreak{}")
            parts.append(escape_tex(word[i : i + BREAK_EVERY]))
    return Tex("".join(parts))


def points_text(points: Fraction, language: str) -> str:
    """``10 points``, ``1 point``; Russian plural rules (1 балл, 2 балла, 5 баллов)."""
    w = shared_words(language)
    shown = fmt_exact_or_dec(points, 2).lstrip("≈")
    if points.denominator != 1:
        form = w["point_few"]  # "2.5 балла", "2.5 points"
    elif language == "ru":
        n = points.numerator % 100
        if n % 10 == 1 and n != 11:
            form = w["point_one"]
        elif 2 <= n % 10 <= 4 and not 12 <= n <= 14:
            form = w["point_few"]
        else:
            form = w["point_many"]
    else:
        form = w["point_one"] if points == 1 else w["point_many"]
    return f"{shown} {form}"


def exercise_doc(variant: Variant, language: str) -> ExerciseDoc:
    spec = variant.exercise
    exercise = get_exercise(spec.type)
    view = exercise.latex_view(variant.params, variant.solution, language)
    return ExerciseDoc(
        ex=spec,
        p=variant.params,
        s=variant.solution,
        view=view,
        k=variant.solution.decimals,
        title=spec.title or exercise.title[language],
        points=points_text(spec.points, language),
    )


def student_doc(
    assignment: Assignment, student: Student, variants: Sequence[Variant], index: int = 1
) -> StudentDoc:
    return StudentDoc(
        index=index,
        id=student.id,
        name=student.name,
        exercises=[exercise_doc(v, assignment.language) for v in variants],
    )


def render_document(
    kind: Kind, assignment: Assignment, students: Sequence[StudentDoc], *, batch: bool | None = None
) -> str:
    """The whole .tex of ``kind`` for ``students`` (one student: a standalone file).

    ``batch`` (default: more than one student) adds what a class document needs: a blank
    page after an odd page count, so each student starts on a recto in duplex printing.
    """
    return render(f"{kind}.tex.j2", **_context(kind, assignment, students, batch=batch))


def _context(
    kind: Kind, assignment: Assignment, students: Sequence[StudentDoc], *, batch: bool | None
) -> dict[str, Any]:
    return {
        "assignment": assignment,
        "students": list(students),
        "language": assignment.language,
        "w": words(assignment.language, (spec.type for spec in assignment.exercises)),
        "kind": kind,
        "batch": len(students) > 1 if batch is None else batch,
    }


BEGIN, END = "\\begin{document}\n", "\\end{document}\n"


def split_document(tex: str) -> tuple[str, str]:
    """(preamble up to and including ``\\begin{document}``, the body before ``\\end{document}``).

    The templates render each student independently of the others, so a class document is
    one preamble plus every student's body: bodies can be rendered in parallel."""
    head, _, rest = tex.partition(BEGIN)
    body = rest.rpartition(END)[0]
    return head + BEGIN, body


def join_document(head: str, bodies: Sequence[str]) -> str:
    return head + "".join(bodies) + END


def with_index(doc: StudentDoc, index: int) -> StudentDoc:
    """The same student at position ``index`` of a class document."""
    return StudentDoc(index=index, id=doc.id, name=doc.name, exercises=doc.exercises)


# ------------------------------------------------------------ one rendering per student


@dataclass(frozen=True)
class _Reuse:
    """How one rendering of a student gives both of their texts in a build: the student's
    part with the position printed as :class:`IndexMark` and without the class-document
    extras, then the position put in and ``batch_suffix`` (the duplex break) added."""

    head: str  # the preamble, the same in a student's own file and in the class document
    batch_suffix: str | None  # None: the templates do not allow reuse; render twice


_REUSE: IdentityMemo[Assignment, _Reuse] = IdentityMemo(16)


def _marked_body(
    kind: Kind, assignment: Assignment, doc: StudentDoc, value: int, batch: bool
) -> str:
    marked = with_index(doc, IndexMark(value))
    # the body's block alone, not the preamble too only to cut it off (the reuse rule
    # holds only if this is the whole rendering's body: see _reuse)
    context = _context(kind, assignment, [marked], batch=batch)
    body = render_block(f"{kind}.tex.j2", "students", **context)
    if body is not None:
        return body
    return split_document(render_document(kind, assignment, [marked], batch=batch))[1]


def _reuse(kind: Kind, assignment: Assignment, doc: StudentDoc) -> _Reuse:
    """Established once per build (and kind) on its first student, by rendering them every
    way: reuse holds only if the templates print the position and use it for nothing else
    (the same text at positions 1 and 2), the class document's part of a student is their
    own file's part plus a fixed suffix, and the template's block of the body alone
    (:func:`_marked_body`) gives the body of the whole rendering.  ``grader check``
    renders every file anew."""
    rule = _REUSE.get(assignment, kind)
    if rule is not None:
        return rule
    own_head, own_body = split_document(render_document(kind, assignment, [with_index(doc, 1)]))
    batch_body = split_document(
        render_document(kind, assignment, [with_index(doc, 1)], batch=True)
    )[1]
    head = split_document(render_document(kind, assignment, [], batch=True))[0]
    marked = _marked_body(kind, assignment, doc, 1, batch=False)
    marked_batch = _marked_body(kind, assignment, doc, 1, batch=True)
    suffix: str | None = None
    if (
        own_head == head
        and marked == _marked_body(kind, assignment, doc, 2, batch=False)
        and marked.replace(IndexMark.TEXT, "1") == own_body
        and batch_body.startswith(own_body)
        and marked_batch == marked + batch_body[len(own_body) :]
    ):
        suffix = batch_body[len(own_body) :]
    return _REUSE.keep(assignment, _Reuse(head, suffix), kind)


def render_student(
    kind: Kind, assignment: Assignment, doc: StudentDoc, index: int
) -> tuple[str, str]:
    """(the student's own .tex, their part of the class document at position ``index``):
    ``render_document(kind, assignment, [doc])`` and the body of
    ``render_document(kind, assignment, [with_index(doc, index)], batch=True)``, from one
    rendering of the student instead of two."""
    rule = _reuse(kind, assignment, doc)
    if rule.batch_suffix is None:
        own = render_document(kind, assignment, [with_index(doc, 1)])
        body = split_document(
            render_document(kind, assignment, [with_index(doc, index)], batch=True)
        )[1]
        return own, body
    marked = _marked_body(kind, assignment, doc, index, batch=False)
    own = rule.head + marked.replace(IndexMark.TEXT, "1") + END
    return own, marked.replace(IndexMark.TEXT, str(index)) + rule.batch_suffix


def student_at_line(tex: str, line: int) -> int | None:
    """The index of the student whose part of a batched .tex contains ``line`` (1-based)."""
    found = None
    for number, text in enumerate(tex.splitlines(), start=1):
        if number > line:
            break
        if text.startswith(STUDENT_MARK):
            found = int(text.removeprefix(STUDENT_MARK))
    return found


def renumbered(docs: Sequence[StudentDoc]) -> list[StudentDoc]:
    """The same students numbered 1..n, for one class document."""
    return [with_index(d, i) for i, d in enumerate(docs, start=1)]
