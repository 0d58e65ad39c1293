"""Exercise families.  Each module defines ``EXERCISE``, an :class:`grader.exercises.base.Exercise`.

Modules are imported on first use: sympy (chain_rule) is slow to import and most
commands need only one family.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.exercises.base import Exercise

EXERCISE_MODULES = {
    "sgd_chain": "grader.exercises.sgd_chain",
    "mlp_matrix": "grader.exercises.mlp_matrix",
    "chain_rule": "grader.exercises.chain_rule",
    "softmax_classifier": "grader.exercises.softmax_classifier",
}


def get_exercise(type_name: str) -> Exercise:
    """The exercise family called ``type_name``; KeyError when there is none."""
    module = importlib.import_module(EXERCISE_MODULES[type_name])
    return module.EXERCISE  # type: ignore[no-any-return]
