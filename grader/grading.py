"""Grading one submission: every answer field, in the order a student computes them.

For each :class:`~exercises.base.Computation` of a variant's solution, each output is

1. ``correct`` when it meets the acceptable set computed from the key's inputs;
2. else ``carried_forward`` when some input the student gave differs from the key and
   the answer meets the acceptable set computed from the student's *own* inputs —
   unless those inputs make the computation degenerate (an unexplained zero where the
   key has none, or a value that was itself denied this way), which earns nothing:
   carried-forward credit cannot be gamed;
3. else ``incorrect``, with a diagnosis: the catalogue mistake whose replay (from the
   student's own values) reproduces the number, or ``arithmetic`` when none does and
   nothing upstream can explain it;

and ``missing`` or ``invalid`` when there is nothing readable to grade.  Correctness,
carried-forward credit and diagnosis are one computation run on different inputs, or
with one :class:`~grader.engine.Rules` convention changed.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from exercises.base import Computation, Solution
from grader.assignment import Assignment, Student
from grader.engine import CORRECT, FractionOps, Rounding, Rules
from grader.intervals import Interval, IntervalOps, as_interval
from grader.mistakes import ARITHMETIC, Context, explain, implied_rates, variations
from grader.numbers import NumberError, fmt_exact_or_dec, fmt_frac, parse_number
from grader.submission import Answers, Given, Invalid, read_answers, shown
from grader.tolerance import (
    Expected,
    StudentNumber,
    accepts,
    describe,
    key_interval,
    rule_for,
)
from grader.variants import Variant

Status = Literal["correct", "carried_forward", "incorrect", "missing", "invalid"]
_SIMPLER = (
    ": that makes the computation simpler than the real one, so it earns no carried-forward credit"
)
STATUSES: tuple[Status, ...] = ("correct", "carried_forward", "incorrect", "missing", "invalid")
GIVEN_CHARS = 200  # how much of an answer the report repeats
EXPECTED_DECIMALS = 7
FORMULA_TIMEOUT = 2.0  # seconds for one equivalence check (grader.formulas enforces it)
DIAGNOSIS_TIMEOUT = 0.5  # per mistake variant of a formula


@dataclass(frozen=True)
class Diagnosis:
    id: str
    detail: str


@dataclass(frozen=True)
class FieldResult:
    """The grade of one answer leaf (the spec's report field, plus what reports need)."""

    pointer: str
    exercise: str
    label: str
    status: Status
    given: str | None
    expected: str | None
    points: Fraction
    max_points: Fraction
    feedback: str
    diagnosis: tuple[Diagnosis, ...] = ()
    review: bool = False  # a person should look (formula equivalence undecided)


@dataclass(frozen=True)
class Report:
    assignment: str
    student: str
    fields: tuple[FieldResult, ...]
    problems: tuple[str, ...] = ()  # file-level notes: extra fields, wrong shapes

    @property
    def score(self) -> Fraction:
        return sum((f.points for f in self.fields), Fraction(0))

    @property
    def max_score(self) -> Fraction:
        return sum((f.max_points for f in self.fields), Fraction(0))

    def count(self, status: Status) -> int:
        return sum(1 for f in self.fields if f.status == status)


def grade_submission(
    assignment: Assignment,
    student: Student | str,
    variants: Sequence[Variant],
    submission: Any,
) -> Report:
    """Grade ``submission`` (parsed JSON data, see :mod:`grader.submission`) against the
    student's own ``variants`` (whatever parameters the submission claims)."""
    student_id = student if isinstance(student, str) else student.id
    answers = read_answers(submission, variants)
    fields: list[FieldResult] = []
    for variant in variants:
        fields.extend(_ExerciseGrader(variant, answers).grade())
    return Report(assignment.id, student_id, tuple(fields), tuple(answers.problems))


# ---------------------------------------------------------------- one exercise


@dataclass
class _Inputs:
    """A computation's inputs as exact points (for the point value) and as intervals."""

    points: dict[str, Any] = field(default_factory=dict)
    intervals: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _NumberContext:
    """What every output of one number computation is graded against."""

    comp: Computation
    key_expected: list[Expected] | None  # from the key's inputs
    own_inputs: _Inputs
    own_expected: list[Expected] | None  # from the student's, when some of theirs differ
    differs: list[str]  # inputs the student got wrong (or carried forward)
    unknown: list[str]  # inputs the student did not give readably


def exercise_rounding(params: Any, solution: Solution) -> Rounding:
    """The variant's rounding policy (``params.rounding``), else the default at the
    solution's decimals."""
    spec = getattr(params, "rounding", None)
    if spec is not None and hasattr(spec, "mode") and hasattr(spec, "decimals"):
        return Rounding(spec.mode, spec.decimals)
    return Rounding("transcendental", solution.decimals)


def expected_text(value: Any) -> str:
    """A key value in words: exact, and as a decimal when that helps."""
    if not isinstance(value, Fraction):
        return str(value)
    exact = fmt_frac(value)
    if value.denominator == 1:
        return exact
    return f"{exact} ({fmt_exact_or_dec(value, EXPECTED_DECIMALS)})"


class _ExerciseGrader:
    def __init__(self, variant: Variant, answers: Answers) -> None:
        self.variant = variant
        self.spec = variant.exercise
        self.sol = variant.solution
        self.answers = answers
        self.k = self.sol.decimals
        rounding = exercise_rounding(variant.params, self.sol)
        self.fops = FractionOps(rounding)
        self.iops = IntervalOps(rounding)
        self.ctx = Context.of(variant.params)
        leaves = self.sol.leaves()
        self.per_leaf = Fraction(self.spec.points) / len(leaves) if leaves else Fraction(0)
        self.credit = Fraction(self.spec.carried_forward_credit)
        self.status: dict[str, Status] = {}
        self.own: dict[str, StudentNumber] = {}  # every number the student gave, readable
        # Fields whose value has a reason: right, carried forward, or a catalogue mistake.
        # A zero elsewhere may be a shortcut, and earns nothing downstream (see _degenerate).
        self.explained: set[str] = set()
        self.tainted: set[str] = set()  # denied as degenerate: so is all that builds on them
        self.wrong_givens: set[str] = set()  # problem data copied wrong (see Computation.given)
        self.rates: list[Interval] | None = None  # see _all_rates
        self.seen: Counter[str] = Counter()  # mistakes diagnosed so far in this exercise
        self.labels = {p: _field_label(c, p) for c in self.sol.computations for p in c.outputs}

    def grade(self) -> list[FieldResult]:
        out: list[FieldResult] = []
        for comp in self.sol.computations:
            out.extend(self._formula(comp) if comp.kind == "formula" else self._numbers(comp))
        return out

    # ------------------------------------------------------------ building results

    def _result(
        self,
        ptr: str,
        status: Status,
        given: str | None,
        feedback: str,
        diagnosis: Sequence[Diagnosis] = (),
        *,
        review: bool = False,
    ) -> FieldResult:
        self.status[ptr] = status
        if status in ("correct", "carried_forward"):
            self.explained.add(ptr)
        points = {"correct": self.per_leaf, "carried_forward": self.per_leaf * self.credit}
        return FieldResult(
            pointer=ptr,
            exercise=self.spec.id,
            label=self.labels.get(ptr, ptr),
            status=status,
            given=None if given is None else shown(given, GIVEN_CHARS),
            expected=self._key_text(ptr),
            points=points.get(status, Fraction(0)),
            max_points=self.per_leaf,
            feedback=feedback,
            diagnosis=tuple(diagnosis),
            review=review,
        )

    def _key_text(self, ptr: str) -> str | None:
        """The key's value at ``ptr`` as the key JSON writes it: ``p/q`` for a number, the
        formula text of the solution's answers for a formula (the form the sheet derives)."""
        key = self.sol.values.get(ptr)
        if key is None or isinstance(key, Fraction):
            return None if key is None else fmt_frac(key)
        node: Any = self.sol.answers
        for part in ptr.split("/")[3:]:  # below /answers/<exercise id>
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                node = None
                break
        if isinstance(node, str):
            return node
        from grader.formulas import formula_text

        return str(formula_text(key))

    def _unreadable(self, ptr: str, leaf: Invalid | None) -> FieldResult:
        """The result for a missing (None) or invalid leaf."""
        key = self.sol.values.get(ptr)
        expected = expected_text(key) if isinstance(key, Fraction) else self._key_text(ptr)
        if leaf is None:
            return self._result(ptr, "missing", None, f"No answer. Expected {expected}.")
        at = f" (at character {leaf.position + 1})" if leaf.position is not None else ""
        return self._result(
            ptr,
            "invalid",
            leaf.given,
            f"Could not read your answer: {leaf.reason}{at}. Expected {expected}.",
        )

    # ------------------------------------------------------------ number fields

    def _key_inputs(self, comp: Computation) -> _Inputs:
        """The key's values; an input the student got right may also be what they wrote
        (a correct value they rounded is as good as the key's)."""
        inputs = _Inputs()
        for p in comp.inputs:
            value = self.sol.values[p]
            inputs.points[p] = value
            if not isinstance(value, Fraction):
                inputs.intervals[p] = value
                continue
            interval = key_interval(value, p in self.sol.rounded, self.k)
            if self.status.get(p) == "correct" and p in self.own:
                interval = interval.hull(self.own[p].interval(self.k))
            inputs.intervals[p] = interval
        return inputs

    def _own_inputs(self, comp: Computation) -> _Inputs:
        """The student's own values where they gave readable ones, the key's elsewhere."""
        inputs = self._key_inputs(comp)
        for p in comp.inputs:
            if p in self.own:
                inputs.points[p] = self.own[p].value
                inputs.intervals[p] = self.own[p].interval(self.k)
        return inputs

    def _run(self, comp: Computation, inputs: _Inputs, rules: Rules) -> list[Expected] | None:
        """Each output's exact value and acceptable set; None when the computation cannot
        be carried out on these inputs at all."""
        try:
            points = list(comp.compute(inputs.points, self.fops, rules))
        except (ArithmeticError, ValueError, TypeError, OverflowError):
            return None
        try:
            intervals: list[Any] = [
                as_interval(x) for x in comp.compute(inputs.intervals, self.iops, rules)
            ]
        except (ArithmeticError, ValueError, TypeError, OverflowError):
            intervals = [None] * len(points)  # cannot decide by intervals: points only
        return [Expected(p, i) for p, i in zip(points, intervals, strict=True)]

    def _numbers(self, comp: Computation) -> list[FieldResult]:
        key_inputs = self._key_inputs(comp)
        own_inputs = self._own_inputs(comp)  # what the student actually worked with
        differs = [p for p in comp.inputs if self.status.get(p) in ("incorrect", "carried_forward")]
        ctx = _NumberContext(
            comp=comp,
            key_expected=self._run(comp, key_inputs, CORRECT),
            own_inputs=own_inputs,
            own_expected=self._run(comp, own_inputs, CORRECT) if differs else None,
            differs=differs,
            unknown=[p for p in comp.inputs if p not in self.own],  # missing or unreadable
        )
        return [self._number(ctx, i, ptr) for i, ptr in enumerate(comp.outputs)]

    def _number(self, ctx: _NumberContext, i: int, ptr: str) -> FieldResult:
        """Grade output ``i`` (at ``ptr``) of a number computation."""
        leaf = self.answers.get(ptr)
        if not isinstance(leaf, Given):
            return self._unreadable(ptr, leaf)
        try:
            number = StudentNumber(leaf.text, parse_number(leaf.text))
        except NumberError as exc:
            return self._unreadable(ptr, Invalid(exc.message, leaf.text, exc.position))
        self.own[ptr] = number
        rule = rule_for(self.spec, ptr)
        key_value = self.sol.values[ptr]
        expected = expected_text(key_value)
        key_interval_here = ctx.key_expected[i].interval if ctx.key_expected else None
        if accepts(rule, number, Expected(key_value, key_interval_here), self.k):
            return self._result(ptr, "correct", leaf.text, f"Correct: {expected}.")
        own = ctx.own_expected[i] if ctx.own_expected else None
        if own is not None and accepts(rule, number, own, self.k):
            why = self._degenerate(ctx.differs, own.point, key_value)
            if why is None:
                return self._carried_forward(ptr, leaf.text, expected)
            self.tainted.add(ptr)
            words = f"This follows from your earlier answers, but {why}. Expected {expected}."
            return self._result(ptr, "incorrect", leaf.text, words)
        diagnosis = self._diagnose(ctx.comp, i, number, rule, ctx.own_inputs)
        if diagnosis:
            self.explained.add(ptr)
        elif ctx.comp.given:
            self.tainted.add(ptr)  # a wrong given: another problem was solved from here on
            self.wrong_givens.add(ptr)
        elif not ctx.unknown and (own is not None or not ctx.differs):
            # every input is the student's own and readable: only arithmetic is left
            diagnosis = [Diagnosis(ARITHMETIC, "no catalogue mistake reproduces this value")]
        sentences = [f"Expected {expected}."]
        if rule.rule != "interval":
            sentences.append(f"This field is graded {describe(rule)}.")
        if own is not None:
            sentences.append(
                f"From your own earlier answers it would be {expected_text(own.point)}."
            )
        sentences += _explanations(diagnosis, self.labels[ptr], self.ctx)
        if not diagnosis:
            sentences.append("It depends on an earlier answer that is missing or unreadable.")
        return self._result(ptr, "incorrect", leaf.text, " ".join(sentences), diagnosis)

    def _carried_forward(self, ptr: str, given: str, expected: str) -> FieldResult:
        share = "" if self.credit == 1 else f" (worth {fmt_frac(self.credit)} of the points)"
        return self._result(
            ptr,
            "carried_forward",
            given,
            "Follows correctly from your earlier answers"
            f"{share}; with the key's values it is {expected}.",
        )

    def _degenerate(self, differs: Sequence[str], own_point: Any, key_value: Any) -> str | None:
        """Why the student's own inputs make this computation trivial, or None.

        Only inputs nothing explains count (not right, not carried forward, not a catalogue
        mistake): a zero that a real mistake produced is honest work to build on, while a
        zero written down to make everything after it trivial must earn nothing — and so
        must everything built on a value that was denied this way.
        """
        for p in differs:
            if p in self.wrong_givens:
                return (
                    f"it builds on your {self.labels.get(p, p)}, which is not the value your "
                    "problem gives, so it solves another problem"
                )
            if p in self.tainted:
                return (
                    f"it builds on your {self.labels.get(p, p)}, which earned no carried-forward "
                    "credit, so neither does this"
                )
        unexplained = [p for p in differs if p not in self.explained]
        for p in unexplained:
            mine = self.own.get(p)
            if mine is not None and mine.value == 0 and self.sol.values[p] != 0:
                return f"your {self.labels.get(p, p)} is 0 where the correct value is not{_SIMPLER}"
        if unexplained and own_point == 0 and key_value != 0:
            return f"your earlier answers make this value 0 where the correct one is not{_SIMPLER}"
        return None

    def _diagnose(
        self, comp: Computation, index: int, number: StudentNumber, rule: Any, inputs: _Inputs
    ) -> list[Diagnosis]:
        """The catalogue mistakes whose replay from the student's own earlier values (the
        key's where they gave none) reproduces the student's number, likeliest first."""
        found: list[Diagnosis] = []
        for mistake in comp.mistakes:
            rates = None
            if mistake == "learning_rate":
                rates = self._implied_rates(comp, inputs.points, index, number)
            for variation in variations(mistake, self.ctx, rates, self._all_rates()):
                expected = self._run(comp, inputs, variation.rules)
                if expected is not None and accepts(rule, number, expected[index], self.k):
                    found.append(Diagnosis(mistake, variation.detail))
                    break
        # A mistake this student has already made is the likelier explanation.
        found.sort(key=lambda d: -self.seen[d.id])
        for d in found[:1]:
            self.seen[d.id] += 1
        return found

    def _implied_rates(
        self, comp: Computation, points: Mapping[str, Any], index: int, number: StudentNumber
    ) -> Interval | None:
        # in mode "all" the student rounded the result: undo that first
        written = self.iops.record(number.interval(self.k))
        try:
            return implied_rates(comp, points, index, written)
        except (ArithmeticError, ValueError, TypeError):
            return None

    def _all_rates(self) -> list[Interval]:
        """The learning rates each of the student's updates implies (computed once), so a
        field that says little about the rate can be read in the light of the others."""
        if self.rates is None:
            self.rates = []
            for comp in self.sol.computations:
                if "learning_rate" not in comp.mistakes:
                    continue
                points = {p: self.sol.values[p] for p in comp.inputs}
                points.update({p: n.value for p in comp.inputs if (n := self._peek(p)) is not None})
                for index, ptr in enumerate(comp.outputs):
                    number = self._peek(ptr)
                    rates = self._implied_rates(comp, points, index, number) if number else None
                    if rates is not None:
                        self.rates.append(rates)
        return self.rates

    def _peek(self, ptr: str) -> StudentNumber | None:
        """The student's number at ``ptr``, read ahead of grading it (None if unreadable)."""
        if ptr in self.own:
            return self.own[ptr]
        leaf = self.answers.get(ptr)
        if not isinstance(leaf, Given):
            return None
        try:
            return StudentNumber(leaf.text, parse_number(leaf.text))
        except NumberError:
            return None

    # ------------------------------------------------------------ formula fields

    def _formula(self, comp: Computation) -> list[FieldResult]:
        from grader import formulas

        results: list[FieldResult] = []
        key_points = {p: self.sol.values[p] for p in comp.inputs}
        for i, ptr in enumerate(comp.outputs):
            leaf = self.answers.get(ptr)
            if not isinstance(leaf, Given):
                results.append(self._unreadable(ptr, leaf))
                continue
            key = self.sol.values[ptr]
            variables, generic = formula_names(key, self.variant.params)
            key_words = self._key_text(ptr)
            try:
                expr = formulas.parse_formula(
                    leaf.text, variables, formulas.DEFAULT_FUNCTIONS, generic
                )
            except formulas.FormulaError as exc:
                results.append(self._unreadable(ptr, Invalid(exc.message, leaf.text, exc.position)))
                continue
            same = formulas.equivalent(expr, key, variables, generic, timeout=FORMULA_TIMEOUT)
            if same:
                results.append(self._result(ptr, "correct", leaf.text, f"Correct: {key_words}."))
                continue
            if same is None:
                results.append(
                    self._result(
                        ptr,
                        "incorrect",
                        leaf.text,
                        "Could not decide automatically whether this equals the expected "
                        f"{key_words}; your instructor will look at it.",
                        review=True,
                    )
                )
                continue
            diagnosis = self._diagnose_formula(comp, i, expr, key, key_points, variables, generic)
            if not diagnosis:
                diagnosis = [Diagnosis(ARITHMETIC, "no catalogue mistake reproduces this formula")]
            words = [f"Expected {key_words}."]
            words += _explanations(diagnosis, self.labels[ptr], self.ctx)
            results.append(self._result(ptr, "incorrect", leaf.text, " ".join(words), diagnosis))
        return results

    def _diagnose_formula(
        self,
        comp: Computation,
        index: int,
        expr: Any,
        key: Any,
        key_points: Mapping[str, Any],
        variables: Sequence[str],
        generic: Sequence[str],
    ) -> list[Diagnosis]:
        from grader import formulas

        found: list[Diagnosis] = []
        tried: list[Any] = [key]
        for mistake in comp.mistakes:
            for variation in variations(mistake, self.ctx):
                try:
                    alt = comp.compute(key_points, self.fops, variation.rules)[index]
                except (ArithmeticError, ValueError, TypeError, IndexError):
                    continue
                if any(alt == t for t in tried):  # a no-op variation (e.g. no such path)
                    continue
                tried.append(alt)
                if formulas.equivalent(expr, alt, variables, generic, timeout=DIAGNOSIS_TIMEOUT):
                    detail = variation.detail
                    if mistake == "missing_path":
                        detail = f"the term {formulas.formula_text(key - alt)} is missing"
                    found.append(Diagnosis(mistake, detail))
                    break
        return found


def _explanations(diagnosis: Sequence[Diagnosis], label: str, ctx: Context) -> list[str]:
    """The likely mistake first; other mistakes that reproduce the number as alternatives."""
    words = [explain(d.id, d.detail, label, ctx) for d in diagnosis]
    return [w if i == 0 else f"Another explanation that fits: {w}" for i, w in enumerate(words)]


def formula_names(expr: Any, params: Any = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A key formula's variables and generic functions, as sorted names.

    Variables: the free symbols of the key, plus the exercise's declared variables (a
    key such as ∂f/∂x = −y may have lost one that a correct unsimplified answer uses).
    Generic functions: the undefined functions in it (``f``), other than the known ones.
    """
    from sympy.core.function import AppliedUndef

    from grader.formulas import DEFAULT_FUNCTIONS

    names = {str(s) for s in expr.free_symbols}
    declared = getattr(params, "variables", None)
    if isinstance(declared, list) and all(isinstance(v, str) for v in declared):
        names.update(declared)
    module = sys.modules.get(type(params).__module__)
    declare = getattr(module, "formula_variables", None)
    if callable(declare):
        names.update(str(v) for v in declare(params))
    generic = {str(f.func) for f in expr.atoms(AppliedUndef)} - set(DEFAULT_FUNCTIONS)
    return tuple(sorted(names)), tuple(sorted(generic))


def _field_label(comp: Computation, ptr: str) -> str:
    """The computation's label, plus the entry for a computation with several outputs."""
    if len(comp.outputs) == 1:
        return comp.label
    split = [p.split("/") for p in comp.outputs]
    common = 0
    while all(len(s) > common and s[common] == split[0][common] for s in split):
        common += 1
    entry = "".join(f"[{x}]" for x in ptr.split("/")[common:])
    return f"{comp.label} {entry}"
