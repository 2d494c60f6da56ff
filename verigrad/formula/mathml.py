"""LaTeX as MathML for the offline HTML pages (the worked answers and the grade report).

Browsers draw MathML natively, so a page with formulas needs no script and fetches nothing.
The conversion is ``latex2mathml`` (the ``grade`` extra), imported when the first formula is
rendered. Policy when it cannot help: without ``latex2mathml``, or for LaTeX it fails on, a
formula is shown as its escaped source in ``<code class='latex'>``, so the page still opens
and says what was written; with it, no LaTeX is left as text.

:data:`MATH_STYLE` is the CSS both pages embed: it asks for an OpenType math font already on
the reader's machine (Latin Modern Math, STIX Two Math, Cambria Math, DejaVu Math TeX Gyre),
without which Chromium cannot stretch brackets around a matrix or size a sum sign.
"""

from __future__ import annotations

import html
import re

__all__ = ["mathml", "prose_html", "MATH_STYLE"]

MATH_STYLE = """
math { font-family: 'Latin Modern Math', 'STIX Two Math', 'Cambria Math',
       'DejaVu Math TeX Gyre', math; }
code.latex { background: #fff3cd; padding: 0 0.25em; border-radius: 3px; }
"""

# ``$...$`` inside prose: not ``$$``, not a backslash-escaped dollar, no newline inside
_INLINE = re.compile(r"(?<![\\$])\$(?!\$)([^$\n]+?)(?<!\\)\$(?!\$)")


def _source(latex: str) -> str:
    return f"<code class='latex'>{html.escape(latex)}</code>"


def mathml(latex: str, display: bool = True) -> str:
    """``latex`` as one ``<math>`` element (``display="block"`` or ``"inline"``).

    Parameters
    ----------
    latex : str
        One formula, without ``$`` delimiters.
    display : bool
        A block formula (its own line, centred, fractions full size) or an inline one.

    Returns
    -------
    str
        MathML markup; ``""`` for an empty or blank formula; the escaped source in
        ``<code class='latex'>`` when ``latex2mathml`` is not installed or cannot convert it.
    """
    if not latex or not latex.strip():
        return ""
    try:
        from latex2mathml.converter import convert
    except ImportError:  # the grade extra is not installed: show the source
        return _source(latex)
    try:
        return convert(latex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any failure of the renderer shows the source instead
        return _source(latex)


def prose_html(text: str) -> str:
    """Prose with ``$...$`` formulas (a student's written answer) as escaped HTML with each
    formula rendered inline by :func:`mathml`; text outside the dollars is escaped as is."""
    out, start = [], 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[start : match.start()]))
        out.append(mathml(match.group(1), display=False))
        start = match.end()
    out.append(html.escape(text[start:]))
    return "".join(out)
