"""The run directory: refused before training when it takes no file; stale temporaries go."""

import errno
import os
import tempfile

import pytest

from verigrad.io import UnwritableError
from verigrad.training.checkpoint import make_run_directory


def test_stale_temporaries_of_every_output_are_removed(tmp_path):
    for name in ("model.npz", "metrics.json", "curves.png", "report.html"):
        (tmp_path / f".tmp-abcd1234{name}").write_bytes(b"torn")
    (tmp_path / "model.npz").write_bytes(b"kept")
    assert make_run_directory(tmp_path) == (str(tmp_path), False)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_run_directory_that_takes_no_file_is_refused_and_not_left(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(UnwritableError, match="^run_dir: cannot write in .*/new: Read-only"):
        make_run_directory(tmp_path / "new")
    assert not (tmp_path / "new").exists()  # made by the call, removed again


def test_an_empty_run_directory_name_is_refused():
    with pytest.raises(ValueError, match="^run_dir: expected a directory name"):
        make_run_directory("")
