"""verigrad.formula.mathml: the one LaTeX -> MathML renderer of the HTML pages."""

from __future__ import annotations

import sys

import pytest

from verigrad.formula import mathml as module
from verigrad.formula.mathml import mathml, prose_html


def _without_latex2mathml(monkeypatch):
    # a None entry makes ``import latex2mathml.converter`` raise ImportError
    monkeypatch.setitem(sys.modules, "latex2mathml", None)
    monkeypatch.setitem(sys.modules, "latex2mathml.converter", None)


def test_block_and_inline():
    pytest.importorskip("latex2mathml")
    block = mathml(r"\frac{a}{b}")
    inline = mathml(r"\frac{a}{b}", display=False)
    assert block.startswith("<math") and 'display="block"' in block and "<mfrac>" in block
    assert 'display="inline"' in inline and "<mfrac>" in inline


def test_empty_is_nothing():
    assert mathml("") == "" and mathml("  ") == "" and prose_html("") == ""


def test_without_latex2mathml_the_source_is_shown_escaped(monkeypatch):
    _without_latex2mathml(monkeypatch)
    assert mathml(r"a < \frac{b}{c}") == r"<code class='latex'>a &lt; \frac{b}{c}</code>"
    assert prose_html("so $x<1$ & more") == ("so <code class='latex'>x&lt;1</code> &amp; more")


def test_a_formula_the_renderer_fails_on_is_shown_as_source(monkeypatch):
    pytest.importorskip("latex2mathml")
    import latex2mathml.converter

    def broken(latex, display="inline"):
        raise ValueError("unsupported")

    monkeypatch.setattr(latex2mathml.converter, "convert", broken)
    assert mathml("x^2") == "<code class='latex'>x^2</code>"


def test_prose_keeps_its_words_and_typesets_its_dollars():
    pytest.importorskip("latex2mathml")
    out = prose_html(r"when $y_{c_1} = 1$ <b> costs \$5 and $$ is no formula")
    assert out.count("<math") == 1 and 'display="inline"' in out
    assert out.startswith("when <math") and "&lt;b&gt;" in out and r"costs \$5" in out
    assert out.endswith("and $$ is no formula")


def test_the_answers_page_and_the_grade_report_share_the_renderer():
    from verigrad.answers import html as answers_page
    from verigrad.grading import report

    assert answers_page.mathml is module.mathml and report.mathml is module.mathml
    assert module.MATH_STYLE in answers_page.answers_html([], figures=False)
