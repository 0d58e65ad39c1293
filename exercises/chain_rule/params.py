"""The parameters of a ``chain_rule`` variant (the graph and the point), and those the
variant search draws."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from grader.core.models import ExactNumber, StrictModel

Op = Literal["add", "sub", "mul", "square", "neg", "scale"]
ARITY: dict[str, int] = {"add": 2, "sub": 2, "mul": 2, "square": 1, "neg": 1, "scale": 1}

MAX_NODES = 12
MAX_VARIABLES = 3
MAX_PATHS = 32  # per variable: beyond this the chain-rule sum is no longer a hand exercise
MAX_ABS_NUMBER = 1000  # bound on point values and constants (and their denominators)

# The search draws the graph and the point unless the instructor fixed them.
RANDOMIZED = ("nodes", "point")

_NODE_NAME_RE = re.compile(r"[A-Za-z][0-9]{0,2}", re.ASCII)
_VARIABLE_RE = re.compile(r"[A-Za-z]", re.ASCII)
# Variables are single letters, so a student's "2xy" (implicit multiplication) is
# unambiguous.  In formulas e is Euler's number and f a function (mlp_matrix's
# activation); i and I are kept out so nobody reads them as the imaginary unit.
RESERVED_VARIABLES = frozenset({"e", "E", "f", "i", "I"})


# ------------------------------------------------------------ parameters


class NodeSpec(BaseModel):
    """One node ``name = op(args)``; ``const`` is the factor of ``scale``."""

    model_config = StrictModel
    name: str
    op: Op
    args: list[str]
    const: ExactNumber | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NODE_NAME_RE.fullmatch(value):
            raise ValueError(
                f"node name {value[:20]!r} is not allowed: use a letter, optionally followed "
                "by up to two digits (a, b, h1)"
            )
        return value

    @model_validator(mode="after")
    def _valid_args(self) -> NodeSpec:
        n = ARITY[self.op]
        if len(self.args) != n:
            plural = "s" if n > 1 else ""
            raise ValueError(
                f"node {self.name!r}: {self.op} takes {n} argument{plural}, got {len(self.args)}"
            )
        if len(set(self.args)) != len(self.args):
            raise ValueError(
                f"node {self.name!r} uses {self.args[0]!r} twice; write square or scale instead"
            )
        if self.op == "scale":
            c = self.const
            if c is None or c == 0:
                raise ValueError(f"node {self.name!r}: scale needs a non-zero const")
            if abs(c) > MAX_ABS_NUMBER or c.denominator > MAX_ABS_NUMBER:
                raise ValueError(f"node {self.name!r}: const must be small (within ±1000)")
        elif self.const is not None:
            raise ValueError(f"node {self.name!r}: only op 'scale' takes a const")
        return self


class ChainRuleParams(BaseModel):
    """``nodes`` in evaluation order (the last one is the output), over ``variables``,
    evaluated at ``point``."""

    model_config = StrictModel
    variables: list[str] = Field(default_factory=lambda: ["x", "y"])
    nodes: list[NodeSpec]
    point: dict[str, ExactNumber]

    @model_validator(mode="after")
    def _valid_graph(self) -> ChainRuleParams:
        _check_variables(self.variables)
        _check_nodes(self.variables, self.nodes)
        _check_point(self.variables, self.point)
        return self

    @property
    def output(self) -> str:
        return self.nodes[-1].name

    def node(self, name: str) -> NodeSpec:
        return next(n for n in self.nodes if n.name == name)


def _check_variables(variables: Sequence[str]) -> None:
    if not 1 <= len(variables) <= MAX_VARIABLES:
        raise ValueError(f"give 1 to {MAX_VARIABLES} variables, got {len(variables)}")
    for v in variables:
        if not _VARIABLE_RE.fullmatch(v) or v in RESERVED_VARIABLES:
            raise ValueError(
                f"variable name {v[:20]!r} is not allowed: use a single letter other than "
                "e, E, f, i, I (formulas use those for constants and functions)"
            )
    if len(set(variables)) != len(variables):
        raise ValueError("variable names must be distinct")


def _check_nodes(variables: Sequence[str], nodes: Sequence[NodeSpec]) -> None:
    if not 1 <= len(nodes) <= MAX_NODES:
        raise ValueError(f"a graph has 1 to {MAX_NODES} nodes, got {len(nodes)}")
    names = [n.name for n in nodes]
    known = set(variables)
    for i, node in enumerate(nodes):
        if node.name in variables:
            raise ValueError(f"node {node.name!r} has the name of a variable")
        if node.name in known:
            raise ValueError(f"node name {node.name!r} is used twice")
        for arg in node.args:
            if arg in known:
                continue
            if arg in names[i:]:
                raise ValueError(
                    f"node {node.name!r}: argument {arg!r} is defined later; "
                    "list the nodes in evaluation order"
                )
            raise ValueError(
                f"node {node.name!r}: argument {arg!r} is neither a variable "
                f"({', '.join(variables)}) nor an earlier node"
            )
        known.add(node.name)
    used = {a for n in nodes for a in n.args}
    for v in variables:
        if v not in used:
            raise ValueError(f"variable {v!r} is not used by any node")
    for node in nodes[:-1]:
        if node.name not in used:
            raise ValueError(
                f"node {node.name!r} is not used by any later node "
                f"(every node must lead to the output {nodes[-1].name!r})"
            )
    counts = _path_counts(nodes)
    if max(counts[v] for v in variables) < 2:
        raise ValueError(
            "no variable reaches the output along two or more paths; the exercise is about "
            "the multi-path chain rule, so let some variable feed two nodes"
        )
    for v in variables:
        if counts[v] > MAX_PATHS:
            raise ValueError(
                f"variable {v!r} reaches the output along {counts[v]} paths; "
                f"at most {MAX_PATHS} keep the chain rule writable by hand"
            )


def _check_point(variables: Sequence[str], point: Mapping[str, Fraction]) -> None:
    missing = [v for v in variables if v not in point]
    if missing:
        raise ValueError(f"point gives no value for {', '.join(map(repr, missing))}")
    for name, value in point.items():
        if name not in variables:
            raise ValueError(f"point gives {name[:20]!r}, which is not a variable")
        if abs(value) > MAX_ABS_NUMBER or value.denominator > MAX_ABS_NUMBER:
            raise ValueError(f"point value of {name!r} must be small (within ±1000)")


# ------------------------------------------------------------ graph structure


def _path_counts(nodes: Sequence[NodeSpec]) -> dict[str, int]:
    """How many paths lead from each name to the output (the last node)."""
    counts: dict[str, int] = {nodes[-1].name: 1}
    for node in reversed(nodes):
        for arg in node.args:
            counts[arg] = counts.get(arg, 0) + counts.get(node.name, 0)
    return counts


def _params(params: BaseModel | None) -> ChainRuleParams:
    assert isinstance(params, ChainRuleParams)
    return params


def _names(nodes: Sequence[NodeSpec]) -> list[str]:
    return [n.name for n in nodes]
