"""verigrad.data.sources: digits, mnist:DIR and FILE.npz by name, whole or split."""

import os

import numpy as np
import pytest

from verigrad._checks import MissingFileError, ParameterError
from verigrad.data import canonical_data, load_dataset, load_digits, load_samples
from verigrad.data.sources import _as_images


@pytest.mark.parametrize(
    "shape,expected",
    [
        ((5, 64), (5, 1, 8, 8)),
        ((5, 10), (5, 10)),
        ((5, 6, 7), (5, 1, 6, 7)),
        ((5, 3, 4, 4), (5, 3, 4, 4)),
    ],
)
def test_as_images_shapes(shape, expected):
    X = np.arange(np.prod(shape), dtype=float).reshape(shape)
    out = _as_images(X, "data")
    assert out.shape == expected
    np.testing.assert_array_equal(out.reshape(len(X), -1), X.reshape(len(X), -1))


def test_as_images_refuses_other_ranks():
    with pytest.raises(ParameterError) as info:
        _as_images(np.zeros(3), "data")
    assert info.value.param == "data"


def test_digits_by_name_and_the_split_is_stratified_and_seeded():
    X, y = load_samples("digits")
    X0, y0 = load_digits()
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    Xtr, ytr, Xte, yte, n_classes = load_dataset("digits", seed=3)
    assert n_classes == 10 and len(ytr) + len(yte) == 1797 and len(yte) == 359
    np.testing.assert_allclose(np.bincount(yte) / len(yte), np.bincount(y) / len(y), atol=0.01)
    again = load_dataset("digits", seed=3)
    np.testing.assert_array_equal(again[3], yte)
    np.testing.assert_array_equal(again[2], Xte)
    assert not np.array_equal(load_dataset("digits", seed=4)[3], yte)


def test_npz_source(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.random((40, 64)), y=np.arange(40) % 4)
    X, y = load_samples(str(tmp_path / "d.npz"))
    assert X.shape == (40, 1, 8, 8) and X.dtype == np.float32 and y.dtype == np.int64
    Xtr, ytr, Xte, yte, n_classes = load_dataset(str(tmp_path / "d.npz"), test_size=0.25)
    # stratified: each class of 10 gives round(10 * 0.25) = 2 (half to even) to the test part
    assert n_classes == 4 and list(np.bincount(yte)) == [2, 2, 2, 2] and len(ytr) == 32


@pytest.mark.parametrize(
    "arrays,needle",
    [
        ({"X": np.zeros((0, 4))}, "must hold arrays 'X' and 'y'"),
        ({"X": np.zeros((0, 4)), "y": np.zeros(0, int)}, "holds no samples"),
        ({"X": np.zeros((4, 4)), "y": np.array([0, 1, -1, 0])}, "non-negative int labels"),
        ({"X": np.zeros((4, 4)), "y": np.zeros(4)}, "non-negative int labels"),
        ({"X": np.full((4, 4), np.nan), "y": np.zeros(4, int)}, "NaN"),
    ],
)
def test_bad_npz_names_data(tmp_path, arrays, needle):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ParameterError) as info:
        load_samples(str(tmp_path / "d.npz"))
    assert info.value.param == "data" and needle in str(info.value)


def test_bad_specs_name_data(tmp_path):
    with pytest.raises(MissingFileError) as info:
        load_samples(str(tmp_path / "none.npz"))
    assert info.value.param == "data"
    for spec in ("imagenet", "mnist:"):
        with pytest.raises(ParameterError) as info:
            load_dataset(spec)
        assert info.value.param == "data" and "--" not in str(info.value)


def test_canonical_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.npz").write_bytes(b"")
    os.symlink(tmp_path / "d.npz", tmp_path / "link.npz")
    real = os.path.realpath(tmp_path / "d.npz")
    assert canonical_data("d.npz") == canonical_data("./d.npz") == canonical_data("link.npz")
    assert canonical_data("d.npz") == real
    assert canonical_data("mnist:.") == "mnist:" + os.path.realpath(tmp_path)
    assert canonical_data("digits") == "digits" and canonical_data("mnist:") == "mnist:"
    assert canonical_data(None) is None


def _gapped(tmp_path, y):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "g.npz", X=rng.random((len(y), 64)), y=np.asarray(y, np.int64))
    return str(tmp_path / "g.npz")


def test_labels_that_are_not_class_indices_are_refused(tmp_path):
    # ten classes with one relabelled 1000 would size a 1001-class model and confusion matrix
    y = np.arange(200) % 10
    y[y == 9] = 1000
    with pytest.raises(ParameterError) as info:
        load_dataset(_gapped(tmp_path, y))
    text = str(info.value)
    assert info.value.param == "data"
    assert "10 distinct labels" in text and "largest is 1000" in text
    assert "np.unique(y, return_inverse=True)" in text


@pytest.mark.parametrize(
    "classes", [[0, 1, 2, 3, 4, 5, 6, 7, 8], [0, 1, 2, 4, 5, 6, 7, 8, 9], [1, 2], [0, 2], [0, 3]]
)
def test_a_class_or_two_absent_is_still_accepted(tmp_path, classes):
    y = np.resize(np.asarray(classes), 120)
    *_, n_classes = load_dataset(_gapped(tmp_path, y))
    assert n_classes == max(classes) + 1
