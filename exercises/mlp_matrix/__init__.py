"""``mlp_matrix``: forward and backward pass of a small network in matrix form.

The family's floor plan: ``params`` (the parameter model), ``fields`` (the answer fields and
their computations), ``search`` (the variant search), ``view`` (what the LaTeX templates
receive), ``oracle`` (the independent float64 and sympy check) and ``exercise`` (the
``Exercise`` that ties them together); ``formula_text`` prints the ŷ formula.
"""

from grader.exercises.mlp_matrix.exercise import EXERCISE

__all__ = ["EXERCISE"]
