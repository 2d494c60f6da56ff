"""The all-pairs t-SNE repulsion (symmetric blocks, threads) and the cost model choosing it."""

import numpy as np
import pytest

from verigrad.manifold import gradients
from verigrad.manifold.pairwise import pairs_are_cheaper, repulsive_forces_pairs


def _brute(Y):
    diff = Y[:, None, :] - Y[None, :, :]
    w = 1.0 / (1.0 + (diff**2).sum(-1))
    np.fill_diagonal(w, 0.0)
    return np.einsum("ij,ijk->ik", w**2, diff), w.sum()


@pytest.mark.parametrize(
    "n, dim, block", [(1, 2, 128), (2, 2, 1), (37, 2, 5), (300, 2, 64), (41, 1, 8), (29, 3, 7)]
)
def test_pairs_equal_brute_force_sums(n, dim, block):
    """Blocks that overhang, a single row per block, one point, 1-D and 3-D embeddings: in
    float64 the sums are exact to round-off."""
    Y = np.random.default_rng(n).normal(size=(n, dim)) * 6
    forces, z = repulsive_forces_pairs(Y, block=block, dtype=np.float64)
    expected_forces, expected_z = _brute(Y)
    np.testing.assert_allclose(forces, expected_forces, rtol=1e-11, atol=1e-13)
    assert z == pytest.approx(expected_z, rel=1e-12, abs=0.0)


@pytest.mark.parametrize("scale", [0.1, 15.0, 80.0])
@pytest.mark.parametrize("block", [7, 128])
def test_float32_default_is_accurate_to_single_precision(scale, block):
    """The default (float32 passes and block products, float64 sums of the blocks): within
    1e-4 of the largest force (5e-5 seen on a map 250 wide) and 1e-6 in Z, far within the FFT
    grid's 1e-3."""
    Y = np.random.default_rng(3).normal(size=(500, 2)) * scale
    Y -= Y.mean(axis=0)  # as t-SNE keeps its map
    forces, z = repulsive_forces_pairs(Y, block=block)
    expected_forces, expected_z = _brute(Y)
    assert np.abs(forces - expected_forces).max() < 1e-4 * np.abs(expected_forces).max()
    assert z == pytest.approx(expected_z, rel=1e-6)


@pytest.mark.parametrize("workers", [2, 3, 7])
def test_threads_change_nothing_bit_for_bit(workers):
    """The blocks' contributions are summed in block order whoever computed them."""
    Y = np.random.default_rng(5).normal(size=(700, 2)) * 9
    for dtype in (np.float32, np.float64):
        one = repulsive_forces_pairs(Y, block=40, workers=1, dtype=dtype)
        many = repulsive_forces_pairs(Y, block=40, workers=workers, dtype=dtype)
        np.testing.assert_array_equal(many[0], one[0])
        assert many[1] == one[1]
    one = repulsive_forces_pairs(Y, block=40, workers=1)
    many = repulsive_forces_pairs(Y, block=40, workers=workers)
    np.testing.assert_array_equal(many[0], one[0])
    assert many[1] == one[1]


def test_buffers_are_reused_and_results_do_not_alias_them():
    """Two calls in a row: the first call's result is unchanged by the second."""
    rng = np.random.default_rng(9)
    first = repulsive_forces_pairs(rng.normal(size=(200, 2)))
    kept = first[0].copy()
    repulsive_forces_pairs(rng.normal(size=(200, 2)) * 3)
    np.testing.assert_array_equal(first[0], kept)


def test_far_apart_points_give_zero_weight_without_warnings():
    """A squared distance past float range is a weight of 0 (its limit), not an overflow
    warning (the suite turns RuntimeWarnings into errors)."""
    for Y, dtype in [
        (np.array([[0.0, 0.0], [1e200, 0.0], [0.0, 1.0]]), np.float64),
        (np.array([[0.0, 0.0], [1e30, 0.0], [0.0, 1.0]]), np.float32),  # 1e60 overflows
    ]:
        forces, z = repulsive_forces_pairs(Y, dtype=dtype)
        assert z == pytest.approx(2 * 0.5)
        assert np.all(np.isfinite(forces))


def test_cost_model_prefers_pairs_for_small_maps_and_grids_for_large_ones():
    # 300 points against the smallest grid (FFT length 300): pairs, by far
    assert pairs_are_cheaper(300, 300, 4)
    # 20,000 points: the grid, even at its largest usual size
    assert not pairs_are_cheaper(20_000, 600, 4)
    # more threads for the pairs move the crossover up
    assert not pairs_are_cheaper(2_600, 400, 4)
    assert pairs_are_cheaper(2_600, 400, 4, workers=2)


def test_fft_path_uses_pairs_when_cheaper(monkeypatch):
    """``direct=None`` picks the pairs for a small spread map (exact there) and the grid for
    many points; the choice follows :func:`pairs_are_cheaper`."""
    calls = []
    original = gradients.repulsive_forces_pairs

    def spy(Y, **kwargs):
        calls.append(len(Y))
        return original(Y, **kwargs)

    monkeypatch.setattr(gradients, "repulsive_forces_pairs", spy)
    small = np.random.default_rng(0).normal(size=(400, 2)) * 20
    forces, z = gradients.repulsive_forces_fft(small)
    assert calls == [400]
    expected = _brute(small)[0]
    assert np.abs(forces - expected).max() < 1e-4 * np.abs(expected).max()
    gradients.repulsive_forces_fft(np.random.default_rng(1).normal(size=(20_000, 2)))
    assert calls == [400]
