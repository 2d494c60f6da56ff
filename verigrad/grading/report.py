"""The grade report as terminal text, JSON and one self-contained HTML page.

The HTML page needs no network: formulas are rendered as MathML by
:mod:`verigrad.formula.mathml` (shared with the worked answers' page; a formula it cannot
render is shown as escaped LaTeX source), the style is inline. Formulas are inline MathML set
in display style (full-size fractions); ``$...$`` inside a prose answer is typeset too. Each
question shows the student's formula beside the reference, the verdict, the counterexample,
and its derivation steps with the first false step highlighted.
"""

from __future__ import annotations

import html
import json
import math

from ..formula.mathml import MATH_STYLE, mathml, prose_html
from .grader import Report
from .key import KEY

__all__ = ["format_terminal", "report_json", "report_html"]

_MARK = {"right": "right", "wrong": "WRONG", "missing": "missing", "human": "human"}


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def report_json(report: Report) -> str:
    """The report as JSON text (the schema of the grading issue)."""
    return json.dumps(_jsonable(report.as_dict()), indent=2)


def _short(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def format_terminal(report: Report) -> str:
    """A table of questions and verdicts, then the wrong ones with their counterexamples."""
    lines = [f"sheet: {report.sheet}", "", f"{'question':<9} {'verdict':<8} detail"]
    for q in report.questions:
        lines.append(f"{q.id:<9} {_MARK[q.verdict]:<8} {_short(q.detail, 90)}")
    wrong = [q for q in report.questions if q.verdict == "wrong"]
    for q in wrong:
        lines += ["", f"{q.id} {q.title}: WRONG"]
        if q.answer:
            lines.append(f"  answer:   {_short(q.answer, 150)}")
        if q.expected:
            lines.append(f"  expected: {_short(q.expected, 150)}")
        lines.append(f"  {_short(q.detail, 400)}")
        for step in q.steps:
            if step.verdict == "wrong":
                first = " (first false step)" if step.label == q.first_wrong_step else ""
                lines.append(f"  step {step.label} is false{first}: {_short(step.detail, 200)}")
        if q.counterexample:
            lines.append(
                f"  counterexample: {_short(json.dumps(_jsonable(q.counterexample)), 400)}"
            )
    s = report.summary
    lines += [
        "",
        f"summary: {s['right']} right, {s['wrong']} wrong, {s['missing']} missing, "
        f"{s['human']} for a human",
    ]
    return "\n".join(lines)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin: 0; }
.q { border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 1em; margin: 0.6em 0; }
.verdict { font-weight: bold; padding: 0.1em 0.5em; border-radius: 4px; color: white; }
.right { background: #2e7d32; } .wrong { background: #c62828; }
.missing { background: #757575; } .human { background: #1565c0; }
.cols { display: flex; gap: 2em; flex-wrap: wrap; } .cols > div { flex: 1; min-width: 300px; }
.label { color: #666; font-size: 0.85em; margin-top: 0.6em; }
table.steps { border-collapse: collapse; width: 100%; margin-top: 0.6em; }
table.steps td { border-top: 1px solid #eee; padding: 0.3em 0.5em; vertical-align: top; }
tr.firstwrong { background: #ffebee; outline: 2px solid #c62828; }
tr.wrongstep td:first-child { color: #c62828; font-weight: bold; }
.cex { background: #fff8e1; padding: 0.4em 0.6em; font-family: monospace; font-size: 0.85em;
       white-space: pre-wrap; }
table.summary td { padding: 0.2em 0.8em; }
math { font-size: 1.1em; math-style: normal; }
"""


def report_html(report: Report) -> str:
    """One self-contained HTML page for the report."""
    s = report.summary
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>verigrad grade: {html.escape(report.sheet)}</title>",
        f"<style>{_STYLE}{MATH_STYLE}</style></head><body>",
        f"<h1>verigrad grade &mdash; {html.escape(report.sheet)}</h1>",
        "<table class='summary'><tr>"
        + "".join(
            f"<td><span class='verdict {k}'>{k}</span> {s[k]}</td>"
            for k in ("right", "wrong", "missing", "human")
        )
        + "</tr></table>",
        "<p class='label'>Formulas are checked by evaluation at random points against autograd "
        "through the problem's definitions (tolerance 1e-6 relative); numbers to the digits "
        "written; matrices entry by entry. Problem 6's autoencoder is read as "
        "x&#770; = &sigma;<sub>2</sub>(W* &sigma;<sub>1</sub>(Wx + b) + b&prime;).</p>",
    ]
    for q in report.questions:
        out.append(_question_html(q))
    out.append("</body></html>")
    return "\n".join(out)


def _question_html(q) -> str:
    if q.verdict == "missing":
        return (
            f"<div class='q'><b>{html.escape(q.id)}</b> &nbsp;<span class='verdict missing'>"
            f"missing</span> &nbsp;{html.escape(q.title)}: no answer found</div>"
        )
    parts = [
        f"<div class='q' id='q{html.escape(q.id)}'>",
        f"<h2>{html.escape(q.id)} &nbsp;<span class='verdict {q.verdict}'>{q.verdict}</span> "
        f"&nbsp;{html.escape(q.title)}</h2>",
        f"<p>{html.escape(q.detail)}</p>",
    ]
    is_formula = KEY[q.id].kind != "prose"
    if q.answer or q.expected:
        student = (
            _formula(q.answer)
            if is_formula and q.verdict != "human"
            else f"<p>{prose_html(q.answer)}</p>"
        )
        reference = (
            f"<div><div class='label'>the reference</div>{_formula(q.expected)}</div>"
            if q.expected
            else ""  # a prose question: its key points follow
        )
        parts.append(
            f"<div class='cols'><div><div class='label'>the sheet</div>{student}</div>"
            f"{reference}</div>"
        )
    if q.verdict == "human" and q.key_points:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in q.key_points)
        parts.append(f"<div class='label'>key points of the model answer</div><ul>{items}</ul>")
    if q.counterexample:
        parts.append(
            "<div class='label'>counterexample</div>"
            f"<div class='cex'>{html.escape(_counterexample_text(q.counterexample))}</div>"
        )
    if q.steps:
        parts.append("<div class='label'>steps (each equation checked on its own)</div>")
        rows = []
        for step in q.steps:
            cls = (
                "firstwrong"
                if step.label == q.first_wrong_step
                else ("wrongstep" if step.verdict == "wrong" else "")
            )
            rows.append(
                f"<tr class='{cls}'><td>{html.escape(step.label)}</td>"
                f"<td>{_formula(step.latex)}</td>"
                f"<td><span class='verdict {_step_class(step.verdict)}'>{step.verdict}</span></td>"
                f"<td>{html.escape(step.detail)}</td></tr>"
            )
        parts.append("<table class='steps'>" + "".join(rows) + "</table>")
    parts.append("</div>")
    return "\n".join(parts)


def _formula(latex: str) -> str:
    return mathml(latex, display=False)


def _counterexample_text(cex: dict) -> str:
    """One line per item; a random point's arrays compactly, one variable a line."""
    lines = []
    for key, value in cex.items():
        if key == "point" and isinstance(value, dict):
            lines.append("at the point")
            lines += [f"  {name} = {json.dumps(_jsonable(v))}" for name, v in value.items()]
        elif key == "entry" and isinstance(value, dict):
            where = ", ".join(f"{k} = {v}" for k, v in value.items())
            lines.append(f"entry {where}")
        else:
            lines.append(f"{key}: {json.dumps(_jsonable(value))}")
    return "\n".join(lines)


def _step_class(verdict: str) -> str:
    return {"right": "right", "wrong": "wrong"}.get(verdict, "missing")
