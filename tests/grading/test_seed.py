"""The seed answer sheet (a copy of ../shared/seed/answer-sheet.txt): the issue's verdicts."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from verigrad.cli import main
from verigrad.grading import QUESTION_IDS, grade_sheet

SEED = Path(__file__).parent / "data" / "seed-answer-sheet.txt"


@pytest.fixture(scope="module")
def report():
    return grade_sheet(SEED)


def _by_id(report):
    return {q.id: q for q in report.questions}


def test_every_question_id_once(report):
    assert [q.id for q in report.questions] == list(QUESTION_IDS)


def test_2_1_is_wrong_and_its_first_false_step_is_4(report):
    q = _by_id(report)["2.1"]
    assert q.verdict == "wrong"
    assert q.first_wrong_step == "(4)"
    steps = {s.label: s.verdict for s in q.steps}
    assert steps["(3)"] == "right" and steps["(6)"] == "right" and steps["(7)"] == "right"
    assert steps["(4)"] == "wrong" and steps["(8)"] == "wrong"
    assert steps["(5)"] == "unchecked"  # it elides terms with \dots
    assert q.counterexample and {"point", "entry", "left", "right"} <= set(q.counterexample)
    assert "-X_j y_i (1 - \\hat{y}_i)" in q.answer
    assert q.expected == r"\frac{\partial l}{\partial W_{ij}} = (\hat{y}_i - y_i) x_j"


def test_counterexamples_list_i_before_j(report):
    """dl/dW_ij's indices in its own order everywhere: the final expression writes x_j first."""
    import re

    q = _by_id(report)["2.1"]
    texts = [q.detail] + [s.detail for s in q.steps]
    places = [m for t in texts for m in re.findall(r"differ at ([^:]*):", t)]
    assert len(places) >= 5
    assert all(re.fullmatch(r"i=\d, j=\d", p) for p in places), places
    assert q.detail.startswith("final expression (10) is wrong: differ at i=1, j=4: 0 vs 0.185625")
    assert list(q.counterexample["entry"]) == ["i", "j"]


def test_step_8_is_false_by_the_entry_x_j_exp_a_i(report):
    (step,) = [s for s in _by_id(report)["2.1"].steps if s.label == "(8)"]
    cex = step.counterexample
    i, j = cex["entry"]["i"] - 1, cex["entry"]["j"] - 1
    point = cex["point"]
    import numpy as np

    W, x, b = (np.array(point[k]) for k in ("W", "x", "b"))
    a_i = W[i] @ x + b[i]
    assert cex["left"] == pytest.approx(x[j] * np.exp(a_i), rel=1e-4, abs=1e-4)
    assert cex["right"] == pytest.approx(W[i, j] * np.exp(a_i), rel=1e-4, abs=1e-4)


def test_convolution_answers_are_right(report):
    q = _by_id(report)
    assert (q["5a"].verdict, q["5b"].verdict, q["5c"].verdict) == ("right", "right", "right")


def test_empty_sections_are_missing_and_prose_is_for_a_human(report):
    q = _by_id(report)
    answered = {"2.1", "2.2", "5a", "5b", "5c"}
    for qid in QUESTION_IDS:
        if qid not in answered:
            assert q[qid].verdict == "missing", qid
    assert q["2.2"].verdict == "human" and q["2.2"].key_points
    assert report.summary == {"right": 3, "wrong": 1, "missing": 19, "human": 1}


def test_cli_json_schema_and_exit_code(tmp_path, capsys):
    out_json, out_html = tmp_path / "g.json", tmp_path / "g.html"
    assert main(["grade", str(SEED), "--json", str(out_json), "--html", str(out_html)]) == 1
    text = capsys.readouterr().out
    assert "2.1       WRONG" in text and "first false step (4)" in text
    record = json.loads(out_json.read_text())
    assert set(record) == {"sheet", "questions", "summary"}
    assert set(record["summary"]) == {"right", "wrong", "missing", "human"}
    keys = {
        "id",
        "verdict",
        "answer",
        "expected",
        "detail",
        "counterexample",
        "steps",
        "first_wrong_step",
    }
    for q in record["questions"]:
        assert set(q) == keys
        assert q["verdict"] in ("right", "wrong", "missing", "human")
        for step in q["steps"]:
            assert set(step) == {"label", "latex", "verdict", "detail"}
            assert step["verdict"] in ("right", "wrong", "unchecked")
    assert [q["id"] for q in record["questions"]] == list(QUESTION_IDS)
    page = out_html.read_text()
    assert (
        "<math" in page
        and "firstwrong" in page
        and "http" not in page.replace("http://www.w3.org/1998/Math/MathML", "")
    )


def test_unreadable_sheets_exit_2(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope.txt")]) == 2
    assert "SHEET" in capsys.readouterr().err
    binary = tmp_path / "sheet.txt"
    binary.write_bytes(b"\x00\x01\x02")
    assert main(["grade", str(binary)]) == 2
    other = tmp_path / "sheet.pdf"
    other.write_text("x")
    assert main(["grade", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err


def test_subprocess(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "verigrad", "grade", str(SEED)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1 and "summary: 3 right, 1 wrong, 19 missing" in done.stdout


def test_the_key_uses_the_answers_modules_data():
    import numpy as np

    from verigrad.answers import convolution
    from verigrad.grading.key import CONV_INPUT, CONV_KERNEL, convolution_truth

    np.testing.assert_array_equal(CONV_INPUT, convolution.INPUT)
    np.testing.assert_array_equal(CONV_KERNEL, convolution.KERNEL)
    output, input_grad = convolution_truth()
    np.testing.assert_array_equal(output, convolution.EXPECTED_OUTPUT)
    np.testing.assert_array_equal(input_grad, convolution.EXPECTED_INPUT_GRAD)
