"""The worked assignment as one self-contained HTML page (``verigrad answers --html FILE``).

Per question: the question, its derivation typeset (LaTeX from
:mod:`~verigrad.answers.derivations` rendered to MathML by :mod:`verigrad.formula.mathml`, the
grade report's renderer too; browsers draw MathML natively), the worked numbers, the answer,
the independent check with its result and the figures of :mod:`~verigrad.answers.figures`
embedded as base64 PNG. The page loads nothing: no script, no font file, no stylesheet, no
image from anywhere else, so it reads offline (formulas use a math font already installed).

Without ``latex2mathml`` (the ``grade`` extra) a derivation is shown as its LaTeX source in
a code block, marked as such; with it, no LaTeX is left on the page.
"""

from __future__ import annotations

import base64
import html

from ..formula.mathml import MATH_STYLE, mathml
from . import SECTIONS
from .derivations import derivation
from .figures import figures_for

__all__ = ["answers_html", "PAGE_STYLE"]

PAGE_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #212529;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.3em; margin-top: 1.6em;
     border-bottom: 2px solid #dee2e6; padding-bottom: 0.2em; }
h3 { font-size: 1.05em; margin: 0 0 0.5em 0; }
nav ol { columns: 3; padding-left: 1.2em; } nav a { color: #0b5ed7; text-decoration: none; }
.q { border: 1px solid #dee2e6; border-radius: 8px; padding: 0.8em 1.1em; margin: 1em 0;
     background: #fff; }
.badge { font-size: 0.8em; font-weight: 600; padding: 0.1em 0.55em; border-radius: 4px;
         color: #fff; margin-right: 0.4em; }
.pass { background: #198754; } .fail { background: #dc3545; }
.label { color: #6c757d; font-size: 0.8em; text-transform: uppercase; letter-spacing: 0.05em;
         margin: 0.7em 0 0.2em 0; }
.derivation math { margin: 0.35em 0; font-size: 1.12em; }
pre { background: #f8f9fa; border-radius: 6px; padding: 0.6em 0.8em; font-size: 0.82em;
      overflow-x: auto; white-space: pre-wrap; margin: 0.2em 0; }
.answer { background: #e7f1ff; border-left: 4px solid #0b5ed7; padding: 0.4em 0.8em; }
.check { background: #f1f8f4; border-left: 4px solid #198754; padding: 0.4em 0.8em; }
.check.failed { background: #fdecee; border-left-color: #dc3545; }
figure { margin: 0.8em 0 0.2em 0; } figure img { max-width: 100%; height: auto;
         border: 1px solid #eee; }
figcaption { color: #495057; font-size: 0.88em; margin-top: 0.3em; }
.summary { font-size: 1.05em; }
"""


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt, quote=True)}' src='data:image/png;base64,{data}'>"


def _label(answer) -> str:
    part = answer.part
    return part if part.startswith(str(answer.section)) else f"{answer.section}({part})"


def _question(answer, with_figures: bool) -> str:
    mark = "pass" if answer.passed else "fail"
    out = [
        f"<div class='q' id='q-{html.escape(str(answer.section))}-{html.escape(answer.part)}'>",
        f"<h3><span class='badge {mark}'>{'PASS' if answer.passed else 'FAIL'}</span>"
        f"{html.escape(_label(answer))}. {html.escape(answer.question)}</h3>",
    ]
    lines = derivation(answer.section, answer.part)
    if lines:
        out.append("<div class='label'>Derivation</div><div class='derivation'>")
        out += [mathml(line) for line in lines]
        out.append("</div>")
    if answer.work:
        out.append("<div class='label'>Worked numbers</div>")
        out.append(f"<pre>{html.escape(chr(10).join(str(w) for w in answer.work))}</pre>")
    out.append("<div class='label'>Answer</div>")
    out.append(f"<div class='answer'>{html.escape(answer.answer)}</div>")
    out.append("<div class='label'>Independent check</div>")
    verdict = "passed" if answer.passed else "FAILED"
    out.append(
        f"<div class='check{'' if answer.passed else ' failed'}'><b>{verdict}</b>: "
        f"{html.escape(answer.check)}</div>"
    )
    if with_figures:
        try:
            figures = figures_for(answer)
        except Exception as exc:  # noqa: BLE001 - a figure that fails never hides the answer
            figures = []
            out.append(
                f"<p class='check failed'>figure not drawn: {html.escape(type(exc).__name__)}: "
                f"{html.escape(str(exc))}</p>"
            )
        for caption, png in figures:
            out.append(
                f"<figure>{_image(png, caption)}<figcaption>{html.escape(caption)}</figcaption>"
                "</figure>"
            )
    out.append("</div>")
    return "\n".join(out)


def answers_html(answers, title: str = "verigrad: the assignment, worked and checked",
                 figures: bool = True) -> str:  # fmt: skip
    """One self-contained HTML page for ``answers`` (a list of
    :class:`~verigrad.answers.record.Answer`, as :func:`~verigrad.answers.compute` returns)."""
    answers = list(answers)
    passed = sum(bool(a.passed) for a in answers)
    sections = []
    for answer in answers:
        if answer.section not in sections:
            sections.append(answer.section)
    out = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{html.escape(title)}</title>",
        f"<style>{PAGE_STYLE}{MATH_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='summary'><span class='badge {'pass' if passed == len(answers) else 'fail'}'>"
        f"{passed} of {len(answers)}</span> checks passed. Each answer is computed by the "
        "library and checked by an independent route (autograd, closed form, central finite "
        "differences, brute force).</p>",
        "<nav><ol>",
    ]
    for number in sections:
        name = SECTIONS.get(number, (str(number),))[0]
        out.append(f"<li value='{number}'><a href='#s{number}'>{html.escape(name)}</a></li>")
    out.append("</ol></nav>")
    for number in sections:
        name = SECTIONS.get(number, (str(number),))[0]
        out.append(f"<h2 id='s{number}'>{number}. {html.escape(name)}</h2>")
        out += [_question(a, figures) for a in answers if a.section == number]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
