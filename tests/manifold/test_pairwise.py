"""The all-pairs t-SNE repulsion (symmetric blocks, threads) and the cost model choosing it."""

import numpy as np
import pytest

from verigrad.manifold import gradients, pairwise
from verigrad.manifold.pairwise import (
    pairs_are_cheaper,
    repulsion_to_reference,
    repulsive_forces_pairs,
    spatial_order,
)


def _brute(Y):
    diff = Y[:, None, :] - Y[None, :, :]
    w = 1.0 / (1.0 + (diff**2).sum(-1))
    np.fill_diagonal(w, 0.0)
    return np.einsum("ij,ijk->ik", w**2, diff), w.sum()


def _brute_to(Y, reference):
    diff = Y[:, None, :] - reference[None, :, :]
    w = 1.0 / (1.0 + (diff**2).sum(-1))
    return np.einsum("ij,ijk->ik", w**2, diff), w.sum(axis=1)


def _clustered_map(n, width, seed=0):
    """A map like t-SNE's: ten tight clusters spread over ``width`` units, centred."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-width / 2, width / 2, size=(10, 2))
    Y = centres[rng.integers(0, 10, size=n)] + rng.normal(size=(n, 2)) * width / 40
    return Y - Y.mean(axis=0)


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
    # more threads for the pairs move the crossover up (a grid of 400: about 22 ms)
    assert not pairs_are_cheaper(4_000, 400, 4)
    assert pairs_are_cheaper(4_000, 400, 4, workers=2)


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


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("block", [1, 7, 256])
def test_repulsion_to_reference_equals_brute_force(dim, block):  # float64 is the default
    """New points against a fixed map, blocks that overhang and single rows: float64 exact to
    round-off, float32 (the charges' product) to 1e-4 of the largest force."""
    rng = np.random.default_rng(dim)
    reference = rng.normal(size=(300, dim)) * 15
    Y = rng.normal(size=(45, dim)) * 15
    expected_forces, expected_z = _brute_to(Y, reference)
    forces, z = repulsion_to_reference(Y, reference, block=block, dtype=np.float64)
    np.testing.assert_allclose(forces, expected_forces, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(z, expected_z, rtol=1e-12)
    forces, z = repulsion_to_reference(Y, reference, block=block, dtype=np.float32)
    assert np.abs(forces - expected_forces).max() < 1e-4 * np.abs(expected_forces).max()
    np.testing.assert_allclose(z, expected_z, rtol=1e-4)


def test_spatial_order_is_a_permutation_into_compact_tiles():
    Y = _clustered_map(2000, 100.0)
    order = spatial_order(Y, 256)
    np.testing.assert_array_equal(np.sort(order), np.arange(2000))

    def mean_radius(rows):
        tiles = [Y[rows[s : s + 256]] for s in range(0, 2000, 256)]
        return np.mean([np.sqrt(((t - t.mean(0)) ** 2).sum(1).max()) for t in tiles])

    # tiles of 256 of the 2,000 points: a ninth of the map each, against all of it
    assert mean_radius(order) < 0.5 * mean_radius(np.arange(2000))
    np.testing.assert_array_equal(spatial_order(Y[:, :1], 256), np.argsort(Y[:, 0], kind="stable"))


def test_float32_product_form_is_used_on_a_tsne_sized_map_and_is_accurate():
    """On a map 100 units wide, most tiles' weights come from the charges' product (the fast
    path this module is for; a tile that straddles two far clusters may take the
    differences), and the forces stay within 5e-4 of the largest and 1e-4 in norm (tight
    clusters are the hard case: the per-dimension differences reach 2.6e-4 here too)."""
    Y = _clustered_map(1500, 100.0, seed=4)
    coords = np.ascontiguousarray(Y[spatial_order(Y, 256)].T)
    by_product = [
        pairwise._charges(coords[:, s : s + 256], coords[:, s:], np.dtype(np.float32))[-1]
        for s in range(0, 1500, 256)
    ]
    assert sum(by_product) >= 5
    forces, z = repulsive_forces_pairs(Y)
    expected_forces, expected_z = _brute(Y)
    assert np.abs(forces - expected_forces).max() < 5e-4 * np.abs(expected_forces).max()
    assert np.linalg.norm(forces - expected_forces) < 1e-4 * np.linalg.norm(expected_forces)
    assert z == pytest.approx(expected_z, rel=1e-6)


def test_wide_tiles_fall_back_to_differences_and_stay_accurate():
    """A tile too wide for float32's product (points thousands of units apart) is computed
    from the per-dimension differences, keeping single-precision accuracy: the product form
    alone would lose about 1 in 1e2 there."""
    rng = np.random.default_rng(6)
    Y = rng.normal(size=(300, 2)) * 3000.0
    coords = np.ascontiguousarray(Y[spatial_order(Y, 256)].T)
    assert not pairwise._charges(coords[:, :256], coords, np.dtype(np.float32))[-1]
    forces, z = repulsive_forces_pairs(Y)
    expected_forces, expected_z = _brute(Y)
    assert np.abs(forces - expected_forces).max() < 1e-4 * np.abs(expected_forces).max()
    assert z == pytest.approx(expected_z, rel=1e-6)


def test_duplicates_far_from_the_tile_centre_are_exact_in_float64_and_bounded_in_float32():
    """Two sites of 128 identical points: each point's own site adds terms of 3,600 to a net
    force of 5e-4. float64 is exact to its round-off; float32 stays within the documented ``u |a| sum w^2``
    (a few times it), and a point's own copies cancel exactly (no drift between sites)."""
    Y = np.repeat([[30.7, -11.3], [-12.9, 25.1]], 128, axis=0)
    expected_forces, expected_z = _brute(Y)
    forces, z = repulsive_forces_pairs(Y, dtype=np.float64)
    # float64 keeps u |a| sum w^2 = 4e-13 of the 5e-4 (times the sums' length: 2e-8 seen)
    np.testing.assert_allclose(forces, expected_forces, rtol=1e-7)
    assert z == pytest.approx(expected_z, rel=1e-13)
    forces, z = repulsive_forces_pairs(Y)
    u = np.finfo(np.float32).eps / 2
    radius = np.linalg.norm(Y[0] - Y.mean(axis=0))
    assert np.abs(forces - expected_forces).max() < 8 * u * radius * 128
    assert z == pytest.approx(expected_z, rel=1e-6)
    np.testing.assert_array_equal(forces[:128], np.broadcast_to(forces[0], (128, 2)))


def test_long_maps_get_shorter_blocks():
    """A block of weights holds at most _MAX_BLOCK_ELEMENTS (the scratch outlives the call)."""
    rng = np.random.default_rng(8)
    reference = rng.normal(size=(70_000, 2)) * 30
    Y = rng.normal(size=(90, 2)) * 30
    forces, z = repulsion_to_reference(Y, reference)
    held = pairwise._workspace.held
    assert max(b.size for b in held.values()) <= pairwise._MAX_BLOCK_ELEMENTS
    expected_forces, expected_z = _brute_to(Y[:5], reference)
    np.testing.assert_allclose(forces[:5], expected_forces, rtol=1e-8, atol=1e-15)
    np.testing.assert_allclose(z[:5], expected_z, rtol=1e-12)
