"""Our own sheets in all three formats: right and wrong answers of every kind, each asserted."""

from pathlib import Path

import pytest

from verigrad.grading import grade_sheet, grade_text, parse_sheet

DATA = Path(__file__).parent / "data"

# sheet -> {question: (verdict, first false step or None, words the detail must contain)}
EXPECTED = {
    "right-index.md": {
        "1a": ("human", None, "prose"),
        "1b": ("human", None, "prose"),
        "2.1": ("right", None, "equals the truth"),  # index notation, a Kronecker bracket
        "2.2": ("human", None, "prose"),
        "3a": ("right", None, "equals the truth"),
        "3b": ("right", None, "digits written"),
        "5a": ("right", None, "3x3"),
        "5b": ("right", None, "all 9 entries"),  # bmatrix
        "5c": ("right", None, "all 25 entries"),
        "9A": ("right", None, "equals the truth"),
    },
    "wrong-sign.tex": {
        "2.1": ("wrong", "(1)", "is wrong"),  # a sign error, \tag labels
        "2.2": ("human", None, "prose"),
        "3a": ("wrong", "eq1", "is wrong"),  # the quotient rule's second term forgotten
        "3b": ("wrong", "eq2", "-0.19"),  # -0.1812 is not -0.19
        "5a": ("right", None, "3x3"),
        "5b": ("wrong", None, "row 2, column 2: 86 instead of 85"),  # one wrong entry named
        "9A": ("wrong", "eq1", "is wrong"),  # the sign factor is missing
    },
    "matrix-notation.txt": {
        "2.1": ("right", None, "equals the truth"),  # (yhat - y) x^T against the index key
        "5a": ("right", None, "3x3"),
        "5c": ("wrong", None, "3x3, the answer is 5x5"),
    },
    "transposed.txt": {
        "2.1": ("wrong", "(1)", "shapes"),  # x (yhat - y)^T is the transpose
        "5a": ("wrong", None, "read 5x5"),
        "5b": ("wrong", None, "4 wrong entries"),  # the transposed matrix
    },
    "symbols.md": {
        "2.1": ("right", None, "equals the truth"),  # \widehat, z, X_j, W_{i,j}, softmax, L
        "9A": ("right", None, "equals the truth"),  # vector form with \odot and (.)_+
    },
    "middle-step-false.tex": {
        "2.1": ("wrong", "(2)", "final expression is right"),  # a false middle step
    },
    "chain-rule.txt": {
        "3a": ("right", None, "equals the truth"),
        "3b": ("right", None, "digits written"),  # 0.66, 0.06, -0.18 rounded right
    },
    "missing-factor.md": {
        "2.1": ("wrong", "(2)", "is wrong"),  # x_j forgotten
        "2.2": ("human", None, "prose"),
        "3b": ("wrong", None, "no value given for df/dy"),  # only one of the two partials
    },
    "autoencoder-ista.md": {
        "6a": ("right", None, "equals the truth"),
        "6b": ("right", None, "equals the truth"),  # matrix and index notation, W^*
        "6c": ("right", None, "step size"),  # W^{t+1}, W^*_{t+1}, b' \leftarrow; delta from 6b
        "9B": ("right", None, "equals the truth"),  # S_{\lambda t}, x^k: an update rule
    },
    "wrong-autoencoder.txt": {
        "6a": ("wrong", "(1)", "is wrong"),  # the norm is not squared
        "6b": ("wrong", "(2)", "shapes"),  # h delta^T is the transpose
        "6c": ("wrong", "(5)", "the update of W is wrong"),  # + alpha: ascent
        "8.2": ("wrong", "(4)", "is wrong"),  # the Student-t kernel is missing
        "9B": ("wrong", None, "is wrong"),  # + y: a sign error inside the prox
    },
    "tsne.tex": {
        "8.1": ("human", None, "prose"),
        "8.2": ("right", None, "equals the truth"),  # \sum_{k \neq l} binds both, j \neq i
    },
    "chain-rule-uv.md": {
        # the sheet's own intermediates u, v: f = u / v rebinds f, so df/du is 1/v; the final
        # partials are right but (6) says dv/dy = -1
        "3a": ("wrong", "(6)", "the final expression is right"),
    },
    "rounding.tex": {
        "3b": ("wrong", "eq1", "written -0.1813"),  # -0.181186 rounds to -0.1812
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sheet_verdicts(name):
    report = grade_sheet(DATA / name)
    got = {q.id: q for q in report.questions}
    for qid, (verdict, first, words) in EXPECTED[name].items():
        q = got[qid]
        assert q.verdict == verdict, (name, qid, q.detail)
        assert q.first_wrong_step == first, (name, qid, q.first_wrong_step)
        assert words in q.detail, (name, qid, q.detail)
    others = set(got) - set(EXPECTED[name])
    assert all(got[qid].verdict == "missing" for qid in others), name


def test_at_least_eight_sheets_in_three_formats():
    names = [n for n in EXPECTED]
    assert len(names) >= 8
    assert {Path(n).suffix for n in names} == {".md", ".tex", ".txt"}


def test_wrong_answers_carry_a_counterexample():
    report = grade_sheet(DATA / "wrong-sign.tex")
    q = {q.id: q for q in report.questions}
    assert q["2.1"].counterexample["entry"].keys() == {"i"}  # the first false step is over i
    assert q["5b"].counterexample == {"row": 2, "column": 2, "written": 86.0, "expected": 85.0}


def test_local_definitions_are_used_in_later_steps():
    text = "\n".join(
        [
            "2 Softmax regression",
            "2.1 Derivation",
            r"$$\hat{y}_i = \frac{\exp(a_i)}{C + \exp(a_i)}, \text{ where } C = \sum_{k \neq i} \exp(a_k) \quad (1)$$",
            r"$$D = C + \exp(a_i) \quad (2)$$",
            r"$$\hat{y}_i = \frac{\exp(a_i)}{D} \quad (3)$$",
            r"$$\hat{y}_i = \frac{\exp(a_i)}{2 D} \quad (4)$$",
            r"$$\frac{\partial l}{\partial W_{ij}} = (\hat{y}_i - y_i) x_j \quad (5)$$",
        ]
    )
    report = grade_text(parse_sheet(text))
    q = report.questions[2]
    assert q.id == "2.1"
    verdicts = {s.label: s.verdict for s in q.steps}
    assert verdicts == {
        "(1)": "right",
        "(2)": "unchecked",
        "(3)": "right",
        "(4)": "wrong",
        "(5)": "right",
    }
    assert q.verdict == "wrong" and q.first_wrong_step == "(4)"


def test_pdf_noise_and_part_labels():
    text = "\n".join(
        [
            "1 General Questions",
            "12 (a) Without nonlinearities the layers collapse.",
            "13 **5 Convolution**",
            "14 (b) $$\\begin{pmatrix} 109 & 92 & 72 \\\\ 108 & 85 & 74 \\\\ 110 & 74 & 79 \\end{pmatrix}$$",
            "15 **9 Proximal gradient descent**",
            "16 (C) By optimality, 0 is in the subdifferential.",
        ]
    )
    report = grade_text(parse_sheet(text))
    got = {q.id: q.verdict for q in report.questions}
    assert got["1a"] == "human" and got["5b"] == "right" and got["9C"] == "human"
    assert sum(v == "missing" for v in got.values()) == len(got) - 3


_DF_DY = (
    r"$$\frac{\partial f}{\partial y} = \frac{\sigma(y) (1 - \sigma(y))}{3x + y - \sigma(x)}"
    r" - \frac{x^2 + \sigma(y)}{(3x + y - \sigma(x))^2}$$"
)


def test_an_incomplete_derivation_names_the_missing_quantity():
    """3a asks for df/dx and df/dy; a right df/dy alone is wrong, and the detail says why."""
    report = grade_text(parse_sheet("3 Chain rule\n\n(a) " + _DF_DY + "\n"))
    (q,) = [q for q in report.questions if q.id == "3a"]
    assert q.verdict == "wrong" and q.first_wrong_step is None
    assert q.detail == "no final expression for df/dx (the answer gives df/dy, which is right)"
    wrong_dy = _DF_DY.replace("(3x + y - \\sigma(x))^2", "(3x + y - \\sigma(x))^3")
    report = grade_text(parse_sheet("3 Chain rule\n\n(a) " + wrong_dy + "\n"))
    (q,) = [q for q in report.questions if q.id == "3a"]
    assert q.detail.startswith(
        "no final expression for df/dx (the answer gives df/dy, which is wrong)"
    )
    assert "final expression" in q.detail and "is wrong: differ" in q.detail


def test_a_derivation_without_a_final_expression_names_its_quantity():
    text = "2 Softmax regression\n2.1 Derivation\n$$\\hat{y}_i = \\sigma(a)_i \\quad (1)$$\n"
    (q,) = [q for q in grade_text(parse_sheet(text)).questions if q.id == "2.1"]
    assert q.detail.startswith("no final expression for dl/dW_ij"), q.detail


@pytest.mark.parametrize(
    "latex, name",
    [
        (r"\frac{\partial l}{\partial W_{ij}}", "dl/dW_ij"),
        (r"\frac{\partial f}{\partial x}", "df/dx"),
        (r"\frac{\partial L}{\partial W^*}", "dL/dW*"),
        (r"\frac{\partial l}{\partial \hat{y}_i}", "dl/dyhat_i"),
        ("L", "L"),
    ],
)
def test_quantity_names_are_plain_text(latex, name):
    from verigrad.grading.results import quantity_name

    assert quantity_name(latex) == name
