"""IDX files, the format of MNIST and Fashion-MNIST (plain or gzip-compressed).

Layout (big-endian): two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions ``d``, ``d`` uint32 sizes,
then the values in C order. Every inconsistency (bad magic, unknown type, truncated or
oversized payload) raises ``ValueError`` naming the file.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from .._checks import ParameterError, ParameterTypeError

__all__ = ["load_idx", "load_mnist", "save_idx"]

_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {v.newbyteorder(">") if v.itemsize > 1 else v: k for k, v in _TYPES.items()}


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head == b"\x1f\x8b":
                try:
                    return gzip.decompress(fh.read())
                except (OSError, EOFError) as exc:
                    raise ParameterError(path, f"corrupt gzip data ({exc})") from None
            return fh.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ParameterError(path, "is a directory, not an IDX file") from None


def load_idx(path) -> np.ndarray:
    """Read one IDX file (``.gz`` detected from its content) into an ndarray."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ParameterError(path, f"too short to be an IDX file ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise ParameterError(
            path, f"bad magic number 0x{raw[:4].hex()} (an IDX file starts with two zero bytes)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _TYPES:
        raise ParameterError(path, f"unknown IDX data type 0x{code:02x}")
    if ndim == 0:
        raise ParameterError(path, "IDX file declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ParameterError(path, f"truncated header ({len(raw)} bytes, {header} needed)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header
    if payload != expected:
        what = "truncated" if payload < expected else "has trailing bytes"
        raise ParameterError(
            path, f"{what}: shape {shape} needs {expected} data bytes, the file has {payload}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def save_idx(path, array) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``)."""
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big not in _CODES:
        raise ParameterTypeError("array", f"dtype {array.dtype} has no IDX type code")
    header = bytes([0, 0, _CODES[big], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    raw = header + array.astype(big).tobytes()
    path = os.fspath(path)
    if path.endswith(".gz"):
        raw = gzip.compress(raw)
    with open(path, "wb") as fh:
        fh.write(raw)


_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(directory: str, stem: str) -> str:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"{directory}: missing {stem} (or {stem}.gz)")


def load_mnist(directory, dtype=np.float32):
    """The four standard MNIST/Fashion-MNIST IDX files in ``directory`` (plain or ``.gz``).

    Returns
    -------
    (X_train, y_train), (X_test, y_test) : images ``(N, 1, H, W)`` of ``dtype`` scaled to
    [0, 1] (uint8 / 255), labels int64.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{directory}: no such directory")
    out = []
    for split in ("train", "test"):
        image_path = _find(directory, _SPLITS[split][0])
        label_path = _find(directory, _SPLITS[split][1])
        images, labels = load_idx(image_path), load_idx(label_path)
        if images.ndim != 3:
            raise ParameterError(
                image_path, f"expected images of shape (N, H, W), got {images.shape}"
            )
        if labels.ndim != 1:
            raise ParameterError(label_path, f"expected labels of shape (N,), got {labels.shape}")
        if len(images) != len(labels):
            raise ParameterError(
                label_path, f"{len(labels)} labels for {len(images)} images in {image_path}"
            )
        scale = 255.0 if images.dtype == np.uint8 else 1.0
        X = (images.astype(dtype) / dtype(scale))[:, None, :, :]
        out.append((X, labels.astype(np.int64)))
    return out[0], out[1]
