"""A mkdocs hook: ``$...$`` and ``$$...$$`` in the pages become MathML (latex2mathml), so the
site shows formulas with no JavaScript and nothing fetched from the network.

Formulas are swapped for placeholders before Markdown runs (so ``_`` and ``*`` inside them are
never read as emphasis) and replaced by MathML in the finished HTML. Code blocks and inline
code are left alone. A formula latex2mathml cannot convert fails the build (strict docs).
"""

from __future__ import annotations

import re

from latex2mathml.converter import convert

_CODE = re.compile(r"(^```.*?^```[ \t]*$|`[^`\n]+`)", re.M | re.S)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\$)")
_TOKEN = "VERIGRADMATH{}X"
_formulas: dict = {}


def _stash(latex: str, display: bool) -> str:
    key = _TOKEN.format(len(_formulas))
    _formulas[key] = convert(latex.strip(), display="block" if display else "inline")
    return f"\n\n{key}\n\n" if display else key


def on_page_markdown(markdown, page, config, files):
    parts = _CODE.split(markdown)
    for i in range(0, len(parts), 2):  # even parts are prose, odd parts code
        text = _DISPLAY.sub(lambda m: _stash(m.group(1), True), parts[i])
        parts[i] = _INLINE.sub(lambda m: _stash(m.group(1), False), text)
    return "".join(parts)


def on_page_content(html, page, config, files):
    html = re.sub(r"<p>(VERIGRADMATH\d+X)</p>", lambda m: _formulas[m.group(1)], html)
    return re.sub(r"VERIGRADMATH\d+X", lambda m: _formulas[m.group(0)], html)
