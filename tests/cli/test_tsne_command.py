"""``verigrad tsne``: outputs never overwrite inputs, labels coloured as they are, --help."""

import os

import numpy as np
import pytest

from verigrad.cli import main

FAST = ["--max-iter", "30", "--quiet"]


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    with open(tmp_path / "data.csv", "w") as fh:
        fh.write("a,b,c,d\n")
        for row in X:
            fh.write(",".join(f"{v:.17g}" for v in row) + "\n")
    np.save(tmp_path / "emb.npy", X)
    np.savez(tmp_path / "set.npz", X=X)
    np.savetxt(tmp_path / "lab.csv", np.arange(60) % 3, fmt="%d")
    return tmp_path


def _snapshot(directory):
    return {p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "argv",
    [
        ["tsne", "data.csv", "--out", "data.png"],  # data.csv rewritten as the embedding
        ["tsne", "emb.npy", "--out", "emb.png"],  # emb.npy rewritten as the embedding
        ["tsne", "emb.npy", "--out", "./sub/../emb.png"],  # another spelling of the same file
        ["tsne", "emb.npy", "--out", "link.png"],  # link.npy is a symlink to emb.npy
        ["tsne", "emb.npy", "--labels", "lab.csv", "--out", "lab.png"],  # the labels file
    ],
)
def test_refuses_an_out_that_would_overwrite_an_input(inputs, monkeypatch, capsys, argv):
    monkeypatch.chdir(inputs)
    (inputs / "sub").mkdir()
    os.symlink(inputs / "emb.npy", inputs / "link.npy")
    before = _snapshot(inputs)
    assert main(argv + FAST) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("verigrad tsne: error: --out:"), err
    assert "choose another --out" in err
    assert _snapshot(inputs) == before  # nothing written, nothing overwritten


def test_an_out_beside_the_input_under_another_name_works(inputs, monkeypatch):
    monkeypatch.chdir(inputs)
    assert main(["tsne", "data.csv", "--out", "data-tsne.png", *FAST]) == 0
    assert np.load("data-tsne.npy").shape == (60, 2)
    assert (inputs / "data.csv").read_text().startswith("a,b,c,d\n")


def test_a_continuous_label_column_gets_a_colorbar_and_a_class_column_a_legend(
    tmp_path, monkeypatch
):
    import verigrad.plots

    figures = []
    monkeypatch.setattr(verigrad.plots, "save_figure", lambda fig, path: figures.append(fig))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(66, 3))
    width = np.round(np.linspace(0.1, 2.5, 66), 1)  # like iris.csv's column d: 25 values
    species = np.arange(66) % 3
    with open(tmp_path / "t.csv", "w") as fh:
        fh.write("a,b,c,d,species\n")
        for row, w, s in zip(X, width, species, strict=True):
            fh.write(",".join(f"{v:.6g}" for v in row) + f",{w},{s}\n")
    for column in ("d", "species"):
        out = tmp_path / f"{column}.png"
        assert (
            main(["tsne", str(tmp_path / "t.csv"), "--labels", column, "--out", str(out), *FAST])
            == 0
        )
    continuous, classes = figures
    assert len(continuous.axes) == 2 and continuous.axes[0].get_legend() is None
    assert continuous.axes[1].get_ylabel() == "d"
    assert len(classes.axes) == 1
    assert classes.axes[0].get_legend().get_title().get_text() == "species"
