"""A hostile-input corpus, table-driven (in the manner of PrairieLearn's parser tests).

Every case states its exact outcome: the field status and the full feedback sentence,
the gradebook row (status and reason), or the one error line and the exit code.

* numbers and formulas are answer leaves of real submissions, graded through
  ``grader grade``;
* JSON files (encodings, sizes, nesting, duplicate keys, wrong types, bad ids, FIFOs,
  symlinks …) are one batch through ``grader grade``;
* rosters and assignment files go through the command line (``click``'s runner, in
  process), exit code 2 and one line naming the file and the place.

One ``grader grade`` subprocess grades the numbers, the formulas and the files together
(a module fixture); each case then reads its own report or gradebook row.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction as F
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.numbers import parse_number
from grader.course.assignment import load_assignment
from grader.course.keys import key_json
from grader.course.variants import make_variants

# Every parameter fixed: every student gets the same variant and no secret is needed.
ASSIGNMENT = """\
id: hostile-hw
title: Hostile inputs
language: en
exercises:
  - id: sgd
    type: sgd_chain
    points: 10
    params:
      data: [[5, 0], [1, 1]]
      order: [2, 1]
      learning_rate: 5
      depth: 3
      init: zeros
      activation: sigmoid
      loss: mse
      rounding: {mode: transcendental, decimals: 4}
  - id: graph
    type: chain_rule
    points: 6
    params:
      nodes:
        - {name: a, op: square, args: [x]}
        - {name: b, op: mul, args: [x, y]}
        - {name: c, op: add, args: [x, y]}
        - {name: d, op: add, args: [a, b]}
        - {name: e, op: square, args: [c]}
        - {name: f, op: add, args: [d, e]}
      point: {x: 1, y: 2}
  - id: mlp
    type: mlp_matrix
    points: 8
    params:
      x: [[1, 2], [2, -1]]
      y: [[2], [1]]
      hidden: [2, 2]
      weights: [[[1, -1], [1, 2]], [[1, 0], [-1, 1]], [[2], [1]]]
      learning_rate: 1/2
      activation: relu
      loss: half_mse
"""
LEAVES = 106  # 38 (sgd) + 16 (graph) + 52 (mlp)
SGD_LEAVES, GRAPH_LEAVES, MLP_LEAVES = 38, 16, 52
DELTA = "/answers/sgd/steps/0/deltas/2"  # the key is -1/4
DELTA_EXPECTED = "-1/4 (-0.25)"
PARTIAL = "/answers/graph/partials/x/formula"
PARTIAL_KEY = "2*x + y + 2*(x + y)"
YHAT = "/answers/mlp/yhat_formula"
YHAT_KEY = "f(2*f(-f(-x1 + 2*x2) + f(x1 + x2)) + f(f(-x1 + 2*x2)))"
WATCHDOG = 600  # seconds: only turns a hang into a failure


def s(text: str) -> str:
    """A JSON string token."""
    return json.dumps(text)


# ------------------------------------------------------------------ numbers
# (id, the JSON token put at /answers/sgd/steps/0/deltas/2, status, detail)
# detail: for ``invalid`` the reason the report gives; otherwise the exact value read.

NUMBERS: list[tuple[str, str, str, Any]] = [
    # ---- refused: sizes, exponents, special values
    (
        "exp-huge",
        s("1e999999999"),
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    (
        "exp-huge-neg",
        s("-1e999999999"),
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    (
        "exp-tiny",
        s("1e-999999999"),
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    (
        "exp-81",
        s("1e81"),
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    (
        "exp-zero-mantissa",
        s("0e99999"),
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    (
        "exp-padded-81",
        s("1e00000000000081"),
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    (
        "exp-in-denominator",
        s("1/1e999999999"),
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 3)",
    ),
    (
        "exp-in-frac",
        s("\\frac{1}{1e999999}"),
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    ("div-zero", s("1/0"), "invalid", "division by zero (at character 3)"),
    ("div-zero-neg", s("-1/0"), "invalid", "division by zero (at character 4)"),
    ("zero-over-zero", s("0/0"), "invalid", "division by zero (at character 3)"),
    ("div-zero-decimal", s("1/0.000"), "invalid", "division by zero (at character 3)"),
    ("div-zero-frac", s("\\frac{1}{0}"), "invalid", "division by zero (at character 1)"),
    (
        "nan-text",
        s("NaN"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 1)",
    ),
    (
        "nan-lower",
        s("nan"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 1)",
    ),
    (
        "infinity-text",
        s("Infinity"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 1)",
    ),
    (
        "minus-inf-text",
        s("-inf"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 2)",
    ),
    (
        "infinity-sign",
        s("∞"),
        "invalid",
        "unexpected character '∞': write numbers with ASCII digits (at character 1)",
    ),
    (
        "digits-200000",
        s("9" * 200_000),
        "invalid",
        "the answer is 200000 characters long; at most 2100 are read",
    ),
    (
        "digits-2100",
        s("9" * 2100),
        "invalid",
        "number has more than 1000 significant digits (at character 1)",
    ),
    (
        "digits-1001",
        s("1" * 1001),
        "invalid",
        "number has more than 1000 significant digits (at character 1)",
    ),
    (
        "chars-2101",
        s(" " * 2000 + "-1/4" + " " * 97),
        "invalid",
        "the answer is 2101 characters long; at most 2100 are read",
    ),
    # ---- refused: not ASCII digits, wrong separators, vulgar fractions
    (
        "fullwidth",
        s("－０．２５"),
        "invalid",
        "unexpected character '－': write numbers with ASCII digits (at character 1)",
    ),
    (
        "fullwidth-digit",
        s("-0.2５"),
        "invalid",
        "unexpected character '５': write numbers with ASCII digits (at character 5)",
    ),
    (
        "arabic-indic",
        s("-٠٫٢٥"),
        "invalid",
        "unexpected character '٠': write numbers with ASCII digits (at character 2)",
    ),
    (
        "devanagari",
        s("-०.२५"),
        "invalid",
        "unexpected character '०': write numbers with ASCII digits (at character 2)",
    ),
    (
        "superscript",
        s("-2⁻²"),
        "invalid",
        "unexpected character '⁻': write numbers with ASCII digits (at character 3)",
    ),
    # a decimal comma reads like a point (issue 12); other commas stay invalid
    ("comma-decimal", s("0,25"), "incorrect", F(1, 4)),
    ("comma-decimal-neg", s("-0,25"), "correct", F(-1, 4)),
    ("comma-in-dollars", s("$-0,25$"), "correct", F(-1, 4)),
    (
        "comma-twice",
        s("-0,25,0"),
        "invalid",
        "more than one ',': write one decimal comma (0,25) and no thousands separators "
        "(at character 6)",
    ),
    (
        "comma-without-leading-digit",
        s("-,25"),
        "invalid",
        "a decimal comma needs a digit on each side (0,25) (at character 2)",
    ),
    (
        "vulgar-eighth",
        s("⅛"),
        "invalid",
        "unexpected character '⅛': write numbers with ASCII digits (at character 1)",
    ),
    (
        "vulgar-quarter",
        s("-¼"),
        "invalid",
        "unexpected character '¼': write numbers with ASCII digits (at character 2)",
    ),
    (
        "zero-width-space",
        s("\u200b-1/4"),
        "invalid",
        "unexpected character '\\u200b': write numbers with ASCII digits (at character 1)",
    ),
    (
        "rtl-override",
        s("\u202e4/1-"),
        "invalid",
        "unexpected character '\\u202e': write numbers with ASCII digits (at character 1)",
    ),
    (
        "nul-char",
        s("-1/4\x00"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 5)",
    ),
    (
        "lone-surrogate",
        '"\\ud800"',
        "invalid",
        "the answer contains an invalid character (a lone surrogate escape)",
    ),
    # ---- refused: not a number at all
    (
        "percent",
        s("-25%"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 4)",
    ),
    (
        "hex",
        s("0x10"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 2)",
    ),
    (
        "underscore",
        s("1_000"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 2)",
    ),
    (
        "double-minus",
        s("--1/4"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 2)",
    ),
    (
        "two-slashes",
        s("1/2/3"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 4)",
    ),
    (
        "space-inside",
        s("- 1/4"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 2)",
    ),
    (
        "expression",
        s("-1/8-1/8"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 5)",
    ),
    (
        "python-import",
        s("__import__('os').system('touch /tmp/x')"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 1)",
    ),
    (
        "shell-substitution",
        s("$(touch /tmp/x)"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 1)",
    ),
    (
        "backticks",
        s("`touch /tmp/x`"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 1)",
    ),
    (
        "tex-input",
        s("\\input{/etc/passwd}"),
        "invalid",
        "expected \\frac{p}{q}, \\tfrac{p}{q} or \\dfrac{p}{q} (at character 1)",
    ),
    (
        "tex-write18",
        s("\\write18{touch /tmp/x}"),
        "invalid",
        "expected \\frac{p}{q}, \\tfrac{p}{q} or \\dfrac{p}{q} (at character 1)",
    ),
    (
        "tex-nested-frac",
        s("\\frac{\\frac{1}{2}}{3}"),
        "invalid",
        "expected \\frac{p}{q}, \\tfrac{p}{q} or \\dfrac{p}{q} (at character 1)",
    ),
    (
        "tex-frac-fraction",
        s("\\frac{1/2}{3}"),
        "invalid",
        "the numerator of \\frac must be a plain number (at character 7)",
    ),
    ("empty", s(""), "invalid", "empty answer: expected a number (at character 1)"),
    ("blank", s("   "), "invalid", "empty answer: expected a number (at character 1)"),
    ("dollars-only", s("$$"), "invalid", "empty answer: expected a number (at character 1)"),
    # ---- refused: JSON values that are no numbers
    ("json-nan", "NaN", "invalid", "NaN is not a number JSON allows; write the number itself"),
    (
        "json-infinity",
        "Infinity",
        "invalid",
        "Infinity is not a number JSON allows; write the number itself",
    ),
    (
        "json-minus-infinity",
        "-Infinity",
        "invalid",
        "-Infinity is not a number JSON allows; write the number itself",
    ),
    (
        "json-true",
        "true",
        "invalid",
        'expected a number (a JSON number or a string like "1/4") or null, got true',
    ),
    (
        "json-false",
        "false",
        "invalid",
        'expected a number (a JSON number or a string like "1/4") or null, got false',
    ),
    (
        "json-object",
        '{"value": -0.25}',
        "invalid",
        'expected a number (a JSON number or a string like "1/4") or null, got an object',
    ),
    (
        "json-array",
        "[-0.25]",
        "invalid",
        'expected a number (a JSON number or a string like "1/4") or null, got an array',
    ),
    (
        "json-exp-huge",
        "1e999999999",
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    (
        "json-exp-400",
        "-2.5e400",
        "invalid",
        "exponent out of range (at most 80 in absolute value) (at character 1)",
    ),
    (
        "json-int-1001-digits",
        "1" * 1001,
        "invalid",
        "number has more than 1000 significant digits (at character 1)",
    ),
    (
        "json-int-100000-digits",
        "7" * 100_000,
        "invalid",
        "number is longer than 2100 characters (at character 1)",
    ),
    ("json-null", "null", "missing", None),
    # ---- accepted, and read exactly
    ("plain", s("-1/4"), "correct", F(-1, 4)),
    ("decimal", s("-0.25"), "correct", F(-1, 4)),
    ("unicode-minus", s("−0.25"), "correct", F(-1, 4)),
    ("unicode-minus-fraction-slash", s("−1⁄4"), "correct", F(-1, 4)),
    ("scientific", s("-2.5e-1"), "correct", F(-1, 4)),
    ("scientific-upper", s("-25E-2"), "correct", F(-1, 4)),
    ("unreduced", s("-2/8"), "correct", F(-1, 4)),
    ("negative-denominator", s("1/-4"), "correct", F(-1, 4)),
    ("leading-point", s("-.25"), "correct", F(-1, 4)),
    ("trailing-zeros", s("-0.250000"), "correct", F(-1, 4)),
    ("tex-tfrac", s("-\\tfrac14"), "correct", F(-1, 4)),
    ("tex-frac-dollars", s("$-\\frac{1}{4}$"), "correct", F(-1, 4)),
    ("tex-frac-inner-sign", s("\\frac{-1}{4}"), "correct", F(-1, 4)),
    ("tex-dfrac-spaces", s("-\\dfrac{ 1 }{ 4 }"), "correct", F(-1, 4)),
    ("surrounding-space", s("\t-1/4 \n"), "correct", F(-1, 4)),
    ("nbsp-around", s("\u00a0-1/4\u2009"), "correct", F(-1, 4)),
    ("json-decimal", "-0.25", "correct", F(-1, 4)),
    ("json-scientific", "-2.5E-1", "correct", F(-1, 4)),
    ("json-trailing-zeros", "-0.2500", "correct", F(-1, 4)),
    ("eighth-unicode", s("−1⁄8"), "incorrect", F(-1, 8)),
    ("sign-flip", s("1/4"), "incorrect", F(1, 4)),
    ("both-signs-negative", s("-1/-4"), "incorrect", F(1, 4)),
    ("almost", s("-0.2500000000001"), "incorrect", F(-2500000000001, 10**13)),
    ("e80", s("1e80"), "incorrect", F(10**80)),
    ("e-80", s("-1e-80"), "incorrect", F(-1, 10**80)),
    ("exp-padded-80", s("1e0000000000000080"), "incorrect", F(10**80)),
    ("digits-1000", s("1" * 1000), "incorrect", F(int("1" * 1000))),
    ("tiny-long", s("-0." + "0" * 2000 + "1"), "incorrect", F(-1, 10**2001)),
    (
        "json-int-huge",
        "123456789012345678901234567890",
        "incorrect",
        F(123456789012345678901234567890),
    ),
    ("json-minus-zero", "-0", "incorrect", F(0)),
    (
        "curly-injection",
        s("{{7*7}}"),
        "invalid",
        "expected a number such as 5, -0.125, 1.25e-1, 1/4 or \\frac{1}{4} (at character 1)",
    ),
]


# ------------------------------------------------------------------ formulas
# (id, field, the student's text, status, detail); detail: the reason (invalid), the
# diagnosis ids (incorrect; "review" when equivalence could not be decided), or None.

_EXPECT_XY = "expected one of x, y or a function exp, log, sigma, sqrt, tanh"
_EXPECT_X12 = (
    "expected one of x1, x2 or a function exp, f, hard_sigmoid, identity, log, sigma, softsign, "
    "sqrt, tanh"
)
_RANGE = "(at most 10 in absolute value, denominator at most 10)"

FORMULAS: list[tuple[str, str, str, str, Any]] = [
    # ---- code, not math
    (
        "py-import",
        PARTIAL,
        "__import__('os').system('touch /tmp/x')",
        "invalid",
        f"unknown name '__import__' at 0; {_EXPECT_XY} (at character 1)",
    ),
    (
        "py-attribute",
        PARTIAL,
        "x.__class__.__mro__",
        "invalid",
        "'.' is allowed only inside a number such as 0.5 at 1 (at character 2)",
    ),
    (
        "py-lambda",
        PARTIAL,
        "(lambda: x)()",
        "invalid",
        f"unknown name 'lambda' at 1; {_EXPECT_XY} (at character 2)",
    ),
    (
        "py-getattr",
        YHAT,
        "getattr(f, 'x')",
        "invalid",
        f"unknown name 'getattr' at 0; {_EXPECT_X12} (at character 1)",
    ),
    (
        "py-os",
        YHAT,
        "os.system('id')",
        "invalid",
        f"unknown name 'os' at 0; {_EXPECT_X12} (at character 1)",
    ),
    (
        "py-dunder-globals",
        YHAT,
        "f.__globals__",
        "invalid",
        "'.' is allowed only inside a number such as 0.5 at 1 (at character 2)",
    ),
    (
        "py-comprehension",
        PARTIAL,
        "[x for x in y]",
        "invalid",
        f"unknown name 'for' at 3; {_EXPECT_XY} (at character 4)",
    ),
    (
        "py-string",
        PARTIAL,
        "'4x+3y'",
        "invalid",
        "quotes are not allowed in a formula at 0 (at character 1)",
    ),
    (
        "shell-substitution",
        PARTIAL,
        "$(touch /tmp/x)",
        "invalid",
        f"unknown name 'touch' at 2; {_EXPECT_XY} (at character 3)",
    ),
    (
        "shell-backticks",
        PARTIAL,
        "`touch x`",
        "invalid",
        "backticks are not allowed in a formula at 0 (at character 1)",
    ),
    (
        "shell-semicolon",
        PARTIAL,
        "4x+3y;rm -rf /",
        "invalid",
        "';' is not allowed: write one formula at 5 (at character 6)",
    ),
    (
        "shell-pipe",
        PARTIAL,
        "4x+3y|sh",
        "invalid",
        "unexpected character '|' at 5 (at character 6)",
    ),
    (
        "tex-input",
        PARTIAL,
        "\\input{/etc/passwd}",
        "invalid",
        "unknown LaTeX command \\input at 0 (at character 1)",
    ),
    (
        "tex-write18",
        PARTIAL,
        "\\write18{touch x}",
        "invalid",
        "unknown LaTeX command \\write at 0 (at character 1)",
    ),
    (
        "tex-catcode",
        PARTIAL,
        "\\catcode`\\^=7",
        "invalid",
        "cannot read '\\\\catcode`\\\\^' before '=' as the name of a quantity "
        "(write only the formula, or for example df/dx = …) (at character 1)",
    ),
    (
        "tex-hat-hat",
        PARTIAL,
        "^^5cinput{x}",
        "invalid",
        f"unknown name 'cinput' at 3; {_EXPECT_XY} (at character 4)",
    ),
    # a left-hand side naming the asked quantity is read as a TA reads it (issue 13)
    ("equation", PARTIAL, "df/dx = 4x+3y", "correct", None),
    ("equation-other-quantity", PARTIAL, "df/dy = 4x+3y", "incorrect", []),
    (
        "unknown-function",
        PARTIAL,
        "sin(x)",
        "invalid",
        f"unknown name 'sin' at 0; {_EXPECT_XY} (at character 1)",
    ),
    (
        "generic-not-here",
        PARTIAL,
        "f(x)",
        "invalid",
        f"unknown name 'f' at 0; {_EXPECT_XY} (at character 1)",
    ),
    (
        "unknown-variable",
        PARTIAL,
        "4x+3y+2z",
        "invalid",
        f"unknown name 'z' at 7; {_EXPECT_XY} (at character 8)",
    ),
    (
        "unknown-variable-mlp",
        YHAT,
        "f(x3)",
        "invalid",
        f"unknown name 'x3' at 2; {_EXPECT_X12} (at character 3)",
    ),
    # the sheet's f is relu: its name is f (issue 13), so this is graded, and wrong
    ("activation-by-name", YHAT, "relu(x1)", "incorrect", ["arithmetic"]),
    (
        "two-arguments",
        YHAT,
        "f(x1,x2)",
        "invalid",
        "a formula has no commas (write decimals with a point: 0.5) at 4 (at character 5)",
    ),
    # ---- look-alike characters
    # fullwidth forms (CJK input methods) are read as their ASCII (issue 13)
    ("fullwidth-x", PARTIAL, "４ｘ+3y", "correct", None),
    ("cyrillic-x", PARTIAL, "4х+3y", "invalid", "unexpected character 'х' at 1 (at character 2)"),
    ("nul", PARTIAL, "4x\x00+3y", "invalid", "unexpected character '\\x00' at 2 (at character 3)"),
    (
        "zero-width",
        PARTIAL,
        "4x\u200b+3y",
        "invalid",
        "unexpected character '\\u200b' at 2 (at character 3)",
    ),
    (
        "emoji",
        PARTIAL,
        "4x+3y+\U0001f600",
        "invalid",
        "unexpected character '\U0001f600' at 6 (at character 7)",
    ),
    (
        "lone-surrogate",
        PARTIAL,
        "\ud800",
        "invalid",
        "the answer contains an invalid character (a lone surrogate escape)",
    ),
    # ---- sizes: exponents, nesting, length, digits
    (
        "power-tower",
        PARTIAL,
        "x**x**x**99999",
        "invalid",
        f"exponent 99999 at 9 is out of range {_RANGE} (at character 10)",
    ),
    (
        "two-to-billion",
        PARTIAL,
        "2^1000000000",
        "invalid",
        f"exponent 1000000000 at 2 is out of range {_RANGE} (at character 3)",
    ),
    (
        "power-of-power",
        YHAT,
        "f(x1)^10^10",
        "invalid",
        f"exponent 10000000000 at 6 is out of range {_RANGE} (at character 7)",
    ),
    (
        "tiny-exponent",
        PARTIAL,
        "4x+3y+10^(-40)",
        "invalid",
        f"exponent -40 at 9 is out of range {_RANGE} (at character 10)",
    ),
    (
        "variable-exponent",
        YHAT,
        "x1^x2",
        "invalid",
        "the exponent at 3 must be a number such as 2 or 1/2 (write exp(...) for e^...) (at character 4)",
    ),
    (
        "degree-bomb",
        YHAT,
        "f(f(f(f(f(f(x1+x2)^10)^10)^10)^10)^10)",
        "invalid",
        "formula is too large (degree over 1000) at 6 (at character 7)",
    ),
    (
        "degree-bomb-polynomial",
        PARTIAL,
        "((((x+1)^10)^10)^10)^2",
        "invalid",
        "formula is too large (degree over 1000) at 21 (at character 22)",
    ),
    (
        "constant-bomb",
        PARTIAL,
        "(((10^10)^10)^10)^10",
        "invalid",
        "number too large at 18 (at character 19)",
    ),
    (
        "parens-5000",
        PARTIAL,
        "(" * 5000 + "x" + ")" * 5000,
        "invalid",
        "the answer is 10001 characters long; at most 2000 are read",
    ),
    (
        "parens-41",
        PARTIAL,
        "(" * 41 + "x" + ")" * 41,
        "invalid",
        "formula is nested too deeply at 40 (more than 40 levels of brackets, signs and exponents) (at character 41)",
    ),
    (
        "minus-60",
        PARTIAL,
        "-" * 60 + "x",
        "invalid",
        "formula is nested too deeply at 40 (more than 40 levels of brackets, signs and exponents) (at character 41)",
    ),
    (
        "symbols-1999",
        PARTIAL,
        "x" * 1999,
        "invalid",
        "formula has more than 500 symbols at 500 (at character 501)",
    ),
    (
        "chars-100000",
        PARTIAL,
        "x" * 100_000,
        "invalid",
        "the answer is 100000 characters long; at most 2000 are read",
    ),
    (
        "exp-7-deep",
        PARTIAL,
        "exp(exp(exp(exp(exp(exp(exp(x)))))))",
        "invalid",
        "functions nested more than 6 deep at 24 (at character 25)",
    ),
    (
        "f-7-deep",
        YHAT,
        "f(f(f(f(f(f(f(x1)))))))",
        "invalid",
        "functions nested more than 6 deep at 12 (at character 13)",
    ),
    (
        "digits-41",
        PARTIAL,
        "9" * 41 + "x",
        "invalid",
        "number has more than 40 significant digits at 0 (at character 1)",
    ),
    (
        "exp-in-number",
        PARTIAL,
        "1e999999999x",
        "invalid",
        "exponent out of range (at most 80 in absolute value) at 0 (at character 1)",
    ),
    # ---- undefined values
    ("divide-by-zero", PARTIAL, "1/0", "invalid", "division by zero at 2 (at character 3)"),
    (
        "divide-by-difference",
        PARTIAL,
        "x/(x-x)",
        "invalid",
        "division by zero at 2 (at character 3)",
    ),
    (
        "log-zero",
        PARTIAL,
        "log(0)",
        "invalid",
        "log of a number that is not positive at 0 (at character 1)",
    ),
    (
        "root-negative",
        PARTIAL,
        "(-8)^(1/3)",
        "invalid",
        "root of a negative number at 5 (at character 6)",
    ),
    ("empty", PARTIAL, "", "invalid", "empty formula (at character 1)"),
    ("unbalanced", PARTIAL, "(4x+3y", "invalid", "'(' at 0 is never closed (at character 1)"),
    # ---- accepted: bounded work, a clear verdict
    ("exp-5-deep", PARTIAL, "exp(exp(exp(exp(exp(x)))))", "incorrect", ["arithmetic"]),
    ("e-tower", PARTIAL, "e^(e^(e^(e^(e^x))))", "incorrect", ["arithmetic"]),
    ("tanh-6-deep", PARTIAL, "tanh(tanh(tanh(tanh(tanh(tanh(x))))))", "incorrect", ["arithmetic"]),
    ("exp-1000", PARTIAL, "exp(1000)", "incorrect", "review"),
    # defined nowhere: incorrect, not queued for a person (issue 13)
    ("log-of-nothing", PARTIAL, "log(x-x)", "incorrect", ["arithmetic"]),
    ("jinja-braces", PARTIAL, "{{7*7}}", "incorrect", ["arithmetic"]),
    ("dollar-braces", PARTIAL, "${7*7}", "incorrect", ["arithmetic"]),
    ("degree-100", PARTIAL, "((x+y)^10)^10", "incorrect", ["arithmetic"]),
    ("sum-241", PARTIAL, "x" + "+x" * 240, "incorrect", ["arithmetic"]),
    ("exp-5-deep-mlp", YHAT, "exp(exp(exp(exp(exp(x1)))))", "incorrect", ["arithmetic"]),
    (
        "wrong-sign-mlp",
        YHAT,
        "f(2*f(-f(-x1 + 2*x2) + f(x1 + x2)) - f(f(-x1 + 2*x2)))",
        "incorrect",
        ["arithmetic"],
    ),
    ("as-written", PARTIAL, "2x+y+2(x+y)", "correct", None),
    ("simplified", PARTIAL, "4x+3y", "correct", None),
    ("unicode-operators", PARTIAL, "2·x + y + 2×(x + y)", "correct", None),
    ("latex", PARTIAL, "$\\frac{8x+6y}{2}$", "correct", None),
    ("cancelling-sigma", PARTIAL, "4x+3y+sigma(x)-sigma(x)", "correct", None),
    ("times-zero-tower", PARTIAL, "4x+3y+0*exp(exp(exp(exp(x))))", "correct", None),
    ("key-mlp", YHAT, YHAT_KEY, "correct", None),
    ("implicit-mlp", YHAT, "f(2f(-f(-x1+2x2)+f(x1+x2))+f(f(-x1+2x2)))", "correct", None),
]


# ------------------------------------------------------------------ JSON files


@dataclass(frozen=True)
class FileCase:
    """One file of the batch.  ``make(path, sid, key)`` writes it.  ``row``: the roster
    student's own row (``own``), a row of its own with no student (``orphan``) or an
    ``unmatched`` row.  ``message``: the reason after the file's path; ``check`` looks at
    the report of a graded file."""

    id: str
    make: Callable[[Path, str, dict[str, Any]], None]
    row: str
    status: str
    message: str | Callable[[Path], str]
    check: Callable[[dict[str, Any]], None] | None = None


def _dump(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _perfect(sid: str, key: dict[str, Any]) -> dict[str, Any]:
    return {
        "assignment": key["assignment"],
        "student": sid,
        "answers": json.loads(json.dumps(key["answers"])),
    }


def _write_bytes(
    data: Callable[[str, dict[str, Any]], bytes],
) -> Callable[[Path, str, dict[str, Any]], None]:
    return lambda path, sid, key: path.write_bytes(data(sid, key))


def _with(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path, str, dict[str, Any]], None]:
    """A perfect submission, changed in place by ``change``."""

    def make(path: Path, sid: str, key: dict[str, Any]) -> None:
        data = _perfect(sid, key)
        change(data)
        path.write_bytes(_dump(data))

    return make


def _raw(template: str) -> Callable[[Path, str, dict[str, Any]], None]:
    """A file from a text template: ``{sid}`` and ``{answers}`` (the key's) filled in."""
    return _write_bytes(
        lambda sid, key: (
            template.replace("{sid}", sid)
            .replace("{answers}", json.dumps(key["answers"]))
            .encode("utf-8")
        )
    )


def _padded(size: int) -> Callable[[Path, str, dict[str, Any]], None]:
    def make(path: Path, sid: str, key: dict[str, Any]) -> None:
        data = _dump(_perfect(sid, key))
        path.write_bytes(data + b" " * (size - len(data)))

    return make


def _sparse(size: int) -> Callable[[Path, str, dict[str, Any]], None]:
    def make(path: Path, sid: str, key: dict[str, Any]) -> None:
        with path.open("wb") as handle:
            handle.write(b'{"student": "' + sid.encode() + b'", "answers": ')
            handle.truncate(size)  # the rest is a hole: costs nothing to write

    return make


def _nested(depth: int) -> Callable[[Path, str, dict[str, Any]], None]:
    """Answer leaf /answers/sgd/steps/0/deltas/2 replaced by ``depth`` nested arrays (the
    leaf itself sits 6 levels deep)."""

    def make(path: Path, sid: str, key: dict[str, Any]) -> None:
        text = json.dumps(_perfect(sid, key)).replace('"-1/4"', "[" * depth + "]" * depth, 1)
        path.write_text(text, encoding="utf-8")

    return make


def _random_bytes(sid: str, key: dict[str, Any]) -> bytes:
    return random.Random(20240601).randbytes(4096)


def _first_bad_utf8(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    raise AssertionError("valid UTF-8")


def _fifo(path: Path, sid: str, key: dict[str, Any]) -> None:
    os.mkfifo(path)


def _symlink(target: str) -> Callable[[Path, str, dict[str, Any]], None]:
    return lambda path, sid, key: path.symlink_to(target)


def _two_files(path: Path, sid: str, key: dict[str, Any]) -> None:
    first = path.with_name(path.name.replace(".json", "-a.json"))
    first.write_bytes(_dump(_perfect(sid, key)))
    path.with_name(path.name.replace(".json", "-b.json")).write_bytes(
        b'{"student": "' + sid.encode() + b'", "answers": {'
    )


def _set(*where: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for part in where[:-1]:
            node = node[part]
        node[where[-1]] = value

    return change


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f["pointer"]: f["status"] for f in report["fields"]}


def _all(
    status: str, prefix: str = "/answers/", count: int = LEAVES
) -> Callable[[dict[str, Any]], None]:
    def check(report: dict[str, Any]) -> None:
        mine = [f for f in report["fields"] if f["pointer"].startswith(prefix)]
        assert len(mine) == count and {f["status"] for f in mine} == {status}, _statuses(report)

    return check


def _field(ptr: str, status: str, feedback: str | None = None) -> Callable[[dict[str, Any]], None]:
    def check(report: dict[str, Any]) -> None:
        field = next(f for f in report["fields"] if f["pointer"] == ptr)
        assert field["status"] == status, field
        if feedback is not None:
            assert field["feedback"] == feedback, field["feedback"]
        others = [f for f in report["fields"] if f["pointer"] != ptr]
        assert {f["status"] for f in others} == {"correct"}, _statuses(report)

    return check


_NOT_OBJECT = 'expected a JSON object {"assignment": …, "student": …, "answers": …}, got '
_BAD_ID = " is not a valid student id (letters, digits, '.', '_' or '-', at most 64, no '..')"
_ALL_RIGHT = f"{LEAVES} correct"

FILES: list[FileCase] = [
    # ---- encodings
    FileCase(
        "bom",
        _write_bytes(lambda sid, key: b"\xef\xbb\xbf" + _dump(_perfect(sid, key))),
        "own",
        "submitted",
        _ALL_RIGHT,
        _all("correct"),
    ),
    FileCase(
        "utf16",
        _write_bytes(lambda sid, key: json.dumps(_perfect(sid, key)).encode("utf-16")),
        "orphan",
        "invalid",
        "the file is UTF-16 text; save it as UTF-8",
    ),
    FileCase(
        "utf16le-no-bom",
        _write_bytes(lambda sid, key: json.dumps(_perfect(sid, key)).encode("utf-16-le")),
        "orphan",
        "invalid",
        "the file is UTF-16 text; save it as UTF-8",
    ),
    FileCase(
        "utf32",
        _write_bytes(lambda sid, key: json.dumps(_perfect(sid, key)).encode("utf-32")),
        "orphan",
        "invalid",
        "the file is UTF-32 text; save it as UTF-8",
    ),
    FileCase(
        "latin1",
        _write_bytes(
            lambda sid, key: ('{"student": "' + sid + '", "note": "caf\u00e9"}').encode("latin-1")
        ),
        "own",
        "invalid",
        "not UTF-8 text (byte 32); save the file as UTF-8",
    ),
    FileCase(
        "random-bytes",
        _write_bytes(_random_bytes),
        "orphan",
        "invalid",
        f"not UTF-8 text (byte {_first_bad_utf8(_random_bytes('', {}))}); save the file as UTF-8",
    ),
    FileCase(
        "empty",
        _write_bytes(lambda sid, key: b""),
        "orphan",
        "invalid",
        "not valid JSON: the file is empty: it must hold your answer template's JSON (line 1, column 1)",
    ),
    FileCase(
        "whitespace",
        _write_bytes(lambda sid, key: b" \n\t "),
        "orphan",
        "invalid",
        "not valid JSON: the file is empty: it must hold your answer template's JSON (line 1, column 1)",
    ),
    # ---- sizes and nesting
    FileCase(
        "sparse-60MB",
        _sparse(60_000_000),
        "own",
        "invalid",
        "the file is 60000000 bytes; a submission must be at most 2000000",
    ),
    FileCase(
        "one-byte-over",
        _padded(2_000_001),
        "own",
        "invalid",
        "the file is 2000001 bytes; a submission must be at most 2000000",
    ),
    FileCase("at-the-limit", _padded(2_000_000), "own", "submitted", _ALL_RIGHT, _all("correct")),
    FileCase(
        "nesting-100000",
        _raw('{"student": "{sid}", "answers": ' + "[" * 100_000),
        "own",
        "invalid",
        "JSON nested more than 64 levels deep (line 1, column 95)",
    ),
    FileCase(
        "nesting-100000-bare",
        _write_bytes(lambda sid, key: b"{" + b'"a":{' * 100_000),
        "orphan",
        "invalid",
        "JSON nested more than 64 levels deep (line 1, column 321)",
    ),
    FileCase(
        "nesting-64",
        _nested(58),
        "own",
        "submitted",
        f"{LEAVES - 1} correct; 1 invalid",
        _field(
            DELTA,
            "invalid",
            'Could not read your answer: expected a number (a JSON number or a string like "1/4") or null, got an array. Expected -1/4 (-0.25).',
        ),
    ),
    FileCase(
        "nesting-65",
        _nested(59),
        "own",
        "invalid",
        lambda p: (
            f"JSON nested more than 64 levels deep (line 1, column {_column_of_level(p, 65)})"
        ),
    ),
    FileCase(
        "brackets-in-a-string",
        _with(_set("answers", "sgd", "steps", 0, "deltas", 2, value="[" * 100_000)),
        "own",
        "submitted",
        f"{LEAVES - 1} correct; 1 invalid",
        _field(DELTA, "invalid", None),
    ),
    # ---- duplicate keys
    FileCase(
        "duplicate-student",
        _raw('{"student": "{sid}", "student": "{sid}", "answers": {answers}}'),
        "own",
        "invalid",
        '/student: the key "student" appears more than once',
    ),
    FileCase(
        "duplicate-student-other",
        _raw('{"student": "{sid}", "student": "n000", "answers": {answers}}'),
        "own",
        "invalid",
        '/student: the key "student" appears more than once',
    ),
    FileCase(
        "duplicate-answers",
        _raw('{"student": "{sid}", "answers": {}, "answers": {answers}}'),
        "own",
        "submitted",
        f"{LEAVES} invalid",
        _all("invalid"),
    ),
    FileCase(
        "duplicate-leaf-key",
        lambda path, sid, key: path.write_text(
            json.dumps(_perfect(sid, key)).replace('"deltas":', '"deltas": [], "deltas":', 1)
        ),
        "own",
        "submitted",
        f"{LEAVES - 3} correct; 3 invalid",
        None,
    ),
    # ---- wrong types, everywhere
    FileCase(
        "answers-array",
        _with(_set("answers", value=[])),
        "own",
        "submitted",
        f"{LEAVES} invalid; 1 file problem(s): /answers: expected an object",
        _all("invalid"),
    ),
    FileCase(
        "answers-string",
        _with(_set("answers", value="all correct")),
        "own",
        "submitted",
        f"{LEAVES} invalid; 1 file problem(s): /answers: expected an object",
        _all("invalid"),
    ),
    FileCase(
        "answers-null",
        _with(_set("answers", value=None)),
        "own",
        "submitted",
        f"{LEAVES} missing",
        _all("missing"),
    ),
    FileCase(
        "answers-absent",
        _raw('{"student": "{sid}"}'),
        "own",
        "submitted",
        f"{LEAVES} missing",
        _all("missing"),
    ),
    FileCase(
        "steps-object",
        _with(_set("answers", "sgd", "steps", value={})),
        "own",
        "submitted",
        f"{GRAPH_LEAVES + MLP_LEAVES} correct; {SGD_LEAVES} invalid; 1 file problem(s): /answers/sgd/steps: expected an array",
        _all("invalid", "/answers/sgd/", SGD_LEAVES),
    ),
    FileCase(
        "steps-nulls",
        _with(_set("answers", "sgd", "steps", value=[None, None])),
        "own",
        "submitted",
        f"{GRAPH_LEAVES + MLP_LEAVES} correct; {SGD_LEAVES} missing",
        _all("missing", "/answers/sgd/", SGD_LEAVES),
    ),
    FileCase(
        "matrix-as-number",
        _with(_set("answers", "mlp", "h1", value=5)),
        "own",
        "submitted",
        f"{LEAVES - 4} correct; 4 invalid; 1 file problem(s): /answers/mlp/h1: expected an array",
        _all("invalid", "/answers/mlp/h1/", 4),
    ),
    FileCase(
        "huge-array",
        _with(lambda d: d["answers"]["sgd"]["steps"][0]["forward"].extend(["0"] * 300_000)),
        "own",
        "submitted",
        f"{LEAVES} correct; 1 file problem(s): /answers/sgd/steps/0/forward: expected 4 items, got 300004",
        _all("correct"),
    ),
    FileCase(
        "nan-leaves",
        _raw(
            '{"student": "{sid}", "answers": {"sgd": {"steps": [{"forward": [NaN, Infinity, -Infinity, null]}, null]}}}'
        ),
        "own",
        "submitted",
        f"{LEAVES - 3} missing; 3 invalid",
        None,
    ),
    FileCase(
        "long-string-leaf",
        _with(_set("answers", "sgd", "steps", 0, "deltas", 2, value="9" * 1_500_000)),
        "own",
        "submitted",
        f"{LEAVES - 1} correct; 1 invalid",
        _field(
            DELTA,
            "invalid",
            "Could not read your answer: the answer is 1500000 characters long; at most 2100 are read. Expected -1/4 (-0.25).",
        ),
    ),
    FileCase(
        "nul-in-leaf",
        _with(_set("answers", "sgd", "steps", 0, "deltas", 2, value="\x00")),
        "own",
        "submitted",
        f"{LEAVES - 1} correct; 1 invalid",
        _field(DELTA, "invalid", None),
    ),
    FileCase(
        "surrogate-in-leaf",
        lambda path, sid, key: path.write_text(
            json.dumps(_perfect(sid, key)).replace('"-1/4"', '"\\ud800"', 1)
        ),
        "own",
        "submitted",
        f"{LEAVES - 1} correct; 1 invalid",
        _field(
            DELTA,
            "invalid",
            "Could not read your answer: the answer contains an invalid character (a lone surrogate escape). Expected -1/4 (-0.25).",
        ),
    ),
    FileCase(
        "extra-fields",
        _with(
            lambda d: (
                d.update(extra=1),
                d["answers"].update(bonus={}),
                d["answers"]["sgd"]["steps"][1].update(bias=["1"]),
            )
        ),
        "own",
        "submitted",
        f"{LEAVES} correct; 3 file problem(s): /answers/sgd/steps/1/bias: unexpected field",
        _all("correct"),
    ),
    FileCase(
        "many-extra-keys",
        _with(lambda d: d["answers"]["sgd"].update({f"k{i}": i for i in range(50_000)})),
        "own",
        "submitted",
        f"{LEAVES} correct; 21 file problem(s): /answers/sgd/k0: unexpected field",
        _all("correct"),
    ),
    FileCase(
        "key-file-as-submission",
        lambda path, sid, key: path.write_bytes(_dump(dict(key, student=sid))),
        "own",
        "submitted",
        _ALL_RIGHT,
        _all("correct"),
    ),
    FileCase(
        "escaped-key-names",
        _raw('{"\\u0073tudent": "{sid}", "\\u0061nswers": {answers}}'),
        "own",
        "submitted",
        _ALL_RIGHT,
        _all("correct"),
    ),
    FileCase(
        "assignment-null",
        _with(_set("assignment", value=None)),
        "own",
        "submitted",
        _ALL_RIGHT,
        _all("correct"),
    ),
    FileCase(
        "assignment-other",
        _with(_set("assignment", value="other-hw")),
        "own",
        "invalid",
        "/assignment: this submission is for 'other-hw', not 'hostile-hw'",
    ),
    FileCase(
        "assignment-number",
        _with(_set("assignment", value=5)),
        "own",
        "invalid",
        "/assignment: expected the assignment id as a string, got a number",
    ),
    # ---- the top level and the student id
    FileCase(
        "top-array",
        lambda path, sid, key: path.write_bytes(_dump([_perfect(sid, key)])),
        "own",
        "invalid",
        _NOT_OBJECT + "an array",
    ),
    FileCase(
        "top-string",
        _write_bytes(lambda sid, key: b'"hello"'),
        "orphan",
        "invalid",
        _NOT_OBJECT + "a string",
    ),
    FileCase(
        "top-number",
        _write_bytes(lambda sid, key: b"1e999999999"),
        "orphan",
        "invalid",
        _NOT_OBJECT + "a number",
    ),
    FileCase(
        "top-null",
        _write_bytes(lambda sid, key: b"null"),
        "orphan",
        "invalid",
        _NOT_OBJECT + "null",
    ),
    FileCase(
        "student-number",
        _with(_set("student", value=12)),
        "orphan",
        "invalid",
        "/student: expected the student id as a string, got a number",
    ),
    FileCase(
        "student-huge-int",
        _raw('{"student": ' + "9" * 100_000 + "}"),
        "orphan",
        "invalid",
        "/student: expected the student id as a string, got a number",
    ),
    FileCase(
        "student-null",
        _with(_set("student", value=None)),
        "orphan",
        "invalid",
        "/student: expected the student id as a string, got null",
    ),
    FileCase(
        "student-array",
        lambda path, sid, key: path.write_bytes(_dump(dict(_perfect(sid, key), student=[sid]))),
        "orphan",
        "invalid",
        "/student: expected the student id as a string, got an array",
    ),
    FileCase(
        "student-nan",
        _raw('{"student": NaN, "answers": {answers}}'),
        "orphan",
        "invalid",
        "/student: expected the student id as a string, got NaN",
    ),
    FileCase(
        "student-traversal",
        _with(_set("student", value="../../etc/passwd")),
        "orphan",
        "invalid",
        "/student: '../../etc/passwd'" + _BAD_ID,
    ),
    FileCase(
        "student-slash",
        lambda path, sid, key: path.write_bytes(
            _dump(dict(_perfect(sid, key), student=sid + "/../../x"))
        ),
        "orphan",
        "invalid",
        lambda p: f"/student: '{_sid_of(p)}/../../x'" + _BAD_ID,
    ),
    FileCase(
        "student-nul",
        lambda path, sid, key: path.write_bytes(
            _dump(dict(_perfect(sid, key), student=sid + "\x00")).replace(b"\x00", b"\\u0000")
        ),
        "orphan",
        "invalid",
        lambda p: f"/student: '{_sid_of(p)} '" + _BAD_ID,
    ),
    FileCase(
        "student-newline",
        lambda path, sid, key: path.write_bytes(
            _dump(dict(_perfect(sid, key), student=sid + "\n"))
        ),
        "orphan",
        "invalid",
        lambda p: f"/student: '{_sid_of(p)} '" + _BAD_ID,
    ),
    FileCase(
        "student-surrogate",
        _raw('{"student": "\\ud800", "answers": {}}'),
        "orphan",
        "invalid",
        "/student: '\ufffd'" + _BAD_ID,
    ),
    FileCase(
        "student-65-chars",
        _with(_set("student", value="a" * 65)),
        "orphan",
        "invalid",
        "/student: '" + "a" * 39 + "…'" + _BAD_ID,
    ),
    FileCase(
        "student-empty",
        _with(_set("student", value="")),
        "orphan",
        "invalid",
        "/student: ''" + _BAD_ID,
    ),
    FileCase(
        "student-not-on-roster",
        _with(_set("student", value="zz999")),
        "unmatched",
        "unmatched",
        "student id 'zz999' is not on the roster",
    ),
    # ---- not JSON at all
    FileCase(
        "trailing-garbage",
        _raw('{"student": "{sid}"} xyz'),
        "own",
        "invalid",
        "not valid JSON: something follows the end of the JSON object: delete it (line 1, column 21)",
    ),
    FileCase(
        "js-comment",
        _raw('// my answers\n{"student": "{sid}"}'),
        "own",
        "invalid",
        "not valid JSON: JSON allows no comments: delete the comment (line 1, column 1)",
    ),
    FileCase(
        "single-quotes",
        _raw("{'student': '{sid}'}"),
        "orphan",
        "invalid",
        "not valid JSON: JSON needs double quotes: write \"…\", not '…' (line 1, column 2)",
    ),
    FileCase(
        "truncated",
        lambda path, sid, key: path.write_bytes(_dump(_perfect(sid, key))[:200]),
        "own",
        "invalid",
        "not valid JSON: the file ends too early: a closing '}' or ']' (or more) is missing (line 1, column 201)",
    ),
    FileCase(
        "raw-control-char",
        _raw('{"student": "{sid}", "answers": {"sgd": "\x01"}}'),
        "own",
        "invalid",
        "not valid JSON: Invalid control character at (line 1, column 41)",
    ),
    # ---- not regular files, and odd names
    FileCase("fifo", _fifo, "orphan", "invalid", "not a regular file"),
    FileCase("symlink-dev-zero", _symlink("/dev/zero"), "orphan", "invalid", "not a regular file"),
    FileCase(
        "symlink-etc-passwd",
        _symlink("/etc/passwd"),
        "orphan",
        "invalid",
        # its first line is root's
        "not valid JSON: root is not a JSON value: write a number, a string in double quotes, or null (line 1, column 1)",
    ),
    FileCase(
        "dangling-symlink",
        _symlink("/nonexistent/nowhere.json"),
        "orphan",
        "invalid",
        "cannot read the file: No such file or directory",
    ),
    FileCase(
        "two-files",
        _two_files,
        "own",
        "invalid",
        lambda p: (
            f"2 files for this student: graded the last in sorted order (ignored: {_two(p, 'a')}); {_two(p, 'b')}: not valid JSON: the file ends too early: a closing '}}' or ']' (or more) is missing (line 1, column 33)"
        ),
    ),
    FileCase(
        "shell-in-name-$(touch PWNED)",
        _write_bytes(lambda sid, key: b"{"),
        "orphan",
        "invalid",
        "not valid JSON: the file ends too early: a closing '}' or ']' (or more) is missing (line 1, column 2)",
    ),
]


if not hasattr(os, "mkfifo"):  # no FIFOs or easy symlinks (Windows): those cases cannot be made
    FILES = [
        c for c in FILES if c.make is not _fifo and not c.id.startswith(("symlink", "dangling"))
    ]


def _sid_of(path: Path) -> str:
    return path.name.split("-", 1)[0]


def _two(path: Path, which: str) -> str:
    return str(path.with_name(path.name.replace(".json", f"-{which}.json")))


def _column_of_level(path: Path, level: int) -> int:
    text = path.read_text(encoding="utf-8")
    depth = 0
    for i, ch in enumerate(text):
        if ch == '"':  # no brackets inside the strings of these files
            continue
        if ch in "[{":
            depth += 1
            if depth == level:
                return i + 1
        elif ch in "]}":
            depth -= 1
    raise AssertionError("not that deep")


# ------------------------------------------------------------------ the batch


def _id(prefix: str, i: int) -> str:
    return f"{prefix}{i:03d}"


@dataclass
class Batch:
    out: Path
    subs: Path
    code: int
    stdout: str
    stderr: str
    rows: list[dict[str, str]]
    key: dict[str, Any]

    def row(self, student: str) -> dict[str, str]:
        found = [r for r in self.rows if r["student"] == student]
        assert len(found) == 1, (student, found)
        return found[0]

    def report(self, student: str) -> dict[str, Any]:
        return json.loads((self.out / "reports" / f"{student}.json").read_text(encoding="utf-8"))

    def field(self, student: str, ptr: str) -> dict[str, Any]:
        return next(f for f in self.report(student)["fields"] if f["pointer"] == ptr)


def _file_path(subs: Path, i: int, case: FileCase) -> Path:
    return subs / f"{_id('j', i)}-{case.id}.json"


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Batch:
    tmp = tmp_path_factory.mktemp("hostile")
    assignment = tmp / "hostile.yaml"
    assignment.write_text(ASSIGNMENT, encoding="utf-8")
    spec = load_assignment(assignment)
    key = key_json(spec, "", make_variants(spec, "", None))
    subs = tmp / "subs"
    subs.mkdir()
    students: list[str] = []
    marked = _perfect("@SID@", key)
    assert marked["answers"]["sgd"]["steps"][0]["deltas"][2] == "-1/4"
    marked["answers"]["sgd"]["steps"][0]["deltas"][2] = "@LEAF@"
    template = json.dumps(marked)
    for i, (_, token, _, _) in enumerate(NUMBERS):
        sid = _id("n", i)
        students.append(sid)
        text = template.replace("@SID@", sid).replace('"@LEAF@"', token)
        (subs / f"{sid}.json").write_text(text, encoding="utf-8", errors="surrogatepass")
    for i, (_, ptr, text, _, _) in enumerate(FORMULAS):
        sid = _id("f", i)
        students.append(sid)
        data = _perfect(sid, key)
        if ptr == PARTIAL:
            data["answers"]["graph"]["partials"]["x"]["formula"] = text
        else:
            data["answers"]["mlp"]["yhat_formula"] = text
        (subs / f"{sid}.json").write_bytes(json.dumps(data).encode("utf-8"))
    for i, case in enumerate(FILES):
        sid = _id("j", i)
        students.append(sid)
        case.make(_file_path(subs, i, case), sid, key)
    (subs / "a-directory.json").mkdir()  # not a file: not a submission
    roster = tmp / "roster.csv"
    roster.write_text(
        "id,name\n" + "".join(f"{sid},Student {sid}\n" for sid in students), encoding="utf-8"
    )
    out = tmp / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(assignment),
            str(subs),
            "--roster",
            str(roster),
            "--out",
            str(out),
            "--jobs",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=WATCHDOG,
        cwd=tmp,
        check=False,
    )
    text = (
        (out / "gradebook.csv").read_text(encoding="utf-8")
        if (out / "gradebook.csv").is_file()
        else ""
    )
    assert text, done.stderr
    rows = list(csv.DictReader(io.StringIO(text)))
    return Batch(out, subs, done.returncode, done.stdout, done.stderr, rows, key)


def test_the_batch_completes_with_exit_1_and_no_traceback(batch: Batch) -> None:
    assert batch.code == 1, batch.stderr
    assert "Traceback" not in batch.stdout + batch.stderr
    assert batch.stderr == ""
    assert not [r for r in batch.rows if "internal error" in r["reason"]]


def test_corpus_is_large() -> None:
    assert len(NUMBERS) + len(FORMULAS) + len(FILES) + len(ROSTERS) + len(ASSIGNMENTS) >= 200


@pytest.mark.parametrize(
    ("case", "token", "status", "detail"), NUMBERS, ids=[c[0] for c in NUMBERS]
)
def test_number(batch: Batch, case: str, token: str, status: str, detail: Any) -> None:
    sid = _id("n", [c[0] for c in NUMBERS].index(case))
    assert batch.row(sid)["status"] == "submitted"
    field = batch.field(sid, DELTA)
    assert field["status"] == status, field
    others = [f for f in batch.report(sid)["fields"] if f["pointer"] != DELTA]
    assert len(others) == LEAVES - 1
    assert {f["status"] for f in others} == {"correct"}  # one bad leaf costs only itself
    given = field["given"]
    assert given is None or len(given) <= 200
    if status == "invalid":
        assert (
            field["feedback"] == f"Could not read your answer: {detail}. Expected {DELTA_EXPECTED}."
        )
        assert field["points"] == 0
    elif status == "missing":
        assert field["feedback"] == f"No answer. Expected {DELTA_EXPECTED}." and given is None
    else:
        written = json.loads(token)
        assert parse_number(written if isinstance(written, str) else token) == detail
        if status == "correct":
            assert field["feedback"] == f"Correct: {DELTA_EXPECTED}."
            assert field["points"] == field["max_points"] > 0
        else:
            assert field["feedback"].startswith(f"Expected {DELTA_EXPECTED}.")
            assert field["points"] == 0


@pytest.mark.parametrize(
    ("case", "ptr", "text", "status", "detail"), FORMULAS, ids=[c[0] for c in FORMULAS]
)
def test_formula(batch: Batch, case: str, ptr: str, text: str, status: str, detail: Any) -> None:
    sid = _id("f", [c[0] for c in FORMULAS].index(case))
    field = batch.field(sid, ptr)
    key_text = PARTIAL_KEY if ptr == PARTIAL else YHAT_KEY
    assert field["status"] == status, field
    assert field["expected"] == key_text
    assert field["given"] is None or len(field["given"]) <= 200
    others = [f for f in batch.report(sid)["fields"] if f["pointer"] != ptr]
    assert {f["status"] for f in others} == {"correct"}
    if status == "invalid":
        assert field["feedback"] == f"Could not read your answer: {detail}. Expected {key_text}."
    elif status == "correct":
        assert field["feedback"] == f"Correct: {key_text}."
    elif detail == "review":
        assert field["feedback"] == (
            f"Could not decide automatically whether this equals the expected {key_text}; "
            "your instructor will look at it."
        )
        assert field["diagnosis"] == []
    else:
        assert field["feedback"].startswith(f"Expected {key_text}.")
        assert [d["id"] for d in field["diagnosis"]] == detail


@pytest.mark.parametrize("case", FILES, ids=[c.id for c in FILES])
def test_json_file(batch: Batch, case: FileCase) -> None:
    i = FILES.index(case)
    sid = _id("j", i)
    path = _file_path(batch.subs, i, case)
    shown = str(path)
    if case.id == "two-files":
        shown = ""
    message = case.message(path) if callable(case.message) else case.message
    reason = f"{shown}: {message}" if shown else message
    if case.row == "own":
        row = batch.row(sid)
        assert (row["status"], row["reason"]) == (case.status, reason)
        assert row["name"] == f"Student {sid}"
    elif case.row == "unmatched":
        row = next(r for r in batch.rows if r["reason"].startswith(shown + ":"))
        assert (row["status"], row["reason"]) == (case.status, reason)
        assert batch.row(sid)["status"] == "missing"
    else:
        orphans = [
            r for r in batch.rows if r["student"] == "" and r["reason"].startswith(shown + ":")
        ]
        assert len(orphans) == 1, [r for r in batch.rows if r["student"] == ""]
        assert (orphans[0]["status"], orphans[0]["reason"]) == (case.status, reason)
        assert batch.row(sid) == {
            "student": sid,
            "name": f"Student {sid}",
            "score": "",
            "max_score": "",
            "status": "missing",
            "reason": "no submission",
            "flags": "",
        }
    graded = (batch.out / "reports" / f"{sid}.json").is_file()
    # every file that can be attributed to a student gets a report, unreadable or not
    assert graded == (case.status == "submitted" or case.row == "own")
    if graded and case.status == "invalid":
        report = json.loads((batch.out / "reports" / f"{sid}.json").read_text("utf-8"))
        assert report["score"] == 0 and report["fields"] == []
        assert len(report["file_problems"]) == 1 and report["file_problems"][0]["message"]
    elif graded:
        report = batch.report(sid)
        assert report["student"] == sid and len(report["fields"]) == LEAVES
        assert all(f["given"] is None or len(f["given"]) <= 200 for f in report["fields"])
        if case.check is not None:
            case.check(report)


def test_every_file_has_a_row_and_nothing_else_does(batch: Batch) -> None:
    files = sorted(p for p in batch.subs.iterdir() if p.name.endswith(".json") and not p.is_dir())
    mentioned = [p for p in files if any(str(p) in r["reason"] for r in batch.rows)]
    assert mentioned == files
    assert not any("a-directory.json" in r["reason"] for r in batch.rows)
    assert not (batch.subs / "PWNED").exists() and not (batch.out.parent / "PWNED").exists()
    written = sorted(p.relative_to(batch.out).as_posix() for p in batch.out.rglob("*"))
    # a report for every roster student whose file was found, readable or not
    graded = sorted(
        r["student"] for r in batch.rows if r["status"] in ("submitted", "invalid") and r["student"]
    )
    assert written == sorted(
        ["gradebook.csv", "reports", "summary.html"]
        + [f"reports/{sid}.{ext}" for sid in graded for ext in ("json", "md")]
    )


# ------------------------------------------------------------------ rosters

_PERFECT_IDS = ("s1", "s2")


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def roster_setup(tmp_path_factory: pytest.TempPathFactory, batch: Batch) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("rosters")
    assignment = tmp / "hostile.yaml"
    assignment.write_text(ASSIGNMENT, encoding="utf-8")
    subs = tmp / "subs"
    subs.mkdir()
    for sid in _PERFECT_IDS:
        (subs / f"{sid}.json").write_bytes(_dump(_perfect(sid, batch.key)))
    return assignment, subs


def _csv(*rows: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


_INJECTIONS = [
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)",
    "-2+3",
    "@SUM(A1)",
    '=HYPERLINK("http://e.vil","x")',
]

# (id, roster content (text or bytes or a writer), expected): expected is
# ("error", where, message) for exit 2 with that one line, or a check on the gradebook.
ROSTERS: list[tuple[str, Any, Any]] = [
    (
        "id-slash",
        "id,name\ns1,A\na/b,B\n",
        (
            "error",
            "line 3",
            "student id 'a/b' is not valid: use letters, digits, '.', '_' or '-' (at most 64, no '..')",
        ),
    ),
    (
        "id-traversal",
        "id,name\n../../etc/x,A\n",
        (
            "error",
            "line 2",
            "student id '../../etc/x' is not valid: use letters, digits, '.', '_' or '-' (at most 64, no '..')",
        ),
    ),
    (
        "id-dotdot",
        "id,name\n..,A\n",
        (
            "error",
            "line 2",
            "student id '..' is not valid: use letters, digits, '.', '_' or '-' (at most 64, no '..')",
        ),
    ),
    ("id-nul", "id,name\ns1,A\ns\x002,B\n", ("error", "line 3", "contains a NUL character")),
    ("name-nul", "id,name\ns1,A\x00B\n", ("error", "line 2", "contains a NUL character")),
    (
        "id-zero-width",
        "id,name\ns\u200b1,A\n",
        (
            "error",
            "line 2",
            "student id 's\\u200b1' is not valid: use letters, digits, '.', '_' or '-' (at most 64, no '..')",
        ),
    ),
    (
        "id-65",
        "id,name\n" + "a" * 65 + ",A\n",
        (
            "error",
            "line 2",
            "student id '"
            + "a" * 40
            + "' is not valid: use letters, digits, '.', '_' or '-' (at most 64, no '..')",
        ),
    ),
    (
        "id-empty",
        "id,name\ns1,A\n,Nobody\n",
        (
            "error",
            "line 3",
            "student id '' is not valid: use letters, digits, '.', '_' or '-' (at most 64, no '..')",
        ),
    ),
    (
        "duplicate",
        "id,name\ns1,A\ns2,B\ns1,C\n",
        ("error", "line 4", "student id 's1' appears twice (also on line 2)"),
    ),
    (
        "duplicate-after-strip",
        "id,name\ns1,A\n  s1  ,B\n",
        ("error", "line 3", "student id 's1' appears twice (also on line 2)"),
    ),
    (
        "duplicate-but-case",
        "id,name\ns1,A\nS1,B\n",
        (
            "error",
            "",
            "student ids 's1' and 'S1' differ only in case; they would share one report file on macOS and Windows",
        ),
    ),
    (
        "unterminated-quote",
        'id,name\ns1,"Ann\ns2,Bob\ns3,Cid\n',
        ("error", "line 2", "the name has a line break (an unterminated quote?)"),
    ),
    (
        "name-201",
        "id,name\ns1," + "x" * 201 + "\n",
        ("error", "line 2", "student name is longer than 200 characters"),
    ),
    (
        "name-1MB",
        "id,name\ns1,A\ns2," + "x" * 1_000_000 + "\n",
        ("error", "line 3", "cannot read this row: field larger than field limit (131072)"),
    ),
    (
        "header-200000",
        "id,name," + "h" * 200_000 + "\ns1,A\n",
        ("error", "line 1", "cannot read this row: field larger than field limit (131072)"),
    ),
    (
        "no-header",
        "s1,Ann\n",
        ("error", "line 1", "expected a header row with columns 'id' and 'name'"),
    ),
    ("header-only", "id,name\n", ("error", "", "the roster has no students")),
    (
        "utf16",
        "id,name\ns1,Ann\n".encode("utf-16"),
        ("error", "", "not UTF-8 text (byte 0); save the spreadsheet as CSV UTF-8"),
    ),
    (
        "rows-1000000",
        lambda path: path.write_text(
            "id,name\n" + "".join(f"s{i},N\n" for i in range(1_000_000)), encoding="utf-8"
        ),
        ("error", "line 100002", "more than 100000 students"),
    ),
    (
        "bytes-21MB",
        lambda path: path.write_bytes(b"id,name\ns1,A\n" + b" " * 21_000_000),
        ("error", "", "roster is larger than 20000000 bytes"),
    ),
    # a device is refused at once, never read (issue 15)
    ("dev-zero", "/dev/zero", ("error", "", "cannot read roster: not a regular file but a device")),
    # ---- accepted
    (
        "empty-names",
        "id,name\ns1,\ns2,  \n",
        {"s1": ("s1", "submitted"), "s2": ("s2", "submitted")},
    ),
    (
        "injection-names",
        _csv(("id", "name"), *[(f"s{i + 1}", n) for i, n in enumerate(_INJECTIONS)]),
        {
            f"s{i + 1}": ("'" + n, "submitted" if i < 2 else "missing")
            for i, n in enumerate(_INJECTIONS)
        },
    ),
    (
        "injection-after-whitespace",
        _csv(("id", "name"), ("s1", "\t=1+1"), ("s2", "\r\n@x")),
        {"s1": ("'=1+1", "submitted"), "s2": ("'@x", "submitted")},
    ),
    (
        "control-chars-in-name",
        _csv(("id", "name"), ("s1", "A\x1b[2J\x07B"), ("s2", "B")),
        {"s1": ("A [2J B", "submitted"), "s2": ("B", "submitted")},
    ),
    (
        "bom-crlf-extra-columns",
        "\ufeff ID , Name ,email\r\ns1,Ann,a@x\r\n\r\ns2,Bob,b@x\r\n",
        {"s1": ("Ann", "submitted"), "s2": ("Bob", "submitted")},
    ),
    (
        "html-name",
        _csv(("id", "name"), ("s1", "A"), ("s2", "B"), ("s3", "<script>alert(1)</script>")),
        {
            "s1": ("A", "submitted"),
            "s2": ("B", "submitted"),
            "s3": ("<script>alert(1)</script>", "missing"),
        },
    ),
    (
        "rows-10000",
        lambda path: path.write_text(
            "id,name\n" + "".join(f"s{i},Student {i}\n" for i in range(1, 10_001)), encoding="utf-8"
        ),
        {
            "s1": ("Student 1", "submitted"),
            "s2": ("Student 2", "submitted"),
            "s10000": ("Student 10000", "missing"),
        },
    ),
]


@pytest.mark.parametrize(("case", "content", "expected"), ROSTERS, ids=[r[0] for r in ROSTERS])
def test_roster(
    roster_setup: tuple[Path, Path], tmp_path: Path, case: str, content: Any, expected: Any
) -> None:
    assignment, subs = roster_setup
    if content == "/dev/zero":
        roster = Path("/dev/zero")
    else:
        roster = tmp_path / "roster.csv"
        if callable(content):
            content(roster)
        elif isinstance(content, bytes):
            roster.write_bytes(content)
        else:
            roster.write_text(content, encoding="utf-8", newline="")
    out = tmp_path / "out"
    result = _cli("grade", str(assignment), str(subs), "--roster", str(roster), "--out", str(out))
    assert "Traceback" not in result.output
    if isinstance(expected, tuple):
        assert result.exit_code == 2, result.output
        _, place, message = expected
        line = f"error: {roster}:{place}: {message}" if place else f"error: {roster}: {message}"
        assert result.stderr.splitlines() == [line]
        assert not out.exists()  # nothing written
        return
    assert result.exit_code == 0, result.output
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(text))}
    assert len(text.splitlines()) == len(rows) + 1  # one line per row: no line breaks inside
    for sid, (name, status) in expected.items():
        assert (rows[sid]["name"], rows[sid]["status"]) == (name, status)
    for cell in (c for r in rows.values() for c in r.values()):
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r") and "\x1b" not in cell
    assert "\x1b" not in result.stdout
    html_page = (out / "summary.html").read_text(encoding="utf-8")
    assert "<script" not in html_page and "\x1b" not in html_page
    if case == "html-name":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_page


def test_lms_gradebooks_defuse_formulas(roster_setup: tuple[Path, Path], tmp_path: Path) -> None:
    assignment, subs = roster_setup
    roster = tmp_path / "roster.csv"
    roster.write_text(
        _csv(("id", "name"), *[(f"s{i + 1}", n) for i, n in enumerate(_INJECTIONS)]),
        encoding="utf-8",
    )
    for lms in ("moodle", "canvas"):
        out = tmp_path / lms
        result = _cli(
            "grade",
            str(assignment),
            str(subs),
            "--roster",
            str(roster),
            "--out",
            str(out),
            "--lms",
            lms,
        )
        assert result.exit_code == 0, result.output
        rows = list(
            csv.reader(io.StringIO((out / f"gradebook-{lms}.csv").read_text(encoding="utf-8")))
        )
        cells = [c for r in rows for c in r]
        assert all(c[:1] not in ("=", "+", "-", "@", "\t", "\r") for c in cells), cells
        assert sum(c.startswith("'=cmd") for c in cells) == 1


# ------------------------------------------------------------------ assignment files

_A = ASSIGNMENT


def _sub(old: str, new: str) -> str:
    assert _A.count(old) == 1, old
    return _A.replace(old, new)


_CONSTRUCTOR = "not valid YAML: could not determine a constructor for the tag"

# (id, content (text, bytes or a writer), command, "where: message" of the one error line)
ASSIGNMENTS: list[tuple[str, Any, str, str]] = [
    (
        "unknown-top-key",
        _sub("language: en", "language: en\nsecret: hunter2"),
        "schema",
        "4: /secret: unknown key; expected one of: id, language, title, course, secret_env, due, feedback, variant_search, exercises, carried_forward_credit, rounding_credit, repeated_mistakes",
    ),
    (
        "unknown-exercise-key",
        _sub("    points: 6\n", "    points: 6\n    solution: 42\n"),
        "schema",
        "20: /exercises/1/solution: unknown key; expected one of: id, type, points, title, params, tolerance, field_tolerance, carried_forward_credit, rounding_credit, repeated_mistakes",
    ),
    (
        "unknown-param",
        _sub("      depth: 3\n", "      depth: 3\n      momentum: 1\n"),
        "schema",
        "13: /exercises/0/params/momentum: unknown parameter 'momentum' for sgd_chain; expected one of: data, order, learning_rate, depth, init, activation, loss, rounding",
    ),
    (
        "unknown-tolerance-key",
        _sub("    points: 10\n", "    points: 10\n    tolerance: {rule: exact, slack: 1}\n"),
        "schema",
        "8: /exercises/0/tolerance/slack: unknown key; expected one of: rule, value",
    ),
    (
        "id-number",
        _sub("id: hostile-hw", "id: 5"),
        "schema",
        "1: /id: Input should be a valid string",
    ),
    (
        "id-traversal",
        _sub("id: hostile-hw", "id: ../../etc"),
        "schema",
        "1: /id: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'",
    ),
    (
        "exercise-id-traversal",
        _sub("  - id: graph", "  - id: ../graph"),
        "schema",
        "17: /exercises/1/id: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'",
    ),
    (
        "title-list",
        _sub("title: Hostile inputs", "title: [a, b]"),
        "schema",
        "2: /title: Input should be a valid string",
    ),
    (
        "title-201",
        _sub("title: Hostile inputs", "title: " + "t" * 201),
        "schema",
        "2: /title: String should have at most 200 characters",
    ),
    (
        "exercises-mapping",
        "id: hw\nexercises: {sgd: 1}\n",
        "schema",
        "2: /exercises: Input should be a valid list",
    ),
    (
        "exercises-empty",
        "id: hw\nexercises: []\n",
        "schema",
        "2: /exercises: List should have at least 1 item after validation, not 0",
    ),
    (
        "exercises-21",
        "id: hw\nexercises:\n" + "".join(f"  - {{id: e{i}, type: sgd_chain}}\n" for i in range(21)),
        "schema",
        "2: /exercises: List should have at most 20 items after validation, not 21",
    ),
    (
        "exercises-1000000",
        lambda path: path.write_text(
            "id: hw\nexercises:\n" + "  - {id: e, type: sgd_chain}\n" * 1_000_000
        ),
        "schema",
        "assignment file is larger than 1000000 bytes",
    ),
    (
        "type-injection",
        _sub("type: chain_rule", "type: __import__('os')"),
        "schema",
        "18: /exercises/1/type: unknown exercise type \"__import__('os')\"; expected one of sgd_chain, mlp_matrix, chain_rule, softmax_classifier",
    ),
    (
        "params-string",
        _sub("    points: 6\n    params:\n", "    points: 6\n    params: rm -rf\n    p:\n"),
        "schema",
        "20: /exercises/1/params: Input should be a valid dictionary",
    ),
    (
        "depth-10000",
        _sub("depth: 3", "depth: 10000"),
        "schema",
        "12: /exercises/0/params/depth: Input should be less than or equal to 4",
    ),
    (
        "depth-fraction",
        _sub("depth: 3", "depth: 2.5"),
        "schema",
        "12: /exercises/0/params/depth: Input should be a valid integer, got a number with a fractional part",
    ),
    (
        "learning-rate-1e999",
        _sub("learning_rate: 5", "learning_rate: 1e999"),
        "schema",
        "11: /exercises/0/params/learning_rate: exponent out of range (at most 80 in absolute value)",
    ),
    (
        "learning-rate-float-inf",
        _sub("learning_rate: 5", "learning_rate: 1.0e+999"),
        "schema",
        "11: /exercises/0/params/learning_rate: expected a finite number",
    ),
    (
        "learning-rate-nan",
        _sub("learning_rate: 5", "learning_rate: .nan"),
        "schema",
        "11: /exercises/0/params/learning_rate: expected a finite number",
    ),
    (
        "learning-rate-div-zero",
        _sub("learning_rate: 5", "learning_rate: 1/0"),
        "schema",
        "11: /exercises/0/params/learning_rate: division by zero",
    ),
    (
        "learning-rate-zero",
        _sub("learning_rate: 5", "learning_rate: 0"),
        "schema",
        "8: /exercises/0/params: learning_rate must be positive and at most 1000",
    ),
    (
        "learning-rate-huge",
        _sub("learning_rate: 5", "learning_rate: 1e80"),
        "schema",
        "8: /exercises/0/params: learning_rate must be positive and at most 1000",
    ),
    (
        "mlp-learning-rate-huge-int",
        _sub("learning_rate: 1/2", "learning_rate: " + "9" * 3000),
        "schema",
        "37: /exercises/2/params/learning_rate: number is longer than 2100 characters",
    ),
    (
        "data-1e999",
        _sub("data: [[5, 0], [1, 1]]", "data: [[1e999, 0], [1, 1]]"),
        "schema",
        "9: /exercises/0/params/data/0/0: exponent out of range (at most 80 in absolute value)",
    ),
    (
        "data-9-rows",
        _sub("data: [[5, 0], [1, 1]]", "data: [" + ", ".join(["[1, 1]"] * 9) + "]"),
        "schema",
        "9: /exercises/0/params/data: List should have at most 8 items after validation, not 9",
    ),
    (
        "order-10000",
        _sub("order: [2, 1]", "order: [" + ", ".join(["1"] * 10_000) + "]"),
        "schema",
        "10: /exercises/0/params/order: List should have at most 12 items after validation, not 10000",
    ),
    (
        "hidden-10000",
        _sub("hidden: [2, 2]", "hidden: [" + ", ".join(["3"] * 10_000) + "]"),
        "schema",
        "35: /exercises/2/params/hidden: List should have at most 3 items after validation, not 10000",
    ),
    (
        "nodes-1700",
        _sub(
            "      point: {x: 1, y: 2}\n",
            "".join(
                f"        - {{name: {c}{i}, op: add, args: [x, y]}}\n"
                for c in "ghijklmnopqrstuvw"
                for i in range(100)
            )
            + "      point: {x: 1, y: 2}\n",
        ),
        "schema",
        "20: /exercises/1/params: a graph has 1 to 12 nodes, got 1706",
    ),
    (
        "decimals-1000000",
        _sub("decimals: 4", "decimals: 1000000"),
        "schema",
        "16: /exercises/0/params/rounding/decimals: Input should be less than or equal to 12",
    ),
    (
        "points-1e999",
        _sub("points: 10", "points: 1e999"),
        "schema",
        "7: /exercises/0/points: exponent out of range (at most 80 in absolute value)",
    ),
    (
        "points-zero",
        _sub("points: 10", "points: 0"),
        "schema",
        "7: /exercises/0/points: points must be positive and at most 1000",
    ),
    (
        "credit-5",
        _sub("points: 10", "points: 10\n    carried_forward_credit: 5"),
        "schema",
        "8: /exercises/0/carried_forward_credit: carried_forward_credit must be between 0 and 1",
    ),
    (
        "credit-negative",
        _sub("points: 10", "points: 10\n    carried_forward_credit: -1"),
        "schema",
        "8: /exercises/0/carried_forward_credit: carried_forward_credit must be between 0 and 1",
    ),
    (
        "tolerance-negative",
        _sub("points: 10", "points: 10\n    tolerance: {rule: absolute, value: -1}"),
        "grade",
        "/exercises/0/tolerance: tolerance rule 'absolute' needs a value ≥ 0",
    ),
    (
        "tolerance-digits-1e6",
        _sub("points: 10", "points: 10\n    tolerance: {rule: decimals, value: 1000000}"),
        "grade",
        "/exercises/0/tolerance: tolerance rule 'decimals' needs a whole number of digits 0..30",
    ),
    (
        "secret-env-injection",
        _sub("language: en", "language: en\nsecret_env: 'X; rm -rf /'"),
        "schema",
        "4: /secret_env: String should match pattern '^[A-Za-z_][A-Za-z0-9_]{0,63}$'",
    ),
    (
        "yaml-python-apply",
        _sub("title: Hostile inputs", "title: !!python/object/apply:os.system ['touch PWNED']"),
        "schema",
        f"line 2: {_CONSTRUCTOR} 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    (
        "yaml-python-new",
        _sub(
            "title: Hostile inputs",
            "title: !!python/object/new:subprocess.Popen [['touch', 'PWNED']]",
        ),
        "schema",
        f"line 2: {_CONSTRUCTOR} 'tag:yaml.org,2002:python/object/new:subprocess.Popen'",
    ),
    (
        "yaml-python-name",
        _sub("title: Hostile inputs", "title: !!python/name:os.system"),
        "schema",
        f"line 2: {_CONSTRUCTOR} 'tag:yaml.org,2002:python/name:os.system'",
    ),
    (
        "yaml-custom-tag",
        _sub("title: Hostile inputs", "title: !shell 'touch PWNED'"),
        "schema",
        f"line 2: {_CONSTRUCTOR} '!shell'",
    ),
    (
        "yaml-binary",
        _sub("title: Hostile inputs", "title: !!binary /w=="),
        "schema",
        "2: /title: Input should be a valid string, unable to parse raw data as a unicode string",
    ),
    (
        "yaml-timestamp",
        _sub("title: Hostile inputs", "title: 2001-12-14"),
        "schema",
        "2: /title: Input should be a valid string",
    ),
    (
        "yaml-two-documents",
        _A + "---\nid: other\n",
        "schema",
        "line 40: not valid YAML: but found another document",
    ),
    (
        "yaml-control-char",
        _sub("title: Hostile inputs", "title: bell\x07"),
        "schema",
        "not valid YAML: unacceptable character #x0007: special characters are not allowed",
    ),
    (
        "yaml-alias-bomb",
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n"
            for i in range(8)
        )
        + "id: hw\nexercises: [{id: s, type: sgd_chain, params: {data: *i}}]\n",
        "schema",
        "the file is too large or too deeply nested for an assignment",
    ),
    (
        "yaml-merge-bomb",
        "a: &a {k0: 0, k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9}\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} {{<<: [{', '.join(['*' + chr(97 + i)] * 10)}]}}\n"
            for i in range(8)
        )
        + "id: hw\nexercises: [{id: s, type: sgd_chain}]\n",
        "schema",
        "the file is too large or too deeply nested for an assignment",
    ),
    (
        "yaml-nesting-10000",
        "id: hw\nexercises: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "schema",
        "the file is too large or too deeply nested for an assignment",
    ),
    (
        "bytes-10MB",
        lambda path: path.write_text(_A + "# " + "x" * 10_000_000 + "\n"),
        "schema",
        "assignment file is larger than 1000000 bytes",
    ),
    ("dev-zero", "/dev/zero", "schema", "cannot read assignment: not a regular file but a device"),
    ("empty", "", "schema", "the file is empty; expected an assignment"),
    ("utf16", _A.encode("utf-16"), "schema", "not UTF-8 text (byte 0)"),
]


@pytest.mark.parametrize(
    ("case", "content", "command", "expected"), ASSIGNMENTS, ids=[a[0] for a in ASSIGNMENTS]
)
def test_assignment_file(
    tmp_path: Path, case: str, content: Any, command: str, expected: str
) -> None:
    if content == "/dev/zero":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "hw.yaml"
        if callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    args = [command, str(path)]
    if command == "grade":
        roster = tmp_path / "roster.csv"
        roster.write_text("id,name\ns1,A\n")
        args += [str(tmp_path), "--roster", str(roster), "--out", str(tmp_path / "out")]
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = _cli(*args)
    finally:
        os.chdir(old)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    if expected.startswith(("line ", "/")) or expected[:1].isdigit():
        assert lines[0] == f"error: {path}:{expected}", lines[0]
    else:
        assert lines[0].startswith(f"error: {path}") and lines[0].endswith(expected), lines[0]
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "out").exists()
