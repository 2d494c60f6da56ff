"""Every docstring in the package parses as numpydoc without a warning, as the API reference
(mkdocstrings, griffe, ``mkdocs build --strict``) reads it: prose after a Parameters section
belongs in the summary or a Notes section, never under the last parameter."""

from __future__ import annotations

import inspect
import logging
import re
from pathlib import Path

import pytest

griffe = pytest.importorskip("griffe", reason="the docs extra (mkdocstrings) is not installed")

ROOT = Path(__file__).resolve().parents[2]


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _warnings(parse) -> list:
    handler = _Collect()
    logger = logging.getLogger("griffe")
    logger.addHandler(handler)
    try:
        parse()
    finally:
        logger.removeHandler(handler)
    return handler.messages


def _parse_all(obj, found: list) -> None:
    if obj.is_alias:
        return
    if obj.docstring is not None:
        found.append(obj.path)
        griffe.parse_numpy(obj.docstring, warn_unknown_params=False, warn_missing_types=False)
    for member in obj.members.values():
        _parse_all(member, found)


def test_every_docstring_parses_as_numpydoc_without_warnings():
    package = griffe.load("verigrad", search_paths=[str(ROOT)], resolve_aliases=False)
    parsed = []
    assert _warnings(lambda: _parse_all(package, parsed)) == []
    assert len(parsed) > 500 and "verigrad.tensor.Tensor.backward" in parsed


def test_the_check_sees_prose_after_parameters():
    # Tensor.backward's docstring before it was fixed
    text = inspect.cleandoc(
        """Compute the gradient.

        Parameters
        ----------
        grad : array_like, optional
            The gradient of the final objective with respect to this tensor.

        The results are *added* into each leaf's ``.grad``; call ``zero_grad`` (or set
        ``.grad = None``) between steps.
        """
    )
    docstring = griffe.Docstring(text, lineno=1)
    messages = _warnings(
        lambda: griffe.parse_numpy(docstring, warn_unknown_params=False, warn_missing_types=False)
    )
    assert len(messages) == 1 and "Could not parse line" in messages[0]


def test_mkdocstrings_warnings_are_on():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*warnings:\s*false", config, flags=re.M) is None
