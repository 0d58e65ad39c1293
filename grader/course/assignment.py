"""Assignment files (YAML) and rosters (CSV): loading, validation, clear errors.

Every problem is reported as one line: ``file:line: /json/pointer: what was expected``.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import stat
import types
from collections.abc import Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from grader.core.errors import UserError, pointer_from_loc
from grader.core.models import ExactNumber, StrictModel
from grader.core.numbers import MAX_NUMBER_CHARS

MAX_ASSIGNMENT_BYTES = 1_000_000
MAX_YAML_NODES = 50_000
MAX_ROSTER_BYTES = 20_000_000
MAX_ROSTER_ROWS = 100_000
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
LANGUAGES = ("en", "ru")  # of sheets and keys (templates/words.yaml)
_ID_RE = re.compile(ID_PATTERN)


class ToleranceSpec(BaseModel):
    """How close an answer must be.  ``interval`` (default) is the principled rule of the
    spec; the others are the instructor's overrides."""

    model_config = StrictModel
    rule: Literal["interval", "exact", "absolute", "relative", "decimals", "significant"] = (
        "interval"
    )
    value: ExactNumber | None = None  # the absolute/relative bound, or the digits


RepeatedMistakes = Literal["each", "once"]


class ExerciseSpec(BaseModel):
    model_config = StrictModel
    id: str = Field(pattern=ID_PATTERN)
    type: str
    points: ExactNumber = Field(default=Fraction(10))
    title: str | None = Field(default=None, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    tolerance: ToleranceSpec = ToleranceSpec()
    field_tolerance: dict[str, ToleranceSpec] = Field(default_factory=dict)
    carried_forward_credit: ExactNumber = Field(default=Fraction(1))
    # share of a field's points for a right value rounded too early or too coarsely
    rounding_credit: ExactNumber = Field(default=Fraction(0))
    # "once": a mistake already diagnosed earlier in the exercise is not deducted again
    repeated_mistakes: RepeatedMistakes = "each"

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        from grader.exercises import EXERCISE_MODULES

        if value not in EXERCISE_MODULES:
            raise ValueError(
                f"unknown exercise type {value!r}; expected one of {', '.join(EXERCISE_MODULES)}"
            )
        return value

    @field_validator("points")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        if not 0 < value <= 1000:
            raise ValueError("points must be positive and at most 1000")
        return value

    @field_validator("carried_forward_credit", "rounding_credit")
    @classmethod
    def _share(cls, value: Any, info: ValidationInfo) -> Any:
        if not 0 <= value <= 1:  # a share of the field's points
            raise ValueError(f"{info.field_name} must be between 0 and 1")
        return value


# The options an assignment may set once at the top level for every exercise that does
# not set its own.
EXERCISE_DEFAULTS = ("carried_forward_credit", "rounding_credit", "repeated_mistakes")


class Assignment(BaseModel):
    model_config = StrictModel
    id: str = Field(pattern=ID_PATTERN)
    # before title and course: their texts per language are read in this language
    language: Literal["en", "ru"] = "en"
    title: str = Field(default="Backpropagation", max_length=200)
    course: str = Field(default="", max_length=200)
    secret_env: str = Field(default="GRADER_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    due: str | None = Field(default=None, max_length=100)
    # what students see of an autograder's result, and when (Gradescope's visibility)
    feedback: Literal["immediate", "after_due_date", "score_only"] = "immediate"
    exercises: list[ExerciseSpec] = Field(min_length=1, max_length=20)
    # top-level defaults of the exercises' options of the same names (see EXERCISE_DEFAULTS)
    carried_forward_credit: ExactNumber | None = None
    rounding_credit: ExactNumber | None = None
    repeated_mistakes: RepeatedMistakes | None = None

    @field_validator("carried_forward_credit", "rounding_credit")
    @classmethod
    def _default_share(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"{info.field_name} must be between 0 and 1")
        return value

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        """Each top-level default goes to the exercises that do not set the option (the
        raw values: each exercise validates it as its own)."""
        if not isinstance(data, dict) or not isinstance(data.get("exercises"), list):
            return data
        defaults = {n: data[n] for n in EXERCISE_DEFAULTS if data.get(n) is not None}
        if not defaults:
            return data
        exercises = [
            {**defaults, **spec} if isinstance(spec, dict) else spec for spec in data["exercises"]
        ]
        return {**data, "exercises": exercises}

    @field_validator("title", "course", mode="before")
    @classmethod
    def _in_the_language(cls, value: Any, info: ValidationInfo) -> Any:
        """``title: {en: …, ru: …}`` (a text per language): the text in the assignment's
        language, which it must give."""
        if not isinstance(value, dict):
            return value
        language = info.data.get("language", "en")
        unknown = [k for k in value if k not in LANGUAGES]
        if unknown:
            raise ValueError(
                f"expected a text or texts per language ({', '.join(LANGUAGES)}), "
                f"got {str(unknown[0])[:20]!r}"
            )
        if language not in value:
            raise ValueError(f"gives no text in the assignment's language {language!r}")
        return value[language]

    @field_validator("exercises")
    @classmethod
    def _unique_ids(cls, value: list[ExerciseSpec]) -> list[ExerciseSpec]:
        seen = set()
        for spec in value:
            if spec.id in seen:
                raise ValueError(f"exercise id {spec.id!r} is used twice")
            seen.add(spec.id)
        return value


def _read_at_most(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path`` (one more tells "too large"): never the
    whole of /dev/zero or of a huge file.  Only a regular file is read: a FIFO or a device
    is refused at once (opened without blocking, then looked at), never waited on."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            what = (
                "a named pipe (FIFO)"
                if stat.S_ISFIFO(kind)
                else "a directory"
                if stat.S_ISDIR(kind)
                else "a socket"
                if stat.S_ISSOCK(kind)
                else "a device"
            )
            raise OSError(errno.EINVAL, f"not a regular file but {what}")
        return handle.read(limit + 1)


def load_assignment(path: str | Path) -> Assignment:
    """Read and validate an assignment file, including each exercise's fixed parameters."""
    path = Path(path)
    name = str(path)
    try:
        raw_bytes = _read_at_most(path, MAX_ASSIGNMENT_BYTES)
    except OSError as exc:
        raise UserError(f"cannot read assignment: {exc.strerror}", file=name) from None
    if len(raw_bytes) > MAX_ASSIGNMENT_BYTES:
        raise UserError(f"assignment file is larger than {MAX_ASSIGNMENT_BYTES} bytes", file=name)
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", file=name) from None
    data, lines = _parse_yaml(text, name)
    if not isinstance(data, dict):
        raise UserError("expected a mapping with id, title, exercises …", file=name, where="line 1")
    try:
        assignment = Assignment.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, name, lines, (), Assignment) from None
    for i, spec in enumerate(assignment.exercises):
        fixed_params(spec, name, lines, i)
    return assignment


def fixed_params(
    spec: ExerciseSpec, file: str = "", lines: Mapping[str, int] | None = None, index: int = 0
) -> dict[str, Any]:
    """The parameters the instructor fixed, each validated against the exercise's model.

    The full parameter model (with its cross-field checks) is validated only once the
    randomized parameters are drawn; a fully fixed set is validated here too.
    """
    from grader.exercises import get_exercise

    model = get_exercise(spec.type).Params
    base = ("exercises", index, "params")
    fixed: dict[str, Any] = {}
    for key, value in spec.params.items():
        if key not in model.model_fields:
            expected = ", ".join(model.model_fields)
            raise UserError(
                f"unknown parameter {key!r} for {spec.type}; expected one of: {expected}",
                file=file,
                where=_where(lines, (*base, key)),
            )
        field = model.model_fields[key]
        annotation: Any = field.annotation
        # the field's own constraints (depth: 2..4, list lengths …) apply to a fixed value too
        constrained: Any = (
            Annotated[(annotation, *field.metadata)] if field.metadata else annotation
        )
        try:
            fixed[key] = TypeAdapter(constrained).validate_python(value)
        except ValidationError as exc:
            raise _validation_error(exc, file, lines or {}, (*base, key), annotation) from None
    required = [k for k, f in model.model_fields.items() if f.is_required()]
    if all(k in fixed for k in required):
        try:
            model.model_validate(fixed)
        except ValidationError as exc:
            raise _validation_error(exc, file, lines or {}, base, model) from None
    return fixed


# ------------------------------------------------------------ YAML with line numbers


def _parse_yaml(text: str, name: str) -> tuple[Any, dict[str, int]]:
    """Safe YAML load plus a map JSON Pointer → line number (1-based), for messages.

    Aliases are followed while counting nodes, so a "billion laughs" file is refused
    before it is ever expanded.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, name) from None
    except RecursionError:
        raise UserError(
            "the file is too large or too deeply nested for an assignment", file=name
        ) from None
    if node is None:
        raise UserError("the file is empty; expected an assignment", file=name)
    lines: dict[str, int] = {}
    count = 0
    stack: list[tuple[yaml.Node, str, int]] = [(node, "", 0)]
    while stack:
        current, ptr, depth = stack.pop()
        count += 1
        if count > MAX_YAML_NODES or depth > 50:
            raise UserError(
                "the file is too large or too deeply nested for an assignment", file=name
            )
        lines.setdefault(ptr, current.start_mark.line + 1)
        if (
            isinstance(current, yaml.ScalarNode)
            and len(current.value) > MAX_NUMBER_CHARS
            and current.tag.endswith((":int", ":float"))  # int() of it could take seconds
        ):
            raise UserError(
                f"number is longer than {MAX_NUMBER_CHARS} characters",
                file=name,
                where=_where(lines, _loc_of(ptr)),
            )
        if isinstance(current, yaml.MappingNode):
            seen_keys: dict[str, int] = {}
            for key_node, value_node in current.value:
                key = str(key_node.value).replace("~", "~0").replace("/", "~1")
                key_line = key_node.start_mark.line + 1
                if key in seen_keys and key != "<<":  # YAML would silently keep the last one
                    raise UserError(
                        f"key {key_node.value!r} appears twice (also on line {seen_keys[key]})",
                        file=name,
                        where=f"{key_line}: {ptr}/{key}",
                    )
                seen_keys[key] = key_line
                lines.setdefault(f"{ptr}/{key}", key_line)
                stack.append((value_node, f"{ptr}/{key}", depth + 1))
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                stack.append((item, f"{ptr}/{i}", depth + 1))
    try:
        data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
    except yaml.YAMLError as exc:  # e.g. a !!python/object tag: composed, not constructed
        raise _yaml_error(exc, name) from None
    except (ValueError, RecursionError) as exc:  # pragma: no cover - caught while composing
        raise UserError(f"a value cannot be read: {str(exc).splitlines()[0]}", file=name) from None
    return data, lines


def _yaml_error(exc: yaml.YAMLError, name: str) -> UserError:
    """One line: the problem and where it is (PyYAML's own text spans several lines)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return UserError(f"not valid YAML: {' '.join(str(problem).split())}", file=name, where=where)


def _loc_of(ptr: str) -> tuple[int | str, ...]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]]
    return tuple(int(p) if p.isdigit() else p for p in parts)


def _where(lines: Mapping[str, int] | None, loc: tuple[int | str, ...]) -> str:
    ptr = pointer_from_loc(loc)
    line = None
    if lines:
        probe = ptr
        while probe and probe not in lines:
            probe = probe.rsplit("/", 1)[0]
        line = lines.get(probe)
    return f"{line}: {ptr}" if line else ptr


def _validation_error(
    exc: ValidationError,
    file: str,
    lines: Mapping[str, int],
    base: tuple[int | str, ...],
    root: Any = None,
) -> UserError:
    first = exc.errors()[0]
    loc = tuple(
        x
        for x in first["loc"]
        if not (isinstance(x, str) and x.startswith(("function-", "literal[", "tuple[")))
    )
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
        model = _model_at(root, loc[:-1])
        if model is not None:
            message += f"; expected one of: {', '.join(model.model_fields)}"
    elif first["type"] == "missing":
        message = "required key is missing"
    return UserError(message, file=file, where=_where(lines, (*base, *loc)))


def _model_at(root: Any, loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` below ``root`` (for the
    list of keys an "unknown key" message offers), or None when it cannot be told."""
    current = _unwrap(root)
    for part in loc:
        if _is_model(current):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = _unwrap(field.annotation)
        elif get_origin(current) in (list, dict):
            current = _unwrap(get_args(current)[-1])  # a list index or a dict key
        else:
            return None
    return current if _is_model(current) else None


def _unwrap(t: Any) -> Any:
    """``X`` from ``Annotated[X, …]`` and ``X | None`` (or the one model of a union)."""
    while True:
        origin, args = get_origin(t), get_args(t)
        if origin is Annotated:
            t = args[0]
        elif origin is Union or isinstance(t, types.UnionType):
            options = [a for a in args if a is not type(None)]
            models = [a for a in options if _is_model(a)]
            if len(options) == 1:
                t = options[0]
            elif len(models) == 1:
                t = models[0]
            else:
                return t
        else:
            return t


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


# ------------------------------------------------------------ roster


class Student(BaseModel):
    model_config = StrictModel
    id: str
    name: str


def valid_student_id(value: str) -> bool:
    return bool(_ID_RE.fullmatch(value)) and ".." not in value  # fullmatch: "$" allows "\n"


def _csv_error(exc: csv.Error, reader: csv.DictReader[str], name: str) -> UserError:
    """What the csv module cannot read (a field over its size limit), as one line; the
    reader has not counted the line it stopped in."""
    return UserError(f"cannot read this row: {exc}", file=name, where=f"line {reader.line_num + 1}")


def _csv_rows(reader: csv.DictReader[str], name: str) -> Iterator[dict[str, str]]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(exc, reader, name) from None
        yield row


def load_roster(path: str | Path) -> list[Student]:
    """Read a roster CSV (header with ``id`` and ``name``; other columns ignored)."""
    path = Path(path)
    name = str(path)
    try:
        raw = _read_at_most(path, MAX_ROSTER_BYTES)
    except OSError as exc:
        raise UserError(f"cannot read roster: {exc.strerror}", file=name) from None
    if len(raw) > MAX_ROSTER_BYTES:
        raise UserError(f"roster is larger than {MAX_ROSTER_BYTES} bytes", file=name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(
            f"not UTF-8 text (byte {exc.start}); save the spreadsheet as CSV UTF-8", file=name
        ) from None
    if "\x00" in text:
        raise UserError(
            "contains a NUL character",
            file=name,
            where=f"line {text[: text.index(chr(0))].count(chr(10)) + 1}",
        )
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise _csv_error(exc, reader, name) from None
    fields = [f.strip().lower() for f in header]
    if "id" not in fields or "name" not in fields:
        raise UserError(
            "expected a header row with columns 'id' and 'name'", file=name, where="line 1"
        )
    reader.fieldnames = fields
    students: list[Student] = []
    seen: dict[str, int] = {}
    end = 1  # the line the previous record ended on
    for row in _csv_rows(reader, name):
        line, start, end = reader.line_num, end + 1, reader.line_num
        if len(students) >= MAX_ROSTER_ROWS:
            raise UserError(
                f"more than {MAX_ROSTER_ROWS} students", file=name, where=f"line {line}"
            )
        sid = (row.get("id") or "").strip()
        sname = (row.get("name") or "").strip()
        if not sid and not sname:
            continue  # blank line from a spreadsheet
        if not valid_student_id(sid):
            raise UserError(
                f"student id {sid[:40]!r} is not valid: use letters, digits, '.', '_' or '-' (at most 64, no '..')",
                file=name,
                where=f"line {line}",
            )
        if sid in seen:
            raise UserError(
                f"student id {sid!r} appears twice (also on line {seen[sid]})",
                file=name,
                where=f"line {line}",
            )
        if "\n" in sname or "\r" in sname:  # it swallowed the rows after it: refuse, lose nothing
            raise UserError(
                "the name has a line break (an unterminated quote?)",
                file=name,
                where=f"line {start}",
            )
        if len(sname) > 200:
            raise UserError(
                "student name is longer than 200 characters", file=name, where=f"line {line}"
            )
        seen[sid] = line
        students.append(Student(id=sid, name=sname or sid))
    if not students:
        raise UserError("the roster has no students", file=name)
    return students
