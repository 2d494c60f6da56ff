"""Objectives: exact gradient vs finite differences and scikit-learn, FFT vs exact and openTSNE."""

import os
import signal

import numpy as np
import pytest
from scipy.spatial.distance import squareform

from tests.helpers import assert_close, to_torch, torch
from verigrad.manifold import gradients as gradients_module
from verigrad.manifold import joint_probabilities, kl_divergence, kl_gradient_exact, kl_gradient_fft
from verigrad.manifold.gradients import (
    attractive_forces,
    repulsive_forces_direct,
    repulsive_forces_fft,
)

FFT_PARAMS = dict(n_interpolation_points=3, min_num_intervals=50, ints_in_interval=1)


@pytest.fixture(scope="module")
def sparse_P():
    X = np.random.default_rng(0).normal(size=(300, 10))
    return joint_probabilities(X, 30.0, method="fft")


def _finite_difference(P, Y, dof, h=1e-6):
    grad = np.zeros_like(Y)
    for index in np.ndindex(*Y.shape):
        plus, minus = Y.copy(), Y.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (kl_divergence(P, plus, dof=dof) - kl_divergence(P, minus, dof=dof)) / (2 * h)
    return grad


@pytest.mark.parametrize("n_components, dof", [(2, 1.0), (1, 1.0), (3, 2.0)])
def test_exact_gradient_equals_finite_differences(n_components, dof):
    rng = np.random.default_rng(1)
    P = joint_probabilities(rng.normal(size=(25, 4)), 5.0)
    Y = rng.normal(size=(25, n_components))
    kl, grad = kl_gradient_exact(P, Y, dof=dof)
    assert kl == pytest.approx(kl_divergence(P, Y, dof=dof), rel=1e-14)
    np.testing.assert_allclose(grad, _finite_difference(P, Y, dof), rtol=1e-6, atol=1e-8)


def test_exact_matches_sklearn_objective():
    from sklearn.manifold._t_sne import _kl_divergence

    rng = np.random.default_rng(2)
    P = joint_probabilities(rng.normal(size=(80, 6)), 15.0)
    Y = rng.normal(size=(80, 2))
    kl, grad = kl_gradient_exact(P, Y)
    expected_kl, expected_grad = _kl_divergence(Y.ravel(), squareform(P, checks=False), 1, 80, 2)
    assert kl == pytest.approx(expected_kl, rel=1e-12)
    np.testing.assert_allclose(grad.ravel(), expected_grad, rtol=1e-10, atol=1e-14)


def test_exact_chunks_and_exaggeration(monkeypatch):
    from verigrad.manifold import gradients

    rng = np.random.default_rng(3)
    P = joint_probabilities(rng.normal(size=(60, 5)), 10.0)
    Y = rng.normal(size=(60, 2))
    kl, grad = kl_gradient_exact(P, Y, exaggeration=4.0)
    monkeypatch.setattr(gradients, "_BLOCK_ELEMENTS", 60 * 7)  # nine row blocks
    kl_chunked, grad_chunked = kl_gradient_exact(P, Y, exaggeration=4.0)
    assert kl_chunked == pytest.approx(kl, rel=1e-13)
    np.testing.assert_allclose(grad_chunked, grad, rtol=1e-12, atol=1e-15)
    # exaggeration scales the attractive part only: grad(4) - grad(1) = 3 * 4 * attraction
    _, plain = kl_gradient_exact(P, Y)
    attraction = np.einsum(
        "ij,ijk->ik", P / (1 + ((Y[:, None] - Y[None]) ** 2).sum(-1)), Y[:, None] - Y[None]
    )
    np.testing.assert_allclose(grad - plain, 12.0 * attraction, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("n_components, dof", [(2, 2.0), (3, 0.5), (2, 3.0)])
def test_exact_with_dof_matches_sklearn_objective_and_torch(n_components, dof):
    """dof != 1: the KL equals scikit-learn's, the gradient torch autograd's and central
    differences of scikit-learn's objective. (scikit-learn's own returned gradient is not the
    gradient of its objective here: it weights pairs by (1 + d^2/dof)^(-(dof+1)/2) where the
    derivative has (1 + d^2/dof)^-1 -- 57-78% off on these cases -- so it is not compared.)"""
    from sklearn.manifold._t_sne import _kl_divergence

    tch = torch()
    rng = np.random.default_rng(11)
    n = 30
    P = joint_probabilities(rng.normal(size=(n, 5)), 8.0)
    Y = rng.normal(size=(n, n_components))
    kl, grad = kl_gradient_exact(P, Y, dof=dof)
    condensed = squareform(P, checks=False)

    def sklearn_kl(params):
        return _kl_divergence(params, condensed, dof, n, n_components)[0]

    assert kl == pytest.approx(sklearn_kl(Y.ravel()), rel=1e-12)
    # torch autograd of the same objective
    yt, pt = to_torch(Y, requires_grad=True), to_torch(P)
    w = (1 + ((yt[:, None] - yt[None]) ** 2).sum(-1) / dof) ** (-(dof + 1) / 2)
    w = w * (1 - tch.eye(n, dtype=tch.float64))
    mask = pt > 0
    ref = (pt[mask] * tch.log(pt[mask] / (w / w.sum())[mask])).sum()
    assert kl == pytest.approx(ref.item(), rel=1e-12)
    ref.backward()
    assert_close(grad, yt.grad)
    h, fd = 1e-6, np.zeros(Y.size)
    for i in range(Y.size):
        step = np.zeros(Y.size)
        step[i] = h
        fd[i] = (sklearn_kl(Y.ravel() + step) - sklearn_kl(Y.ravel() - step)) / (2 * h)
    np.testing.assert_allclose(grad.ravel(), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n_components", [1, 2])
@pytest.mark.parametrize("exaggeration", [12.0, 4.0, 0.5])
def test_fft_exaggeration_scales_the_attractive_term_only(sparse_P, n_components, exaggeration):
    from openTSNE.tsne import kl_divergence_fft

    Y = np.random.default_rng(9).normal(size=(300, n_components)) * 5
    kl_1, grad_1 = kl_gradient_fft(sparse_P, Y, direct=False)
    kl_e, grad_e = kl_gradient_fft(sparse_P, Y, exaggeration=exaggeration, direct=False)
    assert kl_e == kl_1  # the KL is of the unexaggerated P
    attraction = attractive_forces(sparse_P, Y)[0]
    scale = np.abs(grad_e).max()
    np.testing.assert_allclose(
        grad_e - grad_1, 4 * (exaggeration - 1) * attraction, rtol=0, atol=1e-12 * scale
    )
    # openTSNE exaggerates by scaling P: its gradient on e * P (x4)
    _, expected = kl_divergence_fft(
        np.ascontiguousarray(Y), exaggeration * sparse_P, 1, FFT_PARAMS, should_eval_error=True
    )
    np.testing.assert_allclose(grad_e, 4 * expected.reshape(Y.shape), rtol=1e-9, atol=1e-9 * scale)


@pytest.mark.parametrize("n_components, tolerance", [(1, 0.01), (2, 0.02)])
def test_fft_gradient_approximates_exact(sparse_P, n_components, tolerance):
    """Stated tolerance: relative L2 error of the gradient <= 1% (1-D) / 2% (2-D) and the KL
    within 0.1% on 300 points spread like an embedding early in the run."""
    Y = np.random.default_rng(4).normal(size=(300, n_components)) * 5
    kl, grad = kl_gradient_exact(sparse_P, Y)
    kl_fft, grad_fft = kl_gradient_fft(sparse_P, Y, direct=False)
    assert np.linalg.norm(grad_fft - grad) / np.linalg.norm(grad) < tolerance
    assert kl_fft == pytest.approx(kl, rel=1e-3)


def test_small_2d_embeddings_sum_all_pairs_accurately_and_fast(sparse_P):
    """Where the pairs cost less than the grid, the fft method sums them (single-precision
    passes): the gradient and KL equal the exact method's over the same sparse P to 1e-4 and
    1e-6 relative (the grid's error is about 1e-3). Before, an 80-point map spread by a large
    learning rate paid for a grid of thousands of nodes per axis."""
    Y = np.random.default_rng(8).normal(size=(300, 2)) * 20
    Y -= Y.mean(axis=0)
    kl, grad = kl_gradient_fft(sparse_P, Y)
    kl_exact, grad_exact = kl_gradient_exact(sparse_P, Y)
    assert np.abs(grad - grad_exact).max() < 1e-4 * np.abs(grad_exact).max()
    assert kl == pytest.approx(kl_exact, rel=1e-6)
    forces, z = repulsive_forces_direct(Y)
    brute = 1.0 / (1.0 + ((Y[:, None] - Y[None]) ** 2).sum(-1))
    np.fill_diagonal(brute, 0.0)
    assert z == pytest.approx(brute.sum(), rel=1e-12)
    brute_forces = ((brute**2)[:, :, None] * (Y[:, None] - Y[None])).sum(1)
    np.testing.assert_allclose(forces, brute_forces, rtol=1e-10, atol=1e-12)
    # a wide map of few points: no grid of 1000 boxes per axis (seconds per call before)
    wide = np.random.default_rng(1).normal(size=(80, 2)) * 500
    assert repulsive_forces_fft(wide)[1] == pytest.approx(repulsive_forces_direct(wide)[1])


@pytest.mark.parametrize("n_components", [1, 2])
@pytest.mark.parametrize("scale", [0.01, 5.0, 40.0])
def test_fft_matches_openTSNE(sparse_P, n_components, scale):
    """Same grid, nodes and kernel as openTSNE: gradient (x4) and KL to round-off."""
    from openTSNE.tsne import kl_divergence_fft

    Y = np.random.default_rng(5).normal(size=(300, n_components)) * scale
    kl, grad = kl_gradient_fft(sparse_P, Y, exaggeration=1.0, direct=False)
    expected_kl, expected = kl_divergence_fft(
        np.ascontiguousarray(Y), sparse_P, 1, FFT_PARAMS, should_eval_error=True
    )
    np.testing.assert_allclose(
        grad, 4 * expected.reshape(Y.shape), rtol=1e-9, atol=1e-9 * np.abs(grad).max()
    )
    assert kl == pytest.approx(expected_kl, rel=1e-10)


@pytest.mark.parametrize("n_components", [1, 2])
def test_fft_threads_do_not_change_the_result(sparse_P, n_components, monkeypatch):
    """workers=2 runs the attractive term in a thread beside the FFTs: same numbers, and the
    caller's np.errstate reaches the thread."""
    Y = np.random.default_rng(6).normal(size=(300, n_components)) * 3
    kl, grad = kl_gradient_fft(sparse_P, Y, exaggeration=4.0, workers=1, direct=False)
    kl_2, grad_2 = kl_gradient_fft(sparse_P, Y, exaggeration=4.0, workers=2, direct=False)
    assert kl_2 == kl
    np.testing.assert_array_equal(grad_2, grad)
    # only the threaded attractive term overflows here (the repulsive one is stubbed out)
    monkeypatch.setattr(gradients_module, "repulsive_forces_fft", lambda Y, *a, **k: (Y, 1.0))
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        kl_gradient_fft(sparse_P, Y * 1e160, workers=2)
    with np.errstate(over="ignore"):
        kl_gradient_fft(sparse_P, Y * 1e160, workers=2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fft_gradient_threads_work_in_a_forked_child(sparse_P):
    """The attractive term's thread does not survive fork(): the child must not hang."""
    Y = np.random.default_rng(7).normal(size=(300, 2))
    _, grad = kl_gradient_fft(sparse_P, Y, workers=2)  # the parent's pool now exists
    pid = os.fork()
    if pid == 0:  # child: a hang is killed by the alarm (exit by signal), success exits 0
        signal.alarm(30)
        _, again = kl_gradient_fft(sparse_P, Y, workers=2)
        os._exit(0 if np.array_equal(again, grad) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_fft_workers_follow_scipy_convention(sparse_P):
    Y = np.random.default_rng(8).normal(size=(300, 2))
    _, grad = kl_gradient_fft(sparse_P, Y, workers=1)
    np.testing.assert_array_equal(kl_gradient_fft(sparse_P, Y, workers=-1)[1], grad)
    with pytest.raises(ValueError, match="workers"):
        kl_gradient_fft(sparse_P, Y, workers=0)


def test_repulsion_and_normaliser_against_direct_sums():
    Y = np.random.default_rng(6).normal(size=(400, 2)) * 3
    forces, z = repulsive_forces_fft(Y)
    diff = Y[:, None, :] - Y[None, :, :]
    w = 1.0 / (1.0 + (diff**2).sum(-1))
    np.fill_diagonal(w, 0.0)
    assert z == pytest.approx(w.sum(), rel=1e-3)
    expected = np.einsum("ij,ijk->ik", w**2, diff)
    assert np.linalg.norm(forces - expected) / np.linalg.norm(expected) < 1e-2


def test_attractive_forces_against_dense(sparse_P):
    Y = np.random.default_rng(7).normal(size=(300, 2))
    forces, sum_p, kl_part = attractive_forces(sparse_P, Y, compute_kl=True)
    dense = sparse_P.toarray()
    diff = Y[:, None, :] - Y[None, :, :]
    w = 1.0 / (1.0 + (diff**2).sum(-1))
    np.testing.assert_allclose(
        forces, np.einsum("ij,ijk->ik", dense * w, diff), rtol=1e-10, atol=1e-14
    )
    assert sum_p == pytest.approx(1.0, rel=1e-12)
    mask = dense > 0
    expected = np.sum(dense[mask] * np.log(dense[mask] / (w[mask] + 2.2e-16) + 2.2e-16))
    assert kl_part == pytest.approx(expected, rel=1e-10)


def test_fft_rejects_three_dimensions(sparse_P):
    with pytest.raises(ValueError, match="1-D or 2-D"):
        kl_gradient_fft(sparse_P, np.zeros((300, 3)))


def test_mismatched_shapes_raise_value_errors_naming_the_argument(sparse_P):
    X = np.random.default_rng(1).normal(size=(60, 5))
    P = joint_probabilities(X, 10.0, method="exact")
    Y = np.random.default_rng(2).normal(size=(60, 2))
    with pytest.raises(ValueError, match=r"Y: expected 60 rows to match P of shape \(60, 60\)"):
        kl_divergence(P, Y[:10])
    with pytest.raises(ValueError, match="Y: expected 60 rows"):
        kl_divergence(P, np.vstack([Y, Y]))
    with pytest.raises(ValueError, match="Y: expected a 2-D embedding"):
        kl_divergence(P, Y[:, 0])
    with pytest.raises(ValueError, match=r"P: expected a square \(N, N\) matrix"):
        kl_divergence(P[:, :30], Y)
    with pytest.raises(ValueError, match="dof: must be > 0"):
        kl_divergence(P, Y, dof=0)
    for bad in (np.nan, np.inf):  # a silent NaN, or a misleading 'diverged', before
        Y_bad = Y.copy()
        Y_bad[3, 1] = bad
        Y_long = np.vstack([Y] * 5)
        Y_long[7, 0] = bad
        for function, P_given, Y_given in (
            (kl_divergence, P, Y_bad),
            (kl_gradient_exact, P, Y_bad),
            (kl_gradient_fft, sparse_P, Y_long),
        ):
            with pytest.raises(ValueError, match=r"^Y: contains 1 NaN or infinite value"):
                function(P_given, Y_given)
    with pytest.raises(ValueError, match="Y: expected 60 rows"):
        kl_gradient_exact(P, Y[:10])
    with pytest.raises(ValueError, match="Y: expected 300 rows"):
        kl_gradient_fft(sparse_P, Y)
