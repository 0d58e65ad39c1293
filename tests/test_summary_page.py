"""summary.html: the console's median, a red row for a field nobody got right, item
analysis by exercise and step with the sheet's labels (closed at first), unreadable answers
as a format problem whose students may need help, and no spreadsheet guard in the page."""

from __future__ import annotations

import re
from fractions import Fraction

from grader.grade.reports import ClassSummary, GradebookRow
from grader.grade.summary_html import ItemStats, render_summary

STEP1 = "/answers/sgd/steps/0/deltas/2"
STEP2 = "/answers/sgd/steps/1/deltas/2"


def _page() -> tuple[str, ClassSummary]:
    rows = [
        GradebookRow("s001", "Ada", Fraction(2), Fraction(10), "submitted", ""),
        GradebookRow("s002", '=HYPERLINK("x")', Fraction(4), Fraction(10), "submitted", ""),
        GradebookRow("s003", "Cleo", Fraction(6), Fraction(10), "submitted", ""),
        GradebookRow("s004", "Dan", Fraction(10), Fraction(10), "submitted", ""),
    ]
    stats = ItemStats()
    labels = ((STEP1, "δ₃ of step 1"), (STEP2, "δ₃ of step 2"))
    for row in rows:
        # nobody has step 2's δ₃ right; s004 wrote it in a way the grader cannot read
        status = "invalid" if row.student == "s004" else "incorrect"
        stats.add(row.student, [(STEP1, "correct", ()), (STEP2, status, ())], labels)
    summary = ClassSummary()
    for row in rows:
        summary.add(row)
    page = render_summary(
        assignment_id="hw1", title="HW", stats=stats, gradebook=[r.plain() for r in rows]
    )
    return page, summary


def test_the_median_is_the_consoles() -> None:
    page, summary = _page()
    # 20, 40, 60, 100 %: the median is 50 % (the mean of the middle two), not 60 %
    assert "median 50.0" in summary.render()
    assert "<b>50%</b>median score" in page


def test_item_analysis_by_exercise_and_step_with_sheet_labels_closed_at_first() -> None:
    page, _ = _page()
    assert "<details open" not in page
    assert "<summary>exercise <b>sgd, step 1</b></summary>" in page
    assert "<summary>exercise <b>sgd, step 2</b></summary>" in page
    row = re.search(r"<tr[^>]*><td>δ₃ of step 2 <code>[^<]*</code>.*?</tr>", page)
    assert row is not None and 'style="background:#fbe3e1;color:#b3261e' in row.group()
    assert ">0%</td>" in row.group()
    right = re.search(r"<tr[^>]*><td>δ₃ of step 1 <code>", page)
    assert right is not None and "background" not in right.group()


def test_unreadable_answers_are_a_format_problem_and_their_students_may_need_help() -> None:
    page, _ = _page()
    mistakes = page[page.index('id="mistakes"') : page.index('id="help"')]
    assert "format problem (answers the grader could not read)" in mistakes
    helped = page[page.index('id="help"') : page.index('id="items"')]
    assert "<td>s004</td>" in helped  # full marks elsewhere, but a field could not be read
    assert "<td>s001</td>" in helped  # 20 %
    assert "<td>s003</td>" not in helped


def test_the_page_shows_names_as_written_without_the_csv_guard() -> None:
    page, _ = _page()
    assert "=HYPERLINK(&quot;x&quot;)" in page
    assert "&#x27;=HYPERLINK" not in page and "'=HYPERLINK" not in page
    csv_cells = GradebookRow("s002", '=HYPERLINK("x")', None, None, "missing", "").cells()
    assert csv_cells[1] == '\'=HYPERLINK("x")'  # the CSV keeps its guard


def _rows_named(name: str) -> list[GradebookRow]:
    return [
        GradebookRow("s001", name, Fraction(1), Fraction(10), "submitted", ""),
        GradebookRow("s002", name, None, None, "invalid", f"{name}: not valid JSON", "x;<y>"),
    ]


def test_a_student_name_with_a_script_tag_is_escaped() -> None:
    evil = "<script>alert('x')</script> & \"Co\""
    stats = ItemStats()
    stats.add("s001", [(STEP1, "incorrect", ("arithmetic",))], [(STEP1, "<b>δ₃</b>")])
    page = render_summary(
        assignment_id="<hw>",
        title="<i>HW</i>",
        stats=stats,
        gradebook=[r.plain() for r in _rows_named(evil)],
    )
    assert "<script" not in page and "<i>" not in page and "<hw>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;Co&quot;" in page
    assert "&lt;b&gt;δ₃&lt;/b&gt;" in page and "x; &lt;y&gt;" in page
    assert "&lt;i&gt;HW&lt;/i&gt;" in page
    # the page holds no script at all, and its CSP allows none
    assert "default-src 'none'; style-src 'unsafe-inline'" in page
    assert "<script" not in page.lower()


def test_the_page_is_in_the_assignments_language() -> None:
    from grader.grade.summary_html import summary_words

    assert set(summary_words("en")) == set(summary_words("ru"))
    stats = ItemStats()
    labels = ((STEP1, "δ₃ of step 1"),)
    stats.add("s001", [(STEP1, "incorrect", ("sign_flip",))], labels)
    stats.add("s002", [(STEP1, "invalid", ())], labels)
    rows = _rows_named("Ада")
    pages = {
        lang: render_summary(
            assignment_id="hw1",
            title="HW",
            stats=stats,
            gradebook=[r.plain() for r in rows],
            language=lang,
        )
        for lang in ("en", "ru")
    }
    ru = pages["ru"]
    assert '<html lang="ru">' in ru and "Сводка по группе" in ru
    assert "перепутан знак δ" in ru and "ошибка формата" in ru and "sgd, шаг 1" in ru
    assert "не читается" in ru  # s002's status
    # no English phrase left in the page's own words (names, ids, pointers, codes aside)
    text = re.sub(r"<code>.*?</code>|<style>.*?</style>|<[^>]+>", " ", ru, flags=re.S)
    text = text.replace("Ада: not valid JSON", "")  # the gradebook's reason, as in the CSV
    assert not re.search(r"[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}", text), text
    assert "sign of δ flipped" in pages["en"] and "sgd, step 1" in pages["en"]
