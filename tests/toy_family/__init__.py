"""A test-only exercise family, added through the contract and the registries alone: the
family (``toy.py``, one entry of ``EXERCISE_MODULES``) and its own typical mistake
(``mistakes.py``, one record of the mistake catalogue, with its words)."""

from __future__ import annotations

from typing import Any

import pytest

from grader.core import wording
from grader.exercises import EXERCISE_MODULES, get_exercise
from grader.grade.mistake_catalogue import CATALOGUE
from grader.make import rendering
from tests.toy_family.mistakes import TOY_MISTAKE, toy_words


def install(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Register the toy family, its mistake and the mistake's sentences for one test
    (``monkeypatch`` takes them all back after it); the family."""
    monkeypatch.setitem(EXERCISE_MODULES, "toy_neuron", "tests.toy_family.toy")
    monkeypatch.setitem(CATALOGUE, TOY_MISTAKE.id, TOY_MISTAKE)
    shipped, extra = wording.feedback_words, toy_words()

    def feedback_words(language: str) -> dict[str, str]:
        return {**shipped(language), **extra.get(language, {})}

    monkeypatch.setattr(wording, "feedback_words", feedback_words)
    rendering._words.cache_clear()
    return get_exercise("toy_neuron")
