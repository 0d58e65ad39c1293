"""Pydantic building blocks shared by assignment and exercise models.

``ExactNumber`` is how a Fraction enters a pydantic model: the text goes through
:func:`grader.core.numbers.parse_number` (bounded, never ``Fraction(str)`` directly),
and it serializes back to ``"p/q"``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema

from grader.core.engine import Rounding, RoundingMode
from grader.core.numbers import NumberError, fmt_frac, parse_number


def _to_fraction(value: Any) -> Fraction:
    if isinstance(value, float):
        # YAML reads 0.5 as a float; its shortest repr is the decimal the author wrote.
        text = repr(value)
        if text in ("nan", "inf", "-inf"):
            raise ValueError("expected a finite number")
        value = text
    try:
        return parse_number(value)
    except NumberError as exc:
        raise ValueError(str(exc)) from None


ExactNumber = Annotated[
    Fraction,
    PlainValidator(_to_fraction),
    PlainSerializer(fmt_frac, return_type=str),
    WithJsonSchema({"type": ["string", "number"], "description": "a number: 5, -0.125, 1/4"}),
]

StrictModel = ConfigDict(extra="forbid", frozen=True)


class RoundingSpec(BaseModel):
    """``exact``: only σ/tanh are approximated (30 decimals); ``transcendental``: σ/tanh
    rounded to ``decimals``; ``all``: every recorded value rounded to ``decimals``."""

    model_config = StrictModel
    mode: RoundingMode = "transcendental"
    decimals: int = Field(default=4, ge=0, le=12)

    def rule(self) -> Rounding:
        """The engine's rounding policy this spec names."""
        return Rounding(self.mode, self.decimals)
