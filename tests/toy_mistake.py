"""The toy family's own typical mistake (``tests/toy_family`` declares it on its update),
added as one record of the mistake catalogue plus its words: the update made uphill *and*
without γ, W + ∂L/∂W — a mistake no other record reproduces, made from conventions the
engine already follows (``update_sign``, ``learning_rate``)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

from grader.core import wording
from grader.core.engine import Rules
from grader.exercises import EXERCISE_MODULES, get_exercise
from grader.exercises.base import MistakeContext
from grader.grade.mistake_catalogue import CATALOGUE, Detail, Evidence, Mistake
from grader.make import rendering

TOY_MISTAKE_ID = "toy_ascent_without_rate"


def _ascent_without_rate(ctx: MistakeContext, _: Evidence) -> Iterator[tuple[Rules, Detail]]:
    yield Rules(update_sign=+1, learning_rate=Fraction(1)), Detail("W + ∂L/∂W")


# the one record
TOY_MISTAKE = Mistake(TOY_MISTAKE_ID, _ascent_without_rate)
# its words, as templates/feedback.words.yaml would hold them
TOY_WORDS = {
    "en": {
        f"diagnosis_{TOY_MISTAKE_ID}": "{sym} went uphill and without the rate: "
        "the update is W − γ·∂L/∂W, not W + ∂L/∂W."
    },
    "ru": {
        f"diagnosis_{TOY_MISTAKE_ID}": "{sym}: шаг сделан в сторону роста функции потерь "
        "и без γ: обновление — W − γ·∂L/∂W, а не W + ∂L/∂W."
    },
}


def install_toy_family(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Register the toy family, its mistake's record and the record's words for one test
    (``monkeypatch`` takes them back after it); the family."""
    monkeypatch.setitem(EXERCISE_MODULES, "toy_neuron", "tests.toy_family")
    monkeypatch.setitem(CATALOGUE, TOY_MISTAKE_ID, TOY_MISTAKE)
    shipped = wording.feedback_words

    def feedback_words(language: str) -> dict[str, str]:
        return {**shipped(language), **TOY_WORDS.get(language, {})}

    monkeypatch.setattr(wording, "feedback_words", feedback_words)
    rendering._words.cache_clear()
    return get_exercise("toy_neuron")
