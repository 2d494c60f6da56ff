"""docs/matrix_completion.md: its code block runs and prints exactly the output it shows."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "matrix_completion.md"


def test_matrix_completion_doc_prints_what_it_shows():
    text = DOC.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    shown = re.search(r"```text\n(.*?)```", text, re.S).group(1)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, str(DOC), "exec"), {"__name__": "doc"})
    assert buffer.getvalue() == shown
    rows = [line.split() for line in shown.splitlines()[2:]]
    # the recovered rank reaches the true rank 3 as lam grows, and the hidden error is small
    assert [int(r[2]) for r in rows][-2:] == [3, 3]
    assert float(rows[0][-1]) < 0.05
