"""IDX files, the format of MNIST and Fashion-MNIST (plain or gzip-compressed).

Layout (big-endian): two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions ``d``, ``d`` uint32 sizes,
then the values in C order. Every inconsistency (bad magic, unknown type, truncated or
oversized payload, corrupt gzip data, NaN pixels, labels that are not class indices) raises
:class:`~verigrad._checks.ParameterError` about the caller's parameter, naming the file.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from .._checks import MissingFileError, ParameterError, ParameterTypeError, memory_bytes

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


_HEADER_MAX = 4 + 4 * 255


def _open(path: str, param: str):
    """``(stream, size)``: the file, decompressed on the fly when it is gzip; ``size`` is the
    byte count of a plain file and None for a gzip stream (known only once read)."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise MissingFileError(param, f"{path}: no such file") from None
    except IsADirectoryError:
        raise ParameterError(param, f"{path} is a directory, not an IDX file") from None
    except OSError as exc:
        raise ParameterError(param, f"cannot read {path}: {exc.strerror or exc}") from None
    if fh.read(2) == b"\x1f\x8b":
        fh.seek(0)
        return gzip.GzipFile(fileobj=fh, mode="rb"), None
    fh.seek(0)
    return fh, os.fstat(fh.fileno()).st_size


def _read(stream, n: int, path: str, param: str) -> bytes:
    """At most ``n`` bytes; a corrupt gzip or deflate stream is one error naming the file."""
    try:
        return stream.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ParameterError(param, f"{path}: corrupt gzip data ({reason})") from None


def load_idx(path, param: str = "path") -> np.ndarray:
    """Read one IDX file (``.gz`` detected from its content) into an ndarray.

    The header's shape is checked against what the file can hold before the payload is read:
    a plain file against its size, a gzip stream by reading at most the declared size plus
    one byte, never more than half this machine's memory; so a lying header or a gzip bomb
    costs no more than the data it really has. Errors are :class:`ParameterError` about
    ``param`` whose reason starts with the file's path.
    """
    path = os.fspath(path)
    stream, size = _open(path, param)
    with stream:
        head = _read(stream, 4, path, param)
        if len(head) < 4:
            raise ParameterError(param, f"{path}: too short to be an IDX file ({len(head)} bytes)")
        if head[0] != 0 or head[1] != 0:
            raise ParameterError(
                param,
                f"{path}: bad magic number 0x{head.hex()} (an IDX file starts with two zero bytes)",
            )
        code, ndim = head[2], head[3]
        if code not in _TYPES:
            raise ParameterError(param, f"{path}: unknown IDX data type 0x{code:02x}")
        if ndim == 0:
            raise ParameterError(param, f"{path}: IDX file declares 0 dimensions")
        sizes = _read(stream, 4 * ndim, path, param)
        header = 4 + 4 * ndim
        if len(sizes) < 4 * ndim:
            raise ParameterError(
                param, f"{path}: truncated header ({4 + len(sizes)} bytes, {header} needed)"
            )
        shape = tuple(int(s) for s in np.frombuffer(sizes, dtype=">u4"))
        dtype = _TYPES[code]
        expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if size is not None and size - header < expected:
            raise ParameterError(
                param,
                f"{path}: truncated: shape {shape} needs {expected:,} data bytes, the file has "
                f"{size - header:,}",
            )
        if expected > memory_bytes() // 2:
            raise ParameterError(
                param,
                f"{path}: declares shape {shape} ({expected:,} bytes): more than memory allows",
            )
        raw = _read(stream, expected + 1, path, param)
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        have = f"{len(raw):,}" if len(raw) <= expected else "more"
        raise ParameterError(
            param,
            f"{path}: {what}: shape {shape} needs {expected:,} data bytes, the file has {have}",
        )
    data = np.frombuffer(raw, dtype=dtype).reshape(shape)
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


def _find(directory: str, stem: str, param: str) -> str:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    raise MissingFileError(param, f"{directory}: missing {stem} (or {stem}.gz)")


def load_mnist(directory, dtype=np.float32, param: str = "directory"):
    """The four standard MNIST/Fashion-MNIST IDX files in ``directory`` (plain or ``.gz``).

    Images must be finite (a float IDX file may hold NaN) and labels integer class indices
    (an IDX label file of floats such as 0.7 is refused, never truncated). Errors are about
    ``param`` and name the file.

    Returns
    -------
    (X_train, y_train), (X_test, y_test) : images ``(N, 1, H, W)`` of ``dtype`` scaled to
    [0, 1] (uint8 / 255), labels int64.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise MissingFileError(param, f"{directory}: no such directory")
    out = []
    for split in ("train", "test"):
        image_path = _find(directory, _SPLITS[split][0], param)
        label_path = _find(directory, _SPLITS[split][1], param)
        images, labels = load_idx(image_path, param), load_idx(label_path, param)
        if images.ndim != 3:
            raise ParameterError(
                param, f"{image_path}: expected images of shape (N, H, W), got {images.shape}"
            )
        if labels.ndim != 1:
            raise ParameterError(
                param, f"{label_path}: expected labels of shape (N,), got {labels.shape}"
            )
        if len(images) != len(labels):
            raise ParameterError(
                param,
                f"{label_path}: {len(labels)} labels for {len(images)} images in {image_path}",
            )
        if labels.dtype.kind not in "iu":
            raise ParameterError(
                param, f"{label_path}: labels must be integer class indices, got {labels.dtype}"
            )
        if len(labels) and labels.min() < 0:
            raise ParameterError(param, f"{label_path}: labels must be >= 0, got {labels.min()}")
        if images.dtype.kind == "f" and not np.all(np.isfinite(images)):
            bad = int(images.size - np.count_nonzero(np.isfinite(images)))
            raise ParameterError(param, f"{image_path}: {bad} pixel value(s) are NaN or infinite")
        scale = 255.0 if images.dtype == np.uint8 else 1.0
        X = (images.astype(dtype) / dtype(scale))[:, None, :, :]
        out.append((X, labels.astype(np.int64)))
    return out[0], out[1]
