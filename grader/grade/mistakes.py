"""The catalogue's look-ups, and synthetic students who make a mistake everywhere.

A diagnosis is found by replaying a field's own computation, from the student's own
earlier values, under each variation of each mistake the computation declares
(:attr:`grader.exercises.base.Computation.mistakes`): the variation that reproduces the
student's number names the mistake.  The mistakes themselves are records of
:mod:`grader.grade.mistake_catalogue`; nothing here knows one of them.

>>> [(v.mistake, v.rules.delta_sign) for v in variations("sign_flip", MistakeContext())]
[('sign_flip', -1)]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from grader.core import wording
from grader.core.engine import Ops, Rules
from grader.core.intervals import Interval
from grader.core.wording import Words
from grader.exercises.base import MistakeContext, Solution
from grader.grade.mistake_catalogue import Diagnosis, Evidence, Variation, context_args, mistake
from grader.grade.rates import OtherRates

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def variations(
    mistake_id: str,
    ctx: MistakeContext,
    rates: Interval | None = None,
    other_rates: OtherRates = (),
) -> Iterator[Variation]:
    """The rule variations that make up the mistake ``mistake_id`` in a variant.

    A mistake with ``implied_rate`` (``learning_rate``) needs ``rates``, the interval of
    rates the student's number implies (:func:`grader.grade.rates.implied_rates`), and
    ``other_rates``, those the student's other updates imply: it yields the plausible
    rate that fits, if any (see :func:`grader.grade.rates.pick_rate`).
    """
    return mistake(mistake_id).variations(ctx, Evidence(rates, other_rates))


# ---------------------------------------------------------------- words for students


def symbol(label: str) -> str:
    """The quantity's symbol from a computation label, digits as subscripts ("δ3 of step 1"
    → "δ₃", "new b3 after step 1" → "b₃", "функция потерь L" → "L")."""
    return _symbol_token(label).translate(_SUBSCRIPTS)


def _layer(label: str) -> str:
    digits = "".join(ch for ch in _symbol_token(label) if ch.isdigit())
    return digits.translate(_SUBSCRIPTS)


def _symbol_token(label: str) -> str:
    """The label's first token that is not a word: labels in any language may open with
    words ("value of a", "значение a", "new b3"), symbols are one letter or carry an index
    or a mark (a, L, ŷ, b3, ∂f/∂x); a label of words only gives its first word."""
    tokens = label.split()
    for token in tokens:
        if not (token.isalpha() and len(token) > 1):
            return token
    return tokens[0] if tokens else label


def explain(diagnosis: Diagnosis, label: str, ctx: MistakeContext, language: str = "en") -> str:
    """One or two sentences a student learns from: what the mistake is and the right way.

    The sentence is ``diagnosis_<id>`` of ``templates/feedback.words.yaml`` (one entry per
    language), or the one the diagnosis names; it may use ``{sym}`` (the field's symbol),
    ``{n}`` (its layer), what :func:`~grader.grade.mistake_catalogue.context_args` gives
    (``{fp}``, ``{c}``, ``{rule}``), ``{detail}`` (the diagnosis's detail in the language)
    and the diagnosis's own arguments.  A mistake without a sentence is said by its detail.
    """
    said = diagnosis.said
    words = wording.feedback_words(language)  # looked up here: a test may add a sentence
    key = said.sentence or f"diagnosis_{diagnosis.id}"
    if key not in words:
        return diagnosis.detail
    args: dict[str, Any] = {
        "sym": symbol(label),
        "n": _layer(label),
        **context_args(ctx, words),
        "detail": said.text if said.words is None else said.words.said(language),
    }
    for name, value in said.args:
        args[name] = value.said(language) if isinstance(value, Words) else value
    return words[key].format(**args)


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
