"""Files: atomic ``.npz`` writes and reads.

A checkpoint is written to a temporary file in the same directory, flushed to disk, then
renamed over the target (``os.replace`` is atomic on POSIX), so a process killed at any
moment leaves either the previous complete file or the new complete file, never a torn one.
The file gets the permissions a plain write would give (an existing file keeps its own).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import zipfile
import zlib

import numpy as np

from ._checks import ParameterError

__all__ = [
    "atomic_savez",
    "atomic_write_text",
    "atomic_write_json",
    "load_npz",
    "pack_tree",
    "unpack_tree",
]


def _umask() -> int:
    """The process's umask: from ``/proc`` on Linux (reading it with ``os.umask`` means setting
    it, which is not thread-safe), else as it was when verigrad was imported."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return _IMPORT_UMASK


_IMPORT_UMASK = os.umask(0)
os.umask(_IMPORT_UMASK)


def _file_mode(path) -> int:
    """The mode the written file gets: an existing file's own, else ``0o666`` less the umask
    (what ``open(path, "w")`` would give; the temporary file alone would be ``0o600``)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _atomic_write(path, write) -> None:
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    mode = _file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_savez(path, **arrays) -> None:
    """``numpy.savez`` to ``path`` atomically (temporary file, fsync, rename)."""
    _atomic_write(path, lambda fh: np.savez(fh, **arrays))


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    _atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def load_npz(path) -> dict:
    """Every array of an ``.npz`` file as a dict (the file is closed on return).

    A truncated or corrupt archive raises ``ValueError`` naming the file (``np.load`` lets
    ``zipfile.BadZipFile``, ``EOFError`` or ``zlib.error`` through, depending on the damage).
    """
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.lib.npyio.NpzFile):
            with archive as f:
                return {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, EOFError, zlib.error, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ParameterError(
            path, f"not a readable .npz archive (truncated or corrupt: {reason})"
        ) from None
    raise ParameterError(path, "holds a single .npy array, not an .npz archive")


def pack_tree(tree, prefix: str) -> dict:
    """Flatten nested dicts/lists holding arrays and JSON values into ``.npz``-ready arrays.

    Arrays become entries ``"{prefix}/{i}"``; everything else goes into one JSON string under
    ``prefix`` with ``{"__array__": i}`` markers, so :func:`unpack_tree` restores the tree
    exactly (array dtypes included) without pickling.
    """
    arrays = {}

    def encode(obj):
        if isinstance(obj, np.ndarray):
            key = f"{prefix}/{len(arrays)}"
            arrays[key] = obj
            return {"__array__": key}
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, dict):
            return {"__dict__": [[encode(k), encode(v)] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return {"__list__": [encode(v) for v in obj], "tuple": isinstance(obj, tuple)}
        return obj

    arrays[prefix] = np.array(json.dumps(encode(tree)))
    return arrays


def unpack_tree(arrays: dict, prefix: str):
    """Inverse of :func:`pack_tree`."""

    def decode(obj):
        if isinstance(obj, dict):
            if "__array__" in obj:
                return np.array(arrays[obj["__array__"]], copy=True)
            if "__dict__" in obj:
                return {_hashable(decode(k)): decode(v) for k, v in obj["__dict__"]}
            if "__list__" in obj:
                items = [decode(v) for v in obj["__list__"]]
                return tuple(items) if obj.get("tuple") else items
        return obj

    return decode(json.loads(str(arrays[prefix])))


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key
