"""Hostile data and checkpoint files: one ParameterError naming the parameter and the file,
before anything is sized from a number the file cannot back."""

import gzip
import json
import struct

import numpy as np
import pytest

from verigrad.data import load_dataset, load_samples
from verigrad.data.idx import load_idx, load_mnist
from verigrad.io import atomic_savez
from verigrad.training import TrainConfig, Trainer
from verigrad.training.checkpoint import load_checkpoint


def _idx(array, code=0x08):
    dtype = {0x08: ">u1", 0x0D: ">f4"}[code]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array).astype(dtype).tobytes()


def _mnist(directory, images=None, labels=None, image_code=0x08, label_code=0x08, gz=False):
    directory.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    images = (rng.random((20, 4, 4)) * 255).astype(np.uint8) if images is None else images
    labels = (np.arange(20) % 3) if labels is None else labels
    files = {
        "train-images-idx3-ubyte": _idx(images, image_code),
        "train-labels-idx1-ubyte": _idx(labels, label_code),
        "t10k-images-idx3-ubyte": _idx(images[:6], image_code),
        "t10k-labels-idx1-ubyte": _idx(labels[:6], label_code),
    }
    for name, raw in files.items():
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)
    return directory


def _fails(call, match, param="data"):
    with pytest.raises((ValueError, FileNotFoundError), match=match) as info:
        call()
    assert info.value.param == param, info.value
    return info.value


def test_mnist_reads(tmp_path):
    (Xtr, ytr), (Xte, yte) = load_mnist(_mnist(tmp_path / "m", gz=True))
    assert Xtr.shape == (20, 1, 4, 4) and Xte.shape == (6, 1, 4, 4)
    np.testing.assert_array_equal(ytr, np.arange(20) % 3)


def test_gzip_bomb_is_refused_after_reading_only_what_the_header_declares(tmp_path):
    d = _mnist(tmp_path / "m")
    header = struct.pack(">HBBIII", 0, 0x08, 3, 20, 4, 4)
    bomb = gzip.compress(header + b"\0" * 320 + b"\0" * (200 * 2**20))  # 200 MB of trailing zeros
    (d / "train-images-idx3-ubyte").unlink()
    (d / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    _fails(lambda: load_samples(f"mnist:{d}"), "has trailing bytes")


def test_corrupt_deflate_stream(tmp_path):
    images = (np.random.default_rng(2).random((20, 28, 28)) * 255).astype(np.uint8)
    d = _mnist(tmp_path / "m", images=images, gz=True)
    path = d / "train-images-idx3-ubyte.gz"
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(raw))
    _fails(lambda: load_samples(f"mnist:{d}"), "corrupt gzip data")


def test_lying_header_is_refused_before_allocating(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(struct.pack(">HBBIII", 0, 0x08, 3, 10**6, 10**3, 10**3) + b"\0" * 64)
    err = _fails(lambda: load_idx(path, "images"), "truncated", param="images")
    assert str(path) in str(err)


def test_float_labels_and_nan_pixels(tmp_path):
    d = _mnist(tmp_path / "f", labels=np.arange(20) % 3 + 0.7, label_code=0x0D)
    _fails(lambda: load_samples(f"mnist:{d}"), "labels must be integer class indices")
    images = np.random.default_rng(1).random((20, 4, 4)).astype(np.float32)
    images[0, 0, 0] = np.nan
    d = _mnist(tmp_path / "n", images=images, image_code=0x0D)
    _fails(lambda: load_samples(f"mnist:{d}"), "pixel value\\(s\\) are NaN")


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.ones((30, 1, 4, 4), np.complex64), np.arange(30) % 3, "X must hold real numbers"),
        (
            np.ones((30, 1, 4, 4)),
            np.where(np.arange(30) == 0, 10**9, np.arange(30) % 3),
            "holds label 1000000000",
        ),
        (np.ones((30, 1, 4, 4)), np.arange(30) % 3 + 0.7, "y must be non-negative int labels"),
        (
            np.ones((30, 1, 4, 4)),
            np.stack([np.arange(30) % 3] * 2, 1),
            "y must be non-negative int labels",
        ),
    ],
)
def test_npz_sources(tmp_path, X, y, match):
    np.savez(tmp_path / "d.npz", X=X, y=y)
    _fails(lambda: load_dataset(str(tmp_path / "d.npz")), match)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    trainer = Trainer(TrainConfig(model="softmax", epochs=1), run)
    trainer.run(progress=False, log=None)
    return run / "model.npz"


def _with_meta(checkpoint, tmp_path, change):
    arrays = dict(np.load(checkpoint))
    meta = json.loads(str(arrays["meta"]))
    change(meta, arrays)
    arrays["meta"] = np.array(meta if isinstance(meta, str) else json.dumps(meta))
    path = tmp_path / "model.npz"
    atomic_savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda m, a: m.update(epoch=-5), "epoch must be a whole number >= 0, got -5"),
        (lambda m, a: m.update(epoch=3), "history has 1 records for 3 epochs"),
        (lambda m, a: m.update(n_classes=10**9), "class count must be in"),
        (lambda m, a: m.update(input_shape=[1, 10**6, 10**6]), "input shape must be"),
        (lambda m, a: m.update(history="garbled"), "history is not a list"),
        (lambda m, a: m["config"].update(bogus=1), "unknown option\\(s\\) bogus"),
        (lambda m, a: m.update(rng={"bit_generator": "nope"}), "random-generator state is damaged"),
        (lambda m, a: m.pop("config"), "lacks config"),
        (
            lambda m, a: a.update({"model/weight": np.full_like(a["model/weight"], np.nan)}),
            "holds NaN",
        ),
        (
            lambda m, a: a.update({"model/weight": a["model/weight"].astype(complex)}),
            "expected floating point",
        ),
    ],
)
def test_damaged_checkpoint_metadata_and_weights(checkpoint, tmp_path, change, match):
    path = _with_meta(checkpoint, tmp_path, change)
    err = _fails(lambda: load_checkpoint(path), match, param="checkpoint")
    assert str(path) in str(err)


def test_deeply_nested_checkpoint_metadata(checkpoint, tmp_path):
    arrays = dict(np.load(checkpoint))
    arrays["meta"] = np.array("[" * 50_000 + "]" * 50_000)
    atomic_savez(tmp_path / "model.npz", **arrays)
    _fails(lambda: load_checkpoint(tmp_path / "model.npz"), "nested too deeply", param="checkpoint")
