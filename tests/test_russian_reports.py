"""Everything a student reads in a Russian course's report is Russian (issue 12, item 7).

Students of every family are graded in a Russian assignment: one who makes each catalogue
mistake everywhere (the engine's replay, as in tests/test_diagnosis.py), the careful TA's
students of issue 13 (an explained zero, a zero written by hand, premature rounding, a
repeated mistake, copied work, a formula's left-hand side …), and answers that cannot be
read for every reason the number, formula and left-hand-side parsers and the submission
reader give.  Their reports (each field's feedback, as the report JSON holds it, and the
Markdown report) must hold no English phrase, and the test checks that the words it
renders cover every diagnosis and every kind of sentence grading writes.

The fields' labels ("h1 of step 1") come from the exercise families, which are translated
elsewhere: a label counts as whatever the report says it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from fractions import Fraction as F
from typing import Any

import pytest

from grader.core import wording
from grader.core.engine import TRANSPOSE_KINDS, FractionOps, Rules
from grader.core.numbers import fmt_frac
from grader.course.assignment import Assignment
from grader.course.submission import parse_submission
from grader.course.variants import Variant
from grader.exercises import get_exercise
from grader.grade.file_problems import FileProblem, annotate, found_in, template_of
from grader.grade.formulas import SUPPORTED_FUNCTIONS, formula_text
from grader.grade.grading import GradingCache, Report, exercise_rounding, grade_submission
from grader.grade.mistakes import replay, submission_from
from grader.grade.peers import PeerIndex
from grader.grade.reports import md_text, report_markdown, symbol_label
from grader.grade.summary_html import FORMAT_PROBLEM, MISTAKE_NAMES
from tests import test_careful_ta as ta
from tests import test_softmax_classifier as softmax
from tests.helpers import CANONICAL_SGD

# three Latin words in a row: an English phrase (symbols, numbers and formulas are not);
# or one of the little words every English phrase has ("1 for h > 0, else 0")
ENGLISH = re.compile(
    r"[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}"
    r"|\b(?:the|and|for|else|not|with|from|your|this|that|is|are|of|to|in|on|by|at|an|or"
    r"|as|it|be|no|which|where|when|then|than|but|if|can|cannot|must|got|expected)\b",
    re.IGNORECASE,
)
# identifiers a message may list: the functions a formula may use (the parser's
# "expected …"), the keys a submission may have
_IDENTIFIERS = [
    *sorted(SUPPORTED_FUNCTIONS),
    "relu",
    "ReLU",
    "ln",
    "assignment",
    "student",
    "answers",
]
NAMES = re.compile(r"\b(?:" + "|".join(_IDENTIFIERS) + r")\b")

RUSSIAN = wording.feedback_words("ru")
# Words no student's report can reach, each for a stated reason (every other word of the
# kinds below must be said at least once by this test).
UNREACHABLE = {
    # the parsers are handed only the text of a JSON string or number
    "reason_number_boolean",
    "reason_number_type",
    "reason_number_int_digits",
    "reason_formula_type",
    # defensive: the grammar matched before (numbers) or MAX_DEPTH stops it first (formulas)
    "reason_number_decimal",
    "reason_formula_nested",
    # every function a formula field can spell (σ, \tanh, \ln …) is in its vocabulary,
    # and a formula field always has variables and functions
    "reason_formula_function",
    "reason_formula_names_variables",
    "reason_formula_names_functions",
    "reason_formula_names_none",
    # group("bracket") is only entered at an opening bracket
    "reason_formula_wanted_bracket",
    # undefined results: division, log and roots are refused earlier, by their own reason
    "reason_formula_divides_by_zero",
    "reason_formula_undefined",
    "reason_formula_power_undefined",
    # an equivalence check that neither proves nor refutes within its time (not forced here)
    "fb_review",
    # one rule of each kind is enough to see the rule words said; the others are the same
    # code path with another word
    "rule_exact",
    "rule_relative",
    "rule_decimals",
    "rule_significant",
    "rule_default",
    "asks_decimals",  # a rounding exercise rounds only transcendental values (see below)
    "missing_answers_under",  # said by nothing (validate says missing_key)
    # the submission reader refuses a longer answer first (leaf "too_long")
    "reason_number_too_long",
    "reason_formula_too_long",
}
CHECKED_PREFIXES = (
    "reason_",
    "leaf_",
    "fb_",
    "why_",
    "rule_",
    "asks_",
    "detail_rounding",
    "diagnosis_",
    "derivative_",
    "report_",
    "too_long",
    "json_constant",
    "about_the_file",
    "file_problem_",
    "unknown_key",
    "missing_answers_under",
    "duplicate_key",
)


# ---------------------------------------------------------------- students


def assignment_of(v: Variant) -> Assignment:
    return Assignment.model_validate(
        {"id": "hw", "language": "ru", "exercises": [v.exercise.model_dump(mode="json")]}
    )


def grade(v: Variant, answers: Any, peers: PeerIndex | None = None) -> Report:
    data = answers if "answers" in answers else {"student": "s1", "answers": {"ex": answers}}
    data = {"assignment": "hw", "student": "s1", **data}
    cache = GradingCache(peers=peers, language="ru")
    return grade_submission(assignment_of(v), "s1", [v], data, cache)


def grade_as_a_batch_does(
    v: Variant, answers: Any, peers: PeerIndex | None
) -> tuple[Report, list[FileProblem]]:
    """The report, with the file's problems beside the fields they cost (grade.batch)."""
    report = grade(v, answers, peers)
    data = answers if "answers" in answers else {"student": "s1", "answers": {"ex": answers}}
    data = {"assignment": "hw", **data}
    template = template_of("hw", "s1", [v])
    problems = found_in(data, template, "ru", lambda: json.dumps(data, indent=2))
    return replace(report, fields=annotate(report.fields, problems, "ru")), problems


def with_options(v: Variant, **options: Any) -> Variant:
    spec = type(v.exercise).model_validate({**v.exercise.model_dump(mode="json"), **options})
    return Variant(spec, v.params, v.solution)


def replayed(v: Variant, rules: Rules, style: str = "exact") -> dict[str, Any]:
    """The answers of a student who computes everything with ``rules``."""
    k = v.solution.decimals
    ops = FractionOps(exercise_rounding(v))
    values = replay(v.solution, ops, rules)

    def text(x: Any) -> str:
        if not isinstance(x, F):
            return str(formula_text(x))
        return fmt_frac(x) if style == "exact" else f"{float(x):.{k}f}"

    layout = get_exercise(v.exercise.type).template_answers(v.params)
    return submission_from(values, layout, v.exercise.id, text)


def catalogue_rules(v: Variant) -> Iterator[Rules]:
    """A student per variation of every mistake the variant's computations declare."""
    declared = {m for c in v.solution.computations for m in c.mistakes}
    rate = getattr(v.params, "learning_rate", None)
    data = getattr(v.params, "data", None) or getattr(v.params, "x", None) or []
    classes = getattr(v.params, "labels", None) or []
    table: dict[str, list[Rules]] = {
        "sign_flip": [Rules(delta_sign=-1)],
        "missing_factor_2": [Rules(factor_2_error=True)],
        "missing_activation_derivative": [Rules(derivative="one")],
        "wrong_activation_derivative": [Rules(derivative="value")],
        "gradient_ascent": [Rules(update_sign=+1)],
        "transposed": [Rules(transpose=kind) for kind in TRANSPOSE_KINDS],
        "missing_path": [Rules(omit_term=0), Rules(omit_term=1)],
        "wrong_observation": [Rules(observation=j) for j in range(len(data))],
        "learning_rate": [Rules(learning_rate=rate * 2)] if rate else [],
        "unnormalized_softmax": [Rules(normalize=False)],
        "wrong_class": [Rules(target_class=j) for j in range(len(set(classes)) + 1)],
        "log_base_10": [Rules(log_name="log10")],
        "missing_bias_gradient": [Rules(bias_gradient=False)],
    }
    for mistake in sorted(declared):
        yield from table[mistake]


def sgd(**params: Any) -> Variant:
    return ta.variant("sgd_chain", {**CANONICAL_SGD, **params})


VARIANTS: dict[str, Callable[[], Variant]] = {
    "sgd_sigmoid_mse": lambda: sgd(),
    "sgd_tanh_half_mse": lambda: sgd(activation="tanh", loss="half_mse"),
    "sgd_identity": lambda: sgd(activation="identity"),
    "sgd_hard_sigmoid": lambda: sgd(activation="hard_sigmoid"),
    "sgd_softsign": lambda: sgd(activation="softsign"),
    "mlp_relu_half_mse": lambda: ta.variant("mlp_matrix", ta.MLP),
    "chain": lambda: ta.variant("chain_rule", ta.GRAPH),
    "softmax": lambda: softmax.variant(softmax.FIXED),
    "softmax_square": lambda: softmax.variant(softmax.SQUARE),
    "softmax_hidden": lambda: softmax.variant(softmax.HIDDEN),
}

# numbers no parser reads, one for each reason (in a number field)
BAD_NUMBERS = [
    "",
    "１",
    "0,25,3",
    "0.2,5",
    ",5",
    "abc",
    "\\fracx",
    "\\frac{a}{2}",
    "\\frac{1}{b}",
    "1/0",
    "9" * 1001,
    "1e999",
]
# formulas no parser reads, one for each reason (in a formula field of the chain rule)
BAD_FORMULAS = [
    "x" * 2000,
    "+".join(["x"] * 260),
    "x,y",
    "x = y = z",
    "x;y",
    "x.y",
    "'x'",
    "`x`",
    "x @ y",
    "1" * 41 + "*x",
    "1e999*x",
    "q",
    "x¹²³⁴",
    "²x",
    "\\sqrt[3]{x}",
    "\\",
    "\\foo",
    "\\left x",
    "(" * 41 + "x" + ")" * 41,
    "exp(exp(exp(exp(exp(exp(exp(x)))))))",
    " ",
    "x)",
    "(x+)",
    "x + *",
    "x +",
    "\\frac{x}",
    "\\frac x",
    "()",
    "(x",
    "(x]",
    "exp x",
    "2 3",
    "x^9*x^9" + "*x^9" * 120,
    "(((x^10)^10)^10)^2",
    "x^y",
    "x^99999",
    "1/0",
    "log(-1)",
    "(-1)^(1/2)",
    "((99999999999^10)^10)^10",
    "(99999999999999999999999)^(1/2)",
    "a" * 41 + " = x",  # a left-hand side too long to be a name
    "qq = x",  # a left-hand side that names nothing
]


def students() -> Iterator[tuple[str, Variant, Any, PeerIndex | None]]:
    """(name, variant, answers, peers) of every student of this test."""
    for name, make in VARIANTS.items():
        v = make()
        for i, rules in enumerate(catalogue_rules(v)):
            yield f"{name}-{i}", v, replayed(v, rules), None
    yield from careful_ta_students()
    yield from unreadable_students()


def careful_ta_students() -> Iterator[tuple[str, Variant, Any, PeerIndex | None]]:
    mlp = ta.variant("mlp_matrix", ta.MLP)
    for name in ("explained_zero", "zero_by_hand", "rounds_the_update", "tanh_for_relu"):
        raw, formula, _, _ = ta.MLP_STUDENTS[name]()
        yield name, mlp, ta.mlp_answers(raw, formula), None
    # rounding earns a share; carried-forward credit is a share too
    raw, formula, _, _ = ta.rounds_the_update()
    shares = with_options(mlp, rounding_credit="1/2", carried_forward_credit="1/2")
    yield "rounding_credit", shares, ta.mlp_answers(raw, formula), None
    raw, formula, _, _ = ta.explained_zero()
    yield "carried_share", shares, ta.mlp_answers(raw, formula), None
    # rounded where their own earlier answers (not the key's) give another value
    # (∂L/∂W3 = [[1], [3]] written [[2], [3]]: their W3[1,1] is 2 − 2/3 = 4/3, written 1.33)
    edit = ta.edits(
        grad_W3=lambda m: ta.at(m, 0, 0, 2), W3_new=lambda m: [[ta.Decimal(m[0][0], 2)], m[1]]
    )
    yield "rounds_own", mlp, ta.mlp_answers(ta.mlp_reference(ta.MLP, edit), ta.MLP_FORMULA), None
    # a field graded by an instructor's rule: wrong, and rounded too coarsely for it
    ruled = with_options(
        mlp, field_tolerance={"W3_new/0/0": {"rule": "absolute", "value": "1/100"}}
    )
    yield "graded_by_rule", ruled, ta.mlp_answers(raw, formula) | {"W3_new": [["1.7"], ["9"]]}, None
    # the left-hand side of another quantity
    raw, formula, _, _ = ta.lhs_of_another_quantity()
    yield "lhs_other", mlp, ta.mlp_answers(raw, formula), None
    # gradient ascent in every update, deducted once
    edit = ta.edits(
        W1_new=lambda m: ta._ascent(m, 1),
        W2_new=lambda m: ta._ascent(m, 2),
        W3_new=lambda m: ta._ascent(m, 3),
    )
    once = with_options(mlp, repeated_mistakes="once")
    yield (
        "repeated_once",
        once,
        ta.mlp_answers(ta.mlp_reference(ta.MLP, edit), ta.MLP_FORMULA),
        None,
    )
    # a classmate's work
    theirs = ta.variant("mlp_matrix", ta.MLP_CLASSMATE)
    peers = PeerIndex()
    peers.add("s1", [mlp])
    peers.add("s017", [theirs])
    copied = ta.mlp_answers(ta.mlp_reference(ta.MLP_CLASSMATE), ta.MLP_FORMULA)
    yield "copied", mlp, copied, peers
    # a missing input: what depends on it cannot be told apart from a slip
    raw, formula, _, _ = ta.perfect()
    answers = ta.mlp_answers(raw, formula)
    answers["h1"][0][0] = None
    answers["O1"][0][0] = "7"
    yield "depends_on_missing", mlp, answers, None
    # the chain rule: a missing path in a formula; 1/2x read both ways
    chain = ta.variant("chain_rule", ta.GRAPH)
    for name in ("chain_missing_path", "chain_zero_by_hand"):
        _, raw, formulas, _, _ = ta.CHAIN_STUDENTS[name]()
        yield name, chain, ta.chain_answers(raw, formulas), None
    _, raw, _, _, _ = ta.chain_perfect()
    # ∂f/∂y = 3x + 2y: "(3x + 2y)/2(2)" is right as read, "(12x + 8y)/2(2)" the other way
    for i, formula in enumerate(("(3x + 2y)/2(2)", "(12x + 8y)/2(2)")):
        yield f"division_{i}", chain, ta.chain_answers(raw, ("4x + 3y", formula)), None
    # a given copied wrong: another problem solved from there on
    raw = ta.sgd_reference(ta.SGD, ta.edits(**{"steps/0/forward/0": lambda _: F(3)}))
    yield "wrong_given", ta.variant("sgd_chain", ta.SGD), ta.sgd_answers(raw, 2), None


def unreadable_students() -> Iterator[tuple[str, Variant, Any, PeerIndex | None]]:
    chain = ta.variant("chain_rule", ta.GRAPH)
    _, raw, formulas, _, _ = ta.chain_perfect()
    for i, text in enumerate(BAD_FORMULAS):
        yield f"formula_{i}", chain, ta.chain_answers(raw, (text, formulas[1])), None
    names = sorted(ta.chain_answers(raw, formulas)["values"])
    for start in range(0, len(BAD_NUMBERS), len(names)):
        answers = ta.chain_answers(raw, formulas)
        for name, text in zip(names, BAD_NUMBERS[start:], strict=False):
            answers["values"][name] = text
        yield f"numbers_{start}", chain, answers, None
    # leaves that are not answers at all
    answers = ta.chain_answers(raw, formulas)
    answers["values"]["a"] = True
    answers["values"]["b"] = "1" * 2101
    answers["values"]["c"] = "\ud800"
    answers["partials"]["x"]["formula"] = [1]
    answers["adjoints"] = "none"
    yield "leaves", chain, answers, None
    # keys the template does not have: one misspelled, one unknown
    answers = ta.chain_answers(raw, formulas)
    answers["adjoint"] = answers.pop("adjoints")
    yield "misspelled", chain, {"student": "s1", "answers": {"ex": answers}, "zzz": 1}, None
    mlp = ta.variant("mlp_matrix", ta.MLP)
    raw, formula, _, _ = ta.perfect()
    answers = ta.mlp_answers(raw, formula)
    answers["h1"] = [["3"]]
    text = json.dumps({"student": "s1", "answers": {"ex": answers}})
    text = text.replace('"loss": ', '"loss": "1", "loss": ').replace('"3"', "NaN", 1)
    yield "json_text", mlp, parse_submission(text.encode()), None


# ---------------------------------------------------------------- the test


def _label_forms(report: Report) -> list[str]:
    """Every way the report may write a field's label (the families translate those)."""
    forms: set[str] = set()
    for f in report.fields:
        base = re.sub(r"\s*(\[\d+\])+$", "", f.label)
        for label in (f.label, base):
            forms.update({label, symbol_label(label), md_text(symbol_label(label))})
    return sorted(forms, key=len, reverse=True)


def _prose(text: str, labels: list[str]) -> str:
    """``text`` without labels, code spans and the vocabulary of formulas."""
    text = re.sub(r"(`+).*?\1", " ", text)
    for label in labels:
        text = text.replace(label, " ")
    return NAMES.sub(" ", text)


class _Said(dict[str, str]):
    """A word table that notes each word looked up."""

    seen: set[str]

    def __getitem__(self, key: str) -> str:
        self.seen.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            self.seen.add(key)
        return super().get(key, default)


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The Russian words this test makes grading and the reports say."""
    seen: set[str] = set()
    table = _Said(wording.feedback_words("ru"))
    table.seen = seen
    english = wording.feedback_words("en")  # the report JSON's details are English

    def words(language: str) -> dict[str, str]:
        return table if language == "ru" else english

    monkeypatch.setattr(wording, "feedback_words", words)
    return seen


def test_a_russian_report_has_no_english_phrase_for_any_diagnosis_or_reason(
    said: set[str],
) -> None:
    diagnosed: set[str] = set()
    statuses: set[str] = set()
    english: list[tuple[str, str, str]] = []
    for name, v, answers, peers in students():
        report, problems = grade_as_a_batch_does(v, answers, peers)
        labels = _label_forms(report)
        for f in report.fields:
            diagnosed.update(d.id for d in f.diagnosis)
            statuses.add(f.status)
            found = ENGLISH.search(_prose(f.feedback, labels))
            if found:
                english.append((name, f.pointer, found.group()))
        md = report_markdown(
            report,
            name="Студент",
            title="Домашнее задание",
            file_problems=problems,
            language="ru",
        )
        found = ENGLISH.search(_prose(md, labels))
        if found:
            english.append((name, "(report .md)", found.group()))
    assert not english, "\n".join(map(str, english[:20]))
    # every diagnosis of the catalogue was made, and every sentence was said
    assert diagnosed == set(MISTAKE_NAMES) - {FORMAT_PROBLEM}
    assert statuses == {"correct", "carried_forward", "incorrect", "missing", "invalid"}
    checked = {key for key in RUSSIAN if key.startswith(CHECKED_PREFIXES)}
    assert not checked - said - UNREACHABLE, sorted(checked - said - UNREACHABLE)
    assert not UNREACHABLE & said, sorted(UNREACHABLE & said)  # keep the list honest
