"""Per-student variants: a secret-keyed seed, then a search for a good instance.

The seed is HMAC-SHA256(secret, assignment id, exercise id, student id): without
the course secret nobody (including a student with this open-source tool) can
compute another student's numbers.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import random
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from grader.core.engine import NumberGrowthError
from grader.core.errors import UserError
from grader.core.memo import IdentityMemo
from grader.course.assignment import Assignment, ExerciseSpec, VariantSearch, fixed_params
from grader.course.secret import secret_from_env
from grader.exercises import get_exercise
from grader.exercises.base import Exercise, Screened, Solution

# Only `grader demo` uses this, and says so: never use it for a real course.
DEMO_SECRET = b"DEMO-SECRET-not-for-real-courses"
MAX_ATTEMPTS = 5000

# Versions of the variant search.  A course's variants are re-derived from its secret
# whenever it is checked, so a build records the version it was made with and ``check``
# re-derives with that one; a new build uses the newest.  1: the first releases' search
# (pinned by tests/test_variant_golden.py).  2: the same draws, but a candidate the
# family says does not read well (:meth:`Exercise.reads_well`) is skipped.
VARIANT_SEARCH_VERSIONS: tuple[int, ...] = get_args(VariantSearch)
VARIANT_SEARCH_VERSION = VARIANT_SEARCH_VERSIONS[-1]


@dataclass(frozen=True)
class Variant:
    exercise: ExerciseSpec
    params: BaseModel
    solution: Solution

    @property
    def family(self) -> Exercise:
        """The exercise family of this variant: what the core asks about it goes through
        the family's hooks (:class:`~grader.exercises.base.Exercise`)."""
        return get_exercise(self.exercise.type)


def seed_bytes(secret: bytes, assignment_id: str, exercise_id: str, student_id: str) -> bytes:
    # NUL separators: ids cannot contain NUL, so ("a", "bc") and ("ab", "c") never collide.
    message = "\x00".join((assignment_id, exercise_id, student_id)).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).digest()


def student_rng(
    secret: bytes, assignment_id: str, exercise_id: str, student_id: str
) -> random.Random:
    return random.Random(
        int.from_bytes(seed_bytes(secret, assignment_id, exercise_id, student_id), "big")
    )


def is_fully_fixed(spec: ExerciseSpec) -> bool:
    """True when the instructor gave every parameter the variant search would draw
    (a value of ``"random"`` asks for a draw explicitly)."""
    model = get_exercise(spec.type).Params
    given = {k for k, v in spec.params.items() if v != "random"}
    required = {k for k, f in model.model_fields.items() if f.is_required()}
    randomized = set(get_exercise(spec.type).randomized)
    return required <= given and randomized <= given


def needs_secret(assignment: Assignment) -> bool:
    return not all(is_fully_fixed(spec) for spec in assignment.exercises)


def read_secret(assignment: Assignment, *, demo: bool = False) -> bytes | None:
    """The course secret from the environment variable the assignment names.

    None when every exercise is fully fixed (no secret is needed); a UserError when
    one is needed and missing.
    """
    if demo:
        return DEMO_SECRET
    value = secret_from_env(assignment.secret_env)  # bytes as given, refused when weak
    if value is not None:
        return value
    if needs_secret(assignment):
        raise UserError(
            f"the environment variable {assignment.secret_env} is not set; it holds the course secret "
            "that makes each student's variant (keep it out of the repository)",
        )
    return None


# The fixed parameters of the exercises of recent assignments, validated once per build
# instead of once per student (pydantic builds a validator per parameter): spec -> fixed.
# Keyed by identity and holding the spec, so an entry can never answer for another spec.
_FIXED_CACHE_SIZE = 64
_FIXED_CACHE: IdentityMemo[ExerciseSpec, dict[str, Any]] = IdentityMemo(_FIXED_CACHE_SIZE)
# Variants that do not depend on the student (every parameter fixed, or no secret): spec ->
# its one variant.  Variants are never modified once made, so students can share one.
_SHARED_CACHE: IdentityMemo[ExerciseSpec, Variant] = IdentityMemo(_FIXED_CACHE_SIZE)


def _fixed(spec: ExerciseSpec, index: int) -> dict[str, Any]:
    """``fixed_params(spec, index=index)``, computed once per spec (a fresh dict per call)."""
    return dict(_FIXED_CACHE.make(spec, lambda: fixed_params(spec, index=index), index))


def make_variant(
    assignment: Assignment,
    index: int,
    student_id: str,
    secret: bytes | None,
    formulas: bool = True,
    version: int | None = None,
) -> Variant:
    """The exercise's parameters and worked solution for one student (``formulas=False``:
    a solution for sheets and keys, see :meth:`grader.exercises.base.Exercise.solve`),
    drawn by the variant search of ``version`` (see :data:`VARIANT_SEARCH_VERSIONS`; None:
    the one the assignment pins, else the newest)."""
    version = search_version(assignment) if version is None else version
    if version not in VARIANT_SEARCH_VERSIONS:
        raise UserError(
            f"variant search version {version!r} is unknown to this grader "
            f"(it knows {', '.join(map(str, VARIANT_SEARCH_VERSIONS))}); upgrade backprop-grader"
        )
    spec = assignment.exercises[index]
    exercise = get_exercise(spec.type)
    fixed = _fixed(spec, index)
    if is_fully_fixed(spec) or secret is None:
        # the same for every student: solved once per spec (a class shares one variant)
        shared = _SHARED_CACHE.get(spec, formulas)
        if shared is not None:
            return shared
        params = exercise.Params.model_validate(fixed)
        try:
            variant = Variant(spec, params, exercise.solve(params, spec.id, formulas=formulas))
        except NumberGrowthError as exc:
            raise UserError(str(exc), where=f"/exercises/{index}/params") from None
        return _SHARED_CACHE.keep(spec, variant, formulas)
    rng = student_rng(secret, assignment.id, spec.id, student_id)
    refused = _Refusals()
    for _ in range(MAX_ATTEMPTS):
        try:
            candidate = _candidate(exercise, rng, fixed)
            if candidate is None:
                refused.count("screen")
                continue
            params, screened = candidate
            if version >= 2 and not exercise.reads_well(params):
                refused.count("reads_well")
                continue
            solution = exercise.solve(params, spec.id, formulas=formulas, screened=screened)
        except ValidationError as exc:
            refused.count("invalid", _first_validation_message(exc))
            continue
        except (ValueError, NumberGrowthError) as exc:
            refused.count("unsolvable", str(exc))
            continue
        if exercise.is_nice(params, solution, fixed):
            return Variant(spec, params, solution)
        refused.count("not_nice")
    raise UserError(
        f"no good variant found for exercise {spec.id!r} after {MAX_ATTEMPTS} tries: "
        f"{refused.summary()}; {_search_advice(spec)}",
        file=assignment.source or None,
        where=assignment.where(f"/exercises/{index}/params"),
    )


# Why the variant search refused its candidates, in the words an instructor acts on.
_REFUSAL_WORDS = {
    "screen": "the values drawn break the exercise's rules for a good instance (checked "
    "before solving)",
    "reads_well": "the drawn graph would not read like a textbook formula",
    "invalid": "the drawn parameters are invalid together with the fixed ones",
    "unsolvable": "the drawn parameters cannot be solved",
    "not_nice": "the solution is not a good instance (values too long, too large, or degenerate)",
}


class _Refusals:
    """A tally of refused candidates by the stage that refused them, with the first reason
    each stage gave (a pydantic or engine message names the rule that was broken)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.first_reason: dict[str, str] = {}

    def count(self, stage: str, reason: str = "") -> None:
        self.counts[stage] = self.counts.get(stage, 0) + 1
        if reason:
            self.first_reason.setdefault(stage, reason)

    def summary(self) -> str:
        total = sum(self.counts.values())
        parts = []
        for stage, n in sorted(self.counts.items(), key=lambda item: (-item[1], item[0])):
            share = "every draw" if n == total else f"{n} of {total} draws"
            text = f"{share}: {_REFUSAL_WORDS[stage]}"
            if stage in self.first_reason:
                text += f" (first: {self.first_reason[stage]})"
            parts.append(text)
        return "; ".join(parts)


def _first_validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    place = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{place}: {message}" if place else message


def _search_advice(spec: ExerciseSpec) -> str:
    """What to change: the instructor's fixed values are what narrow the search."""
    fixed = sorted(k for k, v in spec.params.items() if v != "random")
    if fixed:
        return f"fix fewer parameters or choose friendlier ones (fixed here: {', '.join(fixed)})"
    return "choose friendlier ranges or sizes for this exercise"


def _candidate(
    exercise: Exercise, rng: random.Random, fixed: dict[str, Any]
) -> tuple[BaseModel, Screened] | None:
    """The next candidate's validated parameters with the screen's verdict on them (the
    work ``solve`` may reuse), or None when the exercise's ``screen`` (a cheap first look
    that rejects only what ``is_nice`` would) rejects them.

    An exercise with ``draw`` (the values ``sample`` validates) is screened before
    validation, which costs more than the screen itself, for nine candidates in ten
    are rejected.  The screen then sees the drawn values as they are: validation changes
    none of them (drawn numbers are Fractions, fixed ones were validated already), so
    it decides as it would on the validated model.  Values it cannot read go the plain
    way, validation first.  Either way the same draws are made in the same order.
    """
    values = exercise.draw(rng, fixed)
    if values is None:  # the family draws only by sampling
        params = exercise.sample(rng, fixed)
        return _screened(exercise, params, fixed)
    drawn = _construct(exercise.Params, values)
    try:
        passed: Screened | None = exercise.screen(drawn, fixed)
    except Exception:  # malformed values (validation will say how), or the screen's own error
        passed = None
    if passed is not None and not passed:
        return None
    params = exercise.Params.model_validate(values)
    if passed is None or params.__dict__ != drawn.__dict__:
        return _screened(exercise, params, fixed)
    return params, passed  # the same values: the screen's work holds for them


def _screened(
    exercise: Exercise, params: BaseModel, fixed: dict[str, Any]
) -> tuple[BaseModel, Screened] | None:
    verdict = exercise.screen(params, fixed)
    return (params, verdict) if verdict else None


def _construct(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    """``model.model_construct(**values)`` with the defaults of the fields ``values`` lacks
    made once per model, not copied for every candidate (a drawn candidate is only read)."""
    return model.model_construct(_fields_set=set(values), **(_defaults(model) | values))


@functools.cache
def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in model.model_fields.items()
        if not field.is_required()
    }


def search_version(assignment: Assignment) -> int:
    """The variant search an assignment's variants are drawn by: the one it pins
    (``variant_search``), else the newest."""
    return assignment.variant_search or VARIANT_SEARCH_VERSION


def make_variants(
    assignment: Assignment,
    student_id: str,
    secret: bytes | None,
    *,
    formulas: bool = True,
    version: int | None = None,
) -> list[Variant]:
    return [
        make_variant(assignment, i, student_id, secret, formulas, version)
        for i in range(len(assignment.exercises))
    ]
