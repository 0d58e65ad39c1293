"""``grader validate``: a student checks their answer file before handing it in.

No secret and no roster: the file is read exactly as ``grade`` reads it (the same size,
encoding and JSON rules of :mod:`grader.course.submission`, the same number and formula
parsers), and every problem is said in plain words at ``file:line:column`` with the
offending line and a caret.  With the student's template (``templates/<id>.json``) the
shapes, the student and the assignment are compared as well.  ``null`` fields are
unanswered: information, not problems.

Exit codes: 0 no problems, 1 problems (JSON syntax errors included), 2 bad usage or a
file that cannot be opened or is not text; over several files the highest.
"""

from __future__ import annotations

import difflib
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.core import numbers
from grader.core.errors import UserError
from grader.core.wording import Words, say
from grader.course.assignment import valid_student_id
from grader.course.jsonpos import line_at, locate, place
from grader.course.submission import (
    MAX_FORMULA_CHARS,
    MAX_NUMBER_CHARS,
    MAX_SUBMISSION_BYTES,
    JsonConstant,
    JsonNumber,
    SubmissionError,
    parse_submission,
    shown,
)
from grader.exercises.base import pointer

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2
# Top-level keys a submission may have: its own three, the two a template carries for
# editors and people, and what a key file carries beside its answers.
TOP_KEYS = ("assignment", "student", "answers", "_help", "$schema", "params", "approx")
SHOWN_UNANSWERED = 8  # unanswered fields named one by one; the rest are counted
LINE_CHARS = 100  # how much of a long line is shown around the caret
MAX_FINDINGS = 50  # problems listed per file; the rest are counted


@dataclass(frozen=True)
class Finding:
    """One problem in a file: a word key with its arguments, and where it is."""

    key: str
    args: tuple[tuple[str, Any], ...] = ()
    pointer: str | None = None
    line: int | None = None
    column: int | None = None
    inner: int | None = None  # 0-based offset of the problem inside the string value

    def message(self, language: str) -> str:
        return say(language, self.key, **dict(self.args))


@dataclass
class FileCheck:
    """What validating one file found."""

    path: str
    exit_code: int = EXIT_OK
    problems: list[Finding] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    text: str | None = None  # the file's text, when it is text (for showing lines)


# ---------------------------------------------------------------- one file


def check_file(path: str | Path, template: Any | None = None) -> FileCheck:
    """Validate one submission file (against ``template``'s data when given)."""
    result = FileCheck(str(path))
    raw = _read(Path(path), result)
    if raw is None:
        return result
    try:
        data = parse_submission(raw)
    except SubmissionError as exc:
        if exc.key in ("not_text", None):
            result.exit_code = EXIT_UNREADABLE  # not text at all: not a JSON file
        else:
            result.exit_code = EXIT_PROBLEMS
        result.problems.append(
            Finding(exc.key or "json_other", _args(exc), None, exc.line, exc.column)
        )
        if exc.key is not None and exc.key.startswith(("json_", "too_deep")):
            result.text = raw.decode("utf-8-sig", errors="replace")
        return result
    text = raw.decode("utf-8-sig")
    result.text = text
    found = _Checker(template)
    found.document(data)
    located = locate(text)
    for f in found.findings:
        if f.key == "duplicate_key" and f.pointer in located.repeats:
            offset = located.repeats[f.pointer]  # the second one: the first looked fine
        else:
            offset = located.offset(f.pointer or "", key=f.key.startswith("unknown_key"))
        if f.inner is not None and text[offset : offset + 1] == '"':
            inside = text[offset + 1 : offset + 1 + f.inner]
            if "\\" not in inside and '"' not in inside:  # no escapes: characters map 1:1
                offset += 1 + f.inner
        at = place(text, offset)
        result.problems.append(Finding(f.key, f.args, f.pointer, at.line, at.column))
    result.problems.sort(key=lambda f: (f.line or 0, f.column or 0))
    result.unanswered = found.unanswered
    result.exit_code = EXIT_PROBLEMS if result.problems else EXIT_OK
    return result


def check_data(data: Any, template: Any | None = None, *, leaves: bool = True) -> list[Finding]:
    """The problems of parsed submission ``data`` (against ``template``), not yet located;
    with ``leaves=False`` the answers themselves are not read (grading reads them)."""
    checker = _Checker(template, leaves=leaves)
    checker.document(data)
    return checker.findings


def _args(exc: SubmissionError) -> tuple[tuple[str, Any], ...]:
    if exc.key is None:
        return (("detail", exc.message),)
    return tuple(exc.args_.items())


def _read(path: Path, result: FileCheck) -> bytes | None:
    """The file's bytes, or None with the reason noted (exit 2)."""
    result.exit_code = EXIT_UNREADABLE
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            result.problems.append(Finding("not_regular"))
            return None
        if info.st_size > MAX_SUBMISSION_BYTES:
            result.problems.append(
                Finding("too_large", (("size", info.st_size), ("limit", MAX_SUBMISSION_BYTES)))
            )
            return None
        with path.open("rb") as handle:
            raw = handle.read(MAX_SUBMISSION_BYTES + 1)
    except OSError as exc:
        result.problems.append(Finding("cannot_open", (("detail", exc.strerror or str(exc)),)))
        return None
    if len(raw) > MAX_SUBMISSION_BYTES:
        result.problems.append(
            Finding("too_large", (("size", len(raw)), ("limit", MAX_SUBMISSION_BYTES)))
        )
        return None
    if b"\x00" in raw and not raw.startswith(_BOMS) and not _looks_utf16(raw):
        result.problems.append(Finding("not_text", (("byte", raw.index(b"\x00")),)))
        return None  # NUL bytes and not UTF-16 JSON: a binary file
    result.exit_code = EXIT_OK
    return raw


_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _looks_utf16(raw: bytes) -> bool:
    """UTF-16 text without a byte order mark that holds JSON (an editor saved it so)."""
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text.lstrip()[:1] in ("{", "["):
            return True
    return False


# ---------------------------------------------------------------- the data


def kind(value: Any) -> str:
    """The word key of a JSON value's kind (``kind_*``)."""
    if value is None:
        return "kind_null"
    if isinstance(value, bool):
        return "kind_true" if value else "kind_false"
    if isinstance(value, (JsonNumber, JsonConstant)):
        return "kind_number"
    if isinstance(value, str):
        return "kind_string"
    if isinstance(value, dict):
        return "kind_object"
    return "kind_array"


class _Kind(str):
    """An argument that is a word key of a kind, said in the message's language."""


# Names in a formula, found left to right (so the x of 2x too); a TeX command is no name.
_IDENT = re.compile(r"\\?[A-Za-z_][A-Za-z0-9_]*")


class _Checker:
    """Walks the data (and the template beside it) and collects findings."""

    def __init__(self, template: Any | None, *, leaves: bool = True) -> None:
        self.template = template
        self.leaves = leaves
        self.findings: list[Finding] = []
        self.unanswered: list[str] = []

    def add(self, word: str, where: str, /, **args: Any) -> None:
        self.findings.append(Finding(word, tuple(args.items()), where))

    def document(self, data: Any) -> None:
        if not isinstance(data, dict):
            self.add("not_object", "", kind=_Kind(kind(data)))
            return
        self._duplicates(data, "")
        for key in data:
            if key not in TOP_KEYS:
                self._unknown(key, "", TOP_KEYS[:3])
        for key in ("assignment", "student", "answers"):
            if key not in data:
                self.add("missing_key", "", key=key)
        self._envelope(data)
        answers = data.get("answers")
        expected = self.template.get("answers") if isinstance(self.template, dict) else None
        if "answers" in data:
            if expected is None:
                self._free(answers, "/answers")
            else:
                self._against(answers, expected, "/answers", "answers")

    def _envelope(self, data: dict[str, Any]) -> None:
        template = self.template if isinstance(self.template, dict) else {}
        for key in ("assignment", "student"):
            if key not in data:
                continue
            value = data[key]
            if not isinstance(value, str) or isinstance(value, (JsonNumber, JsonConstant)):
                self.add("expected_string", "/" + key, kind=_Kind(kind(value)))
                continue
            if key == "student" and not valid_student_id(value):
                self.add("bad_student_id", "/student", text=shown(value, 40))
                continue
            want = template.get(key)
            if isinstance(want, str) and value != want:
                self.add(f"wrong_{key}", "/" + key, given=shown(value, 40), expected=want)

    def _duplicates(self, node: dict[str, Any], where: str) -> None:
        for key in sorted(getattr(node, "duplicates", ())):
            self.add("duplicate_key", where + pointer(key), key=shown(key, 40))

    def _unknown(self, key: str, where: str, choices: Any) -> None:
        names = [str(c) for c in choices]
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        if close:
            self.add(
                "unknown_key_suggest", where + pointer(key), key=shown(key, 40), suggestion=close[0]
            )
        else:
            listed = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
            self.add("unknown_key", where + pointer(key), key=shown(key, 40), expected=listed)

    # ------------------------------------------------------------ with a template

    def _against(self, node: Any, want: Any, where: str, name: str, row: int | None = None) -> None:
        if isinstance(want, dict):
            if node is None:
                self.unanswered.extend(_leaves(want, where))
                return
            if not isinstance(node, dict):
                self.add("expected_object", where, kind=_Kind(kind(node)))
                return
            self._duplicates(node, where)
            for key in node:
                if key not in want:
                    self._unknown(key, where, want)
            for key, sub in want.items():
                if key in node:
                    self._against(node[key], sub, where + pointer(key), key)
                else:
                    self.unanswered.extend(_leaves(sub, where + pointer(key)))
            return
        if isinstance(want, list):
            if node is None:
                self.unanswered.extend(_leaves(want, where))
                return
            if not isinstance(node, list):
                self.add("expected_array", where, kind=_Kind(kind(node)))
                return
            if len(node) != len(want):
                if want and all(isinstance(w, list) for w in want):
                    self.add("rows", where, given=len(node), expected=len(want))
                elif row is not None:
                    self.add("row_entries", where, row=row, given=len(node), expected=len(want))
                else:
                    self.add("entries", where, given=len(node), expected=len(want))
            inner_rows = bool(want) and all(isinstance(w, list) for w in want)
            for i, (sub_node, sub_want) in enumerate(zip(node, want, strict=False)):
                self._against(
                    sub_node, sub_want, where + pointer(i), name, i + 1 if inner_rows else None
                )
            for i in range(len(node), len(want)):
                self.unanswered.extend(_leaves(want[i], where + pointer(i)))
            return
        self._leaf(node, where, formula=name.endswith("formula"))

    # ------------------------------------------------------------ without a template

    def _free(self, node: Any, where: str, name: str = "") -> None:
        if isinstance(node, dict):
            self._duplicates(node, where)
            for key, sub in node.items():
                self._free(sub, where + pointer(key), key)
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                self._free(sub, where + pointer(i), name)
        else:
            self._leaf(node, where, formula=name.endswith("formula"))

    # ------------------------------------------------------------ one answer

    def _leaf(self, value: Any, where: str, *, formula: bool) -> None:
        if value is None:
            self.unanswered.append(where)
            return
        if not self.leaves:
            return
        if isinstance(value, JsonConstant):
            self.add("json_constant", where, text=str(value))
            return
        if isinstance(value, bool) or not isinstance(value, str):
            self.add("expected_answer", where, kind=_Kind(kind(value)))
            return
        limit = MAX_FORMULA_CHARS if formula else MAX_NUMBER_CHARS
        if len(value) > limit:
            self.add("too_long", where, size=len(value), limit=limit)
            return
        problem = formula_problem(value) if formula else number_problem(value)
        if problem is not None:
            reason, at = problem
            word = "bad_formula" if formula else "bad_number"
            self.findings.append(
                Finding(word, (("text", shown(value, 40)), ("reason", reason)), where, inner=at)
            )


def number_problem(text: str) -> tuple[Words | str, int] | None:
    """Why the grader cannot read ``text`` as a number (its parser's words, said in the
    reader's language) and where (0-based), or None."""
    try:
        numbers.parse_number(text)
    except numbers.NumberError as exc:
        return exc.words or exc.message, exc.position
    return None


def formula_problem(text: str) -> tuple[Words | str, int] | None:
    """Why the grader's formula parser cannot read ``text``, or None.  Without the
    assignment the exercise's variables are unknown: every name written is taken as a
    variable (a name followed by ``(`` as a function), so this checks the grammar; the
    names themselves are checked when the file is graded."""
    from grader.grade.formulas import DEFAULT_FUNCTIONS, FormulaError, parse_formula  # sympy: late

    found = [m for m in _IDENT.finditer(text) if not m.group().startswith("\\")]
    names = {m.group() for m in found} - set(DEFAULT_FUNCTIONS)
    called = {m.group() for m in found if text[m.end() :].lstrip().startswith("(")}
    try:
        parse_formula(
            text,
            sorted(names - called),
            generic_functions=sorted(called & names),
        )
    except FormulaError as exc:
        return exc.words or exc.message, exc.position
    except Exception:  # noqa: BLE001 - a name the parser refuses as a variable: grading decides
        return None
    return None


def _leaves(layout: Any, where: str) -> Iterator[str]:
    if isinstance(layout, dict):
        for key, sub in layout.items():
            yield from _leaves(sub, where + pointer(key))
    elif isinstance(layout, list):
        for i, sub in enumerate(layout):
            yield from _leaves(sub, where + pointer(i))
    else:
        yield where


# ---------------------------------------------------------------- the command


def load_template(path: str) -> Any:
    """A student's answer template (the JSON ``generate`` wrote): bad usage (exit 2) when
    it cannot be read."""
    try:
        return parse_submission(Path(path).read_bytes())
    except OSError as exc:
        raise UserError(f"cannot read the template: {exc.strerror or exc}", file=path) from None
    except SubmissionError as exc:
        raise UserError(f"not an answer template: {exc.message}", file=path) from None


def render(result: FileCheck, language: str) -> list[str]:
    """What validate prints for one file: each problem at file:line:column with its line
    and a caret, the unanswered fields, and a one-line verdict."""
    name = shown(result.path, 200)
    out: list[str] = []
    problems = result.problems[:MAX_FINDINGS]
    for f in problems:
        message = say(language, f.key, **said_args(f.args, language))
        place_text = f"{name}:{f.line}:{f.column}" if f.line is not None else name
        label = say(language, "problem")
        out.append(f"{place_text}: {label}: {message}")
        if f.line is not None and result.text is not None:
            out.extend(_caret(result.text, f.line, f.column or 1))
    if len(result.problems) > MAX_FINDINGS:
        out.append(
            f"{name}: {say(language, 'unanswered_more', count=len(result.problems) - MAX_FINDINGS)}"
        )
    if result.unanswered:
        listed = ", ".join(result.unanswered[:SHOWN_UNANSWERED])
        if len(result.unanswered) > SHOWN_UNANSWERED:
            listed += " " + say(
                language, "unanswered_more", count=len(result.unanswered) - SHOWN_UNANSWERED
            )
        note = say(language, "unanswered", count=len(result.unanswered), fields=listed)
        out.append(f"{name}: {say(language, 'information')}: {note}")
    verdict = (
        say(language, "file_problems", count=len(result.problems))
        if result.problems
        else say(language, "file_ok")
    )
    out.append(f"{name}: {verdict}")
    return out


def said_args(args: tuple[tuple[str, Any], ...], language: str) -> dict[str, Any]:
    """A finding's arguments with the kinds of values in ``language``."""
    return {k: say(language, v) if isinstance(v, _Kind) else v for k, v in args}


def _caret(text: str, line: int, column: int) -> list[str]:
    """The line (a window of it when long) and a caret under ``column``."""
    body = shown(line_at(text, line), 10_000).replace("\t", " ")
    start = max(0, column - 1 - LINE_CHARS // 2) if len(body) > LINE_CHARS else 0
    window = body[start : start + LINE_CHARS]
    return [f"    {window}", "    " + " " * (column - 1 - start) + "^"]


def validate_command(paths: list[str], template_path: str | None, language: str) -> int:
    """Check each file, print what was found, return the highest exit code."""
    import click

    template = load_template(template_path) if template_path is not None else None
    code = EXIT_OK
    for path in paths:
        result = check_file(path, template)
        for line in render(result, language):
            click.echo(line)
        code = max(code, result.exit_code)
    return code
