"""Hostile sheets: nothing is expanded or followed, every formula is bounded, no traceback."""

import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verigrad.cli import main
from verigrad.grading import QUESTION_IDS, grade_text, parse_sheet

HEADER = "2 Softmax regression\n2.1 Derivation\n"

HOSTILE = {
    "input": r"$$\frac{\partial l}{\partial W_{ij}} = \input{/etc/passwd} \quad (1)$$",
    "include": r"$$\include{secrets} = 1$$",
    "def": r"$$\def\x{\x\x} \frac{\partial l}{\partial W_{ij}} = \x$$",
    "newcommand": r"$$\newcommand{\a}{b} \frac{\partial l}{\partial W_{ij}} = \a$$",
    "catcode": r"$$\catcode`\^=13 \frac{\partial l}{\partial W_{ij}} = 1$$",
    "nesting": "$$\\frac{\\partial l}{\\partial W_{ij}} = "
    + "(" * 20000
    + "x"
    + ")" * 20000
    + "$$",
    "braces": "$$\\frac{\\partial l}{\\partial W_{ij}} = " + "{" * 20000 + "x" + "}" * 20000 + "$$",
    "exponent": r"$$\frac{\partial l}{\partial W_{ij}} = x_j^{10^{10^{10}}}$$",
    "power": r"$$\frac{\partial l}{\partial W_{ij}} = x_j^{999999999}$$",
    "sums": "$$\\frac{\\partial l}{\\partial W_{ij}} = " + "\\sum_k " * 5000 + "x_j$$",
    "overlong": "$$\\frac{\\partial l}{\\partial W_{ij}} = " + "x_j + " * 100000 + "x_j$$",
    "many formulas": "$$x = 1$$\n" * 5000,
    "nested sums": "$$\\frac{\\partial l}{\\partial W_{ij}} = "
    + "".join(f"\\sum_{c} " for c in "abcdefgh")
    + " ".join(f"x_{c}" for c in "abcdefgh")
    + "$$",
    "huge matrix": "$$\\begin{pmatrix}"
    + " \\\\ ".join(" & ".join(["1"] * 500) for _ in range(500))
    + "\\end{pmatrix}$$",
    "unbalanced": "$$\\frac{\\partial l}{\\partial W_{ij}} = \\frac{x_j$$",
    "dollars": "$" * 10001,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_answers_are_refused_per_formula(name):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        report = grade_text(parse_sheet(HEADER + HOSTILE[name]))
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    q = {q.id: q for q in report.questions}["2.1"]
    assert q.verdict in ("wrong", "human", "missing"), (name, q.verdict)
    assert elapsed < 20, (name, elapsed)
    assert peak < 300 * 2**20, (name, peak)
    if name in ("input", "def", "newcommand", "catcode", "include"):
        assert q.verdict == "human"
        assert "not read" in q.detail or "no final" in q.detail


def test_the_input_file_is_never_read(tmp_path, capsys):
    secret = tmp_path / "secret.tex"
    secret.write_text("TOPSECRET")
    sheet = tmp_path / "sheet.tex"
    sheet.write_text(HEADER + f"$$x = \\input{{{secret}}}$$\n")
    code = main(["grade", str(sheet), "--json", str(tmp_path / "g.json")])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.err
    assert "TOPSECRET" not in out.out and "TOPSECRET" not in (tmp_path / "g.json").read_text()


_PIECES = [
    "2.1",
    "(a)",
    "(b)",
    "5 Convolution",
    "\n",
    " ",
    "$$",
    "$",
    "\\[",
    "\\]",
    "\\(",
    "\\)",
    "x_j",
    "W_{ij}",
    "\\frac{\\partial l}{\\partial W_{ij}}",
    "=",
    "\\hat{y}_i",
    "(",
    ")",
    "{",
    "}",
    "\\sum_k",
    "^",
    "_",
    "\\begin{pmatrix}",
    "\\end{pmatrix}",
    "&",
    "\\\\",
    "\\input",
    "\\def",
    "\\quad (4)",
    "\\text{ where }",
    "C",
    "**",
    "17",
    "3x3",
    "\\begin{align}",
    "\\end{align}",
    "\\section{A}",
    "\\subsection{B}",
    "9",
    "0.0646",
    "\\exp",
    "|",
    "\\|",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=120), st.text(max_size=200))
def test_fuzzed_sheets_grade_without_error(pieces, noise):
    start = time.perf_counter()
    report = grade_text(parse_sheet("".join(pieces) + noise))
    assert [q.id for q in report.questions] == list(QUESTION_IDS)
    assert all(q.verdict in ("right", "wrong", "missing", "human") for q in report.questions)
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("option", ["--json", "--html"])
def test_an_output_that_is_the_sheet_is_refused(tmp_path, capsys, option):
    """grade SHEET --json SHEET would replace the student's sheet with its report."""
    sheet = tmp_path / "sheet.md"
    sheet.write_text("$$\\frac{\\partial l}{\\partial W_{ij}} = x_j$$\n")
    link = tmp_path / "same.md"
    link.symlink_to(sheet)
    for target in (str(sheet), str(link), str(tmp_path / "." / "sheet.md")):
        assert main(["grade", str(sheet), option, target]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"verigrad grade: error: {option}: ") and "sheet" in err, err
    assert sheet.read_text().startswith("$$\\frac")
