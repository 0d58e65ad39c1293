"""``softmax_classifier``: SGD by hand on a softmax classifier with cross-entropy loss.

The family's floor plan: ``params`` (the parameter model), ``fields`` (the answer fields and
their computations), ``search`` (the variant search), ``view`` (what the LaTeX templates
receive), ``oracle`` (the independent float64 check) and ``exercise`` (the ``Exercise`` that
ties them together).
"""

from grader.exercises.softmax_classifier.exercise import EXERCISE

__all__ = ["EXERCISE"]
