"""The toy family's own typical mistake, added as one catalogue record (plus its words in
``feedback.words.yaml`` beside this file): the update made uphill *and* without γ,
W + ∂L/∂W — a mistake no single record reproduces, made from conventions the engine
already follows (``update_sign``, ``learning_rate``)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from grader.core.engine import Rules
from grader.exercises.base import MistakeContext
from grader.grade.mistake_catalogue import Detail, Evidence, Mistake

TOY_MISTAKE_ID = "toy_ascent_without_rate"
WORDS = Path(__file__).with_name("feedback.words.yaml")


def _ascent_without_rate(ctx: MistakeContext, _: Evidence) -> Iterator[tuple[Rules, Detail]]:
    yield Rules(update_sign=+1, learning_rate=Fraction(1)), Detail("W + ∂L/∂W")


TOY_MISTAKE = Mistake(TOY_MISTAKE_ID, _ascent_without_rate)


def toy_words() -> dict[str, dict[str, Any]]:
    """The record's sentences, per language (as templates/feedback.words.yaml has them)."""
    return dict(yaml.safe_load(WORDS.read_text("utf-8")))
