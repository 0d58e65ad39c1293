"""Reading one submission file: bounded, strict, and never losing what can be graded.

Reading happens in stages.  :func:`read_submission` turns a file into JSON data or
one clear :class:`SubmissionError` (too large, not UTF-8, not JSON, nested too deeply):
the size is checked before the file is read, the nesting depth before the parser
recurses, JSON numbers stay the decimal text the student wrote (never a binary float),
``NaN``/``Infinity`` and duplicate keys are kept as markers so the field that holds them
can say what is wrong.  :func:`student_of` and :func:`check_assignment` read who it is
from and what for (a bad id is a file-level error: it names the report files).
:func:`read_answers` then checks the data against a pydantic
model made for the student's own variant (exact step counts and matrix shapes) and
returns every answer leaf as given, missing or invalid: a wrong shape in one place
costs only the leaves under it.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from grader.core import numbers
from grader.core.errors import pointer_from_loc
from grader.core.memo import IdentityMemo
from grader.core.wording import Words, say
from grader.course.assignment import valid_student_id
from grader.course.jsonpos import place, syntax_cause
from grader.course.variants import Variant
from grader.exercises import get_exercise
from grader.exercises.base import pointer

MAX_SUBMISSION_BYTES = 2_000_000
MAX_DEPTH = 64  # a real submission nests 6 levels deep
MAX_NUMBER_CHARS = numbers.MAX_NUMBER_CHARS  # what parse_number reads (exact keys need long ones)
MAX_FORMULA_CHARS = 2000
MAX_PROBLEMS = 20  # file-level notes kept per submission; the rest are counted
SHOWN_CHARS = 80  # how much of a student's text we echo back in a message


class SubmissionError(Exception):
    """The file as a whole cannot be graded; ``message`` says why in one line (English,
    for the instructor).  ``key`` and ``args`` say the same in words of
    ``templates/feedback.words.yaml`` (for the student, in their language), ``line`` and
    ``column`` where in the file, when known."""

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        args: Mapping[str, Any] | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.key = key
        self.args_ = dict(args or {})
        self.line = line
        self.column = column
        super().__init__(message)


class JsonNumber(str):
    """A JSON number, kept as the exact decimal text the student wrote."""

    __slots__ = ()


class JsonConstant(str):
    """``NaN``, ``Infinity`` or ``-Infinity``: not JSON numbers; the field that holds one
    is reported invalid (rather than the whole file)."""

    __slots__ = ()


class _DuplicateKeys(dict):  # type: ignore[type-arg]
    """A JSON object in which some key appears more than once (which value is meant?)."""

    duplicates: frozenset[str] = frozenset()


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """A student's text made safe to echo in a message: bounded, one line, no lone
    surrogates (which could not even be written as UTF-8)."""
    if text.isprintable():  # the usual case (a lone surrogate is not printable)
        clean = text
    else:
        clean = "".join(
            "\ufffd" if "\ud800" <= ch <= "\udfff" else ch if ch.isprintable() else " "
            for ch in text
        )
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


# ---------------------------------------------------------------- stage 1: the file


def read_submission(path: str | Path) -> Any:
    """Read and parse one submission file; :class:`SubmissionError` says what is wrong."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise SubmissionError(f"cannot read the file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SubmissionError("not a regular file")
    if info.st_size > MAX_SUBMISSION_BYTES:
        raise SubmissionError(
            f"the file is {info.st_size} bytes; a submission must be at most {MAX_SUBMISSION_BYTES}"
        )
    try:
        with path.open("rb") as handle:  # the file may grow after stat: read one byte more
            raw = handle.read(MAX_SUBMISSION_BYTES + 1)
    except OSError as exc:
        raise SubmissionError(f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"the file is larger than {MAX_SUBMISSION_BYTES} bytes")
    return parse_submission(raw)


def parse_submission(raw: bytes) -> Any:
    """JSON data from the bytes of a submission (see the module docstring for the rules)."""
    return _parse_json(_decode(raw))


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise SubmissionError("the file is UTF-32 text; save it as UTF-8", key="utf16")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4]:
        raise SubmissionError("the file is UTF-16 text; save it as UTF-8", key="utf16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            f"not UTF-8 text (byte {exc.start}); save the file as UTF-8",
            key="not_text",
            args={"byte": exc.start},
        ) from None


_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than ``limit`` before any parser recurses into it.

    Brackets inside strings do not count, so strings are skipped as whole tokens.
    """
    if text.count("[") + text.count("{") <= limit:  # the usual case: nothing to scan
        return
    depth = 0
    for m in _STRING_OR_BRACKET.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, m.start()) + 1
                column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
                raise SubmissionError(
                    f"JSON nested more than {limit} levels deep (line {line}, column {column})",
                    key="too_deep",
                    args={"limit": limit},
                    line=line,
                    column=column,
                )
        elif token in "]}":
            depth -= 1


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    plain = dict(pairs)
    if len(plain) == len(pairs):  # no key twice: the usual case
        return plain
    keys = [k for k, _ in pairs]
    out = _DuplicateKeys(pairs)
    out.duplicates = frozenset(k for k in keys if keys.count(k) > 1)
    return out


def _parse_json(text: str) -> Any:
    check_depth(text)
    try:
        return json.loads(
            text,
            parse_int=JsonNumber,
            parse_float=JsonNumber,
            parse_constant=JsonConstant,
            object_pairs_hook=_reject_duplicates,
        )
    except json.JSONDecodeError as exc:
        # the likely cause, at the place to fix (a trailing comma: the comma, not the '}')
        cause = syntax_cause(text, exc)
        at = place(text, cause.offset)
        args = dict(cause.args)
        said = exc.msg if cause.key == "json_other" else say("en", cause.key, **args)
        raise SubmissionError(
            f"not valid JSON: {said} (line {at.line}, column {at.column})",
            key=cause.key,
            args=args,
            line=at.line,
            column=at.column,
        ) from None
    except RecursionError:  # pragma: no cover - check_depth keeps the parser shallow
        raise SubmissionError("JSON nested too deeply") from None


# ---------------------------------------------------------------- stage 2: the envelope


def student_of(data: Any) -> str:
    """The submission's ``student`` id, validated (it names the report files)."""
    if not isinstance(data, dict):
        raise SubmissionError(
            'expected a JSON object {"assignment": …, "student": …, "answers": …}, '
            f"got {_kind(data)}",
            key="not_object",
            args={"kind": _kind_word(data)},
        )
    if "student" in getattr(data, "duplicates", ()):
        raise SubmissionError(
            '/student: the key "student" appears more than once',
            key="duplicate_key",
            args={"key": "student"},
        )
    student = data.get("student")
    if not isinstance(student, str) or isinstance(student, (JsonNumber, JsonConstant)):
        raise SubmissionError(
            f"/student: expected the student id as a string, got {_kind(student)}",
            key="expected_string",
            args={"kind": _kind_word(student)},
        )
    if not valid_student_id(student):
        raise SubmissionError(
            f"/student: {shown(student, 40)!r} is not a valid student id "
            "(letters, digits, '.', '_' or '-', at most 64, no '..')",
            key="bad_student_id",
            args={"text": shown(student, 40)},
        )
    return student


def check_assignment(data: Any, assignment_id: str) -> None:
    """Refuse a submission that says it is for another assignment (absent is fine)."""
    claimed = data.get("assignment") if isinstance(data, dict) else None
    if claimed is None:
        return
    if not isinstance(claimed, str) or isinstance(claimed, (JsonNumber, JsonConstant)):
        raise SubmissionError(
            f"/assignment: expected the assignment id as a string, got {_kind(claimed)}",
            key="expected_string",
            args={"kind": _kind_word(claimed)},
        )
    if claimed != assignment_id:
        raise SubmissionError(
            f"/assignment: this submission is for {shown(claimed, 40)!r}, not {assignment_id!r}",
            key="other_assignment",
            args={"given": shown(claimed, 40), "expected": assignment_id},
        )


# ---------------------------------------------------------------- stage 3: the answers


@dataclass(frozen=True)
class Given:
    """An answer leaf as written: the text of a JSON number or of a string."""

    text: str
    json_number: bool = False


@dataclass(frozen=True)
class Invalid:
    """An answer leaf that cannot be read; ``given`` is a safe excerpt of what was there."""

    reason: str  # in English (and ``words``, when given, says it in any language)
    given: str | None = None
    position: int | None = None
    words: Words | None = None

    def said(self, language: str) -> str:
        """The reason in ``language``."""
        return self.reason if self.words is None else self.words.said(language)


def _invalid(key: str, /, given: str | None = None, **args: Any) -> Invalid:
    """An :class:`Invalid` whose reason is the word ``key`` (feedback.words.yaml)."""
    words = Words.of(key, **args)
    return Invalid(words.said("en"), given, None, words)


def _kind_said(value: Any) -> Words | str:
    """A JSON value's kind in words (a JSON constant such as NaN by its name)."""
    return str(value) if isinstance(value, JsonConstant) else Words.of(_kind_word(value))


Leaf = Given | Invalid | None  # None: missing (null or absent)


@dataclass
class Answers:
    """Every answer leaf of a submission by JSON Pointer, plus file-level notes
    (extra fields, wrong shapes) that are not themselves gradable fields."""

    leaves: dict[str, Leaf]
    problems: list[str] = field(default_factory=list)

    def get(self, ptr: str) -> Leaf:
        return self.leaves.get(ptr)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, JsonConstant):
        return str(value)
    if isinstance(value, JsonNumber):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _kind_word(value: Any) -> str:
    """The word key (templates/feedback.words.yaml) of a JSON value's kind."""
    if isinstance(value, JsonConstant):
        return "kind_number"
    kind = _kind(value)
    return {
        "a number": "kind_number",
        "a string": "kind_string",
        "an object": "kind_object",
        "an array": "kind_array",
    }.get(kind, f"kind_{kind}")


def leaf_error(value: Any, *, formula: bool = False) -> Words | None:
    """Why ``value`` cannot be an answer leaf (in words), or None when it can."""
    if value is None or isinstance(value, JsonNumber):
        return None
    if isinstance(value, JsonConstant):
        return Words.of("json_constant", text=str(value))
    if isinstance(value, str):
        limit = MAX_FORMULA_CHARS if formula else MAX_NUMBER_CHARS
        if len(value) > limit:
            return Words.of("too_long", size=len(value), limit=limit)
        if not value.isascii() and any("\ud800" <= ch <= "\udfff" for ch in value):
            return Words.of("leaf_surrogate")
        return None
    key = "leaf_expected_formula" if formula else "leaf_expected_number"
    return Words.of(key, kind=_kind_said(value))


# The model checks the answers' structure only (extra fields, array lengths, objects
# where objects belong): what a leaf holds is judged by _resolve, which reports it on the
# field itself, so a leaf may be anything here (and costs no Python call per leaf).
_LEAF = Any
_FORBID = ConfigDict(extra="forbid", frozen=True)


def _annotation(layout: Any, ptr: str, name: str) -> Any:
    """A pydantic type for ``layout`` (nested dicts/lists with leaves) at pointer ``ptr``."""
    if isinstance(layout, dict):
        fields: dict[str, Any] = {}
        for i, (key, sub) in enumerate(layout.items()):
            sub_type = _annotation(sub, ptr + pointer(key), f"{name}_{i}")
            fields[f"f{i}"] = (Optional[sub_type], Field(default=None, alias=key))  # noqa: UP045
        return create_model(name, __config__=_FORBID, **fields)
    if isinstance(layout, list):
        n = len(layout)
        if all(sub == layout[0] for sub in layout):  # one item type for all (the usual case)
            item = _annotation(layout[0], ptr + "/0", f"{name}_0") if n else Any
            return Annotated[list[Optional[item]], Field(min_length=n, max_length=n)]  # type: ignore[valid-type]  # noqa: UP045
        items = [
            Optional[_annotation(sub, ptr + pointer(i), f"{name}_{i}")]  # noqa: UP045
            for i, sub in enumerate(layout)
        ]
        return tuple[tuple(items)]  # type: ignore[misc]
    return _LEAF


@lru_cache(maxsize=256)
def _exercise_model(layout_json: str, base: str) -> Any:
    return _annotation(json.loads(layout_json), base, "Answer")


@dataclass(frozen=True)
class _Shape:
    """What reading one variant's answers needs, worked out once per variant."""

    exercise_id: str
    base: str  # the pointer of the exercise's answers
    formulas: frozenset[str]  # pointers of the formula leaves
    leaves: tuple[tuple[str, tuple[_Step, ...]], ...]  # (pointer, path) of every leaf
    model: Any  # the pydantic model of the exercise's answers


@dataclass(frozen=True)
class _Step:
    """One step down an answer path: a key of an object or an index of an array."""

    key: str | int
    where: str  # the pointer of the node the step starts from (for messages)
    size: int  # the array's expected length (for messages)


@lru_cache(maxsize=256)
def _leaf_paths(layout_json: str, base: str) -> tuple[tuple[str, tuple[_Step, ...]], ...]:
    """(pointer, path from the exercise's answers) of every leaf of a layout."""
    return tuple(_walk(json.loads(layout_json), base, ()))


def _walk(
    layout: Any, where: str, steps: tuple[_Step, ...]
) -> Iterator[tuple[str, tuple[_Step, ...]]]:
    if isinstance(layout, dict):
        for key, sub in layout.items():
            yield from _walk(sub, where + pointer(key), (*steps, _Step(key, where, 0)))
    elif isinstance(layout, list):
        for i, sub in enumerate(layout):
            yield from _walk(sub, where + pointer(i), (*steps, _Step(i, where, len(layout))))
    else:
        yield where, steps


_SHAPES: IdentityMemo[Variant, _Shape] = IdentityMemo(256)


def _shape(v: Variant) -> _Shape:
    known = _SHAPES.get(v)
    if known is not None:
        return known
    layout = get_exercise(v.exercise.type).template_answers(v.params)
    base = pointer("answers", v.exercise.id)
    formulas = _formula_leaves(v)
    layout_json = json.dumps(layout)
    shape = _Shape(
        exercise_id=v.exercise.id,
        base=base,
        formulas=formulas,
        # both shared by the variants of one shape (a class usually has one)
        leaves=_leaf_paths(layout_json, base),
        model=_exercise_model(layout_json, base),
    )
    return _SHAPES.keep(v, shape)


def submission_model(variants: Sequence[Variant]) -> type[BaseModel]:
    """The pydantic model of one student's submission: their exact shapes, no extra fields."""
    return _submission_model(tuple((s.exercise_id, s.model) for s in map(_shape, variants)))


@lru_cache(maxsize=256)
def _submission_model(exercises: tuple[tuple[str, Any], ...]) -> type[BaseModel]:
    exercise_fields: dict[str, Any] = {}
    for i, (exercise_id, model) in enumerate(exercises):
        exercise_fields[f"e{i}"] = (Optional[model], Field(default=None, alias=exercise_id))  # noqa: UP045
    answers = create_model("Answers", __config__=_FORBID, **exercise_fields)
    return create_model(
        "Submission",
        __config__=_FORBID,
        assignment=(Optional[str], None),  # noqa: UP045
        student=(Optional[str], None),  # noqa: UP045
        # A key is a perfect submission, so what a key carries beside its answers is
        # allowed and ignored: the roster's variant counts, whatever params are claimed.
        params=(Any, None),
        approx=(Any, None),
        # An answer template's help text and its editor's schema link: not answers.
        help_text=(Any, Field(default=None, alias="_help")),
        schema_link=(Any, Field(default=None, alias="$schema")),
        answers=(Optional[answers], None),  # noqa: UP045
    )


def _formula_leaves(v: Variant) -> frozenset[str]:
    return frozenset(p for c in v.solution.computations if c.kind == "formula" for p in c.outputs)


_MESSAGES = {
    "extra_forbidden": "unexpected field",
    "list_type": "expected an array",
    "tuple_type": "expected an array",
    "model_type": "expected an object",
    "dict_type": "expected an object",
    "string_type": "expected a string",
}


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("too_short", "too_long"):
        n = ctx.get("min_length", ctx.get("max_length"))
        return f"expected {n} items, got {ctx.get('actual_length', '?')}"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    return str(error["msg"]).removeprefix("Value error, ")


def read_answers(data: Any, variants: Sequence[Variant]) -> Answers:
    """Every answer leaf of the student's variants, given, missing or invalid."""
    problems: list[str] = []
    shapes = [_shape(v) for v in variants]
    try:
        submission_model(variants).model_validate(data)
    except ValidationError as exc:
        leaf_pointers = {p for shape in shapes for p, _ in shape.leaves}
        for error in exc.errors():
            where = pointer_from_loc(tuple(error["loc"]))
            if where in leaf_pointers:  # reported on the field itself
                continue
            problems.append(f"{shown(where)}: {_message(error)}")
    answers = _child(data, "answers", "")
    leaves: dict[str, Leaf] = {}
    for shape in shapes:
        node = _child(answers, shape.exercise_id, "/answers")
        for ptr, steps in shape.leaves:
            leaves[ptr] = _resolve(node, steps, formula=ptr in shape.formulas)
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"… and {len(problems) - MAX_PROBLEMS} more"]
    return Answers(leaves, problems)


_MISSING = object()


def _child(node: Any, key: str, where: str) -> Any:
    """``node[key]``: the value, ``_MISSING`` when absent, or an :class:`Invalid`."""
    if isinstance(node, Invalid) or node is _MISSING or node is None:
        return _MISSING if node is None else node
    if not isinstance(node, dict):
        return _invalid("leaf_expected_object", where=where, kind=_kind_said(node))
    if key in getattr(node, "duplicates", ()):
        return _invalid("leaf_duplicate", where=where + pointer(key), key=repr(shown(key)))
    return node.get(key, _MISSING)


def _resolve(node: Any, steps: Sequence[_Step], *, formula: bool) -> Leaf:
    """Follow ``steps`` from ``node`` to one leaf."""
    # The usual case first: plain objects and long-enough arrays all the way down to a
    # short ASCII string.  Anything else takes the careful walk below, which says why.
    here = node
    for step in steps:
        key = step.key
        kind = type(here)
        if kind is dict and type(key) is str:
            here = here.get(key)
        elif kind is list and type(key) is int and key < len(here):
            here = here[key]
        else:
            break
    else:
        if (
            type(here) is str
            and here.isascii()
            and len(here) <= (MAX_FORMULA_CHARS if formula else MAX_NUMBER_CHARS)
        ):
            return Given(here)
    return _resolve_carefully(node, steps, formula=formula)


def _resolve_carefully(node: Any, steps: Sequence[_Step], *, formula: bool) -> Leaf:
    for step in steps:
        if isinstance(node, Invalid):
            return node
        if node is _MISSING or node is None:
            return None
        if isinstance(step.key, str):
            node = _child(node, step.key, step.where)
            continue
        if not isinstance(node, list):
            return _invalid(
                "leaf_expected_array", where=step.where, size=step.size, got=_kind_said(node)
            )
        if step.key >= len(node):
            return _invalid("leaf_expected_array", where=step.where, size=step.size, got=len(node))
        node = node[step.key]
    if isinstance(node, Invalid):
        return node
    if node is _MISSING or node is None:
        return None
    reason = leaf_error(node, formula=formula)
    if reason is not None:
        excerpt = shown(node) if isinstance(node, str) else _kind(node)
        return Invalid(reason.said("en"), excerpt, None, reason)
    return Given(str(node), json_number=isinstance(node, JsonNumber))


def submission_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The files to grade: each path itself, or every ``*.json`` directly inside a
    directory; each file once, all in sorted order (so "the later file counts" is well
    defined whatever order the paths were given in)."""
    found: dict[Path, Path] = {}
    for raw in paths:
        path = Path(raw)
        files = (
            sorted(p for p in path.glob("*.json") if not p.is_dir()) if path.is_dir() else [path]
        )
        for f in files:
            # a symlink loop has no real path (resolve() raises): it gets its own row
            found.setdefault(Path(os.path.realpath(f)), f)
    return sorted(found.values(), key=str)
