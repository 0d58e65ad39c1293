"""``chain_rule``: the chain rule on a small computational graph (spec §1).

The family's floor plan: ``params`` (the parameter model), ``fields`` (the answer fields and
their computations), ``search`` (the variant search), ``view`` (what the LaTeX templates
receive), ``oracle`` (the independent sympy check) and ``exercise`` (the ``Exercise`` that
ties them together); ``graph_layout`` places the graph's nodes for the sheet's picture.
"""

from grader.exercises.chain_rule.exercise import EXERCISE

__all__ = ["EXERCISE"]
