"""The class report ``summary.html``: one self-contained page (inline SVG, no network).

It reads only the public contracts — grade reports and gradebook rows as the spec
defines them — so it can be regenerated from a ``reports/`` directory at any time.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

HISTOGRAM_BINS = 10
HELP_THRESHOLD = Fraction(1, 2)  # below half the points: may need help

MISTAKE_NAMES = {
    "sign_flip": "sign of δ flipped",
    "learning_rate": "wrong learning rate",
    "missing_factor_2": "factor 2 of the squared loss",
    "missing_activation_derivative": "activation derivative left out",
    "wrong_activation_derivative": "activation derivative taken as the activation",
    "gradient_ascent": "update with + instead of −",
    "wrong_observation": "wrong observation used",
    "missing_path": "a path of the chain rule missing",
    "transposed": "matrix not transposed",
    "arithmetic": "arithmetic slip",
}


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _ratio(score: Any, max_score: Any) -> float:
    try:
        top = float(max_score)
        return float(score) / top if top > 0 else 0.0
    except (TypeError, ValueError):
        return 0.0


def _histogram_svg(ratios: Sequence[float]) -> str:
    counts = [0] * HISTOGRAM_BINS
    for r in ratios:
        counts[min(int(max(r, 0.0) * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    width, height, pad = 520, 220, 30
    bar_w = (width - 2 * pad) / HISTOGRAM_BINS
    top = max(counts) or 1
    parts = [
        f'<svg role="img" aria-label="score histogram" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, c in enumerate(counts):
        h = (height - 2 * pad) * c / top
        x = pad + i * bar_w
        y = height - pad - h
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" fill="#3b7dd8">'
            f"<title>{i * 10}–{(i + 1) * 10}%: {c} students</title></rect>"
        )
        if c:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="12">{c}</text>')
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - pad + 16}" text-anchor="middle" font-size="11">{i * 10}%</text>'
        )
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>')
    parts.append("</svg>")
    return "".join(parts)


def _bar(fraction: float, color: str = "#2e9e5b") -> str:
    w = 160
    filled = max(0.0, min(1.0, fraction)) * w
    return (
        f'<svg width="{w}" height="12" xmlns="http://www.w3.org/2000/svg"><rect width="{w}" height="12" fill="#eee"/>'
        f'<rect width="{filled:.1f}" height="12" fill="{color}"/></svg>'
    )


def item_analysis(reports: Sequence[Mapping[str, Any]]) -> list[tuple[str, int, int, int]]:
    """Per field pointer: (pointer, answered correctly or carried forward, wrong, attempts)."""
    right: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    order: dict[str, None] = {}
    for report in reports:
        for f in report.get("fields", []):
            ptr = str(f.get("pointer", ""))
            order.setdefault(ptr, None)
            if f.get("status") in ("correct", "carried_forward"):
                right[ptr] += 1
            elif f.get("status") in ("incorrect", "invalid", "missing"):
                wrong[ptr] += 1
    return [(p, right[p], wrong[p], right[p] + wrong[p]) for p in order]


def mistake_counts(reports: Sequence[Mapping[str, Any]]) -> list[tuple[str, int, int]]:
    """(mistake id, fields diagnosed, students affected), most students first."""
    fields: Counter[str] = Counter()
    students: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        for f in report.get("fields", []):
            for d in f.get("diagnosis", []) or []:
                mid = str(d.get("id", ""))
                fields[mid] += 1
                students[mid].add(str(report.get("student", "")))
    return sorted(((m, fields[m], len(students[m])) for m in fields), key=lambda t: (-t[2], -t[1], t[0]))


def render_summary(
    *,
    assignment_id: str,
    title: str,
    reports: Sequence[Mapping[str, Any]],
    gradebook: Sequence[Mapping[str, Any]],
) -> str:
    ratios = [_ratio(r.get("score"), r.get("max_score")) for r in reports]
    statuses = Counter(str(row.get("status", "")) for row in gradebook)
    mean = sum(ratios) / len(ratios) if ratios else 0.0
    median = sorted(ratios)[len(ratios) // 2] if ratios else 0.0
    top_mistake: dict[str, str] = {}
    for report in reports:
        c = Counter(d.get("id") for f in report.get("fields", []) for d in (f.get("diagnosis") or []))
        if c:
            top_mistake[str(report.get("student"))] = MISTAKE_NAMES.get(str(c.most_common(1)[0][0]), "")

    rows = []
    for ptr, ok, _wrong, n in item_analysis(reports):
        rate = ok / n if n else 0.0
        color = "#2e9e5b" if rate >= 0.7 else "#e0a21b" if rate >= 0.4 else "#d2453c"
        rows.append(f"<tr><td><code>{_e(ptr)}</code></td><td>{_bar(rate, color)}</td><td>{rate:.0%}</td><td>{ok}/{n}</td></tr>")
    mistakes = [
        f"<tr><td>{_e(MISTAKE_NAMES.get(m, m))} <code>{_e(m)}</code></td><td>{s}</td><td>{n}</td></tr>"
        for m, n, s in mistake_counts(reports)
    ]
    help_rows = []
    for row in gradebook:
        ratio = _ratio(row.get("score"), row.get("max_score"))
        status = str(row.get("status", ""))
        if status != "graded" or ratio < float(HELP_THRESHOLD):
            sid = str(row.get("student", ""))
            help_rows.append(
                f"<tr><td>{_e(sid)}</td><td>{_e(row.get('name', ''))}</td><td>{_e(row.get('score', ''))}/{_e(row.get('max_score', ''))}</td>"
                f"<td>{_e(status)}</td><td>{_e(top_mistake.get(sid, row.get('reason', '')))}</td></tr>"
            )
    status_text = ", ".join(f"{_e(k)}: {v}" for k, v in sorted(statuses.items()))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Class summary — {_e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ padding: .25em .6em; border-bottom: 1px solid #ddd; text-align: left; }}
code {{ font-size: .9em; }} .kpi {{ display: inline-block; margin-right: 2em; }} .kpi b {{ font-size: 1.6em; display: block; }}
</style></head>
<body>
<h1>Class summary: {_e(title)} <small>({_e(assignment_id)})</small></h1>
<p><span class="kpi"><b>{len(gradebook)}</b>rows in the gradebook</span>
<span class="kpi"><b>{len(reports)}</b>submissions graded</span>
<span class="kpi"><b>{mean:.0%}</b>mean score</span>
<span class="kpi"><b>{median:.0%}</b>median score</span></p>
<p>Gradebook status: {status_text or "none"}</p>
<h2 id="histogram">Score histogram</h2>
{_histogram_svg(ratios)}
<h2 id="mistakes">Most common mistakes</h2>
{"<table><tr><th>mistake</th><th>students</th><th>fields</th></tr>" + "".join(mistakes) + "</table>" if mistakes else "<p>No mistake of the catalogue was diagnosed.</p>"}
<h2 id="help">Students who may need help</h2>
{"<table><tr><th>id</th><th>name</th><th>score</th><th>status</th><th>likely mistake / reason</th></tr>" + "".join(help_rows) + "</table>" if help_rows else "<p>Everybody scored at least half the points.</p>"}
<h2 id="items">Item analysis</h2>
<p>Share of submissions with each field right (correct or carried forward).</p>
<table><tr><th>field</th><th></th><th>success</th><th>right/answered</th></tr>{"".join(rows)}</table>
</body></html>
"""
