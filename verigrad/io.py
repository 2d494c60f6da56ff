"""Files: atomic ``.npz`` writes and reads.

A checkpoint is written to a temporary file in the same directory, flushed to disk, then
renamed over the target (``os.replace`` is atomic on POSIX), so a process killed at any
moment leaves either the previous complete file or the new complete file, never a torn one.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

__all__ = ["atomic_savez", "atomic_write_text", "load_npz"]


def _atomic_write(path, write) -> None:
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
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
    """Every array of an ``.npz`` file as a dict (the file is closed on return)."""
    with np.load(os.fspath(path), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
