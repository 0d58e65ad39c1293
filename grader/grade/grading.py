"""Grading one submission: every answer field, in the order a student computes them.

For each :class:`~grader.exercises.base.Computation` of a variant's solution, each output is

1. ``correct`` when it meets the acceptable set computed from the key's inputs;
2. else ``carried_forward`` when some input the student gave differs from the key and
   the answer meets the acceptable set computed from the student's *own* inputs —
   unless those inputs make the computation degenerate (a zero the student wrote where
   the key has none and their own inputs do not give one, or a value that was itself
   denied this way), which earns nothing: carried-forward credit cannot be gamed, while
   a zero that follows from the student's own work (relu of their negative h) is
   explained and keeps it;
3. else ``incorrect``, with a diagnosis: the catalogue mistake whose replay (from the
   student's own values) reproduces the number, or ``arithmetic`` when none does and
   nothing upstream can explain it;

and ``missing`` or ``invalid`` when there is nothing readable to grade.  Correctness,
carried-forward credit and diagnosis are one computation run on different inputs, or
with one :class:`~grader.core.engine.Rules` convention changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from math import lcm
from typing import Any, Literal

from grader.core.engine import CORRECT, FractionOps, Rounding, Rules
from grader.core.intervals import Interval, IntervalOps, as_interval
from grader.core.memo import BoundedMemo, IdentityMemo
from grader.core.numbers import (
    NumberError,
    decimal_places,
    fmt_exact_or_dec,
    fmt_frac,
    parse_number,
)
from grader.core.wording import Words, say
from grader.course.assignment import Assignment, Student, ToleranceSpec
from grader.course.submission import Answers, Given, Invalid, read_answers, shown
from grader.course.variants import Variant
from grader.exercises.base import Computation, Exercise, MistakeContext, Solution
from grader.grade.mistake_catalogue import (
    ARITHMETIC,
    NO_MISTAKE_FOR_FORMULA,
    NO_MISTAKE_FOR_NUMBER,
    ROUNDING,
    Diagnosis,
    Evidence,
    mistake,
    rounded,
)
from grader.grade.mistakes import explain
from grader.grade.peers import COPIED_FROM, PeerIndex, entry_pointers
from grader.grade.rates import RateLine, implied_rates, rate_line
from grader.grade.tolerance import (
    Expected,
    StudentNumber,
    accepts,
    describe,
    key_interval,
    rule_for,
)

Status = Literal["correct", "carried_forward", "incorrect", "missing", "invalid"]
_FOREIGN = Words.of("why_foreign")  # why a field builds on a classmate's data (fb_degenerate)
STATUSES: tuple[Status, ...] = ("correct", "carried_forward", "incorrect", "missing", "invalid")
_ZERO = Fraction(0)
GIVEN_CHARS = 200  # how much of an answer the report repeats
EXPECTED_DECIMALS = 7
FORMULA_TIMEOUT = 2.0  # seconds for one equivalence check (grader.grade.formulas enforces it)
DIAGNOSIS_TIMEOUT = 0.5  # per mistake variant of a formula
AMBIGUOUS_DIVISION = "ambiguous_division"  # 1/2x: the other reading is judged otherwise


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
    # for the instructor (the gradebook's flags column): e.g. AMBIGUOUS_DIVISION
    flags: tuple[str, ...] = ()

    @cached_property  # students who wrote the same share one FieldResult: worked out once
    def item(self) -> tuple[str, Status, tuple[str, ...]]:
        """(pointer, status, diagnosis ids): what the class summary counts."""
        return (self.pointer, self.status, tuple(d.id for d in self.diagnosis))


@dataclass(frozen=True)
class Report:
    assignment: str
    student: str
    fields: tuple[FieldResult, ...]
    problems: tuple[str, ...] = ()  # file-level notes: extra fields, wrong shapes

    @cached_property  # asked for by the report, the Markdown and the gradebook
    def score(self) -> Fraction:
        return total(f.points for f in self.fields)

    @cached_property
    def max_score(self) -> Fraction:
        return total(f.max_points for f in self.fields)

    def count(self, status: Status) -> int:
        return sum(1 for f in self.fields if f.status == status)


def total(points: Iterable[Fraction]) -> Fraction:
    """The exact sum of field points, over a common denominator (a report's points share
    one or two denominators, and Fraction's own addition reduces after every term)."""
    # most fields share a few Fraction objects (a right field's points): count those first,
    # by identity (safe: ``listed`` keeps every object alive, so no two share an id)
    listed = list(points)
    counts = Counter(map(id, listed))
    distinct = dict(zip(map(id, listed), listed, strict=True))
    numerator, denominator = 0, 1
    for p in distinct.values():
        d = p.denominator
        if d != denominator:
            common = lcm(denominator, d)
            numerator *= common // denominator
            denominator = common
        numerator += counts[id(p)] * p.numerator * (denominator // d)
    return Fraction(numerator, denominator)


def grade_submission(
    assignment: Assignment,
    student: Student | str,
    variants: Sequence[Variant],
    submission: Any,
    cache: GradingCache | None = None,
) -> Report:
    """Grade ``submission`` (parsed JSON data, see :mod:`grader.course.submission`) against the
    student's own ``variants`` (whatever parameters the submission claims).

    A batch passes one ``cache``: what grading a variant needs that does not depend on
    the student is then worked out once per variant, not once per submission.
    """
    cache = cache if cache is not None else GradingCache(language=assignment.language)
    student_id = student if isinstance(student, str) else student.id
    answers = read_answers(submission, variants)
    fields: list[FieldResult] = []
    for variant in variants:
        fields.extend(cache.plan(variant).grade(answers))
    return Report(assignment.id, student_id, tuple(fields), tuple(answers.problems))


# ---------------------------------------------------------------- one variant

MEMO_LIMIT = 2_000  # entries per memo of a variant (~1 KB each): a batch's memory stays bounded

# The student's texts of a computation's inputs, None where the key's value is used:
# with the variant, this decides the inputs completely (a text always reads as the
# same number), so it is what the memos of computations are keyed by.
Signature = tuple[str | None, ...]


class VariantPlan:
    """What grading one variant needs that does not depend on the student: each field's
    rule and the key's words and intervals, plus memos of the computations run on given
    inputs.  A class repeats itself (the key's own values, the usual roundings, the
    common mistakes), so a batch computes each distinct case once."""

    def __init__(
        self,
        variant: Variant,
        memo_limit: int = MEMO_LIMIT,
        peers: PeerIndex | None = None,
        language: str = "en",
    ) -> None:
        self.variant = variant
        self.peers = peers
        self.entries = entry_pointers(variant.solution)
        self.language = language  # of the feedback (templates/feedback.words.yaml)
        self.spec = variant.exercise
        self.sol = variant.solution
        self.k = self.sol.decimals
        rounding = exercise_rounding(variant)
        # expected values are shown at the instructed decimals when the exercise rounds
        self.shown_decimals = EXPECTED_DECIMALS if rounding.mode == "exact" else rounding.decimals
        self.fops = FractionOps(rounding)
        self.iops = IntervalOps(rounding)
        self.ctx = variant.family.mistake_context(variant.params)
        leaves = self.sol.leaves()
        self.per_leaf = Fraction(self.spec.points) / len(leaves) if leaves else Fraction(0)
        self.credit = Fraction(self.spec.carried_forward_credit)
        self.rounding_credit = Fraction(self.spec.rounding_credit)
        self.points = {"correct": self.per_leaf, "carried_forward": self.per_leaf * self.credit}
        family, comps = variant.family, self.sol.computations
        self.labels = {p: _field_label(c, p, family, language) for c in comps for p in c.outputs}
        self._rules: dict[str, ToleranceSpec] = {}
        self._words: dict[str, str] = {}
        self._key_texts: dict[str, str | None] = {}
        self._key_intervals: dict[str, Interval] = {}
        self.leaf_pointers = tuple(leaves)
        # Memos of what a batch asks again and again (grader.core.memo: bounded, so memory
        # stays flat whatever the batch).
        self._numbers: BoundedMemo[str, StudentNumber | NumberError] = BoundedMemo(memo_limit)
        # (computation, signature, rules) -> each output on the student's own inputs
        self._runs: BoundedMemo[Any, list[Expected] | None] = BoundedMemo(memo_limit)
        # (computation, signature) -> each output against the key (see key_expected)
        self._key_runs: BoundedMemo[Any, list[Expected]] = BoundedMemo(memo_limit)
        # (computation, signature) -> the outputs at learning rates 0 and 1
        self._rate_lines: BoundedMemo[Any, RateLine | None] = BoundedMemo(memo_limit)
        # (computation, output, key signature, text) -> right against the key?
        self._verdicts: BoundedMemo[Any, bool] = BoundedMemo(memo_limit)
        # (pointer, text) -> the FieldResult of a right answer
        self._correct: BoundedMemo[tuple[str, str], FieldResult] = BoundedMemo(memo_limit)
        self._widens: BoundedMemo[tuple[str, str], bool] = BoundedMemo(memo_limit)
        self._right_answers: BoundedMemo[Any, Any] = BoundedMemo(memo_limit)
        # every leaf of the exercise as given -> its FieldResults: grading is a function of
        # the leaves alone, and a class hands in the same work again and again (every
        # perfect submission of a worksheet).  Entries are big: a few hundred are kept.
        self._graded: BoundedMemo[Any, tuple[FieldResult, ...]] = BoundedMemo(
            max(1, memo_limit // 40)
        )

    def grade(self, answers: Answers) -> tuple[FieldResult, ...]:
        """The student's ``answers`` to this variant, field by field."""
        leaves = tuple(map(answers.leaves.get, self.leaf_pointers))  # Given/Invalid: hashable
        graded = self._graded.get(leaves)
        if graded is None:
            graded = self._graded.keep(leaves, tuple(_ExerciseGrader(self, answers).grade()))
        return graded

    def field_result(
        self,
        ptr: str,
        status: Status,
        given: str | None,
        feedback: str,
        diagnosis: Sequence[Diagnosis] = (),
        review: bool = False,
        points: Fraction | None = None,
        flags: tuple[str, ...] = (),
    ) -> FieldResult:
        """``points``: what the field earns when not the status's own share (rounding)."""
        return FieldResult(
            pointer=ptr,
            exercise=self.spec.id,
            label=self.labels.get(ptr, ptr),
            status=status,
            given=None if given is None else shown(given, GIVEN_CHARS),
            expected=self.key_text(ptr),
            points=self.points.get(status, _ZERO) if points is None else points,
            max_points=self.per_leaf,
            feedback=feedback,
            diagnosis=tuple(diagnosis),
            review=review,
            flags=flags,
        )

    def correct_result(self, ptr: str, text: str) -> FieldResult:
        """The result of a right answer ``text`` at ``ptr`` (the same for every student)."""
        key = (ptr, text)
        got = self._correct.get(key)
        if got is None:
            words = self.say("fb_correct", expected=self.expected_words(ptr))
            got = self._correct.keep(key, self.field_result(ptr, "correct", text, words))
        return got

    def say(self, key: str, **args: Any) -> str:
        """Feedback words in the assignment's language."""
        return say(self.language, key, **args)

    def right_answer(
        self,
        index: int,
        comp: Computation,
        output: int,
        signature: Signature,
        text: str,
        inputs: Callable[[], _Inputs],
    ) -> tuple[StudentNumber, FieldResult, bool] | Literal[False]:
        """For a ``text`` that is right at output ``output`` of computation ``index``
        (against the key, see :meth:`meets_key`): its number, its result and whether it
        :meth:`widens` the key; False for any other text.  One lookup for a right field."""
        key = (index, output, signature, text)
        got: tuple[StudentNumber, FieldResult, bool] | Literal[False] | None
        got = self._right_answers.get(key)
        if got is None:
            number = self.number(text)
            got = False
            if not isinstance(number, NumberError) and self.meets_key(
                index, comp, output, signature, number, inputs
            ):
                ptr = comp.outputs[output]
                got = (number, self.correct_result(ptr, text), self.widens(ptr, number))
            self._right_answers.keep(key, got)
        return got

    def meets_key(
        self,
        index: int,
        comp: Computation,
        output: int,
        signature: Signature,
        number: StudentNumber,
        inputs: Callable[[], _Inputs],
    ) -> bool:
        """Whether ``number`` is right for output ``output`` of computation ``index``
        against the key (whose inputs ``signature`` stands for, see :meth:`key_expected`)."""
        key = (index, output, signature, number.text)
        verdict = self._verdicts.get(key)
        if verdict is None:
            ptr = comp.outputs[output]
            rule, point = self.rule(ptr), self.sol.values[ptr]
            if rule.rule != "interval":  # these rules compare with the key's value alone
                verdict = accepts(rule, number, Expected(point, None), self.k)
            elif number.interval(self.k).contains(point):
                # the acceptable set always holds the key's own value: no need to work it
                # out (the costly part of grading a variant nobody else has)
                verdict = True
            else:
                expected = self.key_expected(index, comp, signature, inputs)[output]
                verdict = accepts(rule, number, expected, self.k)
            self._verdicts.keep(key, verdict)
        return verdict

    def rule(self, ptr: str) -> ToleranceSpec:
        rule = self._rules.get(ptr)
        if rule is None:
            rule = self._rules[ptr] = rule_for(self.spec, ptr)
        return rule

    def expected_words(self, ptr: str) -> str:
        """The key's value at ``ptr`` for feedback ("1/4 (0.25)", or the formula)."""
        if ptr not in self._words:
            key = self.sol.values.get(ptr)
            self._words[ptr] = (
                expected_text(key, self.shown_decimals)
                if isinstance(key, Fraction)
                else str(self.key_text(ptr))
            )
        return self._words[ptr]

    def key_text(self, ptr: str) -> str | None:
        """The key's value at ``ptr`` as the key JSON writes it: ``p/q`` for a number, the
        formula text of the solution's answers for a formula (the form the sheet derives)."""
        if ptr not in self._key_texts:
            self._key_texts[ptr] = _key_text(self.sol, ptr)
        return self._key_texts[ptr]

    def widens(self, ptr: str, number: StudentNumber) -> bool:
        """Whether the student's right ``number`` at ``ptr`` reaches outside the key's
        interval there (so that building on it allows more than the key does)."""
        key = (ptr, number.text)
        got = self._widens.get(key)
        if got is None:
            own, interval = number.interval(self.k), self.key_interval(ptr)
            got = self._widens.keep(key, not (interval.lo <= own.lo and own.hi <= interval.hi))
        return got

    def key_interval(self, ptr: str) -> Interval:
        """Everything the key's value at ``ptr`` stands for (see :func:`key_interval`)."""
        interval = self._key_intervals.get(ptr)
        if interval is None:
            value = self.sol.values[ptr]
            interval = key_interval(value, ptr in self.sol.rounded, self.k)
            self._key_intervals[ptr] = interval
        return interval

    def number(self, text: str) -> StudentNumber | NumberError:
        """The student's text read as a number (or why it cannot be)."""
        got = self._numbers.get(text)
        if got is None:
            try:
                got = StudentNumber(text, parse_number(text))
            except NumberError as exc:
                got = exc
            self._numbers.keep(text, got)
        return got

    def run(
        self,
        index: int,
        comp: Computation,
        signature: Signature,
        rules: Rules,
        inputs: Callable[[], _Inputs],
    ) -> list[Expected] | None:
        """Each output's exact value and acceptable set for the computation ``index`` on
        the student's own ``inputs`` (which ``signature`` stands for); None when it cannot
        be carried out on them at all."""
        key = (index, signature, rules)
        if key in self._runs:  # None (cannot be carried out) is an answer too
            return self._runs[key]
        return self._runs.keep(key, self._compute(comp, inputs(), rules))

    def _compute(self, comp: Computation, inputs: _Inputs, rules: Rules) -> list[Expected] | None:
        try:
            points = list(comp.compute(inputs.points, self.fops, rules))
        except (ArithmeticError, ValueError, TypeError, OverflowError):
            return None
        intervals = self._intervals(comp, inputs, rules) or [None] * len(points)
        return [Expected(p, i) for p, i in zip(points, intervals, strict=True)]

    def _intervals(self, comp: Computation, inputs: _Inputs, rules: Rules) -> list[Any] | None:
        """Each output's acceptable set, or None where intervals cannot decide (a division
        by an interval around 0, say: then only exact points count)."""
        try:
            return [as_interval(x) for x in comp.compute(inputs.intervals, self.iops, rules)]
        except (ArithmeticError, ValueError, TypeError, OverflowError):
            return None

    def key_expected(
        self, index: int, comp: Computation, signature: Signature, inputs: Callable[[], _Inputs]
    ) -> list[Expected]:
        """Each output graded against the key: the key's value, with the acceptable set
        computed from the key's inputs (None where intervals cannot decide)."""
        key = (index, signature)
        expected = self._key_runs.get(key)
        if expected is None:
            # the points are the key's own values: only the intervals need computing
            intervals = self._intervals(comp, inputs(), CORRECT)
            expected = self._key_runs.keep(
                key,
                [
                    Expected(self.sol.values[ptr], intervals[i] if intervals else None)
                    for i, ptr in enumerate(comp.outputs)
                ],
            )
        return expected

    def rate_line(
        self, index: int, comp: Computation, signature: Signature, points: Callable[[], Any]
    ) -> RateLine | None:
        """The computation's outputs at learning rates 0 and 1 (see :func:`rate_line`)."""
        key = (index, signature)
        if key not in self._rate_lines:
            try:
                line: RateLine | None = rate_line(comp, points())
            except (ArithmeticError, ValueError, TypeError):
                line = None
            self._rate_lines.keep(key, line)
        return self._rate_lines[key]


class GradingCache:
    """The :class:`VariantPlan` of each variant a batch meets (the most recent ones)."""

    def __init__(
        self,
        limit: int = 256,
        memo_limit: int = MEMO_LIMIT,
        peers: PeerIndex | None = None,
        language: str = "en",
    ) -> None:
        self.limit = limit
        self.memo_limit = memo_limit
        self.peers = peers  # the roster's given data (see grader.grade.peers), if known
        self.language = language
        self._plans: IdentityMemo[Variant, VariantPlan] = IdentityMemo(limit)

    def memo_sizes(self) -> list[int]:
        """How many entries each memo of each plan holds (for tests of the bound)."""
        return [
            len(memo)
            for plan in self._plans.values()
            for memo in (
                plan._numbers,
                plan._runs,
                plan._key_runs,
                plan._rate_lines,
                plan._verdicts,
                plan._correct,
                plan._widens,
                plan._right_answers,
                plan._graded,
            )
        ]

    def plan(self, variant: Variant) -> VariantPlan:
        return self._plans.make(
            variant, lambda: VariantPlan(variant, self.memo_limit, self.peers, self.language)
        )


def _key_text(sol: Solution, ptr: str) -> str | None:
    key = sol.values.get(ptr)
    if key is None or isinstance(key, Fraction):
        return None if key is None else fmt_frac(key)
    node: Any = sol.answers
    for part in ptr.split("/")[3:]:  # below /answers/<exercise id>
        part = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            node = None
            break
    if isinstance(node, str):
        return node
    from grader.grade.formulas import formula_text

    return str(formula_text(key))


# ---------------------------------------------------------------- one exercise


@dataclass
class _Inputs:
    """A computation's inputs as exact points (for the point value) and as intervals."""

    points: dict[str, Any] = field(default_factory=dict)
    intervals: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _NumberContext:
    """What every output of one number computation is graded against."""

    index: int  # of the computation in the solution
    comp: Computation
    own_signature: Signature
    own_expected: list[Expected] | None  # from the student's, when some of theirs differ
    differs: list[str]  # inputs the student got wrong (or carried forward)
    unknown: list[str]  # inputs the student did not give readably


def exercise_rounding(variant: Variant) -> Rounding:
    """The variant's rounding policy, else the default at the solution's decimals."""
    rule = variant.family.rounding(variant.params)
    return rule if rule is not None else Rounding("transcendental", variant.solution.decimals)


SHORT_FRACTION = 10**6  # a fraction is shown beside its decimal when both sides are shorter


def expected_text(value: Any, decimals: int = EXPECTED_DECIMALS) -> str:
    """A key value in words: the decimal at ``decimals`` places (the instructed ones when
    the exercise rounds), with the exact fraction before it only when that is short (a
    rounded σ's exact value has dozens of digits nobody reads)."""
    if not isinstance(value, Fraction):
        return str(value)
    exact = fmt_frac(value)
    if value.denominator == 1:
        return exact
    decimal = fmt_exact_or_dec(value, decimals)
    if abs(value.numerator) < SHORT_FRACTION and value.denominator < SHORT_FRACTION:
        return f"{exact} ({decimal})"
    return decimal


class _ExerciseGrader:
    """One student's answers to one variant (the plan holds what they share with others)."""

    def __init__(self, plan: VariantPlan, answers: Answers) -> None:
        self.plan = plan
        self.spec = plan.spec
        self.sol = plan.sol
        self.answers = answers
        self.k = plan.k
        self.fops = plan.fops
        self.iops = plan.iops
        self.ctx = plan.ctx
        self.labels = plan.labels
        self.status: dict[str, Status] = {}
        self.own: dict[str, StudentNumber] = {}  # every number the student gave, readable
        # Fields whose value has a reason: right, carried forward, or a catalogue mistake.
        # A zero elsewhere may be a shortcut, and earns nothing downstream (see _degenerate).
        self.explained: set[str] = set()
        self.widened: set[str] = set()  # right, but wider than the key (see _key_signature)
        self.tainted: set[str] = set()  # denied as degenerate: so is all that builds on them
        self.wrong_givens: set[str] = set()  # problem data copied wrong (see Computation.given)
        self.rates: list[Interval] | None = None  # see _all_rates
        self.seen: Counter[str] = Counter()  # mistakes diagnosed so far in this exercise
        # each mistake's first step (index, label): see _repeated
        self.first_made: dict[str, tuple[int, str]] = {}
        # entry fields holding a classmate's values -> the classmate (see grader.grade.peers)
        self.foreign = self._classmate()
        self.foreign_taint: set[str] = set()  # denied because they build on those

    def _classmate(self) -> dict[str, str]:
        """The wrong entry fields that hold a classmate's key values, if the student's
        wrong entry values follow one classmate's data (see PeerIndex.classmate)."""
        peers, entries = self.plan.peers, self.plan.entries
        if peers is None or not entries:
            return {}
        wrong: dict[str, Fraction] = {}
        for ptr in entries:
            leaf = self.answers.get(ptr)
            number = self.plan.number(leaf.text) if isinstance(leaf, Given) else None
            if isinstance(number, StudentNumber) and number.value != self.sol.values[ptr]:
                wrong[ptr] = number.value
        who = peers.classmate(self.spec.id, wrong, len(entries)) if wrong else None
        if who is None:
            return {}
        return {p: who for p, v in wrong.items() if who in peers.lookup(self.spec.id, p, v)}

    def grade(self) -> list[FieldResult]:
        out: list[FieldResult] = []
        for index, comp in enumerate(self.sol.computations):
            out.extend(
                self._formula(comp) if comp.kind == "formula" else self._numbers(index, comp)
            )
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
        points: Fraction | None = None,
        flags: tuple[str, ...] = (),
    ) -> FieldResult:
        self.status[ptr] = status
        if status in ("correct", "carried_forward"):
            self.explained.add(ptr)
        return self.plan.field_result(
            ptr, status, given, feedback, diagnosis, review, points, flags
        )

    def _unreadable(self, ptr: str, leaf: Invalid | None) -> FieldResult:
        """The result for a missing (None) or invalid leaf."""
        expected = self.plan.expected_words(ptr)
        if leaf is None:
            return self._result(
                ptr, "missing", None, self.plan.say("fb_missing", expected=expected)
            )
        at = (
            self.plan.say("fb_at_character", position=leaf.position + 1)
            if leaf.position is not None
            else ""
        )
        return self._result(
            ptr,
            "invalid",
            leaf.given,
            self.plan.say(
                "fb_unreadable", reason=leaf.said(self.plan.language), at=at, expected=expected
            ),
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
            interval = self.plan.key_interval(p)
            if self.status.get(p) == "correct" and p in self.own:
                interval = interval.hull(self.own[p].interval(self.k))
            inputs.intervals[p] = interval
        return inputs

    def _key_signature(self, comp: Computation) -> Signature:
        """What decides :meth:`_key_inputs`: the texts of the inputs the student got right
        in a way that widens the key's interval (most right answers lie inside it, and
        then the key's inputs are exactly the key's own)."""
        if not self.widened:  # the usual case
            return (None,) * len(comp.inputs)
        return tuple(self.own[p].text if p in self.widened else None for p in comp.inputs)

    def _right(self, ptr: str, number: StudentNumber, widens: bool) -> None:
        """Note that the student's ``number`` at ``ptr`` is right (see VariantPlan.widens)."""
        self.own[ptr] = number
        self.status[ptr] = "correct"
        self.explained.add(ptr)
        if widens:
            self.widened.add(ptr)

    def _own_inputs(self, comp: Computation) -> _Inputs:
        """The student's own values where they gave readable ones, the key's elsewhere."""
        inputs = self._key_inputs(comp)
        for p in comp.inputs:
            if p in self.own:
                inputs.points[p] = self.own[p].value
                inputs.intervals[p] = self.own[p].interval(self.k)
        return inputs

    def _own_signature(self, comp: Computation) -> Signature:
        """What decides :meth:`_own_inputs`: the texts of every input the student gave."""
        return tuple(self.own[p].text if p in self.own else None for p in comp.inputs)

    def _numbers(self, index: int, comp: Computation) -> list[FieldResult]:
        key_signature = self._key_signature(comp)

        def key_inputs() -> _Inputs:
            return self._key_inputs(comp)

        results: list[FieldResult] = []
        ctx: _NumberContext | None = None
        for i, ptr in enumerate(comp.outputs):
            leaf = self.answers.get(ptr)
            if isinstance(leaf, Given):
                right = self.plan.right_answer(index, comp, i, key_signature, leaf.text, key_inputs)
                if right:  # the usual case, and the same result for everyone who wrote this
                    number, result, widens = right
                    self._right(ptr, number, widens)
                    results.append(result)
                    continue
            if ctx is None:
                ctx = self._context(index, comp)
            results.append(self._number(ctx, i, ptr))
        return results

    def _context(self, index: int, comp: Computation) -> _NumberContext:
        differs = [p for p in comp.inputs if self.status.get(p) in ("incorrect", "carried_forward")]
        own_signature = self._own_signature(comp)
        return _NumberContext(
            index=index,
            comp=comp,
            own_signature=own_signature,
            # what the student actually worked with
            own_expected=self.plan.run(
                index, comp, own_signature, CORRECT, lambda: self._own_inputs(comp)
            )
            if differs
            else None,
            differs=differs,
            unknown=[p for p in comp.inputs if p not in self.own],  # missing or unreadable
        )

    def _number(self, ctx: _NumberContext, i: int, ptr: str) -> FieldResult:
        """Grade output ``i`` (at ``ptr``) of a number computation, when it is not right
        against the key (:meth:`_numbers` has taken the right ones)."""
        leaf = self.answers.get(ptr)
        if not isinstance(leaf, Given):
            return self._unreadable(ptr, leaf)
        number = self.plan.number(leaf.text)
        if isinstance(number, NumberError):
            reason = number.said(self.plan.language)
            return self._unreadable(ptr, Invalid(reason, leaf.text, number.position))
        self.own[ptr] = number
        rule = self.plan.rule(ptr)
        expected = self.plan.expected_words(ptr)
        if ptr in self.foreign:  # a classmate's value: nothing built on it earns credit
            self.tainted.add(ptr)
            self.foreign_taint.add(ptr)
            return self._result(
                ptr,
                "incorrect",
                leaf.text,
                self.plan.say("fb_foreign", expected=expected),
                flags=(f"{COPIED_FROM}:{self.foreign[ptr]}",),
            )
        own = ctx.own_expected[i] if ctx.own_expected else None
        if own is not None and accepts(rule, number, own, self.k):
            why = self._degenerate(ctx.differs)
            if why is None:
                return self._carried_forward(ptr, leaf.text, expected)
            self.tainted.add(ptr)
            if why == _FOREIGN:
                self.foreign_taint.add(ptr)
            words = self.plan.say("fb_degenerate", why=why, expected=expected)
            return self._result(ptr, "incorrect", leaf.text, words)
        diagnosis = self._rounding(ptr, number, own) or self._diagnose(ctx, i, number, rule)
        if diagnosis:
            self.explained.add(ptr)
            label = self.plan.variant.family.field_label(ctx.comp, self.plan.language)
            repeated = self._repeated(ctx.index, label, diagnosis[0].id)
            if repeated is not None:
                return self._result(
                    ptr,
                    "carried_forward",
                    leaf.text,
                    self.plan.say("fb_same_mistake", where=repeated, expected=expected),
                    diagnosis,
                )
        elif ctx.comp.given:
            self.tainted.add(ptr)  # a wrong given: another problem was solved from here on
            self.wrong_givens.add(ptr)
        elif not ctx.unknown and (own is not None or not ctx.differs):
            # every input is the student's own and readable: only arithmetic is left
            diagnosis = [Diagnosis(ARITHMETIC, NO_MISTAKE_FOR_NUMBER)]
        say = self.plan.say
        sentences = [say("fb_expected", expected=expected)]
        if rule.rule != "interval":
            sentences.append(say("fb_graded_by", rule=describe(rule)))
        if own is not None:
            own_words = expected_text(own.point, self.plan.shown_decimals)
            sentences.append(say("fb_own_would_be", value=own_words))
        sentences += _explanations(diagnosis, self.labels[ptr], self.ctx, self.plan.language)
        if not diagnosis:
            sentences.append(say("fb_depends_on_missing"))
        points = None
        if diagnosis and diagnosis[0].id == ROUNDING and self.plan.rounding_credit:
            points = self.plan.per_leaf * self.plan.rounding_credit
            sentences.append(say("fb_rounding_credit", share=fmt_frac(self.plan.rounding_credit)))
        return self._result(
            ptr, "incorrect", leaf.text, " ".join(sentences), diagnosis, points=points
        )

    def _rounding(self, ptr: str, number: StudentNumber, own: Expected | None) -> list[Diagnosis]:
        """``rounding`` when the student's decimal is the right value (or the one their own
        earlier answers give) rounded to its places: right arithmetic, rounded where the
        sheet asks for more.  (Rounded as instructed or finer, the number would have been
        accepted: so this only ever names coarser rounding.)"""
        places = decimal_places(number.text)
        if places is None:
            return []
        half = Fraction(1, 2 * 10**places)  # what rounding to ``places`` may move a value
        value = number.value
        key = self.plan.key_interval(ptr).hull(self.sol.values[ptr])
        targets = [(key, self.sol.values[ptr], False)]
        if own is not None:
            targets.append((own.acceptable(), own.point, True))
        for interval, point, theirs in targets:
            if interval.lo - half <= value <= interval.hi + half:
                said = rounded(number.text, fmt_frac(point), theirs, self._asks(ptr))
                return [Diagnosis(ROUNDING, said)]
        return []

    def _asks(self, ptr: str) -> Words:
        """What the sheet asks of the value at ``ptr``, in words."""
        rule = self.plan.rule(ptr)
        if rule.rule != "interval":
            return Words.of("asks_graded", rule=describe(rule))
        if ptr in self.sol.rounded:
            return Words.of("asks_decimals", decimals=self.k)
        return Words.of("asks_exact")

    def _repeated(self, index: int, label: str, mistake: str) -> str | None:
        """With ``repeated_mistakes: once``, where ``mistake`` was first made, when that was
        in an earlier step of the exercise (a step's own entries share one deduction's
        cause, but each is a field of its own); None when it must be deducted."""
        first = self.first_made.setdefault(mistake, (index, label))
        if self.spec.repeated_mistakes != "once" or mistake == ARITHMETIC or first[0] == index:
            return None
        return first[1]

    def _carried_forward(self, ptr: str, given: str, expected: str) -> FieldResult:
        credit = self.plan.credit
        share = "" if credit == 1 else self.plan.say("fb_worth", share=fmt_frac(credit))
        return self._result(
            ptr,
            "carried_forward",
            given,
            self.plan.say("fb_carried", share=share, expected=expected),
        )

    def _degenerate(self, differs: Sequence[str]) -> Words | None:
        """Why the student's own inputs make this computation trivial, or None.

        Only inputs nothing explains count (not right, not carried forward, not a catalogue
        mistake): a zero that a real mistake produced is honest work to build on, while a
        zero written down to make everything after it trivial must earn nothing — and so
        must everything built on a value that was denied this way.
        """
        for p in differs:
            if p in self.foreign_taint:
                return _FOREIGN
            if p in self.wrong_givens:
                return Words.of("why_wrong_given", label=self.labels.get(p, p))
            if p in self.tainted:
                return Words.of("why_tainted", label=self.labels.get(p, p))
        # A value the student's own earlier answers give (relu of their negative h, a
        # product with their own zero) is explained: only a zero written where its own
        # inputs do not give it is a shortcut.
        for p in differs:
            if p in self.explained:
                continue
            mine = self.own.get(p)
            if mine is not None and mine.value == 0 and self.sol.values[p] != 0:
                return Words.of("why_zero", label=self.labels.get(p, p))
        return None

    def _diagnose(
        self, ctx: _NumberContext, index: int, number: StudentNumber, rule: Any
    ) -> list[Diagnosis]:
        """The catalogue mistakes whose replay from the student's own earlier values (the
        key's where they gave none) reproduces the student's number, likeliest first."""
        comp = ctx.comp

        def inputs() -> _Inputs:
            return self._own_inputs(comp)

        found: list[Diagnosis] = []
        for mistake_id in comp.mistakes:
            record, rates = mistake(mistake_id), None
            if record.implied_rate:
                line = self.plan.rate_line(
                    ctx.index, comp, ctx.own_signature, lambda: inputs().points
                )
                rates = self._implied_rates(line, index, number)
            for variation in record.variations(self.ctx, Evidence(rates, self._all_rates)):
                expected = self.plan.run(
                    ctx.index, comp, ctx.own_signature, variation.rules, inputs
                )
                if expected is not None and accepts(rule, number, expected[index], self.k):
                    found.append(variation.diagnosis())
                    break
        # A mistake this student has already made is the likelier explanation.
        found.sort(key=lambda d: -self.seen[d.id])
        for d in found[:1]:
            self.seen[d.id] += 1
        return found

    def _implied_rates(
        self, line: RateLine | None, index: int, number: StudentNumber
    ) -> Interval | None:
        if line is None:
            return None
        # in mode "all" the student rounded the result: undo that first
        written = self.iops.record(number.interval(self.k))
        try:
            return implied_rates(line, index, written)
        except (ArithmeticError, ValueError, TypeError):
            return None

    def _all_rates(self) -> list[Interval]:
        """The learning rates each of the student's updates implies (computed once), so a
        field that says little about the rate can be read in the light of the others."""
        if self.rates is None:
            self.rates = []
            for index, comp in enumerate(self.sol.computations):
                if not any(mistake(m).implied_rate for m in comp.mistakes):
                    continue
                given = {p: n for p in comp.inputs if (n := self._peek(p)) is not None}
                signature = tuple(given[p].text if p in given else None for p in comp.inputs)

                def points(
                    comp: Computation = comp, given: dict[str, StudentNumber] = given
                ) -> Any:
                    values = {p: self.sol.values[p] for p in comp.inputs}
                    values.update({p: n.value for p, n in given.items()})
                    return values

                line = self.plan.rate_line(index, comp, signature, points)
                for out, ptr in enumerate(comp.outputs):
                    number = self._peek(ptr)
                    rates = self._implied_rates(line, out, number) if number else None
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
        number = self.plan.number(leaf.text)
        return None if isinstance(number, NumberError) else number

    # ------------------------------------------------------------ formula fields

    def _formula(self, comp: Computation) -> list[FieldResult]:
        from grader.grade import formulas, lhs

        results: list[FieldResult] = []
        key_points = {p: self.sol.values[p] for p in comp.inputs}
        for i, ptr in enumerate(comp.outputs):
            leaf = self.answers.get(ptr)
            if not isinstance(leaf, Given):
                results.append(self._unreadable(ptr, leaf))
                continue
            key = self.sol.values[ptr]
            variables, generic = formula_names(key, self.plan.variant)
            functions, aliases = formulas.vocabulary(self.ctx.activation, generic)
            key_words = self.plan.key_text(ptr)
            named, text, offset = None, leaf.text, 0
            try:
                if comp.quantity is not None:  # an optional left-hand side: df/dx = …
                    named, text, offset = lhs.split_lhs(leaf.text)
                readings = formulas.read_formula(text, variables, functions, generic, aliases)
            except (formulas.FormulaError, lhs.LhsError) as exc:
                at = exc.position + offset if isinstance(exc, formulas.FormulaError) else 0
                reason = exc.said(self.plan.language)
                results.append(self._unreadable(ptr, Invalid(reason, leaf.text, at)))
                continue
            if named is not None and named != comp.quantity:
                asked = lhs.describe(comp.quantity or ())
                words = self.plan.say(
                    "fb_other_quantity",
                    expected=key_words,
                    written=lhs.describe(named),
                    asked=asked,
                )
                results.append(self._result(ptr, "incorrect", leaf.text, words))
                continue
            results.append(self._formula_result(comp, i, ptr, leaf.text, readings, key, key_points))
        return results

    def _formula_result(
        self,
        comp: Computation,
        index: int,
        ptr: str,
        given: str,
        readings: Any,
        key: Any,
        key_points: Mapping[str, Any],
    ) -> FieldResult:
        """Grade a readable formula (``readings``, see formulas.read_formula)."""
        from grader.grade import formulas

        variables, generic = formula_names(key, self.plan.variant)
        key_words = self.plan.key_text(ptr)
        expr = readings.expr
        same = formulas.equivalent(expr, key, variables, generic, timeout=FORMULA_TIMEOUT)
        # "1/2x": read by the stated convention; the other reading matters only when it
        # would be judged otherwise (then the report says so and the field is flagged)
        note: list[str] = []
        flags: tuple[str, ...] = ()
        if readings.other is not None and same is not None:
            other = formulas.equivalent(
                readings.other, key, variables, generic, timeout=FORMULA_TIMEOUT
            )
            if other is not None and other != same:
                note.append(
                    self.plan.say(
                        "fb_division_right" if other else "fb_division_wrong",
                        read=formulas.formula_text(expr),
                        other=formulas.formula_text(readings.other),
                    )
                )
                flags = (f"{AMBIGUOUS_DIVISION}:{ptr}",)
        if same:
            words = " ".join([self.plan.say("fb_correct", expected=key_words), *note])
            return self._result(ptr, "correct", given, words, flags=flags)
        if same is None:
            return self._result(
                ptr,
                "incorrect",
                given,
                self.plan.say("fb_review", expected=key_words),
                review=True,
            )
        diagnosis = self._diagnose_formula(comp, index, expr, key, key_points, variables, generic)
        if not diagnosis:
            diagnosis = [Diagnosis(ARITHMETIC, NO_MISTAKE_FOR_FORMULA)]
        sentences = [self.plan.say("fb_expected", expected=key_words), *note]
        sentences += _explanations(diagnosis, self.labels[ptr], self.ctx, self.plan.language)
        return self._result(ptr, "incorrect", given, " ".join(sentences), diagnosis, flags=flags)

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
        from grader.grade import formulas

        found: list[Diagnosis] = []
        tried: list[Any] = [key]
        for mistake_id in comp.mistakes:
            record = mistake(mistake_id)
            for variation in record.variations(self.ctx):
                try:
                    alt = comp.compute(key_points, self.fops, variation.rules)[index]
                except (ArithmeticError, ValueError, TypeError, IndexError):
                    continue
                if any(alt == t for t in tried):  # a no-op variation (e.g. no such path)
                    continue
                tried.append(alt)
                if formulas.equivalent(expr, alt, variables, generic, timeout=DIAGNOSIS_TIMEOUT):
                    said = variation.said
                    if record.formula_detail is not None:
                        said = record.formula_detail(key, alt)
                    found.append(Diagnosis(mistake_id, said))
                    break
        return found


def _explanations(
    diagnosis: Sequence[Diagnosis], label: str, ctx: MistakeContext, language: str = "en"
) -> list[str]:
    """The likely mistake first; other mistakes that reproduce the number as alternatives."""
    words = [explain(d, label, ctx, language) for d in diagnosis]
    return [w if i == 0 else say(language, "fb_alternative", text=w) for i, w in enumerate(words)]


def formula_names(expr: Any, variant: Variant) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A key formula's variables and generic functions, as sorted names.

    Variables: the free symbols of the key, plus the exercise's declared variables (a
    key such as ∂f/∂x = −y may have lost one that a correct unsimplified answer uses).
    Generic functions: the undefined functions in it (``f``), other than the known ones.
    """
    from sympy.core.function import AppliedUndef

    from grader.grade.formulas import DEFAULT_FUNCTIONS

    names = {str(s) for s in expr.free_symbols}
    names.update(variant.family.formula_variables(variant.params))
    generic = {str(f.func) for f in expr.atoms(AppliedUndef)} - set(DEFAULT_FUNCTIONS)
    return tuple(sorted(names)), tuple(sorted(generic))


def _field_label(comp: Computation, ptr: str, family: Exercise, language: str) -> str:
    """The computation's label in the report's language, plus the entry for a computation
    with several outputs."""
    label = family.field_label(comp, language)
    if not label:  # a family that names no label: the answer's path
        return ptr
    if len(comp.outputs) == 1:
        return label
    split = [p.split("/") for p in comp.outputs]
    common = 0
    while all(len(s) > common and s[common] == split[0][common] for s in split):
        common += 1
    entry = "".join(f"[{x}]" for x in ptr.split("/")[common:])
    return f"{label} {entry}"
