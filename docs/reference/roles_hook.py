"""A mkdocs hook: the docstrings' Sphinx roles (``:class:`~verigrad.tensor.Tensor```) read as
plain code in the API reference (``verigrad.tensor.Tensor``, or ``Tensor`` for ``~``)."""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:mod|func|class|meth|data|attr|exc|obj):(<code>)(~?)([^<]*)(</code>)")


def _plain(match) -> str:
    opening, tilde, target, closing = match.groups()
    return opening + (target.rsplit(".", 1)[-1] if tilde else target) + closing


def on_page_content(html, page, config, files):
    return _ROLE.sub(_plain, html)
