"""The parameters of an ``mlp_matrix`` variant, and those the variant search draws."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from grader.core.engine import ActivationName
from grader.core.models import ExactNumber, RoundingSpec, StrictModel

# Sizes and the activation shape the task: they stay at their defaults unless the
# instructor sets them.  The numbers are what varies between students.
RANDOMIZED = ("x", "y", "weights", "learning_rate")

FORMULA_FUNCTION = "f"  # the activation's name in the ŷ formula
MAX_ABS_VALUE = 1000  # given numbers beyond this are not a hand exercise

Matrix = list[list[Any]]


def _as_row(value: Any) -> Any:
    """A target written as a plain number stands for the 1-element row [number]."""
    return value if isinstance(value, list | tuple) else [value]


Target = Annotated[list[ExactNumber], BeforeValidator(_as_row)]


class MlpMatrixParams(BaseModel):
    model_config = StrictModel
    x: list[list[ExactNumber]] = Field(min_length=1, max_length=4)
    y: list[Target] = Field(min_length=1, max_length=4)
    hidden: list[Annotated[int, Field(ge=1, le=3)]] = Field(
        default_factory=lambda: [2, 2], min_length=1, max_length=3
    )
    weights: Literal["random"] | list[list[list[ExactNumber]]] = "random"
    activation: ActivationName = "relu"
    loss: Literal["mse", "half_mse"] = "half_mse"
    learning_rate: ExactNumber
    rounding: RoundingSpec = RoundingSpec()

    @model_validator(mode="before")
    @classmethod
    def _hidden_from_weights(cls, data: Any) -> Any:
        """Given weights and no ``hidden``, the hidden widths are the weights' column counts."""
        if isinstance(data, dict) and "hidden" not in data:
            ws = data.get("weights")
            if isinstance(ws, list) and len(ws) >= 2 and all(_is_matrix(w) for w in ws):
                return {**data, "hidden": [len(w[0]) for w in ws[:-1]]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> MlpMatrixParams:
        d = len(self.x[0])
        if not 1 <= d <= 3 or any(len(row) != d for row in self.x):
            raise ValueError(
                "x must be a matrix: one row per observation, all rows of 1 to 3 inputs"
            )
        if len(self.y) != len(self.x):
            raise ValueError(
                f"y must hold one target per observation: x has {len(self.x)} rows, "
                f"y has {len(self.y)}"
            )
        if any(len(row) != 1 for row in self.y):
            raise ValueError(
                "y must be a column: one number per observation (the network has one output)"
            )
        if not 0 < self.learning_rate <= MAX_ABS_VALUE:
            raise ValueError(f"learning_rate must be positive and at most {MAX_ABS_VALUE}")
        if self.weights != "random":
            _check_weight_shapes(self.weights, self.sizes())
        given = [*self.x, *self.y, *(self.weights if self.weights != "random" else [])]
        if any(abs(v) > MAX_ABS_VALUE for v in _numbers(given)):
            raise ValueError(f"x, y and weights must lie within ±{MAX_ABS_VALUE}")
        return self

    def sizes(self) -> list[int]:
        """Layer widths [inputs, hidden…, 1]."""
        return [len(self.x[0]), *self.hidden, 1]

    def layer_weights(self) -> list[list[list[Fraction]]]:
        """W_1..W_L; ``"random"`` is only a placeholder until :meth:`MlpMatrix.sample` draws them."""
        if self.weights == "random":
            raise ValueError("weights are 'random': draw a variant (sample) before solving")
        return [[list(row) for row in w] for w in self.weights]


def _is_matrix(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(row, list) and len(row) > 0 for row in value)
    )


def _numbers(rows: Sequence[Any]) -> list[Fraction]:
    out: list[Fraction] = []
    for item in rows:
        if isinstance(item, list):
            out.extend(_numbers(item))
        else:
            out.append(item)
    return out


def _check_weight_shapes(weights: list[list[list[Fraction]]], sizes: list[int]) -> None:
    layers = len(sizes) - 1
    if len(weights) != layers:
        raise ValueError(
            f"weights must be 'random' or {layers} matrices W1..W{layers} "
            f"(inputs {sizes[0]}, hidden {sizes[1:-1]}, 1 output), got {len(weights)}"
        )
    for l, w in enumerate(weights, start=1):
        rows, cols = sizes[l - 1], sizes[l]
        got_cols = {len(r) for r in w}
        if len(w) != rows or got_cols != {cols}:
            shape = f"{len(w)}×{'/'.join(str(c) for c in sorted(got_cols)) or 0}"
            raise ValueError(
                f"weights[{l - 1}] (W{l}) must be {rows}×{cols} "
                f"({'inputs' if l == 1 else f'width of hidden layer {l - 1}'} × "
                f"{'output' if l == layers else f'width of hidden layer {l}'}), got {shape}"
            )


def _params(params: BaseModel | None) -> MlpMatrixParams:
    assert isinstance(params, MlpMatrixParams)
    return params


def formula_variables(p: MlpMatrixParams) -> tuple[str, ...]:
    """The variable names of the ŷ formula: ``x1``, ``x2``, … (one per input)."""
    return tuple(f"x{j + 1}" for j in range(len(p.x[0])))
