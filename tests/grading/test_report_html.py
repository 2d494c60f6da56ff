"""``verigrad grade --html``: the report page on the seed sheet, as markup and in a browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verigrad.grading import grade_sheet, report_html

from ..formula.browser import RAW_LATEX, check_rendered, chromium, open_page, text_outside_math

pytest.importorskip("latex2mathml", reason="MathML needs the grade extra (latex2mathml)")

SEED = Path(__file__).parent / "data" / "seed-answer-sheet.txt"


@pytest.fixture(scope="module")
def report():
    return grade_sheet(SEED)


@pytest.fixture(scope="module")
def page(report):
    return report_html(report)


def _formulas(report) -> int:
    """How many formulas the page should typeset: the sheet's and the reference's of every
    graded formula question, every step, and each ``$...$`` of a prose answer."""
    count = 0
    for q in report.questions:
        if q.verdict == "missing":
            continue
        if q.verdict == "human":
            count += len(re.findall(r"(?<!\$)\$(?!\$)[^$\n]+?\$", q.answer))
        else:
            count += bool(q.answer.strip()) + bool(q.expected.strip())
        count += sum(bool(step.latex.strip()) for step in q.steps)
    return count


def test_every_formula_is_mathml_and_no_latex_is_left_as_text(report, page):
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<math") == _formulas(report) > 10
    assert "<code class='latex'>" not in page  # no formula fell back to its source
    text = text_outside_math(page)
    assert [bad for bad in RAW_LATEX if bad in text] == []
    # the prose answer of 2.2 keeps its words and typesets its $...$
    assert "This means something like" in text and "\\hat{y}" not in text


def test_the_first_false_step_and_the_counterexample_are_shown(page):
    assert page.count("class='firstwrong'") == 1
    assert "counterexample" in page and "at the point" in page


def test_page_references_nothing_on_the_network(page):
    assert "<script" not in page and "<link" not in page and "url(" not in page
    assert "http" not in page.replace("http://www.w3.org/1998/Math/MathML", "")


@pytest.mark.skipif(
    chromium() is None,
    reason="headless Chromium is not installed (CI: apt-get install -y chromium)",
)
def test_page_opens_in_headless_chromium_without_errors_or_network(page, tmp_path):
    path = tmp_path / "grade.html"
    path.write_text(page, encoding="utf-8")
    opened = open_page(path)
    assert opened.returncode == 0, opened.stderr[-2000:]
    assert opened.console == [] and opened.failed_loads == []
    # every formula is laid out as MathML (inline, display style), none is left as LaTeX text
    assert page.count("<math") > 10
    assert {display for display, _, _ in opened.math} == {"math"}
    assert "firstwrong" in opened.dom
    check_rendered(opened, page, path, tmp_path, RAW_LATEX)
