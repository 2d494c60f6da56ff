"""Embedded digits, the IDX reader (plain and gzip, every corrupt case), splits and loaders."""

import gzip

import numpy as np
import pytest

from verigrad.data import DataLoader, load_digits, load_idx, load_mnist, save_idx, train_test_split


def test_digits_shape_range_and_classes():
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert X.min() == 0 and X.max() == 1
    assert y.dtype == np.int64 and np.bincount(y).tolist()[:3] == [178, 182, 177]
    from sklearn.datasets import load_digits as sk

    ref = sk()
    np.testing.assert_array_equal(X.reshape(1797, 64) * 16, ref.data)
    np.testing.assert_array_equal(y, ref.target)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_idx_round_trip(tmp_path, gz, dtype):
    a = (
        (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
        if dtype != np.uint8
        else np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    )
    path = tmp_path / ("a.idx" + (".gz" if gz else ""))
    save_idx(path, a)
    b = load_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape
    np.testing.assert_array_equal(a, b)


def _write(path, raw, gz=False):
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def test_idx_corrupt_files(tmp_path):
    good = tmp_path / "good.idx"
    save_idx(good, np.zeros((3, 2, 2), np.uint8))
    raw = good.read_bytes()
    cases = {
        "bad magic number": b"\x01\x02" + raw[2:],
        "unknown IDX data type": raw[:2] + b"\x07" + raw[3:],
        "truncated:": raw[:-1],
        "trailing bytes": raw + b"\x00",
        "truncated header": raw[:6],
        "too short": b"\x00",
    }
    for message, data in cases.items():
        with pytest.raises(ValueError, match=message):
            load_idx(_write(tmp_path / "bad.idx", data))
    with pytest.raises(ValueError, match="corrupt gzip"):
        load_idx(_write(tmp_path / "bad.gz", gzip.compress(raw)[:-8]))
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_idx(tmp_path / "missing.idx")


def _mnist_dir(path, n_train=5, n_test=3, gz=True, labels_off=0):
    path.mkdir()
    suffix = ".gz" if gz else ""
    rng = np.random.default_rng(0)
    save_idx(
        path / f"train-images-idx3-ubyte{suffix}",
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
    )
    save_idx(
        path / f"train-labels-idx1-ubyte{suffix}",
        rng.integers(0, 10, n_train + labels_off, dtype=np.uint8),
    )
    save_idx(
        path / f"t10k-images-idx3-ubyte{suffix}",
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
    )
    save_idx(path / f"t10k-labels-idx1-ubyte{suffix}", rng.integers(0, 10, n_test, dtype=np.uint8))
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, gz):
    (Xtr, ytr), (Xte, yte) = load_mnist(_mnist_dir(tmp_path / "m", gz=gz))
    assert Xtr.shape == (5, 1, 28, 28) and Xte.shape == (3, 1, 28, 28)
    assert Xtr.dtype == np.float32 and 0 <= Xtr.min() and Xtr.max() <= 1
    assert ytr.dtype == np.int64


def test_load_mnist_errors(tmp_path):
    with pytest.raises(ValueError, match="5 labels for 4 images|labels for"):
        load_mnist(_mnist_dir(tmp_path / "m", n_train=4, labels_off=1))
    with pytest.raises(FileNotFoundError, match="no such directory"):
        load_mnist(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="missing train-images"):
        load_mnist(tmp_path / "empty")


def test_train_test_split_is_seeded_and_stratified():
    X, y = load_digits()
    a = train_test_split(X, y, test_size=0.2, rng=3, stratify=True)
    b = train_test_split(X, y, test_size=0.2, rng=3, stratify=True)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert len(a[1]) in (359, 360) and len(a[0]) + len(a[1]) == 1797
    assert np.all(np.abs(np.bincount(a[3]) - 36) <= 1)
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="labels for"):
        train_test_split(X, y[:-1])


def test_dataloader_batches_cover_everything_once():
    X = np.arange(10)[:, None]
    y = np.arange(10)
    loader = DataLoader(X, y, batch_size=4, rng=0)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b in batches]).tolist()) == list(range(10))
    again = [b[1].tolist() for b in DataLoader(X, y, batch_size=4, rng=0)]
    assert again == [b[1].tolist() for b in batches]
    assert len(DataLoader(X, y, 4, drop_last=True)) == 2
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(X, y, 0)
