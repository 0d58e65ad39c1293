"""Formulas read as a careful TA reads them (issue 13, item 7): a table of cases.

The kinds of cases come from what peers test — PrairieLearn's
``apps/prairielearn/python/test/sympy_utils_test.py`` and
``apps/prairielearn/elements/pl-number-input/pl_number_input_test.py``, STACK's
``tests/fixtures/inputfixtures.class.php`` (maths/moodle-qtype_stack) and Numbas'
``tests/jme/jme-tests.js`` — written here as our own cases with *our* expected outcome
(Numbas reads ``x/yz`` as x/(yz); we read it by our stated convention, left to right, and
say so when the other reading would be judged otherwise).
"""

from __future__ import annotations

import pytest
import sympy

from grader.grade import formulas
from grader.grade.formulas import FormulaError, equivalent, normalize_typography, read_formula

XY = ["x", "y"]
XYZ = ["x", "y", "z"]

# (id, student text, key text, variables, outcome, whether the other reading of a "/"
# would be judged otherwise)
CASES: list[tuple[str, str, str, list[str], str, bool]] = [
    # ---- look-alikes of ASCII (word processors, CJK input methods)
    ("en-dash", "2x – y", "2x - y", XY, "correct", False),
    ("em-dash", "2x — y", "2x - y", XY, "correct", False),
    ("figure-dash", "2x ‒ y", "2x - y", XY, "correct", False),
    ("minus-sign", "2x − y", "2x - y", XY, "correct", False),
    ("fullwidth-minus", "2x－y", "2x - y", XY, "correct", False),
    ("fullwidth-brackets", "2（x+y）", "2x + 2y", XY, "correct", False),
    ("fullwidth-digits-plus", "２x＋３y", "2x + 3y", XY, "correct", False),
    ("fullwidth-letters", "ｘ*ｙ", "x*y", XY, "correct", False),
    ("bullet", "2•x•y", "2xy", XY, "correct", False),
    ("middle-dot", "2·x", "2x", XY, "correct", False),
    ("times-sign", "2×x", "2x", XY, "correct", False),
    ("superscript-kept", "x²+1", "x^2 + 1", XY, "correct", False),  # NFKC would give x2+1
    ("ideographic-space", "x\u3000y", "x*y", XY, "correct", False),
    # ---- implicit products and powers
    ("number-variable", "2x", "2*x", XY, "correct", False),
    ("brackets", "(x+1)(x-1)", "x^2 - 1", XY, "correct", False),
    ("space-product", "x y", "x*y", XY, "correct", False),
    ("stars-power", "x**2", "x^2", XY, "correct", False),
    ("decimal-factor", "0.5x", "x/2", XY, "correct", False),
    ("latex-frac", "\\frac{1}{2}x", "x/2", XY, "correct", False),
    ("e-power", "e^x", "exp(x)", XY, "correct", False),
    ("ln", "ln(x)", "log(x)", XY, "correct", False),
    # ---- "/" followed by an implicit product: read left to right (1/2x = x/2)
    ("half-x", "1/2x", "x/2", XY, "correct", True),
    ("half-x-meant-reciprocal", "1/2x", "1/(2x)", XY, "incorrect", True),
    ("x-over-yz", "x/yz", "x/(y*z)", XYZ, "incorrect", True),
    ("x-over-yz-as-read", "x/yz", "x*z/y", XYZ, "correct", True),
    ("half-bracket", "1/2(x+1)", "(x+1)/2", XY, "correct", True),
    ("over-bracket-function", "1/2 exp(x)", "exp(x)/2", XY, "correct", True),
    ("explicit-bracket", "x/(2y)", "x/(2y)", XY, "correct", False),
    ("explicit-star", "x/2*y", "x*y/2", XY, "correct", False),
    ("four-halves-x", "4/2x", "2x", XY, "correct", True),  # 2x, or 2/x: judged otherwise
    # ---- defined nowhere, or unreadable
    ("log-nowhere", "log(-x^2)", "x", XY, "incorrect", False),
    ("root-nowhere", "sqrt(-x^2 - 1)", "x", XY, "incorrect", False),
    ("division-by-zero", "1/(x-x)", "x", XY, "invalid", False),
    ("unknown-function", "sin(x)", "x", XY, "invalid", False),
    ("trailing-operator", "2*x^", "2x", XY, "invalid", False),
    ("variable-exponent", "2^x", "2x", XY, "invalid", False),
    ("comma-decimal", "0,5x", "x/2", XY, "invalid", False),
]


def outcome(text: str, key_text: str, variables: list[str]) -> tuple[str, bool]:
    key = formulas.parse_formula(key_text, variables)
    try:
        readings = read_formula(text, variables)
    except FormulaError:
        return "invalid", False
    same = equivalent(readings.expr, key, variables)
    other = equivalent(readings.other, key, variables) if readings.other is not None else same
    status = {True: "correct", False: "incorrect", None: "review"}[same]
    return status, other != same


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_formula_reading(case: tuple[str, str, str, list[str], str, bool]) -> None:
    _, text, key_text, variables, expected, ambiguous = case
    assert outcome(text, key_text, variables) == (expected, ambiguous)


def test_typography_is_mapped_one_character_for_one() -> None:
    """Positions in messages stay right: the mapping never changes the length."""
    text = "２x – y（1）•z\u3000"
    assert len(normalize_typography(text)) == len(text)
    with pytest.raises(FormulaError) as err:
        read_formula("２x – ?", XY)
    assert err.value.position == 5


def test_each_generic_function_has_its_own_stand_in() -> None:
    x = sympy.Symbol("x")
    f, g = sympy.Function("f"), sympy.Function("g")
    assert equivalent(f(x), g(x), ["x"], ["f", "g"]) is False
    assert equivalent(f(x) + g(x), g(x) + f(x), ["x"], ["f", "g"]) is True
    assert equivalent(f(g(x)), g(f(x)), ["x"], ["f", "g"]) is False


def test_activation_names() -> None:
    """The sheet's f is relu: relu (or ReLU) is f; tanh stays tanh (graded, not refused)."""
    functions, aliases = formulas.vocabulary("relu", ["f"])
    key = formulas.parse_formula("f(2f(x))", XY, functions, ["f"])
    own = formulas.parse_formula("ReLU(2 relu(x))", XY, functions, ["f"], aliases)
    assert equivalent(own, key, XY, ["f"]) is True
    other = formulas.parse_formula("tanh(2 tanh(x))", XY, functions, ["f"], aliases)
    assert equivalent(other, key, XY, ["f"]) is False
    # the sheet's f is σ: sigma, sigmoid and σ all name it
    functions, aliases = formulas.vocabulary("sigmoid", ["f"])
    for text in ("sigma(2x)", "sigmoid(2x)", "σ(2x)"):
        got = formulas.parse_formula(text, XY, functions, ["f"], aliases)
        assert got == formulas.parse_formula("f(2x)", XY, functions, ["f"])
    # relu by its own name where f is something else: the piecewise function itself
    functions, aliases = formulas.vocabulary("tanh", ["f"])
    relu_x = formulas.parse_formula("relu(x) - relu(-x)", XY, functions, ["f"], aliases)
    assert equivalent(relu_x, sympy.Symbol("x"), XY) is True
