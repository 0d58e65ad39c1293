"""The class report ``summary.html``: one self-contained page (inline SVG, no network).

It reads only the public contracts — grade reports and gradebook rows as the spec
defines them — so it can be regenerated from a ``reports/`` directory at any time.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

HISTOGRAM_BINS = 10
HELP_THRESHOLD = Fraction(1, 2)  # below half the points: may need help
# A summary category, not a diagnosis: fields whose answer could not be read (invalid).
FORMAT_PROBLEM = "format_problem"

MISTAKE_NAMES = {
    "sign_flip": "sign of δ flipped",
    "learning_rate": "wrong learning rate",
    "missing_factor_2": "factor 2 of the squared loss",
    "missing_activation_derivative": "activation derivative left out",
    "wrong_activation_derivative": "activation derivative taken as the activation",
    "gradient_ascent": "update with + instead of −",
    "wrong_observation": "wrong observation used",
    "missing_path": "a path of the chain rule missing",
    "transposed": "matrix product with a transpose wrong",
    "rounding": "rounded too early or too coarsely",
    "unnormalized_softmax": "exp(z) taken as the probabilities",
    "wrong_class": "one-hot of another class",
    "log_base_10": "log₁₀ instead of ln",
    "missing_bias_gradient": "bias gradient left out",
    "arithmetic": "arithmetic slip",
    FORMAT_PROBLEM: "format problem (answers the grader could not read)",
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
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="12">{c}</text>'
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - pad + 16}" text-anchor="middle" font-size="11">{i * 10}%</text>'
        )
    parts.append(
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _score_cell(row: Mapping[str, Any]) -> str:
    score, top = row.get("score"), row.get("max_score")
    return f"{_e(score)}/{_e(top)}" if score not in (None, "") else "—"


def _bar(fraction: float, color: str = "#2e9e5b") -> str:
    w = 160
    filled = max(0.0, min(1.0, fraction)) * w
    return (
        f'<svg width="{w}" height="12" xmlns="http://www.w3.org/2000/svg"><rect width="{w}" height="12" fill="#eee"/>'
        f'<rect width="{filled:.1f}" height="12" fill="{color}"/></svg>'
    )


_RIGHT = ("correct", "carried_forward")


@dataclass
class ItemStats:
    """Per-field and per-mistake counts, accumulated one report at a time (memory grows with
    the number of fields, not of submissions)."""

    right: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    order: dict[str, None] = field(default_factory=dict)
    mistake_fields: Counter[str] = field(default_factory=Counter)
    mistake_students: Counter[str] = field(default_factory=Counter)
    top_mistake: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # pointer -> the sheet's label
    format_students: set[str] = field(default_factory=set)  # with unreadable fields

    def add(
        self,
        student: str,
        fields: Iterable[tuple[str, str, tuple[str, ...]]],
        labels: Iterable[tuple[str, str]] = (),
    ) -> None:
        """One graded submission: (pointer, status, diagnosis ids) per field, and the
        fields' labels (pointer, label) as the sheet writes them."""
        fields = list(fields)
        pointers = [ptr for ptr, _, _ in fields]
        self.order.update(dict.fromkeys(pointers))  # new pointers at the end, in order
        for ptr, label in labels:
            self.labels.setdefault(ptr, label)
        self.answered.update(pointers)
        self.right.update(ptr for ptr, status, _ in fields if status in _RIGHT)
        # the likeliest reading of each field; an unreadable one is a format problem
        seen = Counter(diagnosis[0] for _, _, diagnosis in fields if diagnosis)
        seen.update(FORMAT_PROBLEM for _, status, _ in fields if status == "invalid")
        if seen[FORMAT_PROBLEM]:
            self.format_students.add(student)
        self.mistake_fields.update(seen)
        self.mistake_students.update(set(seen))
        if seen:
            self.top_mistake[student] = seen.most_common(1)[0][0]

    def items(self) -> list[tuple[str, int, int]]:
        """(pointer, right, answered) in the order of the solution."""
        return [(p, self.right[p], self.answered[p]) for p in self.order]

    def mistakes(self) -> list[tuple[str, int, int]]:
        """(mistake id, students, fields), most students first."""
        return sorted(
            ((m, self.mistake_students[m], n) for m, n in self.mistake_fields.items()),
            key=lambda t: (-t[1], -t[2], t[0]),
        )


def _group(ptr: str) -> str:
    """The exercise and step a field belongs to ("sgd, step 2"), as the sheet groups them."""
    parts = ptr.split("/")
    exercise = parts[2] if len(parts) > 2 else ""
    if len(parts) > 4 and parts[3] == "steps" and parts[4].isdigit():
        return f"{exercise}, step {int(parts[4]) + 1}"
    return exercise


def _item_table(stats: ItemStats) -> str:
    """One collapsible table (closed at first) per exercise and step: a bar per field,
    coloured by success rate; a field nobody got right is red all along its row."""
    groups: dict[str, list[str]] = {}
    for ptr, ok, n in stats.items():
        rate = ok / n if n else 0.0
        color = "#2e9e5b" if rate >= 0.7 else "#e0a21b" if rate >= 0.4 else "#d2453c"
        label = stats.labels.get(ptr) or "/".join(ptr.split("/")[3:]) or ptr
        style = ' style="background:#fbe3e1;color:#b3261e;font-weight:bold"' if ok == 0 else ""
        groups.setdefault(_group(ptr), []).append(
            f"<tr{style}><td>{_e(label)} <code>{_e(ptr)}</code></td><td>{_bar(rate, color)}</td>"
            f"<td>{rate:.0%}</td><td>{ok}/{n}</td></tr>"
        )
    return "".join(
        f"<details><summary>exercise <b>{_e(group)}</b></summary><table>"
        f"<tr><th>field</th><th></th><th>success</th><th>right/graded</th></tr>{''.join(rows)}</table></details>"
        for group, rows in groups.items()
    )


def render_summary(
    *, assignment_id: str, title: str, stats: ItemStats, gradebook: Sequence[Mapping[str, Any]]
) -> str:
    """The page.  ``gradebook`` rows are dicts with the gradebook's columns."""
    graded = [r for r in gradebook if r.get("status") == "submitted"]
    ratios = [_ratio(r.get("score"), r.get("max_score")) for r in graded]
    statuses = Counter(str(row.get("status", "")) for row in gradebook)
    mean = sum(ratios) / len(ratios) if ratios else 0.0
    median = statistics.median(ratios) if ratios else 0.0  # as the console says it
    mistakes = [
        f"<tr><td>{_e(MISTAKE_NAMES.get(m, m))} <code>{_e(m)}</code></td><td>{students}</td><td>{n}</td></tr>"
        for m, students, n in stats.mistakes()
    ]
    help_rows = []
    for row in gradebook:
        status = str(row.get("status", ""))
        if status == "unmatched":
            continue
        sid = str(row.get("student", ""))
        low = _ratio(row.get("score"), row.get("max_score")) < float(HELP_THRESHOLD)
        if status != "submitted" or low or sid in stats.format_students:
            sid = str(row.get("student", ""))
            likely = (
                MISTAKE_NAMES.get(stats.top_mistake.get(sid, ""), "")
                or str(row.get("reason", ""))[:160]
            )
            help_rows.append(
                f"<tr><td>{_e(sid)}</td><td>{_e(row.get('name', ''))}</td>"
                f"<td>{_score_cell(row)}</td>"
                f"<td>{_e(status)}</td><td>{_e(likely)}</td></tr>"
            )
    # work that follows a classmate's variant, and other flags for the instructor
    flag_rows = [
        f"<tr><td>{_e(row.get('student', ''))}</td><td>{_e(row.get('name', ''))}</td>"
        f"<td>{_e(str(row.get('flags', '')).replace(';', '; '))}</td></tr>"
        for row in gradebook
        if row.get("flags")
    ]
    flags_html = (
        "<table><tr><th>id</th><th>name</th><th>flags</th></tr>" + "".join(flag_rows) + "</table>"
        if flag_rows
        else "<p>No work follows a classmate's data; no formula was read ambiguously.</p>"
    )
    status_text = ", ".join(f"{_e(k)}: {v}" for k, v in sorted(statuses.items()))
    mistakes_html = (
        "<table><tr><th>mistake</th><th>students</th><th>fields</th></tr>"
        + "".join(mistakes)
        + "</table>"
        if mistakes
        else "<p>No mistake of the catalogue was diagnosed.</p>"
    )
    help_html = (
        "<table><tr><th>id</th><th>name</th><th>score</th><th>status</th><th>likely mistake / reason</th></tr>"
        + "".join(help_rows)
        + "</table>"
        if help_rows
        else "<p>Everybody handed in and scored at least half the points.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Class summary — {_e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; }}
td, th {{ padding: .25em .6em; border-bottom: 1px solid #ddd; text-align: left; }}
code {{ font-size: .9em; }} .kpi {{ display: inline-block; margin-right: 2em; }}
.kpi b {{ font-size: 1.6em; display: block; }} summary {{ cursor: pointer; margin: .5em 0; }}
</style></head>
<body>
<h1>Class summary: {_e(title)} <small>({_e(assignment_id)})</small></h1>
<p><span class="kpi"><b>{len(graded)}</b>submissions graded</span>
<span class="kpi"><b>{len(gradebook)}</b>gradebook rows</span>
<span class="kpi"><b>{mean:.0%}</b>mean score</span>
<span class="kpi"><b>{median:.0%}</b>median score</span></p>
<p>Gradebook status: {status_text or "none"}</p>
<h2 id="histogram">Score histogram</h2>
{_histogram_svg(ratios)}
<h2 id="mistakes">Most common mistakes</h2>
{mistakes_html}
<h2 id="help">Students who may need help</h2>
{help_html}
<h2 id="flags">Flags: work that follows a classmate's data, ambiguous formulas</h2>
<p><code>copied_from:&lt;id&gt;</code>: the student's answers follow that classmate's given data
(no carried-forward credit for them); <code>ambiguous_division:&lt;field&gt;</code>: a formula
such as 1/2x that the other reading would grade differently.</p>
{flags_html}
<h2 id="items">Item analysis</h2>
<p>Share of graded submissions with each field right (correct, or carried forward from the
student's own earlier answers). Red fields are where the class struggled.</p>
{_item_table(stats)}
</body></html>
"""
