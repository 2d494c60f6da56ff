"""The command line's contract on bad input, table-driven over every command.

Each case is a command line with one bad part. The contract: exit code 2, exactly one line on
stderr that starts with ``verigrad COMMAND: error:`` (or argparse's usage error) and names
what the user typed (the option, or INPUT/NAME for positionals), no traceback, and nothing
written in the working directory. The cases run in-process through ``main(argv)``; the
hostile-file fixtures are made fresh in a temporary directory.

Each case is counted in the campaign's figures (:mod:`tests.fuzz.campaign`): a bad file under
"hostile files", a bad formula under "check-grad/grade formulas", the rest under "CLI
commands". The random command lines are in ``test_random_cli.py``.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest

from tests.fuzz.campaign import run_cli

FLOAT_BAD = ["nan", "inf", "-inf", "abc", "", "1e999", "0x1p3"]
INT_BAD = ["abc", "1.5", "", "nan", "99999999999999999999999"]


def _write_idx(path, array, dtype_code=0x08, gz=False):
    header = struct.pack(">HBB", 0, dtype_code, array.ndim) + b"".join(
        struct.pack(">I", d) for d in array.shape
    )
    data = header + array.astype(">u1" if dtype_code == 0x08 else ">f4").tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.fixture
def files(tmp_path):
    """Hostile and broken inputs, written once per test in ``tmp_path/in``."""
    d = tmp_path / "in"
    d.mkdir()
    rng = np.random.default_rng(0)
    X = rng.random((60, 1, 8, 8)).astype(np.float32)
    y = np.repeat(np.arange(3), 20)
    np.savez(d / "ok.npz", X=X, y=y)
    full = (d / "ok.npz").read_bytes()
    (d / "truncated.npz").write_bytes(full[: len(full) // 2])
    (d / "empty.npz").write_bytes(b"")
    (d / "empty.npy").write_bytes(b"")
    np.savez(d / "y2d.npz", X=X, y=np.stack([y, y], 1))
    np.savez(d / "complex.npz", X=X.astype(np.complex64), y=y)
    np.savez(d / "float_labels.npz", X=X, y=y + 0.7)
    np.savez(d / "huge_label.npz", X=X, y=np.where(np.arange(60) == 0, 10**9, y))
    np.savez(d / "gapped_labels.npz", X=X, y=np.where(y == 2, 1000, y))  # 3 classes, ids to 1000
    nan = X.copy()
    nan[0, 0, 0, 0] = np.nan
    np.savez(d / "nan_pixels.npz", X=nan, y=y)
    np.savez(d / "no_y.npz", X=X)
    np.savez(d / "one_sample.npz", X=X[:1], y=y[:1])
    np.savez(d / "two_samples.npz", X=X[:2], y=np.array([0, 1]))
    np.savez(d / "no_features.npz", X=np.zeros((60, 0)), y=y)
    (d / "sheet.txt").write_text("2 Softmax regression\n2.1 Derivation\n$$x = 1$$\n")
    with open(d / "liar.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 3)}
        )
        fh.write(b"\0" * 64)
    np.save(d / "X.npy", rng.random((40, 5)))
    (d / "damaged.csv").write_text("1.0,x,3\n4,5,6\n7,8,9\n1,2,3\n4,4,4\n")
    (d / "notes.txt").write_text("hello")
    mnist = d / "mnist"
    mnist.mkdir()
    _write_idx(mnist / "train-images-idx3-ubyte", (rng.random((20, 28, 28)) * 255).astype(np.uint8))
    _write_idx(mnist / "train-labels-idx1-ubyte", np.arange(20) % 10)
    _write_idx(mnist / "t10k-images-idx3-ubyte", (rng.random((10, 28, 28)) * 255).astype(np.uint8))
    _write_idx(mnist / "t10k-labels-idx1-ubyte", np.arange(10) % 10)
    bad = d / "mnist_corrupt"
    bad.mkdir()
    for name in os.listdir(mnist):
        raw = gzip.compress((mnist / name).read_bytes())
        if "train-images" in name:
            raw = raw[:20] + b"\xff" * 40 + raw[60:]  # a corrupt deflate stream
        (bad / (name + ".gz")).write_bytes(raw)
    lying = d / "mnist_lying"
    lying.mkdir()
    for name in os.listdir(mnist):
        (lying / name).write_bytes((mnist / name).read_bytes())
    header = struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">III", 10**6, 28, 28)
    (lying / "train-images-idx3-ubyte").write_bytes(header + b"\0" * 100)
    (d / "dir.npz").mkdir()
    return d


def _cases():
    """``(id, argv, what the message must name)``; ``IN`` stands for the fixture directory."""
    cases = []
    train_options = {
        "--lr": FLOAT_BAD + ["-1", "0"],
        "--weight-decay": FLOAT_BAD + ["-1"],
        "--l1": FLOAT_BAD + ["-0.5"],
        "--epochs": INT_BAD + ["0", "-3"],
        "--batch-size": INT_BAD + ["0", "-1"],
        "--seed": INT_BAD + ["-1"],
        "--model": ["bogus", ""],
        "--pool": ["bogus"],
        "--optimizer": ["bogus", "ADAM"],
        "--schedule": ["bogus"],
    }
    for option, values in train_options.items():
        for v in values:
            cases.append((f"train {option}={v!r}", ["train", "--quiet", f"{option}={v}"], option))
    data_bad = [
        "",
        "bogus",
        "mnist:",
        "mnist:IN/nope",
        "IN/missing.npz",
        "IN/truncated.npz",
        "IN/empty.npz",
        "IN/y2d.npz",
        "IN/complex.npz",
        "IN/float_labels.npz",
        "IN/huge_label.npz",
        "IN/gapped_labels.npz",  # sized a 1001-class model and confusion figure (hang)
        "IN/nan_pixels.npz",
        "IN/no_y.npz",
        "IN/dir.npz",
        "IN/notes.txt",
        "mnist:IN/mnist_corrupt",
        "mnist:IN/mnist_lying",
        "IN/one_sample.npz",  # leaked 'test_size:' (an internal name)
        "IN/two_samples.npz",
        "IN/no_features.npz",  # leaked 'in_features:'
    ]
    for v in data_bad:
        cases.append((f"train --data={v!r}", ["train", "--quiet", "--data", v], "--data"))
    for v in ["IN/missing", "IN/ok.npz", "IN"]:
        cases.append((f"train --resume={v!r}", ["train", "--quiet", "--resume", v], "--resume"))
    cases.append(("train --out=file", ["train", "--quiet", "--out", "IN/ok.npz"], "--out"))
    cases.append(("train --out=''", ["train", "--quiet", "--out", ""], "--out"))
    for option in ("--json", "--html"):
        for v in ["", "IN", "IN/nodir/g.out"]:
            argv = ["grade", "IN/sheet.txt", option, v]
            cases.append((f"grade {option}={v!r}", argv, option))
    for v in ["IN/missing.npz", "IN/truncated.npz", "IN/ok.npz", "IN", "IN/empty.npz"]:
        cases.append((f"evaluate {v!r}", ["evaluate", "--checkpoint", v], "--checkpoint"))
        cases.append((f"evaluate CHECKPOINT={v!r}", ["evaluate", v], "CHECKPOINT"))
    tsne_inputs = [
        "IN/missing.npy",
        "IN/empty.npy",
        "IN/liar.npy",
        "IN/truncated.npz",
        "IN/y2d.npz",
        "IN/complex.npz",
        "IN/damaged.csv",
        "IN/notes.txt",
        "IN/dir.npz",
    ]
    for v in tsne_inputs:
        cases.append((f"tsne {v!r}", ["tsne", v, "--out", "o.png", "--quiet"], "INPUT"))
    tsne_options = {
        "--perplexity": FLOAT_BAD + ["0", "-5", "1000"],
        "--max-iter": INT_BAD + ["0", "-1"],
        "--n-components": INT_BAD + ["0", "-1"],
        "--seed": ["abc", "1.5", "", "nan", "-1"],
        "--method": ["bogus"],
        "--init": ["bogus"],
    }
    for option, values in tsne_options.items():
        for v in values:
            argv = ["tsne", "IN/X.npy", "--out", "o.png", "--quiet", f"{option}={v}"]
            cases.append((f"tsne {option}={v!r}", argv, option))
    for v in ["", "o.jpg"]:
        cases.append((f"tsne --out={v!r}", ["tsne", "IN/X.npy", "--quiet", "--out", v], "--out"))
    for v in ["0", "10", "abc", ""]:
        cases.append((f"answers --section={v!r}", ["answers", f"--section={v}"], "--section"))
    check = [
        "check-grad",
        "--f",
        "sum(W @ x)",
        "--wrt",
        "W",
        "--grad",
        "outer(ones(3), x)",
        "--shape",
        "W=3x4",
        "x=4",
    ]
    check_options = {
        "--trials": INT_BAD + ["0", "-1"],
        "--seed": INT_BAD + ["-1"],
        "--tol": FLOAT_BAD + ["-1"],
    }
    for option, values in check_options.items():
        for v in values:
            cases.append((f"check-grad {option}={v!r}", check + [f"{option}={v}"], option))
    for v in ["", "__import__('os')", "W.__class__", "lambda: 1", "sum(W) ** 10**10", "(" * 500]:
        argv = ["check-grad", "--f", v, "--wrt", "W", "--grad", "W", "--shape", "W=3"]
        cases.append((f"check-grad --f={v[:20]!r}", argv, "--f"))
    for v in ["x=", "x=0x3", "x=-2", "x=10000000x10000000", "=3", "x"]:
        argv = ["check-grad", "--f", "sum(x)", "--wrt", "x", "--grad", "1 + 0 * x", "--shape", v]
        cases.append((f"check-grad --shape={v!r}", argv, "--shape"))
    optimize_options = {
        "--function": ["bogus"],
        "--optimizers": ["bogus", "", "adam,,sgd"],
        "--steps": INT_BAD + ["0", "-1"],
        "--lr": FLOAT_BAD + ["-1", "0"],
        "--start": ["1", "a,b", "nan,1", "inf,0", ""],
        "--tol": FLOAT_BAD + ["-1"],
        "--out": ["", " ", "x.txt"],
    }
    for option, values in optimize_options.items():
        for v in values:
            cases.append((f"optimize {option}={v!r}", ["optimize", f"{option}={v}"], option))
    for argv, what in [
        (["bench", "nosuch"], "NAME"),
        (["bench", "--markdown", "", "topk"], "--markdown"),
        (["bench", "--json", "IN", "topk"], "--json"),
        (["bench", "--json", "IN/nodir/x.json", "topk"], "--json"),
    ]:
        cases.append((" ".join(argv), argv, what))
    for to, out in [("torch", "m.onnx"), ("onnx", "m.pt2"), ("onnx", "IN/ok.npz")]:
        argv = ["export", "IN/ok.npz", "--to", to, "--out", out]  # wrote torch under .onnx
        cases.append((f"export --to={to} --out={out!r}", argv, "--out"))
    for formula, point in [("log(x)", "x=-1"), ("x / y", "x=1,y=0"), ("sqrt(x)", "x=0")]:
        argv = ["graph", "--f", formula, "--at", point, "--out", "g.png"]  # drew "value nan"
        cases.append((f"graph --f={formula!r} --at={point!r}", argv, "--at"))
    return cases


CASES = _cases()


def _area(argv, what) -> str:
    if argv[0] == "check-grad" and what in ("--f", "--grad"):
        return "check-grad/grade formulas"
    if any(a.startswith("IN/") or a == "IN" or a.startswith("mnist:IN") for a in argv):
        return "hostile files"
    return "CLI commands"


@pytest.mark.parametrize("argv, what", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_command_line_is_one_line_and_exit_2(files, tmp_path, monkeypatch, argv, what):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    area = _area(argv, what)
    argv = [a.replace("IN", str(files)) for a in argv]
    outcome, code, out, err = run_cli(argv, area, what)
    assert outcome == "refused", f"{outcome}: exit {code}; stderr: {err!r}; stdout: {out[-300:]!r}"
    line = err.strip()
    assert line.startswith(f"verigrad {argv[0]}: error:") or "usage" in line or "error:" in line
    assert os.listdir(work) == [], f"wrote {os.listdir(work)}"
