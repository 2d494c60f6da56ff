"""Atomic writes: the complete file or none, the usual permissions, and the tree encoding."""

import json
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


def test_npz_member_whose_header_lies_is_refused_before_allocating(tmp_path):
    import io as _io
    import zipfile

    member = _io.BytesIO()
    np.lib.format.write_array_header_1_0(
        member, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    member.write(b"\0" * 32)
    with zipfile.ZipFile(tmp_path / "x.npz", "w") as archive:
        archive.writestr("X.npy", member.getvalue())
    with pytest.raises(ValueError, match=r"^data: .*x.npz \(array 'X'\) is truncated") as info:
        load_npz(tmp_path / "x.npz", param="data")
    assert info.value.param == "data"


def test_deeply_nested_metadata_is_one_error_not_a_recursion_error():
    from verigrad.io import read_json, unpack_tree

    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValueError, match="^meta: holds invalid metadata \\(nested too deeply\\)"):
        read_json(deep, "meta")
    with pytest.raises(ValueError, match="^arrays: "):
        unpack_tree({"optimizer": np.array(deep)}, "optimizer")
    with pytest.raises(ValueError, match="^arrays: has no entry 'optimizer'"):
        unpack_tree({}, "optimizer")


def test_write_errors_name_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    import errno

    from verigrad import io as vio

    def full(fh):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "model.npz"
    with pytest.raises(OSError) as info:
        vio._atomic_write(target, full)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone


def test_stale_temporaries_are_removed(tmp_path):
    from verigrad.io import remove_stale_temporaries

    (tmp_path / ".tmp-abc123model.npz").write_bytes(b"partial")
    (tmp_path / ".tmp-zzzmetrics.json").write_bytes(b"other")
    (tmp_path / "model.npz").write_bytes(b"keep")
    removed = remove_stale_temporaries(tmp_path / "model.npz")
    assert [p.rsplit("/", 1)[1] for p in removed] == [".tmp-abc123model.npz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-zzzmetrics.json", "model.npz"]


def test_a_failed_write_names_the_parameter_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    from verigrad import io as vio

    target = tmp_path / "metrics.json"
    vio.atomic_write_json(target, {"old": 1})

    def full(fh):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(vio.UnwritableError) as info:
        vio.atomic_write(target, full, param="out")
    exc = info.value
    assert isinstance(exc, OSError) and exc.param == "out" and exc.errno == errno.ENOSPC
    assert str(exc) == f"out: cannot write {target}: No space left on device"
    assert json.loads(target.read_text()) == {"old": 1}
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_a_directory_that_takes_no_file_is_refused(tmp_path, monkeypatch):
    import errno
    import tempfile

    from verigrad.io import UnwritableError, check_writable_directory

    check_writable_directory(tmp_path, "run_dir", "model.npz")  # leaves nothing behind
    assert os.listdir(tmp_path) == []

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(UnwritableError, match=f"^run_dir: cannot write in {tmp_path}: Read-only"):
        check_writable_directory(tmp_path, "run_dir")
