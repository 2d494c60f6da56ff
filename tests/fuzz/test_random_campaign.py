"""The random part of the campaign: bad option values for every command, mutated files,
random formulas, runs killed at random moments.

Few examples in the fast slice (CI), many with ``VERIGRAD_FUZZ=campaign`` (see
:mod:`tests.fuzz.campaign`); every example is counted in the campaign's figures.
"""

from __future__ import annotations

import argparse
import gzip
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.campaign import call_library, examples, run_cli
from verigrad.cli import build_parser
from verigrad.data import load_dataset
from verigrad.data.tables import load_table
from verigrad.io import TEMPORARY_PREFIX
from verigrad.training import TrainConfig, Trainer, load_checkpoint, load_model


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Valid inputs each command needs besides the option under test."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(0)
    np.save(d / "X.npy", rng.random((40, 5)))
    np.savez(d / "data.npz", X=rng.random((60, 1, 6, 6)).astype(np.float32), y=np.arange(60) % 3)
    (d / "X.csv").write_text("a,b,c\n" + "\n".join(f"{i},{i % 3},{i * 0.5}" for i in range(30)))
    run = d / "run"
    Trainer(TrainConfig(model="softmax", epochs=1), run).run(progress=False, log=None)
    (d / "sheet.txt").write_text("2 Softmax regression\n2.1 Derivation\n$$x = 1$$\n")
    mnist = d / "mnist"
    mnist.mkdir()
    for name, array in [
        ("train-images-idx3-ubyte", (rng.random((20, 4, 4)) * 255).astype(np.uint8)),
        ("train-labels-idx1-ubyte", (np.arange(20) % 3).astype(np.uint8)),
        ("t10k-images-idx3-ubyte", (rng.random((6, 4, 4)) * 255).astype(np.uint8)),
        ("t10k-labels-idx1-ubyte", (np.arange(6) % 3).astype(np.uint8)),
    ]:
        header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
            n.to_bytes(4, "big") for n in array.shape
        )
        (mnist / (name + ".gz")).write_bytes(gzip.compress(header + array.tobytes()))
    return d


def _base(command, d):
    """A valid command line of ``command`` that does little work, ``OUT`` for outputs."""
    check = ["--f", "sum(W @ x)", "--wrt", "W", "--grad", "outer(ones(3), x)"]
    return {
        "train": [
            *("train", "--quiet", "--model", "softmax", "--epochs", "1", "--no-tsne"),
            *("--out", "OUT/run"),
        ],
        "evaluate": ["evaluate", f"{d}/run/model.npz"],
        "tsne": ["tsne", f"{d}/X.npy", "--out", "OUT/o.png", "--quiet", "--max-iter", "250"],
        "answers": ["answers", "--section", "1"],
        "check-grad": ["check-grad", *check, "--shape", "W=3x4", "x=4"],
        "optimize": ["optimize", "--steps", "20", "--out", "OUT/o.png"],
        "bench": ["bench", "--quick"],
        "grade": ["grade", f"{d}/sheet.txt"],
        "compact": ["compact", f"{d}/run/model.npz", "--out", "OUT/c.npz"],
        "export": ["export", f"{d}/run/model.npz", "--to", "onnx", "--out", "OUT/m.onnx"],
        "graph": ["graph", "--f", "x * y", "--at", "x=1,y=2", "--out", "OUT/g.svg"],
    }[command]


def _options():
    """``(command, option, kind)`` for every option that takes a value: ``number`` (int or
    float), ``choice`` or ``file`` (a path that must exist)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    files = {"--data", "--checkpoint", "--resume", "--labels", "INPUT", "CHECKPOINT", "SHEET"}
    found = []
    for command, p in sub.choices.items():
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._StoreTrueAction)):
                continue
            name = (action.option_strings or [action.metavar or action.dest.upper()])[0]
            if action.type in (int, float):
                found.append((command, name, "number"))
            elif action.choices:
                found.append((command, name, "choice"))
            elif name in files:
                found.append((command, name, "file"))
    return found


OPTIONS = _options()

BAD_NUMBERS = ["nan", "inf", "-inf", "", "1e999", "0x1p3", "1_0_", "--", " ", "1e"]
junk = st.text(
    st.characters(blacklist_categories=("Cs", "Nd"), blacklist_characters="\0"),
    min_size=1,
    max_size=12,
)


def _bad_value(kind):
    if kind == "number":
        return st.one_of(st.sampled_from(BAD_NUMBERS), junk, st.integers(max_value=-1).map(str))
    if kind == "choice":
        return junk
    return junk.map(lambda s: "nosuch/" + s.replace("/", "_"))


@examples(ci=15, campaign=400)
@given(data=st.data())
def test_random_bad_option_values(inputs, tmp_path_factory, data):
    command, option, kind = data.draw(st.sampled_from(OPTIONS), label="option")
    value = data.draw(_bad_value(kind), label="value")
    out = tmp_path_factory.mktemp("out")
    argv = [a.replace("OUT", str(out)) for a in _base(command, inputs)]
    if option.startswith("--"):
        argv.append(f"{option}={value}")
    else:  # a positional: replace the valid one the base line gave
        position = 1
        argv[position] = value
    if command == "answers" and option == "--section":
        argv = ["answers", f"--section={value}"]
    outcome, code, stdout, err = run_cli(argv, "CLI commands", option)
    assert outcome == "refused", f"{argv}: {outcome}, exit {code}: {err!r}"


# ------------------------------------------------------------------------- mutated files
def _mutate(raw: bytes, draw) -> bytes:
    raw = bytearray(raw)
    for _ in range(draw(st.integers(1, 4), label="mutations")):
        how = draw(st.sampled_from(["truncate", "overwrite", "insert", "zero"]), label="how")
        at = draw(st.integers(0, max(len(raw) - 1, 0)), label="at")
        if how == "truncate":
            del raw[at:]
        elif how == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16), label="bytes")
            raw[at : at + len(chunk)] = chunk
        elif how == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=16), label="bytes")
        else:
            raw[at : at + 8] = b"\0" * len(raw[at : at + 8])
    return bytes(raw)


FILES = {
    "data.npz": lambda p, d: load_dataset(str(p)),
    "X.npy": lambda p, d: load_table(str(p)),
    "X.csv": lambda p, d: load_table(str(p), labels="b"),
    "run/model.npz": lambda p, d: load_model(p),
    "mnist/train-images-idx3-ubyte.gz": lambda p, d: load_dataset(f"mnist:{d}"),
    "mnist/train-labels-idx1-ubyte.gz": lambda p, d: load_dataset(f"mnist:{d}"),
}


def _arrays(result):
    if isinstance(result, tuple):
        return [r for r in result if isinstance(r, np.ndarray)]
    return [p.data for p in result.parameters()]  # a model


@examples(ci=30, campaign=1000)
@given(data=st.data())
def test_mutated_files_load_or_are_refused(inputs, tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(FILES)), label="file")
    raw = _mutate((inputs / name).read_bytes(), data.draw)
    d = tmp_path_factory.mktemp("mutated")
    if name.startswith("mnist/"):
        mnist = d / "mnist"
        mnist.mkdir()
        for f in os.listdir(inputs / "mnist"):
            (mnist / f).write_bytes((inputs / "mnist" / f).read_bytes())
        d = mnist
        path = d / os.path.basename(name)
    else:
        path = d / os.path.basename(name)
    path.write_bytes(raw)
    outcome, result = call_library(
        lambda: _arrays(FILES[name](path, d)), None, "hostile files", valid_ok=True
    )
    assert outcome in ("refused", "accepted"), f"{name}: {outcome}: {result!r}"
    if outcome == "refused":
        assert getattr(result, "param", None) is not None, repr(result)


# ------------------------------------------------------------------------------- formulas
TOKENS = [
    "W",
    "x",
    "@",
    "+",
    "-",
    "*",
    "/",
    "**",
    "(",
    ")",
    "sum(",
    "exp(",
    "log(",
    "T(",
    "softmax(",
    "outer(",
    "norm(",
    ",",
    "[0]",
    "[1:3]",
    "2",
    "1e308",
    "10**10",
    "0",
]
LATEX = [
    "x_j",
    "y_i",
    "W_{ij}",
    "\\frac{",
    "}{",
    "}",
    "{",
    "^{",
    "_{",
    "\\sum_k",
    "\\sigma(",
    ")",
    "\\exp(",
    "\\log",
    "+",
    "-",
    "=",
    "\\cdot",
    "10^{10^{10}}",
    "\\sqrt{",
    "\\left(",
    "\\right)",
    "\\partial",
    "\\hat y_i",
    "1",
]


@examples(ci=30, campaign=500)
@given(tokens=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=30))
def test_random_check_grad_formulas(tmp_path_factory, tokens):
    formula = " ".join(tokens)
    argv = ["check-grad", "--f", formula, "--wrt", "W", "--grad", "W", "--shape", "W=3x4", "x=4"]
    outcome, code, out, err = run_cli(argv, "check-grad/grade formulas", ("--f", "--grad"))
    assert outcome in ("refused", "accepted"), f"{formula!r}: {outcome}: {err!r}"


@examples(ci=15, campaign=200)
@given(tokens=st.lists(st.sampled_from(LATEX), min_size=1, max_size=40))
def test_random_latex_answers_are_graded(tokens):
    from verigrad.grading import grade_text, parse_sheet

    sheet = "2 Softmax regression\n2.1 Derivation\n$$\\frac{\\partial l}{\\partial W_{ij}} = "
    sheet += " ".join(tokens) + "$$\n"
    outcome, result = call_library(
        lambda: grade_text(parse_sheet(sheet)), None, "check-grad/grade formulas", 20, True
    )
    assert outcome == "accepted", f"{tokens}: {outcome}: {result!r}"


# ---------------------------------------------------------------------------- kill/resume
@examples(ci=1, campaign=6)
@given(delay=st.floats(0.0, 1.0))
def test_a_run_killed_at_any_moment_resumes(tmp_path_factory, delay):
    """SIGKILL a training process once its first checkpoint exists, at a random moment after;
    a stale temporary file of every output is planted too. The resumed run clears them all
    and completes; the checkpoint is whole at every step."""
    from tests.fuzz.campaign import record

    run = tmp_path_factory.mktemp("killed") / "run"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    argv = [sys.executable, "-m", "verigrad", "train", "--model", "softmax", "--epochs", "40",
            "--no-tsne", "--quiet", "--no-progress", "--out", str(run)]  # fmt: skip
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (run / "model.npz").exists() and process.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.02)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    for name in ("model.npz", "metrics.json", "curves.png", "report.html"):
        (run / f"{TEMPORARY_PREFIX}abcd1234{name}").write_bytes(b"torn")
    epoch = load_checkpoint(run / "model.npz")[1]["epoch"]  # whole, never torn
    if epoch >= 40:  # the run finished before the signal
        record("kill/resume", "accepted")
        return
    outcome, code, out, err = run_cli(
        ["train", "--resume", str(run), "--quiet", "--no-tsne"], "kill/resume", budget=120
    )
    assert outcome == "accepted" and code == 0, err
    assert not [f for f in os.listdir(run) if f.startswith(TEMPORARY_PREFIX)]
    assert load_checkpoint(run / "model.npz")[1]["epoch"] == 40
