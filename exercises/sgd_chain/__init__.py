"""``sgd_chain``: SGD steps by hand on a chain of single neurons (the worksheet's main exercise).

The family's floor plan: ``params`` (the parameter model), ``fields`` (the answer fields and
their computations), ``search`` (the variant search), ``view`` (what the LaTeX templates
receive), ``oracle`` (the independent float64 check) and ``exercise`` (the ``Exercise`` that
ties them together).
"""

from grader.exercises.sgd_chain.exercise import EXERCISE

__all__ = ["EXERCISE"]
