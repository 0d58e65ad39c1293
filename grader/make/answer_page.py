"""``forms/<id>.html``: a student's offline answer page.

One self-contained HTML file (inline CSS and JS, a CSP that forbids any network access)
with a field per answer, laid out like the sheet, a live check of each field with the
grader's own grammar (``answer_page.js`` mirrors :func:`grader.core.numbers.parse_number`
and the formula tokenizer; ``tests/data/grammar_corpus.json`` keeps them in agreement),
a draft in the browser's local storage, and a download in the submission layout.

No answer-key data can reach the page: :func:`render_answer_page` takes only
:class:`FormExercise` s, which :func:`form_exercise` builds from an exercise's *parameters*
(the student's given data, shown above the fields: the family's ``given_data`` hook) and its
answer layout, never from a solution.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import jinja2
import yaml
from markupsafe import Markup
from pydantic import BaseModel

from grader.core import numbers
from grader.core.given import GivenData
from grader.course.assignment import Assignment, ExerciseSpec, Student
from grader.exercises import get_exercise
from grader.exercises.base import Computation, Exercise, pointer

FORMULA_FUNCTIONS = ("exp", "log", "sigma", "tanh", "sqrt")  # formulas.DEFAULT_FUNCTIONS
FORMULA_MAX_LENGTH = 2000  # formulas.MAX_LENGTH
FORMULA_MAX_TOKENS = 500  # formulas.MAX_TOKENS
FORMULA_MAX_DEPTH = 40  # formulas.MAX_DEPTH
FORMULA_MAX_FUNCTION_DEPTH = 6  # formulas.MAX_FUNCTION_DEPTH
FORMULA_MAX_NUMBER_DIGITS = 40  # formulas.MAX_NUMBER_DIGITS
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class FormField:
    pointer: str
    label: str  # what a screen reader says, e.g. "W₂[1,2]" or "o₁ (Step 1)"
    kind: Literal["number", "formula"]
    vocabulary: str = ""  # for a formula: the key of its names in the page's data
    lhs: bool = False  # a formula that may name its quantity first: "df/dx = …", "ŷ = …"


@dataclass(frozen=True)
class FormGrid:
    """A matrix (or a row) of fields, shown as a grid like on the sheet."""

    title: str
    columns: list[str]
    rows: list[tuple[str, list[FormField]]]


@dataclass(frozen=True)
class FormSection:
    title: str
    fields: list[FormField]  # shown as a list of labelled fields
    grids: list[FormGrid]
    parts: list[FormSection]  # sub-sections (the steps of sgd_chain)
    wide: bool = False  # one field per line (long labels: "∂f/∂x: value at the point")


@dataclass(frozen=True)
class FormExercise:
    """What the page shows of one exercise: no value of its solution."""

    id: str
    title: str
    points: str
    layout: Any  # the answer layout with nulls (the template's)
    sections: list[FormSection]
    vocabularies: dict[str, dict[str, Any]]  # name -> the formula tokenizer's name table
    given: GivenData = GivenData()  # the student's given data, from the parameters


@lru_cache(maxsize=4)
def page_words(language: str) -> dict[str, Any]:
    text = resources.files("grader.templates").joinpath("answer_page.words.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text)[language])


def sub(text: str) -> str:
    """``W2`` → ``W₂``: the sheet's subscripts."""
    return re.sub(r"(?<=[A-Za-zδ])([0-9]+)", lambda m: m.group(1).translate(_SUB), text)


# ---------------------------------------------------------------- from params to layout


def form_exercise(
    spec: ExerciseSpec, params: BaseModel, language: str, points: str
) -> FormExercise:
    """The page's view of one exercise, from its parameters alone."""
    exercise = get_exercise(spec.type)
    layout = exercise.template_answers(params)
    w = page_words(language)
    base = pointer("answers", spec.id)
    vocab = _vocabulary(exercise, spec.type, params)
    title = spec.title or exercise.title[language]
    if spec.type == "chain_rule":
        sections = _chain_rule(layout, base, w)
    elif spec.type == "mlp_matrix":
        sections = _mlp(layout, base, w)
    elif spec.type == "sgd_chain":
        sections = _sgd(layout, base, w)
    elif spec.type == "softmax_classifier":
        sections = _softmax(layout, base, w)
    else:  # a new family: its fields in layout order, labelled by its own label words
        labels = _field_labels(exercise.fields(params, spec.id), exercise, language)
        sections = [_generic_section(title, layout, base, labels)]
    given = exercise.given_data(params, language)  # the family's hook: parameters only
    return FormExercise(spec.id, title, points, layout, sections, {"v": vocab}, given)


# The undefined functions a family's key formulas use (grading takes them from the key;
# tests/test_answer_page.py checks this table against it).
GENERIC_FUNCTIONS: dict[str, tuple[str, ...]] = {"mlp_matrix": ("f",)}
# grader.grade.formulas.ACTIVATION_FUNCTIONS and ACTIVATION_SPELLINGS (make does not import
# grade; tests/test_answer_page.py checks the page's vocabulary against grading's).
ACTIVATION_FUNCTIONS = ("relu", "softsign", "hard_sigmoid", "identity")
ACTIVATION_SPELLINGS: dict[str, tuple[str, ...]] = {
    "sigmoid": ("sigma", "sigmoid", "σ"),
    "tanh": ("tanh",),
    "relu": ("relu", "ReLU"),
    "softsign": ("softsign",),
    "hard_sigmoid": ("hard_sigmoid",),
    "identity": ("identity",),
}


def _vocabulary(exercise: Exercise, type_name: str, params: BaseModel) -> dict[str, Any]:
    """The names a formula field of this family accepts, as the grader reads them: the
    family's declared formula variables (grading adds the key's free symbols, which are
    among them), its generic functions, and when the sheet's f is an activation, every
    other activation by name and the activation's own names read as f."""
    variables = tuple(exercise.formula_variables(params))
    generic = GENERIC_FUNCTIONS.get(type_name, ())
    activation = exercise.mistake_context(params).activation
    functions: tuple[str, ...] = FORMULA_FUNCTIONS
    aliases: tuple[tuple[str, str], ...] = ()
    if activation is not None and len(generic) == 1:  # formulas.vocabulary
        own = {"sigmoid": "sigma"}.get(activation, activation)
        functions = tuple(n for n in (*FORMULA_FUNCTIONS, *ACTIVATION_FUNCTIONS) if n != own)
        aliases = tuple(
            (spelled, generic[0]) for spelled in ACTIVATION_SPELLINGS.get(activation, ())
        )
    return name_table(variables, functions, generic, aliases)


def name_table(
    variables: Sequence[str],
    functions: Sequence[str],
    generic: Sequence[str],
    aliases: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The formula tokenizer's table of spellings (as ``formulas._names`` builds it)."""
    table: dict[str, list[str]] = {}
    for f in functions:
        table[f] = ["func", f]
    if "log" in functions:
        table["ln"] = ["func", "log"]
    if "exp" in functions and "e" not in variables and "e" not in generic:
        table["e"] = ["const", "e"]
    if "sigma" in functions:
        table["sigmoid"] = table["σ"] = ["func", "sigma"]
    for g in generic:
        table[g] = ["func", g]
    for spelled_as, canonical in aliases:
        table[spelled_as] = ["func", canonical]
    for v in variables:
        table[v] = ["var", v]
    return {
        "table": table,
        "functions": sorted({*functions, *generic}),
        "variables": list(variables),
        "longest": max((len(k) for k in table if k.isascii()), default=0),
    }


def _field(ptr: str, label: str, kind: Literal["number", "formula"] = "number") -> FormField:
    # every formula field of the families asks for a named quantity (∂f/∂x, ŷ)
    formula = kind == "formula"
    return FormField(ptr, label, kind, "v" if formula else "", lhs=formula)


def _grid(title: str, matrix: list[Any], ptr: str, symbol: str) -> FormGrid:
    """A matrix as on the sheet, entries labelled 1-based (``W₂[1,2]``)."""
    width = len(matrix[0]) if matrix else 0
    rows = [
        (
            str(i + 1),
            [_field(f"{ptr}/{i}/{j}", f"{symbol}[{i + 1},{j + 1}]") for j in range(width)],
        )
        for i in range(len(matrix))
    ]
    return FormGrid(title, [str(j + 1) for j in range(width)], rows)


def _chain_rule(layout: dict[str, Any], base: str, w: dict[str, Any]) -> list[FormSection]:
    # ∂out/∂v with the sheet's output: the last node in evaluation order (usually f, but an
    # assignment may name it otherwise, and the sheet then writes ∂g/∂v)
    out = list(layout["values"])[-1]
    d = f"∂{sub(out)}/∂"
    values = [_field(f"{base}/values/{n}", sub(n)) for n in layout["values"]]
    adjoints = [_field(f"{base}/adjoints/{n}", f"{d}{sub(n)}") for n in layout["adjoints"]]
    partials = []
    for var in layout["partials"]:
        partials.append(
            _field(f"{base}/partials/{var}/formula", f"{d}{var}: {w['formula']}", "formula")
        )
        partials.append(_field(f"{base}/partials/{var}/value", f"{d}{var}: {w['value_at_point']}"))
    return [
        FormSection(w["node_values"], values, [], []),
        FormSection(w["adjoints"].replace("∂f/", f"∂{sub(out)}/"), adjoints, [], []),  # words: f
        FormSection(w["partials"], partials, [], [], wide=True),
    ]


def _mlp_symbol(key: str, w: dict[str, Any]) -> str:
    if m := re.fullmatch(r"delta([0-9]+)", key):
        return sub(f"δ{m.group(1)}")
    if m := re.fullmatch(r"grad_W([0-9]+)", key):
        return f"∂L/∂{sub('W' + m.group(1))}"
    if m := re.fullmatch(r"W([0-9]+)_new", key):
        return f"{sub('W' + m.group(1))} {w['after_step']}"
    return sub(key)


def _mlp(layout: dict[str, Any], base: str, w: dict[str, Any]) -> list[FormSection]:
    fields: list[FormField] = []
    grids: list[FormGrid] = []
    for key, value in layout.items():
        ptr = f"{base}/{key}"
        if key == "yhat_formula":
            fields.append(_field(ptr, w["yhat_formula"], "formula"))
        elif key == "loss":
            fields.append(_field(ptr, w["loss"]))
        elif isinstance(value, list):
            symbol = _mlp_symbol(key, w)
            grids.append(_grid(symbol, value, ptr, symbol.split(" ")[0]))
        else:
            fields.append(_field(ptr, _mlp_symbol(key, w)))
    return [FormSection("", fields, grids, [])]


def _sgd(layout: dict[str, Any], base: str, w: dict[str, Any]) -> list[FormSection]:
    steps = []
    for s, step in enumerate(layout["steps"]):
        name = w["step"].format(n=s + 1)
        at = f"{base}/steps/{s}"
        depth = len(step["deltas"])
        neurons = [str(n) for n in range(1, depth + 1)]
        forward = ["x"] + [sub(f"o{n}") for n in neurons]
        deltas = [sub(f"δ{n}") for n in neurons]
        grids = [
            FormGrid(
                w["forward"],
                forward,
                [
                    (
                        "",
                        [
                            _field(f"{at}/forward/{i}", f"{c} ({name})")
                            for i, c in enumerate(forward)
                        ],
                    )
                ],
            ),
            FormGrid(
                w["deltas"],
                deltas,
                [("", [_field(f"{at}/deltas/{i}", f"{c} ({name})") for i, c in enumerate(deltas)])],
            ),
        ]
        for key, symbols in (("gradient", ("∂L/∂b", "∂L/∂w")), ("weights", ("b", "w"))):
            rows = [
                (
                    f"{r}: {symbols[r]}",
                    [
                        _field(f"{at}/{key}/{r}/{j}", f"{sub(symbols[r] + str(j + 1))} ({name})")
                        for j in range(depth)
                    ],
                )
                for r in range(len(step[key]))
            ]
            grids.append(FormGrid(w[key], [f"{w['neuron']} {n}" for n in neurons], rows))
        steps.append(FormSection(name, [], grids, []))
    return [FormSection("", [], [], steps)]


_SOFTMAX_SYMBOLS = {"logits": "z", "probabilities": "p", "delta_out": "δ"}


def _softmax_symbol(key: str, w: dict[str, Any]) -> str:
    if key in _SOFTMAX_SYMBOLS:
        return _SOFTMAX_SYMBOLS[key]
    if m := re.fullmatch(r"grad_([Wb])([0-9]+)", key):
        return f"∂L/∂{sub(m.group(1) + m.group(2))}"
    if m := re.fullmatch(r"([Wb])([0-9]+)", key):
        return f"{sub(key)} {w['after_step']}"
    return sub(key.replace("delta", "δ"))


def _softmax(layout: dict[str, Any], base: str, w: dict[str, Any]) -> list[FormSection]:
    """softmax_classifier: a section per step, each vector a one-row grid, each matrix a
    grid, the loss a field (the order of the sheet's list)."""
    steps = []
    for s, step in enumerate(layout["steps"]):
        name = w["step"].format(n=s + 1)
        at = f"{base}/steps/{s}"
        fields, grids = [], []
        for key, value in step.items():
            symbol = _softmax_symbol(key, w)
            short = symbol.split(" ")[0]
            if not isinstance(value, list):
                fields.append(_field(f"{at}/{key}", f"{w['loss']} L ({name})"))
            elif value and isinstance(value[0], list):
                grids.append(_grid(symbol, value, f"{at}/{key}", short))
            else:
                row = [
                    _field(f"{at}/{key}/{j}", f"{short}[{j + 1}] ({name})")
                    for j in range(len(value))
                ]
                grids.append(FormGrid(symbol, [str(j + 1) for j in range(len(value))], [("", row)]))
        steps.append(FormSection(name, fields, grids, []))
    return [FormSection("", [], [], steps)]


@dataclass(frozen=True)
class _Labelled:
    """What a family's fields say of one answer leaf: its computation's label in the page's
    language, the leaf's place among that computation's outputs, and its kind."""

    label: str
    index: str  # "" for a computation of one output; else "1,2", "2" or a leaf's name
    whole: str  # the computation's first output: a grid per computation
    kind: Literal["number", "formula"]
    lhs: bool


def _field_labels(
    computations: Sequence[Computation], exercise: Exercise, language: str
) -> dict[str, _Labelled]:
    """Each output pointer's label from the family's ``labels:`` words (those reports use),
    so that a new family names its fields once."""
    out: dict[str, _Labelled] = {}
    for comp in computations:
        label = exercise.field_label(comp, language)
        paths = [ptr.split("/") for ptr in comp.outputs]
        common = len(os.path.commonprefix(paths)) if len(paths) > 1 else len(paths[0])
        for ptr, path in zip(comp.outputs, paths, strict=True):
            index = ",".join(str(int(p) + 1) if p.isdigit() else p for p in path[common:])
            out[ptr] = _Labelled(
                label, index, comp.outputs[0], comp.kind, comp.quantity is not None
            )
    return out


def _generic_section(
    title: str, layout: Any, base: str, labels: dict[str, _Labelled]
) -> FormSection:
    """Every leaf in layout order: a computation of one output is a labelled field, one of
    several outputs a grid (its label the title, a column per output); a leaf no
    computation names is labelled by its pointer."""
    fields: list[FormField] = []
    grids: dict[str, FormGrid] = {}
    for ptr in _leaf_pointers(layout, base):
        known = labels.get(ptr)
        if known is None:
            fields.append(_field(ptr, ptr.removeprefix(base + "/")))
            continue
        vocabulary = "v" if known.kind == "formula" else ""
        if not known.index:
            fields.append(FormField(ptr, known.label, known.kind, vocabulary, known.lhs))
            continue
        cell = FormField(ptr, f"{known.label} [{known.index}]", known.kind, vocabulary, known.lhs)
        grid = grids.setdefault(known.whole, FormGrid(known.label, [], [("", [])]))
        grid.columns.append(known.index)
        grid.rows[0][1].append(cell)
    return FormSection(title, fields, list(grids.values()), [])


def _leaf_pointers(layout: Any, ptr: str) -> list[str]:
    if isinstance(layout, dict):
        return [p for k, v in layout.items() for p in _leaf_pointers(v, ptr + pointer(k))]
    if isinstance(layout, list):
        return [p for i, v in enumerate(layout) for p in _leaf_pointers(v, ptr + pointer(i))]
    return [ptr]


# ---------------------------------------------------------------- rendering


def _script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``</script>``, no ``<!--``
    and no line separators a parser could trip on."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    root = resources.files("grader.templates")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        autoescape=True,  # student names and everything else are escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return resources.files("grader.templates").joinpath(name).read_text("utf-8")


@lru_cache(maxsize=1)
def python_whitespace() -> str:
    """Every character ``str.strip()`` removes: the page strips exactly these."""
    return "".join(chr(c) for c in range(0x3000 + 1) if chr(c).isspace())


def number_grammar() -> dict[str, Any]:
    """The limits of :func:`grader.core.numbers.parse_number` and the formula parser."""
    return {
        "maxNumberChars": numbers.MAX_NUMBER_CHARS,
        "maxDigits": numbers.MAX_DIGITS,
        "maxExponent": numbers.MAX_EXPONENT,
        "whitespace": python_whitespace(),
        "formulaMaxLength": FORMULA_MAX_LENGTH,
        "formulaMaxTokens": FORMULA_MAX_TOKENS,
        "formulaMaxDepth": FORMULA_MAX_DEPTH,
        "formulaMaxFunctionDepth": FORMULA_MAX_FUNCTION_DEPTH,
        "formulaMaxNumberDigits": FORMULA_MAX_NUMBER_DIGITS,
    }


def render_answer_page(
    assignment: Assignment, student_id: str, student_name: str, exercises: Sequence[FormExercise]
) -> str:
    """The page's HTML.  Takes the student's id and name, the exercises' labels, layouts
    and formula vocabularies: nothing here has ever seen a solution."""
    w = page_words(assignment.language)
    fields = {
        f.pointer: {
            "kind": f.kind,
            "vocabulary": f"{ex.id}:{f.vocabulary}" if f.vocabulary else "",
            "lhs": f.lhs,
        }
        for ex in exercises
        for f in _all_fields(ex.sections)
    }
    data = {
        "assignment": assignment.id,
        "student": student_id,
        "storageKey": f"backprop-grader:{assignment.id}:{student_id}",
        "layout": {ex.id: ex.layout for ex in exercises},
        "fields": fields,
        "vocabularies": {f"{ex.id}:{k}": v for ex in exercises for k, v in ex.vocabularies.items()},
        "grammar": number_grammar(),
        "words": {k: v for k, v in w.items() if k not in ("rules", "intro", "given")},
    }
    rules = [r.replace("{id}", student_id) for r in w["rules"]]
    return (
        _environment()
        .get_template("answer_page.html.j2")
        .render(
            lang=assignment.language,
            w=w,
            rules=rules,
            assignment=assignment,
            student_id=student_id,
            student_name=student_name,
            exercises=exercises,
            style=Markup(_asset("answer_page.css")),  # noqa: S704 - our file
            script=Markup(_asset("answer_page.js")),  # noqa: S704 - our file
            data=Markup(_script_json(data)),  # noqa: S704 - escaped above
        )
    )


def _all_fields(sections: Sequence[FormSection]) -> list[FormField]:
    out: list[FormField] = []
    for section in sections:
        out += section.fields
        for grid in section.grids:
            for _, row in grid.rows:
                out += row
        out += _all_fields(section.parts)
    return out


def answer_page(
    assignment: Assignment, student: Student, given: Sequence[tuple[ExerciseSpec, BaseModel]]
) -> str:
    """``forms/<id>.html`` from each exercise's spec and parameters (never a solution)."""
    from grader.make.documents import points_text

    language = assignment.language
    exercises = [
        form_exercise(spec, params, language, points_text(spec.points, language))
        for spec, params in given
    ]
    return render_answer_page(assignment, student.id, student.name, exercises)
