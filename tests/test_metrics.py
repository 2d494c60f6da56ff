"""verigrad.metrics: scikit-learn parity (ties included), streaming, monotonicity, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import top_k_accuracy_score

import verigrad.metrics as metrics
from tests.helpers import torch
from verigrad import Tensor
from verigrad.metrics import (
    TopKError,
    confusion_matrix,
    per_class_top_k_error,
    top_k_accuracy,
    top_k_error,
)


def reference_hits(scores, y, k):
    """scikit-learn's rule written out: stable argsort, reversed, first k columns."""
    ranked = np.argsort(scores, axis=1, kind="mergesort")[:, ::-1][:, :k]
    return (ranked == y[:, None]).any(axis=1)


def sklearn_score(y, scores, k, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return top_k_accuracy_score(y, scores, k=k, **kwargs)


def ours(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


@st.composite
def problems(draw, min_classes=3, max_classes=8, max_samples=20):
    """(scores, y, k, weights): ties forced by integer-valued scores and constant rows."""
    n = draw(st.integers(1, max_samples))
    c = draw(st.integers(min_classes, max_classes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["integer", "float", "constant", "mixed"]))
    if kind == "integer":
        scores = rng.integers(-1, 2, size=(n, c)).astype(np.float64)
    elif kind == "float":
        scores = rng.standard_normal((n, c)).astype(draw(st.sampled_from([np.float32, np.float64])))
    elif kind == "constant":
        scores = np.repeat(rng.integers(-2, 3, size=(n, 1)), c, axis=1).astype(np.float64)
    else:
        scores = rng.integers(0, 3, size=(n, c)).astype(np.float64)
        scores[rng.random(n) < 0.3] = 1.0
    y = rng.integers(0, c, size=n)
    k = draw(st.integers(1, c))
    weights = draw(st.sampled_from([None, "random", "integer"]))
    if weights == "random":
        weights = rng.random(n) + 0.01
    elif weights == "integer":
        weights = rng.integers(1, 4, size=n).astype(np.float64)
    return scores, y, k, weights


# ----------------------------------------------------------------------------- parity


@given(problems())
def test_matches_sklearn(problem):
    scores, y, k, w = problem
    c = scores.shape[1]
    for normalize in (True, False):
        expected = sklearn_score(
            y, scores, k, labels=np.arange(c), sample_weight=w, normalize=normalize
        )
        got = ours(top_k_accuracy, scores, y, k, sample_weight=w, normalize=normalize)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    error = ours(top_k_error, scores, y, k, sample_weight=w)
    assert error == pytest.approx(
        1 - sklearn_score(y, scores, k, labels=np.arange(c), sample_weight=w), abs=1e-12
    )


@given(problems(min_classes=1, max_classes=6))
def test_hits_match_stable_argsort_rule_including_two_classes(problem):
    # sklearn refuses 2-D scores with 2 columns; its rule, written out, covers C = 1 and 2 too
    scores, y, k, _ = problem
    expected = reference_hits(scores, y, k).mean()
    assert ours(top_k_accuracy, scores, y, k) == pytest.approx(expected, abs=1e-12)


@given(problems(), st.sampled_from(["strings", "gapped"]), st.integers(0, 3))
def test_class_labels_match_sklearn_labels(problem, kind, n_dropped):
    scores, y, k, w = problem
    c = scores.shape[1]
    classes = (
        np.array([f"class{i:02d}" for i in range(c)]) if kind == "strings" else np.arange(c) * 7 - 5
    )
    # y may lack some classes: drop the highest few from the true labels
    y = np.minimum(y, max(0, c - 1 - n_dropped))
    values = classes[y]
    expected = sklearn_score(values, scores, k, labels=classes, sample_weight=w)
    assert ours(
        top_k_accuracy, scores, values, k, class_labels=classes, sample_weight=w
    ) == pytest.approx(expected, abs=1e-12)


@given(
    st.integers(1, 20),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["probability", "decision"]),
    st.integers(1, 3),
    st.booleans(),
)
def test_binary_one_d_scores_match_sklearn(n, seed, kind, k, weighted):
    rng = np.random.default_rng(seed)
    if kind == "probability":  # include the threshold 0.5 itself and the ends 0, 1
        scores = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], size=n)
    else:
        scores = rng.integers(-2, 3, size=n).astype(np.float64)
    y = rng.integers(0, 2, size=n)
    w = rng.random(n) + 0.1 if weighted else None
    expected = sklearn_score(y, scores, k, labels=[0, 1], sample_weight=w)
    assert ours(top_k_accuracy, scores, y, k, sample_weight=w) == pytest.approx(expected, abs=1e-12)
    words = np.array(["neg", "pos"])
    assert ours(
        top_k_accuracy, scores, words[y], k, class_labels=words, sample_weight=w
    ) == pytest.approx(expected, abs=1e-12)


def test_named_edge_cases_match_sklearn():
    tied = np.array([[1.0, 1.0, 1.0, 0.0], [2.0, 2.0, 2.0, 2.0], [0.0, 3.0, 3.0, 1.0]])
    y = np.array([0, 1, 1])
    for k in range(1, 5):
        assert ours(top_k_accuracy, tied, y, k) == sklearn_score(y, tied, k, labels=np.arange(4))
    # higher index wins a tie: in row [1, 1, 1, 0] class 2 ranks first, class 0 third
    assert top_k_accuracy(tied[:1], [0], k=2) == 0.0
    assert top_k_accuracy(tied[:1], [0], k=3) == 1.0
    assert top_k_accuracy(tied[:1], [2], k=1) == 1.0
    # single sample; k = C - 1 and k = C
    one = np.array([[0.1, 0.5, 0.2, 0.2]])
    assert top_k_accuracy(one, [0], k=3) == sklearn_score([0], one, 3, labels=np.arange(4)) == 0.0
    # ranking 1, 3, 2, 0 (class 3 wins its tie with class 2)
    assert top_k_accuracy(one, [2], k=3) == sklearn_score([2], one, 3, labels=np.arange(4)) == 1.0
    assert top_k_accuracy(one, [2], k=2) == sklearn_score([2], one, 2, labels=np.arange(4)) == 0.0
    assert top_k_accuracy(one, [3], k=2) == 1.0
    with pytest.warns(UserWarning, match="trivial"):
        assert top_k_error(one, [0], k=4) == 0.0
    assert top_k_accuracy(np.array([[3, 1, 2]]), [1], k=2) == 0.0  # integer dtype scores
    assert top_k_accuracy(Tensor(tied), Tensor(y), k=2) == top_k_accuracy(tied, y, k=2)
    assert top_k_accuracy(tied, y.astype(np.float64), k=3) == top_k_accuracy(tied, y, k=3)


def test_matches_torch_topk_without_ties():
    t = torch()
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((3000, 50)).astype(np.float32)
    y = rng.integers(0, 50, size=3000)
    for k in (1, 5, 17):
        expected = (t.topk(t.from_numpy(scores), k).indices == t.from_numpy(y)[:, None]).any(1)
        assert top_k_accuracy(scores, y, k) == pytest.approx(
            expected.double().mean().item(), abs=1e-12
        )


@pytest.mark.parametrize("block_elements", [7, 64, 1 << 18])
def test_blocking_and_tie_correction_across_blocks(monkeypatch, block_elements):
    monkeypatch.setattr(metrics, "_BLOCK_ELEMENTS", block_elements)
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, size=(701, 9)).astype(np.float32)
    y = rng.integers(0, 9, size=701)
    for k in (1, 3, 8):
        assert top_k_accuracy(scores, y, k) == pytest.approx(
            reference_hits(scores, y, k).mean(), abs=1e-12
        )
    scores[650, 4] = np.nan
    with pytest.raises(ValueError, match=r"scores: contains NaN \(row 650\)"):
        top_k_accuracy(scores, y, 1)


@pytest.mark.parametrize("block_elements", [5, 40, 1 << 18])
def test_blocked_kernel_equals_plain_reference_in_both_pass_orders(monkeypatch, block_elements):
    # good rankings (true class on top, often tied) switch the kernel to its ">=" first pass,
    # random ones back to ">"; every count below kmax must be exact, the rest >= kmax
    monkeypatch.setattr(metrics, "_BLOCK_ELEMENTS", block_elements)
    rng = np.random.default_rng(11)
    n, c, kmax = 600, 8, 3
    scores = rng.integers(0, 3, size=(n, c)).astype(np.float64)
    y = rng.integers(0, c, size=n)
    good = np.repeat(rng.random(n // 50) < 0.5, 50)  # runs of 50 rows: good or random
    scores[good, y[good]] = np.where(rng.random(good.sum()) < 0.7, 3.0, 2.0)
    expected = metrics._beaten_counts_reference(scores, y)
    got = metrics._beaten_counts(scores, y, kmax)
    exact = expected < kmax
    np.testing.assert_array_equal(got[exact], expected[exact])
    assert np.all(got[~exact] >= kmax)
    assert 0.2 < np.mean(expected == 0) < 0.8 and np.any((expected > 0) & (expected < kmax))


# ----------------------------------------------------------------------------- streaming


@settings(max_examples=25)
@given(problems(max_samples=40), st.data())
def test_streaming_over_random_splits_equals_one_shot(problem, data):
    scores, y, _, w = problem
    n, c = scores.shape
    cuts = (
        sorted(data.draw(st.lists(st.integers(1, max(1, n - 1)), max_size=5, unique=True)))
        if n > 1
        else []
    )
    bounds = [0] + [b for b in cuts if 0 < b < n] + [n]
    ks = (1, 2, c - 1, c)
    stream = TopKError(ks=ks)
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        stream.update(scores[a:b], y[a:b], sample_weight=None if w is None else w[a:b])
    errors = ours(stream.compute)
    per_class = ours(stream.compute_per_class)
    assert stream.n_samples_ == n
    for k in dict.fromkeys(ks):
        assert errors[k] == pytest.approx(
            ours(top_k_error, scores, y, k, sample_weight=w), abs=1e-12
        )
        np.testing.assert_allclose(
            per_class[k],
            ours(per_class_top_k_error, scores, y, k, sample_weight=w),
            atol=1e-12,
            equal_nan=True,
        )
    stream.reset()
    with pytest.raises(ValueError, match="no batches"):
        stream.compute()


def test_streaming_binary_threshold_decided_by_all_batches():
    y = np.array([1, 0, 1, 0, 1])
    first, second = np.array([0.6, 0.4, 0.3]), np.array([0.2, 1.5])  # 1.5 switches threshold to 0
    stream = TopKError(ks=(1, 2))
    stream.update(first, y[:3])
    assert ours(stream.compute)[1] == pytest.approx(
        1 - sklearn_score(y[:3], first, 1, labels=[0, 1])
    )
    stream.update(second, y[3:])
    full = np.concatenate([first, second])
    result = ours(stream.compute)
    assert result[1] == pytest.approx(1 - sklearn_score(y, full, 1, labels=[0, 1]))
    assert result[1] == pytest.approx(0.4)  # threshold 0: only 0.2 (true 0) and 0.4 (true 0) miss
    assert result[2] == 0.0
    per_class = ours(stream.compute_per_class)
    np.testing.assert_allclose(per_class[1], per_class_top_k_error(full, y, 1))
    np.testing.assert_allclose(per_class[1], [1.0, 0.0])
    with pytest.raises(ValueError, match="scores: shape"):
        stream.update(np.zeros((2, 3)), [0, 1])


def test_streaming_large_batches_and_state_size():
    rng = np.random.default_rng(5)
    stream = TopKError()  # ks=(1, 5)
    all_scores, all_y = [], []
    for _ in range(4):
        scores = rng.standard_normal((2500, 20)).astype(np.float32)
        y = rng.integers(0, 20, size=2500)
        stream.update(scores, y)
        all_scores.append(scores)
        all_y.append(y)
    scores, y = np.concatenate(all_scores), np.concatenate(all_y)
    assert stream.compute() == pytest.approx(
        {1: top_k_error(scores, y, 1), 5: top_k_error(scores, y, 5)}
    )
    assert stream.hits_.shape == (2, 20) and stream.totals_.shape == (20,)


# ----------------------------------------------------------------------------- properties


@given(problems(min_classes=2))
def test_accuracy_never_decreases_with_k(problem):
    scores, y, _, w = problem
    c = scores.shape[1]
    accuracies = [ours(top_k_accuracy, scores, y, k, sample_weight=w) for k in range(1, c + 1)]
    assert np.all(np.diff(accuracies) >= -1e-15)
    assert accuracies[-1] == pytest.approx(1.0)
    per_class = np.array(
        [ours(per_class_top_k_error, scores, y, k, sample_weight=w) for k in range(1, c + 1)]
    )
    seen = np.bincount(y, minlength=c) > 0
    assert np.all(np.isnan(per_class[:, ~seen]))
    assert np.all(np.diff(per_class[:, seen], axis=0) <= 1e-15)
    assert np.all(per_class[-1, seen] == 0.0)


def test_per_class_error_values():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0], [0.0, 0.3, 0.7]])
    y = np.array([0, 1, 1, 0])
    np.testing.assert_array_equal(per_class_top_k_error(scores, y, 1), [0.5, 0.5, np.nan])
    np.testing.assert_array_equal(per_class_top_k_error(scores, y, 2), [0.5, 0.0, np.nan])
    weighted = per_class_top_k_error(scores, y, 1, sample_weight=[1.0, 1.0, 3.0, 1.0])
    np.testing.assert_allclose(weighted, [0.5, 0.75, np.nan])


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "k, exc",
    [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)],
)
def test_bad_k(k, exc):
    with pytest.raises(exc, match="k"):
        top_k_accuracy(np.zeros((2, 3)), [0, 1], k)
    with pytest.raises(exc, match="ks"):
        TopKError(ks=(1, k))


@pytest.mark.parametrize(
    "scores, labels, kwargs, exc, pattern",
    [
        (np.zeros((2, 3)), [0, 3], {}, ValueError, r"labels: must be in \[0, 3\), got 3"),
        (np.zeros((2, 3)), [-1, 0], {}, ValueError, r"labels: must be in \[0, 3\), got -1"),
        (np.zeros(2), [0, 2], {}, ValueError, r"labels: must be in \[0, 2\)"),
        (np.zeros((2, 3)), [0.5, 1], {}, TypeError, "labels: expected integer"),
        (np.zeros((2, 3)), ["a", "b"], {}, TypeError, "labels: expected integer"),
        (np.array([[0.0, np.nan, 1.0], [0, 0, 0]]), [0, 1], {}, ValueError, "scores: contains NaN"),
        (np.array([0.2, np.nan]), [0, 1], {}, ValueError, "scores: contains NaN"),
        (np.zeros((2, 3)), [0, 1, 2], {}, ValueError, "labels: has 3 entries but scores have 2"),
        (np.zeros((2, 3)), [[0, 1]], {}, ValueError, "labels: expected a 1-D"),
        (np.zeros((2, 3, 1)), [0, 1], {}, ValueError, "scores: expected shape"),
        (np.zeros((0, 3)), [], {}, ValueError, "scores: empty"),
        (np.zeros((2, 0)), [0, 1], {}, ValueError, "scores: needs at least one class"),
        (np.array([["a", "b"]]), [0], {}, TypeError, "scores: expected a real"),
        (
            np.zeros((2, 3)),
            [0, 1],
            {"sample_weight": [1.0]},
            ValueError,
            r"sample_weight: expected shape \(2,\)",
        ),
        (
            np.zeros((2, 3)),
            [0, 1],
            {"sample_weight": [1.0, -1.0]},
            ValueError,
            "sample_weight: must be >= 0",
        ),
        (
            np.zeros((2, 3)),
            [0, 1],
            {"sample_weight": [1.0, np.nan]},
            ValueError,
            "sample_weight: contains NaN",
        ),
        (
            np.zeros((2, 3)),
            [0, 1],
            {"sample_weight": [0.0, 0.0]},
            ValueError,
            "sample_weight: weights sum to zero",
        ),
        (
            np.zeros((2, 3)),
            [1, 5],
            {"class_labels": [1, 3, 5, 7]},
            ValueError,
            "class_labels: has 4 classes",
        ),
        (
            np.zeros((2, 3)),
            [1, 5],
            {"class_labels": [5, 3, 1]},
            ValueError,
            "class_labels: .* sorted",
        ),
        (
            np.zeros((2, 3)),
            [1, 5],
            {"class_labels": [1, 1, 5]},
            ValueError,
            "class_labels: .* unique",
        ),
        (np.zeros((2, 3)), [1, 4], {"class_labels": [1, 3, 5]}, ValueError, "labels: contains 4"),
    ],
)
def test_bad_inputs(scores, labels, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        top_k_accuracy(scores, labels, 1, **kwargs)
    with pytest.raises(exc, match=pattern):
        TopKError(ks=(1,), class_labels=kwargs.get("class_labels")).update(
            scores, labels, sample_weight=kwargs.get("sample_weight")
        ).compute()


def test_k_at_least_classes_warns_and_gives_zero_error():
    scores = np.random.default_rng(0).standard_normal((5, 3))
    for k in (3, 4):
        with pytest.warns(UserWarning, match=r"k \(\d\) >= number of classes \(3\).*trivial"):
            assert top_k_error(scores, [0, 1, 2, 0, 1], k) == 0.0
    with pytest.warns(UserWarning, match="trivial"):
        assert top_k_accuracy(np.array([0.3, 0.9]), [1, 0], k=2) == 1.0
    stream = TopKError(ks=(1, 3)).update(scores, [0, 1, 2, 0, 1])
    with pytest.warns(UserWarning, match="trivial"):
        assert stream.compute()[3] == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        top_k_error(scores, [0, 1, 2, 0, 1], 2)


# ----------------------------------------------------------------------------- confusion matrix


@pytest.mark.filterwarnings("ignore:A single label was found")
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_confusion_matrix_matches_sklearn(n, c, seed):
    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, c, size=n), rng.integers(0, c, size=n)
    expected = sk_confusion_matrix(y, p, labels=np.arange(c))
    got = confusion_matrix(y, p, n_classes=c)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype.kind == "i" and got.sum() == n
    inferred = confusion_matrix(y, p)
    size = max(y.max(), p.max()) + 1
    np.testing.assert_array_equal(inferred, expected[:size, :size])


def test_confusion_matrix_errors_and_empty():
    np.testing.assert_array_equal(confusion_matrix([], [], n_classes=2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="labels: empty"):
        confusion_matrix(np.array([], dtype=int), np.array([], dtype=int))
    with pytest.raises(ValueError, match="predictions: has 1 entries"):
        confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match=r"n_classes: 2 is too small, predictions contain class 2"):
        confusion_matrix([0, 1], [0, 2], n_classes=2)
    with pytest.raises(ValueError, match=r"n_classes: 2 is too small, labels .* must be >= 4"):
        confusion_matrix([3, 1], [0, 1], n_classes=2)
    for n_classes in (None, 3):
        with pytest.raises(ValueError, match=r"labels: class indices must be >= 0, got -1"):
            confusion_matrix([-1, 1], [0, 1], n_classes=n_classes)
        with pytest.raises(ValueError, match=r"predictions: class indices must be >= 0, got -2"):
            confusion_matrix([0, 1], [-2, 1], n_classes=n_classes)
    with pytest.raises(TypeError, match="labels: expected integer class indices, got non-int"):
        confusion_matrix([0.5, 1], [0, 1])
    with pytest.raises(TypeError, match="predictions: expected integer class indices"):
        confusion_matrix([0, 1], [0, np.nan])
    with pytest.raises(TypeError, match="labels: expected integer class indices, got dtype"):
        confusion_matrix(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="n_classes"):
        confusion_matrix([0, 1], [0, 1], n_classes=0)


def test_confusion_matrix_accepts_whole_number_floats_as_top_k_does():
    labels, predictions = np.array([0.0, 1.0, 2.0, 2.0]), np.array([0, 2, 2, 1], dtype=np.float32)
    expected = confusion_matrix(labels.astype(int), predictions.astype(int))
    np.testing.assert_array_equal(confusion_matrix(labels, predictions), expected)
    np.testing.assert_array_equal(
        confusion_matrix(labels, predictions, n_classes=4)[:3, :3], expected
    )
    assert top_k_accuracy(np.eye(3)[[0, 2, 2, 1]], labels) == np.trace(expected) / 4
    for bad in ([0.0, 1.5, 2.0, 2.0], [0.0, np.inf, 1.0, 1.0]):
        with pytest.raises(TypeError, match="labels: expected integer class indices"):
            confusion_matrix(bad, predictions)
        with pytest.raises(TypeError, match="labels: expected integer class indices"):
            top_k_accuracy(np.eye(3)[[0, 2, 2, 1]], bad)


def test_benchmark_quick_smoke():
    from verigrad.bench import topk

    rows = topk.run(quick=True)
    assert [r.reference for r in rows] == [
        "torch.topk",
        "sklearn top_k_accuracy_score",
        "torch.topk",
        "torch.topk per batch",
    ]
    assert rows[0].extra["acc"] == pytest.approx(rows[0].extra["torch_acc"], abs=1e-6)
    assert rows[1].extra["acc"] == rows[1].extra["sklearn_acc"]
    assert rows[3].extra["top5_err"] == pytest.approx(rows[3].extra["torch_top5_err"], abs=1e-12)
    assert all(r.ours_s > 0 and r.reference_s > 0 for r in rows)
