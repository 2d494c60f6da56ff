"""Atomic writes: the complete file or none, the usual permissions, and the tree encoding."""

import os
import stat

import numpy as np
import pytest

from verigrad.io import atomic_savez, atomic_write_json, atomic_write_text, load_npz


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_get_the_permissions_of_a_plain_write(tmp_path):
    mask = os.umask(0o022)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        atomic_write_text(tmp_path / "a.txt", "hello")
        atomic_savez(tmp_path / "a.npz", w=np.arange(3))
        assert _mode(tmp_path / "a.txt") == _mode(plain)
        assert _mode(tmp_path / "a.npz") == _mode(plain)
    finally:
        os.umask(mask)
    # an existing file keeps its own mode when it is replaced
    os.chmod(tmp_path / "a.txt", 0o600)
    atomic_write_text(tmp_path / "a.txt", "again")
    assert _mode(tmp_path / "a.txt") == 0o600
    assert (tmp_path / "a.txt").read_text() == "again"
    np.testing.assert_array_equal(load_npz(tmp_path / "a.npz")["w"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "a.txt", "plain.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "m.json"
    atomic_write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"a": object()})
    assert target.read_text().strip().replace(" ", "").replace("\n", "") == '{"a":1}'
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


@pytest.mark.parametrize("keep", [0, 10, 300, -20])
def test_truncated_or_corrupt_npz_raises_value_error_naming_the_file(tmp_path, keep):
    good = tmp_path / "good.npz"
    atomic_savez(good, a=np.arange(1000.0), b=np.ones((30, 30)))
    raw = bytearray(good.read_bytes())
    bad = tmp_path / "bad.npz"
    if keep >= 0:
        bad.write_bytes(bytes(raw[:keep]))
    else:  # damage the data but keep the archive's directory: a CRC failure
        raw[200:260] = b"x" * 60
        bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="bad.npz: not a readable .npz archive"):
        load_npz(bad)


def test_a_single_npy_array_is_not_an_npz_archive(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match="a.npy: holds a single .npy array"):
        load_npz(tmp_path / "a.npy")
