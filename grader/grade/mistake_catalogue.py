"""The catalogue of typical mistakes: one :class:`Mistake` record each, the one place the
grader learns about a mistake.

A record says how the mistake is made — the :class:`~grader.core.engine.Rules` variations
that replay it (the engine knows how to follow each convention; the record picks which) —
and how it is said to a student: the sentence ``diagnosis_<id>`` of
``templates/feedback.words.yaml`` (en, ru), or another one a variation names, with its
arguments as data (:class:`Detail`).  A family declares on a computation which mistakes can
show up there (:attr:`grader.exercises.base.Computation.mistakes`); the grader tries those,
and nothing else here is written for one exercise.

Two records are verdicts, not mistakes a rule replays: ``rounding`` (the right value,
rounded coarser than the sheet asks) and ``arithmetic`` (nothing in the catalogue
reproduces the number).  ``tests/test_mistake_catalogue.py`` holds the records, the
``MistakeId`` names, the words files, the summary page's names and the README's table to
one list.

>>> [r.id for r in CATALOGUE.values()][:3]
['sign_flip', 'learning_rate', 'missing_factor_2']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from grader.core.engine import TRANSPOSE_KINDS, Rules
from grader.core.intervals import Interval
from grader.core.numbers import fmt_dec, fmt_frac
from grader.core.wording import Words
from grader.exercises.base import MistakeContext
from grader.grade.rates import OtherRates, pick_rate

MAX_PATHS = 8  # chain rule: the paths (terms) tried when looking for a missing one


@dataclass(frozen=True)
class Detail:
    """What a diagnosis says beyond its mistake's name."""

    text: str  # English, for the report JSON's "detail" (for programs)
    # the same in the report's language, the sentence's {detail} (None: ``text``)
    words: Words | None = None
    # the words key of the sentence when not the mistake's own ``diagnosis_<id>``
    sentence: str | None = None
    # further arguments of the sentence (a Words value is said in the report's language)
    args: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Diagnosis:
    """A mistake found in one answer, and what to say about it."""

    id: str
    said: Detail = field(compare=False)
    detail: str = field(init=False)  # English, for the report JSON

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", self.said.text)


@dataclass(frozen=True)
class Variation:
    """One way of doing a computation wrong: the mistake, its rules, what it says."""

    mistake: str
    rules: Rules
    said: Detail

    @property
    def detail(self) -> str:
        return self.said.text

    def diagnosis(self) -> Diagnosis:
        return Diagnosis(self.mistake, self.said)


@dataclass(frozen=True)
class Evidence:
    """What the student's number says about the learning rate, for a record with
    ``implied_rate``: the ``rates`` that reproduce it (see grader.grade.rates) and those the
    student's other updates imply."""

    rates: Interval | None = None
    other_rates: OtherRates = ()


# A record's variations for a variant: (rules, detail) pairs.
Vary = Callable[[MistakeContext, Evidence], Iterable[tuple[Rules, Detail]]]


@dataclass(frozen=True)
class Mistake:
    """One typical mistake, all the grader knows about it."""

    id: str  # the diagnosis id in reports; also a MistakeId a computation declares
    # how it is made: the Rules variations for a variant (None: a verdict no rule replays)
    vary: Vary | None
    # every feedback word its explanation may say besides ``diagnosis_<id>`` (another
    # sentence, the words of its detail): checked against the words files by the tests
    words: tuple[str, ...] = ()
    # the grader works out which learning rates the student's number implies (from two
    # exact runs of the computation) and hands them to ``vary`` as :class:`Evidence`
    implied_rate: bool = False
    # for a formula answer: the detail, from the key's formula and the mistaken one
    # (None: the variation's own)
    formula_detail: Callable[[Any, Any], Detail] | None = None

    def variations(
        self, ctx: MistakeContext, evidence: Evidence = Evidence()
    ) -> Iterator[Variation]:
        if self.vary is not None:
            for rules, said in self.vary(ctx, evidence):
                yield Variation(self.id, rules, said)


CATALOGUE: dict[str, Mistake] = {}


def register(record: Mistake) -> Mistake:
    """Add ``record`` to the catalogue (the records below are added when it is imported)."""
    if record.id in CATALOGUE:
        raise ValueError(f"mistake {record.id!r} is in the catalogue already")
    CATALOGUE[record.id] = record
    return record


def mistake(mistake_id: str) -> Mistake:
    """The record of ``mistake_id``; a family that declares an unknown one is told so."""
    try:
        return CATALOGUE[mistake_id]
    except KeyError:
        raise KeyError(
            f"no mistake {mistake_id!r} in the catalogue (grader/grade/mistake_catalogue.py)"
        ) from None


def _one(rules: Rules, detail: Callable[[MistakeContext], Detail] | Detail) -> Vary:
    """A mistake made one way: one variation, with a fixed detail or one from the variant."""

    def vary(ctx: MistakeContext, evidence: Evidence) -> Iterator[tuple[Rules, Detail]]:
        yield rules, detail(ctx) if callable(detail) else detail

    return vary


# ---------------------------------------------------------------- what sentences may say

_FPRIME = {"sigmoid": "σ′", "tanh": "tanh′", "relu": "relu′"}


def fprime(ctx: MistakeContext) -> str:
    """The activation's derivative as the sentences name it (σ′, tanh′, …)."""
    return _FPRIME.get(ctx.activation or "", "f′")


def context_args(ctx: MistakeContext, words: Mapping[str, str]) -> dict[str, str]:
    """What every sentence may use about the variant: ``{fp}`` (the activation's
    derivative), ``{c}`` (the loss's factor), ``{rule}`` (the true derivative, from
    ``words``: "1 for h > 0, else 0" is said in the language too)."""
    return {
        "fp": fprime(ctx),
        "c": "" if ctx.loss == "half_mse" else "2",
        "rule": words.get(f"derivative_{ctx.activation}", "f′(h)"),
    }


# ---------------------------------------------------------------- the records


def _sign_flip(ctx: MistakeContext) -> Detail:
    # with a softmax output δ = p − onehot(y): the same slip, said with that formula
    softmax = "diagnosis_sign_flip_softmax" if ctx.loss == "cross_entropy" else None
    return Detail("δ computed with (y − ŷ) instead of (ŷ − y)", sentence=softmax)


def _factor_2(ctx: MistakeContext) -> Detail:
    if ctx.loss == "half_mse":  # the 2 that ½ cancels, written anyway
        return Detail(
            "a factor 2 too many: d/dŷ ½(y − ŷ)² = −(y − ŷ)",
            sentence="diagnosis_missing_factor_2_half",
        )
    return Detail("the factor 2 of d/dŷ (y − ŷ)² = −2(y − ŷ) left out")


def _learning_rate(ctx: MistakeContext, evidence: Evidence) -> Iterator[tuple[Rules, Detail]]:
    """The plausible rate the student's number implies, if any (see :func:`pick_rate`)."""
    if evidence.rates is None:
        return
    rate = pick_rate(evidence.rates, ctx.learning_rate, evidence.other_rates)
    if rate is None:
        return
    given = ctx.learning_rate
    instead = "" if given is None else Words.of("diagnosis_instead_of", rate=fmt_frac(given))
    args = (("used", _rate_text(rate)), ("instead", instead))
    yield Rules(learning_rate=rate), Detail(fmt_frac(rate), args=args)


def _rate_text(rate: Fraction) -> str:
    """1/2 = 0.5: a fraction with its decimal, so that the student recognises the rate."""
    text = fmt_frac(rate)
    return text if rate.denominator == 1 else f"{text} = {fmt_dec(rate, 4).rstrip('0')}"


def _wrong_observation(ctx: MistakeContext, _: Evidence) -> Iterator[tuple[Rules, Detail]]:
    for j, row in enumerate(ctx.observations):
        values = ", ".join(fmt_frac(v) for v in row if isinstance(v, Fraction))
        said = Words.of("diagnosis_observation", number=j + 1, values=values)
        yield Rules(observation=j), Detail(said.said("en"), said)


def _missing_path(ctx: MistakeContext, _: Evidence) -> Iterator[tuple[Rules, Detail]]:
    for i in range(MAX_PATHS):
        yield (
            Rules(omit_term=i),
            Detail(f"path {i + 1} left out", Words.of("diagnosis_path", number=i + 1)),
        )


def _missing_term(key: Any, mistaken: Any) -> Detail:
    """A formula with a path left out: the term that is missing, as the student writes it."""
    from grader.grade.formulas import formula_text  # sympy: only once a formula is graded

    said = Words.of("diagnosis_term", term=str(formula_text(key - mistaken)))
    return Detail(said.said("en"), said)


# A·B as the correct method writes it, done with one transpose wrong (see engine.product):
# the words detail_transposed_<kind> (the report JSON's detail keeps the English)
_TRANSPOSED = {kind: Words.of(f"detail_transposed_{kind}") for kind in TRANSPOSE_KINDS}


def _transposed(ctx: MistakeContext, _: Evidence) -> Iterator[tuple[Rules, Detail]]:
    for kind, said in _TRANSPOSED.items():
        yield Rules(transpose=kind), Detail(said.said("en"), said)


def _wrong_class(ctx: MistakeContext, _: Evidence) -> Iterator[tuple[Rules, Detail]]:
    for j in range(ctx.classes):
        yield (
            Rules(target_class=j),
            Detail(f"class {j + 1}", Words.of("diagnosis_class", number=j + 1)),
        )


for _record in (
    Mistake(
        "sign_flip",
        _one(Rules(delta_sign=-1), _sign_flip),
        words=("diagnosis_sign_flip_softmax",),
    ),
    Mistake("learning_rate", _learning_rate, words=("diagnosis_instead_of",), implied_rate=True),
    Mistake(
        "missing_factor_2",
        _one(Rules(factor_2_error=True), _factor_2),
        words=("diagnosis_missing_factor_2_half",),
    ),
    Mistake(
        "missing_activation_derivative",
        _one(Rules(derivative="one"), lambda ctx: Detail(f"the factor {fprime(ctx)} left out")),
    ),
    Mistake(
        "wrong_activation_derivative",
        _one(
            Rules(derivative="value"),
            lambda ctx: Detail(f"{fprime(ctx)} taken as the activation itself"),
        ),
    ),
    Mistake(
        "gradient_ascent",
        _one(Rules(update_sign=+1), Detail("W + γ·∂L/∂W instead of W − γ·∂L/∂W")),
    ),
    Mistake("wrong_observation", _wrong_observation, words=("diagnosis_observation",)),
    Mistake(
        "missing_path",
        _missing_path,
        words=("diagnosis_path", "diagnosis_term"),
        formula_detail=_missing_term,
    ),
    Mistake("transposed", _transposed, words=tuple(w.key for w in _TRANSPOSED.values())),
    Mistake(
        "unnormalized_softmax",
        _one(Rules(normalize=False), Detail("exp(z) taken as the probabilities")),
    ),
    Mistake("wrong_class", _wrong_class, words=("diagnosis_class",)),
    Mistake("log_base_10", _one(Rules(log_name="log10"), Detail("log₁₀ taken instead of ln"))),
    Mistake(
        "missing_bias_gradient",
        _one(Rules(bias_gradient=False), Detail("the biases' gradient left out")),
    ),
    # ---- verdicts: no rule replays them; the grader gives them (grader.grade.grading)
    Mistake("rounding", None, words=("detail_rounding", "detail_rounding_own")),
    Mistake("arithmetic", None, words=("diagnosis_arithmetic_formula",)),
):
    register(_record)

ROUNDING = "rounding"  # the right value, rounded where the sheet asks for more (no Rules)


def rounded(wrote: str, value: str, own: bool, asks: Words) -> Detail:
    """The ``rounding`` verdict's detail: the student ``wrote`` a rounding of ``value``
    (the key's, or ``own``: what their earlier answers give); the sheet ``asks`` more."""
    whose = Words.of("detail_rounding_own") if own else ""
    said = Words.of("detail_rounding", wrote=wrote, value=value, whose=whose, asks=asks)
    return Detail(said.said("en"), said)


ARITHMETIC = "arithmetic"  # nothing in the catalogue reproduces the answer
NO_MISTAKE_FOR_NUMBER = Detail("no catalogue mistake reproduces this value")
NO_MISTAKE_FOR_FORMULA = Detail(
    "no catalogue mistake reproduces this formula", sentence="diagnosis_arithmetic_formula"
)
