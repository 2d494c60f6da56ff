"""verigrad.data.tables: every way a data file can be bad is one ParameterError naming the
parameter and the file; nothing is allocated from a size the file cannot back."""

import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from verigrad.data.tables import load_table


def _npy_with_header(path, shape, payload=b"\0" * 64):
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": shape}
        )
        fh.write(payload)


def _fails(path, match, **kw):
    with pytest.raises((ValueError, FileNotFoundError), match=match) as info:
        load_table(str(path), **kw)
    assert info.value.param in ("input", "labels")
    assert "\n" not in str(info.value)
    return info.value


def test_good_files_read(tmp_path):
    X = np.random.default_rng(0).random((10, 2, 3))
    np.save(tmp_path / "x.npy", X)
    got, y = load_table(str(tmp_path / "x.npy"))
    np.testing.assert_array_equal(got, X.reshape(10, 6))
    assert y is None
    np.savez(tmp_path / "d.npz", X=X[:, 0], y=np.arange(10))
    got, y = load_table(str(tmp_path / "d.npz"))
    np.testing.assert_array_equal(y, np.arange(10))
    (tmp_path / "h.csv").write_text("a,b\n1,2\n3,4\n")
    got, y = load_table(str(tmp_path / "h.csv"), labels="b")
    np.testing.assert_array_equal(got, [[1.0], [3.0]])
    np.testing.assert_array_equal(y, [2, 4])


def test_header_claiming_a_terabyte_is_refused_without_allocating(tmp_path):
    _npy_with_header(tmp_path / "huge.npy", (10**12, 3))
    err = _fails(tmp_path / "huge.npy", "is truncated: its header declares shape")
    assert "(24,000,000,000,000 bytes)" in str(err)


def test_header_claim_is_checked_under_an_address_space_limit(tmp_path):
    # the same file in a child limited to 1 GB of address space: an allocation would fail
    _npy_with_header(tmp_path / "huge.npy", (10**9, 3))
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30));"
        "from verigrad.data.tables import load_table\n"
        "try:\n load_table(sys.argv[1])\n"
        "except ValueError as e:\n print(e)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "huge.npy")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "is truncated" in out.stdout, out.stderr
    assert resource  # imported for the child's sake


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("empty.npy", b"", "is empty"),
        ("garbage.npy", b"not an array at all", "is not a valid .npy array"),
        ("trunc.npz", None, "not a readable .npz archive"),
        ("notzip.npz", b"PK\x03\x04garbage", "not a readable .npz archive"),
        ("bad.csv", b"1.0,abc,3\n4,5,6\n", "non-numeric value 'abc' in row 1"),
        ("ragged.csv", b"1,2,3\n4,5\n", "rows of different lengths"),
        ("binary.csv", b"\xff\xfe\x00\x81", "cannot read"),
        ("blank.csv", b"\n\n", "has no rows"),
        ("data.txt", b"1 2 3", "unsupported file type"),
    ],
)
def test_bad_files(tmp_path, name, content, match):
    path = tmp_path / name
    if content is None:
        np.savez(tmp_path / "full.npz", X=np.ones((50, 4)))
        data = (tmp_path / "full.npz").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    err = _fails(path, match)
    assert err.param == "input" and str(path) in str(err)


def test_corrupt_deflate_stream_in_npz(tmp_path):
    np.savez_compressed(tmp_path / "c.npz", X=np.random.default_rng(1).random((200, 3)))
    data = bytearray((tmp_path / "c.npz").read_bytes())
    data[120:200] = b"\xff" * 80
    (tmp_path / "c.npz").write_bytes(bytes(data))
    _fails(tmp_path / "c.npz", "c.npz")


def test_arrays_that_are_not_real_numbers(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    _fails(tmp_path / "obj.npy", "holds Python objects")
    np.save(tmp_path / "c.npy", np.ones((4, 2), complex))
    _fails(tmp_path / "c.npy", "expected real numbers, got dtype complex128")
    np.save(tmp_path / "v.npy", np.ones(4))
    _fails(tmp_path / "v.npy", "expected a 2-D array of samples")


def test_npz_labels_must_be_one_per_sample(tmp_path):
    np.savez(tmp_path / "y2.npz", X=np.ones((5, 2)), y=np.zeros((5, 2)))
    _fails(tmp_path / "y2.npz", "array 'y' of .* must be 1-D")
    np.savez(tmp_path / "y3.npz", X=np.ones((5, 2)), y=np.zeros(4))
    _fails(tmp_path / "y3.npz", "4 labels for 5 samples")
    np.savez(tmp_path / "nx.npz", Z=np.ones((5, 2)))
    _fails(tmp_path / "nx.npz", "has no array 'X' \\(found Z\\)")


def test_label_problems_name_labels(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 2)))
    err = _fails(tmp_path / "x.npy", "only with .csv input", labels="kind")
    assert err.param == "labels"
    np.save(tmp_path / "l.npy", np.array([0, 1, np.nan, 1, 0]))
    err = _fails(tmp_path / "x.npy", "contains 1 NaN", labels=str(tmp_path / "l.npy"))
    assert err.param == "labels"


def test_missing_and_directory(tmp_path):
    err = _fails(tmp_path / "nope.npy", "no such file")
    assert isinstance(err, FileNotFoundError)
    os.mkdir(tmp_path / "d.npy")
    _fails(tmp_path / "d.npy", "is a directory")
