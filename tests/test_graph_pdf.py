"""The chain-rule graph's lines and borders as PDF operators (``graph_layout.pdf_picture``):
the numbers TikZ writes for the same drawing, without TeX.

The expected operators are what pdfTeX wrote for the sheet's TikZ styles
(``view.TIKZ_STYLES``, PGF 3.1.10) drawing an edge, an input, a node and the output, at
full size and scaled by 0.8; test_pdf_one_run compares whole pages with TikZ's.
"""

from __future__ import annotations

from grader.exercises.chain_rule.graph_layout import (
    CIRCLE,
    DOUBLE,
    SQUARE,
    Box,
    Drawing,
    EdgePath,
    _tex_print,
    _tex_pt,
    _tex_times,
    pdf_picture,
)

EDGE = EdgePath(
    (0.82, 0.34),
    (
        ("line", ((0.94, 0.34),)),
        ("curve", ((1.44, 0.34), (1.44, 0.325), (1.94, 0.325))),
        ("line", ((2.184, 0.325),)),
    ),
)
NODES = {
    "x": Box(0.47, 0.42, None),
    "a": Box(2.525, 0.245, (2.525, -0.145)),
    "f": Box(4.205, -0.352, None),
}
TIP = "4.21463 0.0 m 0.64343 1.34572 l 1.8178 0.0 l 0.64343 -1.34572 l h B"


def picture(scale: float, borders: dict[str, str]) -> str:
    return pdf_picture(Drawing(NODES, {("x", "a"): EDGE}, scale), [("x", "a")], borders).operators


def test_the_operators_are_those_tikz_writes() -> None:
    ops = picture(1.0, {"x": SQUARE, "a": CIRCLE, "f": DOUBLE})
    assert (
        "23.24458 9.6378 m 26.64606 9.6378 l 40.81946 9.6378 40.81946 9.2126 54.99286 9.2126 c "
        f"58.84566 9.2126 l S q 1 0 0 1 57.12747 9.2126 cm {TIP} Q"
    ) in ops
    assert (
        "q 0.95 g 19.2593 21.82697 m 7.38675 21.82697 l 5.1858 21.82697 3.40164 20.0428 "
        "3.40164 17.84186 c 3.40164 5.96933 l 3.40164 3.76839 5.1858 1.98422 7.38675 1.98422 c "
        "19.2593 1.98422 l 21.46024 1.98422 23.2444 3.76839 23.2444 5.96933 c 23.2444 17.84186 l "
        "23.2444 20.0428 21.46024 21.82697 19.2593 21.82697 c h 3.40164 1.98422 m B Q"
    ) in ops
    assert (
        "q 1 g 81.49689 6.94482 m 81.49689 12.42432 77.05501 16.8662 71.57552 16.8662 c "
        "66.09602 16.8662 61.65414 12.42432 61.65414 6.94482 c 61.65414 1.46533 66.09602 "
        "-2.97655 71.57552 -2.97655 c 77.05501 -2.97655 81.49689 1.46533 81.49689 6.94482 c "
        "h 71.57552 6.94482 m B Q"
    ) in ops
    double = (
        "129.11975 -9.97821 m 129.11975 -4.49872 124.67786 -0.05684 119.19836 -0.05684 c "
        "113.71887 -0.05684 109.277 -4.49872 109.277 -9.97821 c 109.277 -15.4577 113.71887 "
        "-19.89958 119.19836 -19.89958 c 124.67786 -19.89958 129.11975 -15.4577 129.11975 "
        "-9.97821 c h 119.19836 -9.97821 m"
    )
    assert f"q 1 g 1.39478 w {double} B 0.59776 w 1 G {double} S Q" in ops


def test_a_scaled_drawing_keeps_its_line_widths_and_arrow_tips() -> None:
    ops = picture(0.8, {"a": CIRCLE})
    assert (
        "18.59572 7.71027 m 21.31691 7.71027 l 32.65569 7.71027 32.65569 7.3701 43.99445 7.3701 c "
        f"46.46393 7.3701 l S q 1 0 0 1 44.74574 7.3701 cm {TIP} Q"
    ) in ops
    assert (
        "q 1 g 65.19774 5.55586 m 65.19774 9.93945 61.64421 13.49298 57.26062 13.49298 c "
        "52.87701 13.49298 49.3235 9.93945 49.3235 5.55586 c 49.3235 1.17226 52.87701 "
        "-2.38124 57.26062 -2.38124 c 61.64421 -2.38124 65.19774 1.17226 65.19774 5.55586 c "
        "h 57.26062 5.55586 m B Q"
    ) in ops


def test_tex_arithmetic() -> None:
    # \the prints the fewest digits that read back the same; \dimen times a decimal truncates
    assert [_tex_print(_tex_pt(t)) for t in ("0.820", "1", "-0.145", "0.1", "16.000")] == [
        "0.82",
        "1.0",
        "-0.145",
        "0.1",
        "16.0",
    ]
    assert _tex_print(1) == "0.00002" and _tex_print(0) == "0.0"
    assert _tex_times("0.5", 3) == 1 and _tex_times("0.5", -3) == -1
    assert _tex_times("-0.5", 3) == -1 and _tex_times("2.0", -3) == -6
