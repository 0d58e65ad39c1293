"""The parameters of a ``toy_neuron`` variant, and those the variant search draws."""

from __future__ import annotations

from pydantic import BaseModel

from grader.core.models import ExactNumber

RANDOMIZED = ("x", "y", "w", "b", "learning_rate")


class ToyParams(BaseModel):
    x: ExactNumber
    y: ExactNumber
    w: ExactNumber
    b: ExactNumber
    learning_rate: ExactNumber


def params_of(params: BaseModel) -> ToyParams:
    """The family's own model of parameters the core hands over as a BaseModel."""
    return ToyParams.model_validate(params.model_dump())
