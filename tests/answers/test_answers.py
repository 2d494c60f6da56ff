"""`verigrad answers`: every section's answer and its independent check."""

import json

import numpy as np
import pytest

from verigrad import Tensor
from verigrad.answers import SECTIONS, compute
from verigrad.answers.record import Answer, format_answer, jsonable
from verigrad.cli import main


@pytest.fixture(scope="module")
def by_part():
    """All answers, computed once for the module (section 1(b) trains two small models)."""
    answers = compute()
    for a in answers:
        a.values = jsonable(a.values)  # as --json shows them
    return {(a.section, a.part): a for a in answers}


def test_every_section_answered_and_passed(by_part):
    sections = {s for s, _ in by_part}
    assert sections == set(SECTIONS)
    failed = [(k, a.check) for k, a in by_part.items() if not a.passed]
    assert failed == []
    for answer in by_part.values():
        assert answer.question and answer.answer and answer.check


# ----------------------------------------------------------------------------- section 1
def test_1a_collapsed_linear(by_part):
    from verigrad.answers.general import collapse_linear
    from verigrad.nn import Linear

    a = by_part[(1, "a")]
    assert a.values["max_abs_diff"] < 1e-12
    rng = np.random.default_rng(5)
    layers = [Linear(3, 2, rng=rng, dtype=np.float64), Linear(2, 4, rng=rng, dtype=np.float64)]
    W, b = collapse_linear(layers)
    x = rng.normal(size=3)
    expected = (
        layers[1].weight.data @ (layers[0].weight.data @ x + layers[0].bias.data)
        + layers[1].bias.data
    )
    np.testing.assert_allclose(W @ x + b, expected, rtol=1e-13)


def test_1b_sparse_coding_vs_autoencoder(by_part):
    v = by_part[(1, "b")].values
    assert v["sparse_coding"]["kkt"] < 1e-3
    assert 0.3 < v["sparse_coding"]["zero_fraction"] < 1.0
    assert v["sparse_coding"]["test_mse"] < v["autoencoder"]["test_mse"] < v["baseline_mse"]


def test_ista_codes_are_lasso_solutions():
    from verigrad.answers.dictionary import ista_codes

    rng = np.random.default_rng(0)
    D = rng.normal(size=(6, 4))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.normal(size=(5, 4))
    lam = 0.3
    Z = ista_codes(X, D, lam, max_iter=20000, tol=1e-14)
    g = (X - Z @ D) @ D.T
    active = Z != 0
    np.testing.assert_allclose(g[active], lam * np.sign(Z[active]), atol=1e-7)
    assert np.all(np.abs(g[~active]) <= lam + 1e-7)


# ----------------------------------------------------------------------------- section 2
def test_2_1_correct_gradient_and_counterexample(by_part):
    a = by_part[(2, "2.1")]
    v = a.values
    assert v["max_abs_diff"] < 1e-12
    np.testing.assert_allclose(v["closed_form"], v["autograd"], atol=1e-12)
    i, j = v["counterexample_index"]
    assert abs(v["sheet"][i][j] - v["autograd"][i][j]) > 0.1
    true_class = int(np.argmax(v["y"]))
    assert true_class not in v["sheet_wrong_rows"] and v["sheet_wrong_rows"]
    np.testing.assert_allclose(v["sheet"][true_class], v["autograd"][true_class], atol=1e-12)
    assert f"W[{i},{j}]" in a.check


def test_2_1_formulas_on_fresh_points():
    from verigrad import functional as F
    from verigrad.answers.softmax import sheet_gradient, softmax_regression_gradient

    rng = np.random.default_rng(11)
    for _ in range(3):
        W, x, b = rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=4)
        y = np.eye(4)[rng.integers(4)]
        Wt = Tensor(W, requires_grad=True)
        F.cross_entropy_from_probs(F.softmax(Wt @ x + b), y, reduction="sum").backward()
        np.testing.assert_allclose(softmax_regression_gradient(W, x, b, y), Wt.grad, atol=1e-12)
        assert not np.allclose(sheet_gradient(W, x, b, y), Wt.grad)


def test_2_2_infinite_from_probabilities_finite_from_logits(by_part):
    v = by_part[(2, "2.2")].values
    assert v["loss_from_probs"] == "inf"
    assert v["loss_from_logits"] == v["logit_gap"] == 800.0
    assert v["grad_logits"] == [-1.0, 0.0, 1.0]


# ----------------------------------------------------------------------------- section 3
def test_3_chain_rule_numbers(by_part):
    a = by_part[(3, "3")]
    v = a.values
    assert round(v["f"], 4) == 0.6611
    assert round(v["df_dx"], 4) == 0.0646
    assert round(v["df_dy"], 4) == -0.1812
    np.testing.assert_allclose(v["hand"], [v["f"], v["df_dx"], v["df_dy"]], atol=1e-14)
    np.testing.assert_allclose(v["finite_differences"], [v["df_dx"], v["df_dy"]], atol=1e-8)
    graph = "\n".join(a.work)
    for op in ("sigmoid(y)", "mul(x, x)", "div(", "sub("):
        assert op in graph


def test_3_hand_chain_rule_elsewhere():
    from verigrad.answers.chain_rule import chain_rule_by_hand, f

    for x0, y0 in ((0.3, -1.2), (2.0, 0.7)):
        x, y = Tensor(x0, requires_grad=True), Tensor(y0, requires_grad=True)
        out = f(x, y)
        out.backward()
        value, dx, dy, _ = chain_rule_by_hand(x0, y0)
        np.testing.assert_allclose([value, dx, dy], [out.item(), x.grad, y.grad], rtol=1e-13)


# ----------------------------------------------------------------------------- section 4
def test_4_pooling(by_part):
    parts = [a for (s, _), a in by_part.items() if s == 4]
    assert len(parts) >= 2
    text = " ".join(a.answer + " " + " ".join(a.work) for a in parts)
    for name in ("MaxPool2d", "AvgPool2d", "LPPool2d", "stochastic", "mixed"):
        assert name.lower() in text.lower()
    a = by_part[(4, "a")].values
    assert a["max"] == [[5, 4], [2, 6]]
    assert a["average"] == [[2.75, 1.25], [1.25, 3.0]]
    np.testing.assert_allclose(a["l2"], [[39**0.5, 17**0.5], [3.0, 50**0.5]], rtol=1e-14)
    b = by_part[(4, "b")].values
    np.testing.assert_allclose(
        b["stochastic_eval"], [[39 / 11, 17 / 5], [9 / 5, 50 / 12]], rtol=1e-14
    )
    np.testing.assert_allclose(b["mixed"], [[3.425, 2.075], [1.475, 3.9]], rtol=1e-14)
    assert b["d_alpha"] == pytest.approx(8.75)


# ----------------------------------------------------------------------------- section 5
def test_5_convolution_numbers_exactly(by_part):
    assert by_part[(5, "a")].values["shape"] == [3, 3]
    assert by_part[(5, "b")].values["output"] == [[109, 92, 72], [108, 85, 74], [110, 74, 79]]
    assert by_part[(5, "c")].values["input_grad"] == [
        [4, 7, 10, 6, 3],
        [9, 17, 25, 16, 8],
        [11, 23, 34, 23, 11],
        [7, 16, 24, 17, 8],
        [2, 6, 9, 7, 3],
    ]


def test_5_loop_references_match_library_on_random_input():
    from verigrad import functional as F
    from verigrad.answers.convolution import cross_correlate_loops, input_grad_loops

    rng = np.random.default_rng(2)
    x, w, g = rng.normal(size=(6, 7)), rng.normal(size=(3, 2)), rng.normal(size=(4, 6))
    xt = Tensor(x[None, None], requires_grad=True)
    y = F.conv2d(xt, Tensor(w[None, None]))
    np.testing.assert_allclose(y.data[0, 0], cross_correlate_loops(x, w), atol=1e-12)
    y.backward(g[None, None])
    np.testing.assert_allclose(xt.grad[0, 0], input_grad_loops(g, w), atol=1e-12)


# ----------------------------------------------------------------------------- section 6
def test_6_autoencoder_gradients_and_steps(by_part):
    a, b = by_part[(6, "a")], by_part[(6, "b")]
    for loss in ("squared", "cross-entropy"):
        assert a.values[loss]["max_abs_diff"] < 1e-12
    assert b.values["max_abs_diff"] < 1e-12
    losses = b.values["losses"]
    assert losses[2] < losses[1] < losses[0]


def test_6_closed_form_on_fresh_parameters():
    from verigrad.answers.optimization import autoencoder_gradients, autoencoder_loss

    rng = np.random.default_rng(9)
    params = {
        "W": rng.normal(size=(3, 5)),
        "b": rng.normal(size=3),
        "W_star": rng.normal(size=(5, 3)),
        "b_prime": rng.normal(size=5),
    }
    x = rng.uniform(size=5)
    for loss in ("squared", "cross-entropy"):
        t = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
        autoencoder_loss(t["W"], t["b"], t["W_star"], t["b_prime"], Tensor(x), loss).backward()
        closed = autoencoder_gradients(**params, x=x, loss=loss)
        for k in params:
            np.testing.assert_allclose(closed[k], t[k].grad, atol=1e-12)


# ----------------------------------------------------------------------------- section 7
def test_7_top_k(by_part):
    from verigrad.answers.topk import EXAMPLE_LABELS, EXAMPLE_SCORES, top_k_error_by_sorting

    v = by_part[(7, "7")].values
    assert v["top1_error"] == pytest.approx(5 / 6)
    assert v["top5_error"] == pytest.approx(3 / 6)
    assert v["ranks"] == [1, 2, 2, 8, 8, 6]
    assert top_k_error_by_sorting(EXAMPLE_SCORES, EXAMPLE_LABELS, 8) == 0.0


# ----------------------------------------------------------------------------- section 8
def test_8_tsne(by_part):
    a, b = by_part[(8, "a")], by_part[(8, "b")]
    assert a.values["max_abs_diff_fd"] < 1e-7
    assert a.values["max_abs_diff_formula"] < 1e-12
    assert b.values["shell_fraction"]["10"] == pytest.approx(1 - 0.8**10, abs=0.02)
    assert b.values["distance_ratio_2d"] > 3 * b.values["distance_ratio_10d"]
    y = np.array(b.values["t_map"])
    d = np.array(b.values["high_d_distances"])
    np.testing.assert_allclose(1 / (1 + y**2), np.exp(-(d**2) / 2), rtol=1e-12)


# ----------------------------------------------------------------------------- section 9
def test_9_proximal(by_part):
    a = by_part[(9, "A")].values
    np.testing.assert_allclose(a["prox"], a["brute_force"], atol=1e-4)
    np.testing.assert_allclose(a["prox"], [1.7, 0.0, 0.3, -1.1, 0.0, -0.05], atol=1e-12)
    b = by_part[(9, "B")].values
    np.testing.assert_allclose(b["step"], b["ista"], atol=1e-12)
    assert b["kkt"] < 1e-8
    assert max(by_part[(9, "C")].values["gaps"].values()) < 1e-12
    assert by_part[(9, "D")].values["worst_gap"] < 1e-10


def test_subgradient_gap_detects_non_members():
    from verigrad.answers.proximal import subgradient_gap

    u = np.array([1.0, 0.0, -2.0])
    assert subgradient_gap("l1", np.array([0.5, 0.2, -0.5]), u, 0.5) == 0.0
    assert subgradient_gap("l1", np.array([0.5, 0.7, -0.5]), u, 0.5) == pytest.approx(0.2)
    assert subgradient_gap("l1", np.array([-0.5, 0.0, -0.5]), u, 0.5) == pytest.approx(1.0)
    assert subgradient_gap("nonneg", np.array([0.0, -3.0]), np.array([2.0, 0.0]), 0) == 0.0
    assert subgradient_gap("nonneg", np.array([0.0, 1.0]), np.array([2.0, 0.0]), 0) == 1.0


# ----------------------------------------------------------------------------- CLI
def test_cli_json_parses_and_has_the_fields(capsys):
    assert main(["answers", "--json", "--section", "2", "--section", "5"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["section"] for r in records} == {2, 5}
    for r in records:
        assert {"section", "question", "answer", "check", "passed"} <= set(r)
        assert r["passed"] is True


def test_cli_text_and_section_selection(capsys):
    assert main(["answers", "--section", "3"]) == 0
    out = capsys.readouterr().out
    assert "=== 3. Chain rule ===" in out and "[PASS]" in out and "0.0646" in out
    assert "=== 2." not in out


def test_cli_bad_section_exits_2(capsys):
    assert main(["answers", "--section", "10"]) == 2
    assert "--section" in capsys.readouterr().err
    assert main(["answers", "--section", "x"]) == 2


def test_cli_exit_1_when_a_check_fails(monkeypatch, capsys):
    import verigrad.answers.topk as topk

    failing = Answer(7, "7", "q", "a", "deliberately failed", False)
    monkeypatch.setattr(topk, "answers", lambda: [failing])
    assert main(["answers", "--section", "7"]) == 1
    assert "[FAIL]" in capsys.readouterr().out
    assert main(["answers", "--section", "7", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["passed"] is False


def test_a_section_that_raises_is_a_failed_record(monkeypatch):
    import verigrad.answers.topk as topk

    def boom():
        raise RuntimeError("broken")

    monkeypatch.setattr(topk, "answers", boom)
    (record,) = compute([7])
    assert not record.passed and "broken" in record.check


def test_record_helpers():
    assert jsonable({"a": np.array([1.0, np.inf]), "b": np.float64(2), "c": np.bool_(True)}) == {
        "a": [1.0, "inf"],
        "b": 2.0,
        "c": True,
    }
    text = format_answer(Answer(5, "b", "Q?", "A.", "C.", True, ["line 1"]))
    assert text.splitlines()[0] == "[PASS] 5(b): Q?"
    assert text.splitlines()[1:] == ["    line 1", "  answer: A.", "  check:  C."]


def test_subprocess_json():
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "verigrad", "answers", "--section", "5", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    records = json.loads(run.stdout)
    assert [r["part"] for r in records] == ["a", "b", "c"]
    assert records[1]["values"]["output"] == [[109, 92, 72], [108, 85, 74], [110, 74, 79]]
