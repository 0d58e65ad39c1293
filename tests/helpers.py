"""Helpers shared by several test files."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from grader.course.assignment import ExerciseSpec
from grader.course.variants import Variant
from grader.exercises import EXERCISE_MODULES, get_exercise

# The worksheet's canonical sgd_chain instance (from the spec), as an assignment writes it.
CANONICAL_SGD = {
    "data": [[5, 0], [1, 1]],
    "order": [2, 1],
    "learning_rate": 5,
    "init": "zeros",
    "activation": "sigmoid",
    "loss": "mse",
    "rounding": {"mode": "transcendental", "decimals": 4},
}


def nice_variants(
    exercise_type: str, fixed_for: Callable[[random.Random, int], dict], n: int, seed: int
) -> list[Variant]:
    """Up to ``n`` nice random variants; a bounded search per draw, so slow corners of the
    parameter space are skipped rather than waited for."""
    exercise = get_exercise(exercise_type)
    spec = ExerciseSpec(id="ex", type=exercise_type, points=10)
    rng = random.Random(seed)
    out: list[Variant] = []
    for i in range(3 * n):
        fixed = fixed_for(rng, i)
        for _ in range(150):
            try:
                params = exercise.sample(rng, fixed)
                solution = exercise.solve(params, "ex")
            except (ValueError, ArithmeticError):
                continue
            if exercise.is_nice(params, solution, fixed):
                out.append(Variant(spec, params, solution))
                break
        if len(out) == n:
            break
    return out


# A bare document around exercise partials: what the sheet and key preambles load for them.
PARTIALS_WRAPPER = r"""\documentclass[11pt,a4paper]{article}
\usepackage[T2A,T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage[english,russian]{babel}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb,mathtools,booktabs,array,xcolor}
\usepackage{tikz}
\usetikzlibrary{positioning,arrows.meta,shapes.geometric,calc}
%s
\begin{document}
%s
\end{document}
"""


def family_preambles() -> str:
    """Every family's own macros (its optional ``<type>/preamble.tex.j2``), as a sheet's
    preamble defines them."""
    import jinja2

    from grader.make.rendering import environment

    parts = []
    for family in sorted(EXERCISE_MODULES):
        try:
            template = environment().get_template(f"{family}/preamble.tex.j2")
        except jinja2.TemplateNotFound:
            continue
        parts.append(template.render(kind="sheet"))
    return "\n".join(parts)


def assert_partials_compile(
    tmp_path: Path, render: Callable[[Any, str, str], str], cases: Iterable[Any]
) -> None:
    """Every case's sheet and key partial, in English and Russian, compiles with pdflatex
    without an overfull line."""
    body = "\n\\newpage\n".join(
        render(p, kind, language)
        for p in cases
        for kind in ("sheet", "key")
        for language in ("en", "ru")
    )
    (tmp_path / "doc.tex").write_text(
        PARTIALS_WRAPPER % (family_preambles(), body), encoding="utf-8"
    )
    result = subprocess.run(
        ["pdflatex", "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Overfull \\hbox" not in result.stdout


# Course secrets that pass the strength rule (16+ bytes, 8+ distinct characters): tests that
# need a secret use these, never a short word (which every command now refuses).
STRONG_SECRET = "t3st-Secret-f0r-the-grader-suite"
OTHER_STRONG_SECRET = "an0ther-Secret-giving-other-variants"


def page_images(pdf: bytes, folder: Path) -> list[bytes]:
    """Each page's pixels at 100 dpi, grey (``pdftoppm``'s PGM without its header)."""
    folder.mkdir()
    (folder / "doc.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-gray", "doc.pdf", "page"], cwd=folder, check=True)
    return [pgm_pixels(p.read_bytes()) for p in sorted(folder.glob("page*.pgm"))]


def pgm_pixels(data: bytes) -> bytes:
    magic, width, height, _ = data.split(maxsplit=4)[:4]
    assert magic == b"P5"
    return data[len(data) - int(width) * int(height) :]
