"""The parameters of an ``sgd_chain`` variant, and those the variant search draws."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from grader.core.models import ExactNumber, RoundingSpec, StrictModel

Activation = Literal["sigmoid", "tanh", "relu", "identity", "hard_sigmoid", "softsign"]

# Parameters that shape the task stay at their defaults unless the instructor sets them;
# the numbers (data, order, rate, initial weights) are what varies between students.
RANDOMIZED = ("data", "order", "learning_rate", "init")


class SgdChainParams(BaseModel):
    model_config = StrictModel
    data: list[tuple[ExactNumber, ExactNumber]] = Field(min_length=1, max_length=8)
    order: list[int] = Field(min_length=1, max_length=12)
    learning_rate: ExactNumber
    depth: int = Field(default=3, ge=2, le=4)
    init: Literal["zeros"] | list[list[ExactNumber]] = "zeros"
    activation: Activation = "sigmoid"
    loss: Literal["mse", "half_mse"] = "mse"
    rounding: RoundingSpec = RoundingSpec()

    @model_validator(mode="after")
    def _consistent(self) -> SgdChainParams:
        for i, k in enumerate(self.order):
            if not 1 <= k <= len(self.data):
                raise ValueError(
                    f"order[{i}] = {k} is not an observation number 1..{len(self.data)}"
                )
        if not 0 < self.learning_rate <= 1000:
            raise ValueError("learning_rate must be positive and at most 1000")
        for x, y in self.data:
            if abs(x) > 1000 or abs(y) > 1000:
                raise ValueError("data values must lie within ±1000")
        if self.init != "zeros":
            if len(self.init) != 2 or any(len(row) != self.depth for row in self.init):
                raise ValueError(
                    f"init must be 'zeros' or a 2×{self.depth} matrix [[biases], [weights]]"
                )
            if any(abs(v) > 1000 for row in self.init for v in row):
                raise ValueError("init values must lie within ±1000")
        return self

    def initial_matrix(self) -> list[list[Fraction]]:
        if self.init == "zeros":
            return [[Fraction(0)] * self.depth for _ in range(2)]
        return [list(row) for row in self.init]


def _params(params: BaseModel | None) -> SgdChainParams:
    assert isinstance(params, SgdChainParams)
    return params
