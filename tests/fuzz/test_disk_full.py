"""A full disk and a read-only output: one line naming the option and the file, exit 2.

ENOSPC is faked by patching the write (``os.replace`` of the named file, or ``open`` for the
graph picture); one real case mounts a 64 KiB tmpfs and fills it (skipped only where mount
is refused). The contract: exit 2, one line ``verigrad CMD: error: --OPTION: cannot write
FILE: No space left on device``, no traceback, no ``.tmp-*`` file left, a previous checkpoint
still loads.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.campaign import classify_cli, examples, record, run_cli
from verigrad.io import TEMPORARY_PREFIX
from verigrad.training import TrainConfig, Trainer, load_checkpoint, load_model

ENOSPC = os.strerror(errno.ENOSPC)


def _full_at(monkeypatch, name):
    """Make the atomic write of a file called ``name`` fail with ENOSPC."""
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.path.basename(os.fspath(dst)) == name:
            raise OSError(errno.ENOSPC, ENOSPC)
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _temporaries(directory):
    return [
        os.path.join(root, f)
        for root, _, files in os.walk(directory)
        for f in files
        if f.startswith(TEMPORARY_PREFIX)
    ]


def _refused(argv, option, path, area="disk full"):
    outcome, code, out, err = run_cli(argv, area, option)
    assert outcome == "refused", f"{outcome}: exit {code}; {err!r}"
    assert err.strip() == (f"verigrad {argv[0]}: error: {option}: cannot write {path}: {ENOSPC}"), (
        err
    )
    return out


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    Trainer(TrainConfig(model="softmax", epochs=1), run).run(progress=False, log=None)
    return str(run / "model.npz")


TRAIN = ["train", "--model", "softmax", "--epochs", "1", "--no-tsne", "--quiet"]


@pytest.mark.parametrize(
    "name",
    [
        "model.npz",
        "curves.png",
        pytest.param("metrics.json", marks=pytest.mark.fuzz_full),
        pytest.param("confusion.png", marks=pytest.mark.fuzz_full),
        pytest.param("report.html", marks=pytest.mark.fuzz_full),
    ],
)
def test_train_names_out_and_the_file(tmp_path, monkeypatch, name):
    _full_at(monkeypatch, name)
    run = str(tmp_path / "run")
    _refused([*TRAIN, "--out", run], "--out", os.path.join(run, name))
    assert _temporaries(tmp_path) == []
    if name != "model.npz":
        assert load_model(os.path.join(run, "model.npz")) is not None


def test_a_resumed_run_names_resume(tmp_path, monkeypatch):
    """The directory a resumed run writes to was given by --resume, not --out."""
    run = str(tmp_path / "run")
    assert run_cli([*TRAIN, "--out", run], "disk full")[0] == "accepted"
    _full_at(monkeypatch, "model.npz")
    _refused(
        ["train", "--resume", run, "--epochs", "2", "--no-tsne", "--quiet"],
        "--resume",
        os.path.join(run, "model.npz"),
    )
    assert load_model(os.path.join(run, "model.npz")) is not None


def test_train_without_out_names_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _full_at(monkeypatch, "model.npz")
    outcome, code, out, err = run_cli(TRAIN, "disk full", "--out")
    assert outcome == "refused", err
    assert "--out: cannot write runs/" in err and f"model.npz: {ENOSPC}" in err


def test_a_full_disk_mid_run_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    run = str(tmp_path / "run")
    assert run_cli([*TRAIN, "--out", run], "disk full")[0] == "accepted"
    _full_at(monkeypatch, "model.npz")
    _refused(["train", "--resume", run, "--epochs", "2", "--quiet"], "--resume", f"{run}/model.npz")
    assert load_checkpoint(os.path.join(run, "model.npz"))[1]["epoch"] == 1
    assert _temporaries(tmp_path) == []


def test_a_read_only_out_is_refused_before_training(tmp_path, monkeypatch):
    import tempfile

    run = tmp_path / "ro"
    run.mkdir()
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and os.path.samefile(dir, run):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(Trainer, "train_epoch", lambda *a, **k: pytest.fail("trained"))
    outcome, code, out, err = run_cli(TRAIN[:-1] + ["--out", str(run)], "disk full", "--out")
    assert outcome == "refused", err
    assert err.strip() == (
        f"verigrad train: error: --out: cannot write in {run}: {os.strerror(errno.EROFS)}"
    )
    assert out == ""


@examples(ci=2, campaign=15)
@given(k=st.integers(1, 8))
def test_train_with_the_kth_write_failing(tmp_path_factory, k):
    """Any write of a run (checkpoints of 3 epochs, metrics, figures, report) failing."""
    base = tmp_path_factory.mktemp("kth")
    run = str(base / "run")
    real, count = os.replace, [0]
    failed = []

    def replace(src, dst, *args, **kwargs):
        count[0] += 1
        if count[0] == k:
            failed.append(os.fspath(dst))
            raise OSError(errno.ENOSPC, ENOSPC)
        return real(src, dst, *args, **kwargs)

    os.replace = replace
    try:
        argv = ["train", "--model", "softmax", "--epochs", "3", "--no-tsne", "--quiet"]
        outcome, code, out, err = run_cli([*argv, "--out", run], "disk full", "--out")
    finally:
        os.replace = real
    if failed:
        assert outcome == "refused", err
        assert f"--out: cannot write {failed[0]}: {ENOSPC}" in err
    else:
        assert outcome == "accepted", err
    assert _temporaries(base) == []


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, np.random.default_rng(0).random((40, 5)))
    return str(path)


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".png"])
def test_tsne_names_out(tmp_path, monkeypatch, table, suffix):
    _full_at(monkeypatch, "emb" + suffix)
    out = str(tmp_path / "emb.png")
    argv = ["tsne", table, "--out", out, "--max-iter", "250", "--quiet"]
    _refused(argv, "--out", out[: -len(".png")] + suffix)
    assert _temporaries(tmp_path) == []


def test_optimize_names_out(tmp_path, monkeypatch):
    _full_at(monkeypatch, "o.png")
    out = str(tmp_path / "o.png")
    _refused(["optimize", "--steps", "20", "--optimizers", "sgd", "--out", out], "--out", out)


def test_answers_names_html(tmp_path, monkeypatch):
    _full_at(monkeypatch, "a.html")
    out = str(tmp_path / "a.html")
    _refused(["answers", "--section", "1", "--html", out], "--html", out)


@pytest.mark.parametrize("option", ["--json", "--html"])
def test_grade_names_its_output(tmp_path, monkeypatch, option):
    sheet = os.path.join(os.path.dirname(__file__), "..", "grading", "data", "chain-rule.txt")
    name = "g" + option.replace("--", ".")
    _full_at(monkeypatch, name)
    out = str(tmp_path / name)
    _refused(["grade", sheet, option, out], option, out)


@pytest.mark.parametrize(
    "to, name", [("onnx", "m.onnx"), pytest.param("torch", "m.pt2", marks=pytest.mark.fuzz_full)]
)
def test_export_names_out(tmp_path, monkeypatch, checkpoint, to, name):
    pytest.importorskip("onnx" if to == "onnx" else "torch")
    _full_at(monkeypatch, name)
    out = str(tmp_path / name)
    _refused(["export", checkpoint, "--to", to, "--out", out], "--out", out)


def test_compact_names_out(tmp_path, monkeypatch, checkpoint):
    _full_at(monkeypatch, "c.npz")
    out = str(tmp_path / "c.npz")
    _refused(["compact", checkpoint, "--out", out, "--repeats", "1"], "--out", out)


def test_graph_names_out(tmp_path, monkeypatch):
    from verigrad import drawing

    def full(path, mode="r", *args, **kwargs):
        if "w" in mode:
            raise OSError(errno.ENOSPC, ENOSPC)
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(drawing, "open", full, raising=False)
    out = str(tmp_path / "g.svg")
    _refused(["graph", "--f", "x * y", "--at", "x=1,y=2", "--out", out], "--out", out)


@pytest.mark.fuzz_full
def test_bench_names_json(tmp_path, monkeypatch):
    _full_at(monkeypatch, "b.json")
    out = str(tmp_path / "b.json")
    outcome, code, _, err = run_cli(["bench", "--quick", "--json", out, "topk"], "disk full")
    # bench reports its progress on stderr ("running topk ..."): the error is the last line
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        f"verigrad bench: error: --json: cannot write {out}: {ENOSPC}"
    ), err


# ---------------------------------------------------------------------------- a real tmpfs
def _mount_tmpfs(directory, size="64k", options=""):
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "tmpfs", str(directory)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"mount refused: {exc}")
    if done.returncode != 0:
        pytest.skip(f"mount refused: {done.stderr.strip()}")


def _verigrad(*argv):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    env.pop("VERIGRAD_DEBUG", None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "verigrad", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    elapsed = time.perf_counter() - start
    record("disk full", classify_cli(done.returncode, done.stderr, "--out", elapsed, 300))
    return done


def test_a_real_full_tmpfs(tmp_path):
    """Train into a 64 KiB tmpfs: the epoch's checkpoint fits, the figures do not; then a
    resumed run's next checkpoint does not fit, and the first still loads. Read-only, the
    same file system refuses a new run before training."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    _mount_tmpfs(mount)
    try:
        run = mount / "run"
        done = _verigrad(*TRAIN, "--no-progress", "--out", str(run))
        line = done.stderr.strip()
        assert done.returncode == 2 and len(line.splitlines()) == 1, done.stderr
        assert line.startswith(f"verigrad train: error: --out: cannot write {run}/"), line
        assert line.endswith(ENOSPC) and "Traceback" not in line, line
        assert _temporaries(mount) == []
        assert load_checkpoint(run / "model.npz")[1]["epoch"] == 1
        try:  # fill whatever room is left
            with open(mount / "filler", "wb") as fh:
                while True:
                    fh.write(b"\0" * 1024)
                    fh.flush()
        except OSError:
            pass
        done = _verigrad("train", "--resume", str(run), "--epochs", "2", "--quiet")
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == (
            f"verigrad train: error: --resume: cannot write {run}/model.npz: {ENOSPC}"
        )
        assert _temporaries(mount) == []
        assert load_checkpoint(run / "model.npz")[1]["epoch"] == 1
        assert load_model(run / "model.npz") is not None
        os.unlink(mount / "filler")
        (mount / "empty").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True, timeout=30)
        done = _verigrad(*TRAIN[:-1], "--out", str(mount / "empty"))
        assert done.returncode == 2 and done.stdout == "", done
        assert done.stderr.strip() == (
            f"verigrad train: error: --out: cannot write in {mount / 'empty'}: "
            f"{os.strerror(errno.EROFS)}"
        )
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, timeout=30)
