"""``verigrad answers --html``: the page, its formulas, its figures and the data behind them."""

from __future__ import annotations

import base64
import html
import re
import subprocess
import sys

import numpy as np
import pytest

from verigrad.answers import Answer, compute
from verigrad.answers.convolution import EXPECTED_INPUT_GRAD, EXPECTED_OUTPUT, KERNEL
from verigrad.answers.derivations import DERIVATIONS
from verigrad.answers.figures import (
    FIGURES,
    convolution_window,
    ista_iterates,
    window_counts,
)
from verigrad.answers.html import answers_html
from verigrad.cli import main
from verigrad.formula.mathml import mathml

from ..formula.browser import RAW_LATEX as RAW_LATEX_IN_BROWSER
from ..formula.browser import check_rendered, chromium, open_page

pytest.importorskip("latex2mathml", reason="MathML needs the grade extra (latex2mathml)")

RAW_LATEX = ("\\frac", "$", "\\partial", "\\sum", "\\hat", "\\mathrm", "\\left")


def visible_text(page: str) -> str:
    """What a reader sees: the page without tags (and without the embedded images)."""
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<img[^>]*>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def external_references(page: str) -> list:
    return re.findall(r"""(?:src|href)\s*=\s*['"]?\s*(?:https?:)?//[^'" >]*""", page, flags=re.I)


@pytest.fixture(scope="module")
def page_3_5():
    answers = compute([3, 5])
    return answers, answers_html(answers)


def test_every_derivation_line_becomes_mathml():
    for key, lines in DERIVATIONS.items():
        for line in lines:
            markup = mathml(line)
            assert markup.startswith("<math") and 'display="block"' in markup, key
            text = re.sub(r"<[^>]+>", "", markup)
            assert "\\" not in text and "$" not in text, (key, line)


def test_page_has_questions_mathml_numbers_checks_and_figures(page_3_5):
    answers, page = page_3_5
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    n_lines = sum(len(DERIVATIONS[(a.section, a.part)]) for a in answers)
    assert page.count("<math") == n_lines
    text = visible_text(page)
    for bad in RAW_LATEX:
        assert bad not in text, bad
    for answer in answers:
        assert f"id='q-{answer.section}-{answer.part}'" in page
        assert answer.check.split(":")[0] in text
    assert f"{len(answers)} of {len(answers)}" in text and "checks passed" in text
    assert "df/dx = 0.0646" in text and "109, 92, 72" in text
    # the figures of 3 (graph), 5b (window) and 5c (overlaps), embedded and decodable
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 3
    for data in images:
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert "y[0,1] = 92" in text


def test_page_references_nothing_on_the_network(page_3_5):
    _, page = page_3_5
    assert external_references(page) == []
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert re.findall(r"url\(", page) == []


def test_a_failed_check_is_shown_as_failed():
    failed = Answer(3, "3", "a question", "an answer", "autograd disagrees", False, ["a line"])
    page = answers_html([failed], figures=False)
    assert "FAIL" in page and "FAILED" in page and "0 of 1" in visible_text(page)


def test_html_escapes_the_text():
    odd = Answer(7, "7", "is a < b & c?", "<script>x</script>", "ok", True, ["<b>"])
    page = answers_html([odd], figures=False)
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &lt; b &amp; c" in page


# ---------------------------------------------------------------------------- figure data
def test_window_counts_are_the_number_of_windows_over_each_pixel():
    counts = window_counts(5, 3)
    brute = np.zeros((5, 5))
    for i in range(3):
        for j in range(3):
            brute[i : i + 3, j : j + 3] += 1
    np.testing.assert_array_equal(counts, brute)
    assert counts.sum() == 9 * 9
    # with an all-ones kernel the input gradient for g = 1 would be these counts
    assert EXPECTED_INPUT_GRAD.sum() == 9 * KERNEL.sum()


def test_convolution_figure_recomputes_the_answer():
    caption, png = convolution_window()
    assert "y[0,1] = 92" in caption and png.startswith(b"\x89PNG")
    assert EXPECTED_OUTPUT[0, 1] == 92


def test_ista_iterates_reach_the_lasso_solution_of_9b():
    (answer,) = [a for a in compute([9]) if a.part == "B"]
    path, t = ista_iterates(n_iter=3000)
    assert path.shape == (3001, 8)
    np.testing.assert_allclose(path[-1], answer.values["solution"], atol=1e-6)
    assert np.count_nonzero(path[-1]) < 8


def test_figures_are_listed_for_the_questions_of_the_issue():
    assert set(FIGURES) == {
        (2, "2.1"),
        (3, "3"),
        (4, "a"),
        (5, "b"),
        (5, "c"),
        (6, "b"),
        (8, "b"),
        (9, "B"),
    }


# ---------------------------------------------------------------------------- the command
def test_answers_html_command(tmp_path, capsys):
    path = tmp_path / "answers.html"
    assert main(["answers", "--section", "3", "--html", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {path}" in out and "1 of 1 checks passed" in out
    page = path.read_text(encoding="utf-8")
    assert "3. Chain rule" in page and "5. Convolution" not in page


def test_answers_html_refuses_a_missing_directory(tmp_path, capsys):
    assert main(["answers", "--section", "3", "--html", str(tmp_path / "no" / "a.html")]) == 2
    err = capsys.readouterr().err
    assert "--html: directory" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- in a browser
@pytest.mark.skipif(
    chromium() is None,
    reason="headless Chromium is not installed (CI: apt-get install -y chromium)",
)
def test_page_opens_in_headless_chromium_without_errors_or_network(page_3_5, tmp_path):
    _, page = page_3_5
    path = tmp_path / "answers.html"
    path.write_text(page, encoding="utf-8")
    opened = open_page(path)
    assert opened.returncode == 0, opened.stderr[-2000:]
    assert opened.console == [] and opened.failed_loads == []
    assert opened.dom.count("<img") == 3
    # every formula is laid out as MathML (display 'block math'), none is left as LaTeX text
    assert {display for display, _, _ in opened.math} == {"block math"}
    check_rendered(opened, page, path, tmp_path, RAW_LATEX_IN_BROWSER)


def test_module_imports_stay_light():
    code = "import verigrad.answers.html, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
