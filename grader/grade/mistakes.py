"""The catalogue of typical mistakes, each a variation of the engine's :class:`Rules`.

A diagnosis is found by replaying a field's own computation, from the student's own
earlier values, under each variation the computation declares
(:attr:`grader.exercises.base.Computation.mistakes`): the variation that reproduces the
student's number names the mistake.  Nothing here is written for one question: a new
exercise family gets diagnoses by declaring which mistakes can show up in a field.

>>> [(v.mistake, v.rules.delta_sign) for v in variations("sign_flip", MistakeContext())]
[('sign_flip', -1)]
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Any

from grader.core.engine import TRANSPOSE_KINDS, FractionOps, Ops, Rounding, Rules, TransposeKind
from grader.core.intervals import Interval
from grader.core.numbers import fmt_dec, fmt_frac
from grader.core.wording import Words, feedback_words
from grader.exercises.base import Computation, MistakeContext, Solution

ARITHMETIC = "arithmetic"
FORMULA_DETAIL = "no catalogue mistake reproduces this formula"  # arithmetic, for a formula
ROUNDING = "rounding"  # the right value, rounded where the sheet asks for more (no Rules)
MAX_PATHS = 8  # chain rule: the paths (terms) tried when looking for a missing one
MAX_SIMPLE_DENOMINATOR = 4  # "simple" learning rates: 1/2, 3/4, 2, 5 …
MAX_SIMPLE_RATE = 10  # a simple rate nobody gave is still a rate someone might use
MAX_RATE = 1000

# A·B as the correct method writes it, done with one transpose wrong (see engine.product):
# the words detail_transposed_<kind> (the report JSON's detail keeps the English)
_TRANSPOSED: dict[TransposeKind, Words] = {
    kind: Words.of(f"detail_transposed_{kind}") for kind in TRANSPOSE_KINDS
}
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class Variation:
    """One way of doing a computation wrong: the mistake, its rules, and a detail text
    (English, for the report JSON; ``words``: the same said in any language)."""

    mistake: str
    rules: Rules
    detail: str
    words: Words | None = None


def variations(
    mistake: str,
    ctx: MistakeContext,
    rates: Interval | None = None,
    other_rates: OtherRates = (),
) -> Iterator[Variation]:
    """The rule variations that make up ``mistake``.

    ``learning_rate`` needs ``rates``, the interval of rates the student's number implies
    (:func:`implied_rates`), and ``other_rates``, those the student's other updates imply:
    it yields the plausible rate that fits, if any (see :func:`pick_rate`).
    """
    if mistake == "sign_flip":
        yield Variation(mistake, Rules(delta_sign=-1), "δ computed with (y − ŷ) instead of (ŷ − y)")
    elif mistake == "missing_factor_2":
        yield Variation(mistake, Rules(factor_2_error=True), _factor_2_detail(ctx))
    elif mistake == "missing_activation_derivative":
        yield Variation(mistake, Rules(derivative="one"), f"the factor {_fprime(ctx)} left out")
    elif mistake == "wrong_activation_derivative":
        yield Variation(
            mistake, Rules(derivative="value"), f"{_fprime(ctx)} taken as the activation itself"
        )
    elif mistake == "gradient_ascent":
        yield Variation(mistake, Rules(update_sign=+1), "W + γ·∂L/∂W instead of W − γ·∂L/∂W")
    elif mistake == "learning_rate":
        rate = pick_rate(rates, ctx.learning_rate, other_rates) if rates is not None else None
        if rate is not None:
            yield Variation(mistake, Rules(learning_rate=rate), fmt_frac(rate))
    elif mistake == "wrong_observation":
        for j, row in enumerate(ctx.observations):
            values = ", ".join(fmt_frac(v) for v in row if isinstance(v, Fraction))
            said = Words.of("diagnosis_observation", number=j + 1, values=values)
            yield Variation(mistake, Rules(observation=j), said.said("en"), said)
    elif mistake == "missing_path":
        for i in range(MAX_PATHS):
            said = Words.of("diagnosis_path", number=i + 1)
            yield Variation(mistake, Rules(omit_term=i), f"path {i + 1} left out", said)
    elif mistake == "transposed":
        for kind in TRANSPOSE_KINDS:
            said = _TRANSPOSED[kind]
            yield Variation(mistake, Rules(transpose=kind), said.said("en"), said)
    elif mistake == "unnormalized_softmax":
        yield Variation(mistake, Rules(normalize=False), "exp(z) taken as the probabilities")
    elif mistake == "wrong_class":
        for j in range(ctx.classes):
            said = Words.of("diagnosis_class", number=j + 1)
            yield Variation(mistake, Rules(target_class=j), f"class {j + 1}", said)
    elif mistake == "log_base_10":
        yield Variation(mistake, Rules(log_name="log10"), "log₁₀ taken instead of ln")
    elif mistake == "missing_bias_gradient":
        yield Variation(mistake, Rules(bias_gradient=False), "the biases' gradient left out")


# ---------------------------------------------------------------- the learning rate


RateLine = tuple[Sequence[Any], Sequence[Any]]
# the rates a student's other updates imply, or a function that works them out on demand
OtherRates = Sequence[Interval] | Callable[[], Sequence[Interval]]


def rate_line(comp: Computation, values: Mapping[str, Any]) -> RateLine:
    """The outputs of ``comp`` on ``values`` (exact points) at learning rates 0 and 1.

    An update is linear in the rate: f(γ) = f(0) + γ·(f(1) − f(0)); these two runs are
    all :func:`implied_rates` needs for any answer (so a batch can keep them).
    """
    ops = FractionOps(Rounding("exact"))  # no recording rounding: keep f linear in γ
    f0 = comp.compute(values, ops, Rules(learning_rate=Fraction(0)))
    f1 = comp.compute(values, ops, Rules(learning_rate=Fraction(1)))
    return f0, f1


def implied_rates(line: RateLine, index: int, answer: Interval) -> Interval | None:
    """The learning rates under which output ``index`` of a computation, whose
    :func:`rate_line` is ``line``, gives ``answer``; None when the rate does not matter
    there (a zero gradient)."""
    f0, f1 = line[0][index], line[1][index]
    if not isinstance(f0, Fraction) or not isinstance(f1, Fraction) or f1 == f0:
        return None
    return (answer - f0) / (f1 - f0)


def pick_rate(
    rates: Interval, given: Fraction | None, other_rates: OtherRates = ()
) -> Fraction | None:
    """The plausible learning rate in ``rates`` other than the given one, or None.

    Plausible: a slip of the given rate (γ/10, 10γ, γ/2, 2γ, …, or 1 for a forgotten γ)
    or a simple fraction up to 10 (quarters at most).  Requiring plausibility keeps an arbitrary wrong number
    (which always implies *some* rate) from being called a learning-rate mistake.  When
    the student's number fits several (a tiny gradient says little about the rate), the
    one that fits most of the student's other updates wins, then the likelier slip.

    >>> pick_rate(Interval(Fraction(49, 100), Fraction(51, 100)), Fraction(5))
    Fraction(1, 2)
    >>> pick_rate(Interval(Fraction(123, 1000), Fraction(124, 1000)), Fraction(5)) is None
    True
    >>> pick_rate(Interval(Fraction(4, 10), 2), Fraction(5), [Interval(Fraction(1, 2))])
    Fraction(1, 2)
    """
    # In integers (a rate is p/q in lowest terms): this runs for every wrong update.
    lo_n, lo_d = rates.lo.numerator, rates.lo.denominator
    hi_n, hi_d = rates.hi.numerator, rates.hi.denominator
    given_pq = None if given is None else (given.numerator, given.denominator)
    candidates = [(r.numerator, r.denominator) for r in _slips(given)]
    for q in range(1, MAX_SIMPLE_DENOMINATOR + 1):
        p = max(1, -(-lo_n * q // lo_d))  # the smallest p/q ≥ lo
        if p <= MAX_SIMPLE_RATE * q:
            g = gcd(p, q)
            candidates.append((p // g, q // g))
    fitting = [
        Fraction(p, q)
        for p, q in dict.fromkeys(candidates)
        if 0 < p <= MAX_RATE * q
        and (p, q) != given_pq
        and lo_n * q <= p * lo_d  # lo ≤ p/q ≤ hi
        and p * hi_d <= hi_n * q
    ]
    if len(fitting) <= 1:
        return fitting[0] if fitting else None
    if callable(other_rates):
        other_rates = other_rates()
    votes = [sum(1 for other in other_rates if other.contains(r)) for r in fitting]
    return fitting[votes.index(max(votes))]


@lru_cache(maxsize=64)
def _slips(given: Fraction | None) -> tuple[Fraction, ...]:
    """1 (a forgotten γ), then the slips of the given rate: γ/10, 10γ, …, γ/2, 2γ."""
    candidates = [Fraction(1)]
    if given is not None:
        for k in (1, 2, 3):
            candidates += [given / 10**k, given * 10**k]
        candidates += [given / 2, given * 2]
    return tuple(candidates)


# ---------------------------------------------------------------- words for students


def symbol(label: str) -> str:
    """The quantity's symbol from a computation label, digits as subscripts ("δ3 of step 1" → "δ₃")."""
    head = label.split(" ", 1)[0]
    return head.translate(_SUBSCRIPTS)


def _layer(label: str) -> str:
    digits = "".join(ch for ch in label.split(" ", 1)[0] if ch.isdigit())
    return digits.translate(_SUBSCRIPTS)


_FPRIME = {"sigmoid": "σ′", "tanh": "tanh′", "relu": "relu′"}
_TRUE_DERIVATIVE = {
    "sigmoid": "σ′(h) = o(1 − o)",
    "tanh": "tanh′(h) = 1 − o²",
    "relu": "relu′(h) = 1 for h > 0, else 0",
    "identity": "f′(h) = 1",
    "hard_sigmoid": "f′(h) = 1/4 for −2 < h < 2, else 0",
    "softsign": "f′(h) = 1/(1 + |h|)²",
}


def _fprime(ctx: MistakeContext) -> str:
    return _FPRIME.get(ctx.activation or "", "f′")


def _factor_2_detail(ctx: MistakeContext) -> str:
    if ctx.loss == "half_mse":
        return "a factor 2 too many: d/dŷ ½(y − ŷ)² = −(y − ŷ)"
    return "the factor 2 of d/dŷ (y − ŷ)² = −2(y − ŷ) left out"


def explain(
    mistake: str,
    detail: str,
    label: str,
    ctx: MistakeContext,
    language: str = "en",
    words_of_detail: Words | None = None,
) -> str:
    """One or two sentences a student learns from: what the mistake is and the right way.

    The sentences live in ``templates/feedback.words.yaml`` as ``diagnosis_<id>`` (one
    entry per language: a new diagnosis needs no code here); they may use ``{sym}`` (the
    field's symbol), ``{n}`` (its layer), ``{fp}`` (the activation's derivative), ``{c}``
    (the loss's factor), ``{rule}`` (the true derivative), ``{detail}``, and for the
    learning rate ``{used}`` and ``{instead}``.  ``words_of_detail`` is the detail said in
    any language (else the parts of an English detail are recognised and said).
    """
    words = feedback_words(language)
    key = f"diagnosis_{mistake}"
    if mistake == "missing_factor_2" and ctx.loss == "half_mse":
        key = "diagnosis_missing_factor_2_half"
    if mistake == "sign_flip" and ctx.loss == "cross_entropy":
        key = "diagnosis_sign_flip_softmax"
    if mistake == ARITHMETIC and detail == FORMULA_DETAIL:
        key = "diagnosis_arithmetic_formula"
    if key not in words:
        return detail
    given = ctx.learning_rate
    # the parts of a detail (English in the report JSON's "detail") said in the language
    part = _DETAIL_PARTS.fullmatch(detail)
    what = (
        words_of_detail.said(language)
        if words_of_detail is not None
        else words["diagnosis_observation"].format(
            number=part["observation"], values=part["values"]
        )
        if part and part["observation"]
        else words["diagnosis_path"].format(number=part["path"])
        if part and part["path"]
        else words["diagnosis_term"].format(term=part["term"])
        if part and part["term"]
        else words["diagnosis_class"].format(number=part["class"])
        if part and part["class"]
        else detail
    )
    return words[key].format(
        sym=symbol(label),
        n=_layer(label),
        fp=_fprime(ctx),
        c="" if ctx.loss == "half_mse" else "2",
        rule=_TRUE_DERIVATIVE.get(ctx.activation or "", "f′(h)"),
        detail=what,
        used=_rate_text(detail) if mistake == "learning_rate" else "",
        instead="" if given is None else words["diagnosis_instead_of"].format(rate=fmt_frac(given)),
    )


_DETAIL_PARTS = re.compile(
    r"observation (?P<observation>\d+) \((?P<values>[^()]*)\)"
    r"|path (?P<path>\d+) left out|the term (?P<term>.+) is missing|class (?P<class>\d+)"
)


def _rate_text(detail: str) -> str:
    try:
        p, _, q = detail.partition("/")
        rate = Fraction(int(p), int(q or "1"))
    except ValueError:
        return detail
    return detail if rate.denominator == 1 else f"{detail} = {fmt_dec(rate, 4).rstrip('0')}"


# ---------------------------------------------------------------- synthetic students


def replay(
    solution: Solution,
    ops: Ops,
    rules: Rules,
    *,
    write: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Every leaf as a student who makes ``rules``' mistake everywhere computes it: each
    computation in order, from the student's own earlier values.  ``write`` turns each
    value into what the student writes down *and then keeps using* (e.g. rounding to 4
    decimals); formula leaves are kept as they are.

    With :data:`~grader.core.engine.CORRECT` and the key's ops this reproduces the key.
    """
    values: dict[str, Any] = {}
    for comp in solution.computations:
        outputs = comp.compute({p: values[p] for p in comp.inputs}, ops, rules)
        for ptr, value in zip(comp.outputs, outputs, strict=True):
            keep = write is not None and comp.kind == "number"
            values[ptr] = write(value) if keep and write is not None else value
    return values


def submission_from(
    values: Mapping[str, Any], layout: Any, exercise_id: str, text: Callable[[Any], Any]
) -> dict[str, Any]:
    """The ``answers`` entry of a submission: ``layout`` (a template) with each leaf set
    to ``text(value)`` from ``values`` (keyed by pointers under ``/answers/<exercise_id>``)."""
    filled = json.loads(json.dumps(layout))  # a deep copy; templates are plain JSON
    prefix = f"/answers/{exercise_id}/"
    for ptr, value in values.items():
        parts = [p.replace("~1", "/").replace("~0", "~") for p in ptr[len(prefix) :].split("/")]
        node = filled
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = text(value)
        else:
            node[last] = text(value)
    return filled
