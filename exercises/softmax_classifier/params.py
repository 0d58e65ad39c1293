"""The parameters of a ``softmax_classifier`` variant, and those the variant search draws."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from grader.core.engine import ActivationName
from grader.core.models import ExactNumber, RoundingSpec, StrictModel

# The numbers vary between students; sizes, activation and schedule stay as set.
RANDOMIZED = ("x", "labels", "weights", "biases", "learning_rate")
MAX_ABS_VALUE = 100  # given numbers beyond this are not a hand exercise

Matrix = list[list[Any]]
Width = Annotated[int, Field(ge=1, le=4)]


class SoftmaxClassifierParams(BaseModel):
    model_config = StrictModel
    x: list[list[ExactNumber]] = Field(min_length=1, max_length=6)
    labels: list[int] = Field(min_length=1, max_length=6)  # 1-based class of each row of x
    classes: int = Field(default=3, ge=2, le=5)
    hidden: list[Width] = Field(default_factory=list, max_length=2)
    activation: ActivationName = "relu"
    # per layer, W_l (inputs × units) and b_l (units); when absent they are drawn per
    # student (init "random") or start at zero (init "zeros")
    weights: list[list[list[ExactNumber]]] | None = None
    biases: list[list[ExactNumber]] | None = None
    init: Literal["random", "zeros"] = "random"
    learning_rate: ExactNumber
    order: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=6)
    rounding: RoundingSpec = RoundingSpec()

    @model_validator(mode="after")
    def _consistent(self) -> SoftmaxClassifierParams:
        d = len(self.x[0])
        if not 1 <= d <= 4 or any(len(row) != d for row in self.x):
            raise ValueError("x must be a matrix: one row per observation, all of 1 to 4 inputs")
        if len(self.labels) != len(self.x):
            raise ValueError(
                f"labels must give one class per observation: x has {len(self.x)} rows, "
                f"labels has {len(self.labels)}"
            )
        for i, c in enumerate(self.labels):
            if not 1 <= c <= self.classes:
                raise ValueError(f"labels[{i}] = {c} is not a class number 1..{self.classes}")
        for i, k in enumerate(self.order):
            if not 1 <= k <= len(self.x):
                raise ValueError(f"order[{i}] = {k} is not an observation number 1..{len(self.x)}")
        if not 0 < self.learning_rate <= MAX_ABS_VALUE:
            raise ValueError(f"learning_rate must be positive and at most {MAX_ABS_VALUE}")
        sizes = self.sizes()
        if self.weights is not None:
            _check_shapes(
                "weights", self.weights, [(sizes[l], sizes[l + 1]) for l in range(len(sizes) - 1)]
            )
        if self.biases is not None:
            _check_shapes("biases", [[b] for b in self.biases], [(1, s) for s in sizes[1:]])
        given = [v for row in self.x for v in row]
        given += [v for w in self.weights or [] for row in w for v in row]
        given += [v for b in self.biases or [] for v in b]
        if any(abs(v) > MAX_ABS_VALUE for v in given):
            raise ValueError(f"x, weights and biases must lie within ±{MAX_ABS_VALUE}")
        return self

    def sizes(self) -> list[int]:
        """Layer widths [inputs, hidden…, classes]."""
        return [len(self.x[0]), *self.hidden, self.classes]

    def initial(self) -> tuple[list[Matrix], list[list[Fraction]]]:
        """(W_1..W_L, b_1..b_L) before the first step."""
        sizes = self.sizes()
        if (self.weights is None or self.biases is None) and self.init == "random":
            raise ValueError("weights or biases are random: draw a variant (sample) first")
        ws = self.weights or [
            [[Fraction(0)] * sizes[l + 1] for _ in range(sizes[l])] for l in range(len(sizes) - 1)
        ]
        bs = self.biases or [[Fraction(0)] * s for s in sizes[1:]]
        return [[list(r) for r in w] for w in ws], [list(b) for b in bs]


def _check_shapes(
    name: str, given: Sequence[Sequence[Sequence[Any]]], shapes: list[tuple[int, int]]
) -> None:
    if len(given) != len(shapes):
        raise ValueError(
            f"{name} must hold {len(shapes)} layers (the hidden layers, then the output), got {len(given)}"
        )
    for l, (m, (rows, cols)) in enumerate(zip(given, shapes, strict=True)):
        if len(m) != rows or any(len(r) != cols for r in m):
            what = (
                f"a vector of {cols} (one bias per unit)"
                if name == "biases"
                else f"a {rows}×{cols} matrix (inputs × units)"
            )
            raise ValueError(f"{name}[{l}] (layer {l + 1}) must be {what}")


def _params(params: BaseModel | None) -> SoftmaxClassifierParams:
    assert isinstance(params, SoftmaxClassifierParams)
    return params
