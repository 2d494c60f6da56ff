"""``verigrad tsne``: inputs, outputs, labels and bad input (exit 2)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from verigrad.cli import main


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tsne_cli")
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(40, 5)), rng.normal(size=(40, 5)) + 20])
    y = np.repeat([3, 7], 40)
    np.save(root / "X.npy", X)
    np.savez(root / "Xy.npz", X=X, y=y)
    with open(root / "X.csv", "w") as fh:
        fh.write("a,b,c,d,e,kind\n")
        for row, label in zip(X, y, strict=True):
            fh.write(",".join(f"{v:.17g}" for v in row) + f",{label}\n")
    np.savetxt(root / "labels.txt", y, fmt="%d")
    return root, X, y


FAST = ["--max-iter", "60", "--quiet", "--seed", "1"]


@pytest.mark.parametrize(
    "source, extra",
    [
        ("X.npy", []),
        ("Xy.npz", []),
        ("X.csv", ["--labels", "kind"]),
        ("X.csv", ["--labels", "5"]),
        ("X.npy", ["--labels", "LABELS"]),
    ],
)
def test_writes_png_npy_csv(data, source, extra):
    root, X, y = data
    out = root / f"out_{source}_{len(extra)}_{extra[-1] if extra else ''}.png"
    extra = [str(root / "labels.txt") if e == "LABELS" else e for e in extra]
    assert main(["tsne", str(root / source), "--out", str(out)] + extra + FAST) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    Y = np.load(out.with_suffix(".npy"))
    assert Y.shape == (80, 2) and np.all(np.isfinite(Y))
    lines = out.with_suffix(".csv").read_text().splitlines()
    assert len(lines) == 81
    if extra or source.endswith(".npz"):
        assert lines[0] == "dim0,dim1,label" and lines[1].endswith(",3")
        np.testing.assert_allclose([float(v) for v in lines[1].split(",")[:2]], Y[0], rtol=1e-8)
    else:
        assert lines[0] == "dim0,dim1"


def test_same_embedding_from_every_format(data):
    root, _, _ = data
    a = np.load(root / "out_X.npy_0_.npy")
    b = np.load(root / "out_X.csv_2_kind.npy")
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.npy"], "no such file"),
        (["X.csv", "--labels", "nope"], "--labels"),
        (["X.npy", "--labels", "kind"], "--labels"),
        (["X.npy", "--perplexity", "200"], "--perplexity: must be less than n_samples=80"),
        (["X.npy", "--method", "fft", "--n-components", "3"], "--n-components: must be 1 or 2"),
        (["X.npy", "--n-components", "0"], "--n-components: must be in [1, 1000], got 0"),
        (["labels.txt"], "unsupported file type"),
        (["bad.csv"], "non-numeric"),
        (["nan.npy"], "INPUT: contains 1 NaN"),
        (["X.npy", "--labels", "ROOT/nan_labels.npy"], "--labels: contains 1 NaN"),
        (["nan_label.csv", "--labels", "kind"], "--labels: contains 1 NaN"),
        (["nan_y.npz"], "INPUT: array 'y'"),
        (["empty.npy"], "INPUT: t-SNE needs more than 3 samples, got n_samples=0"),
        (["empty3d.npy"], "INPUT: t-SNE needs more than 3 samples, got n_samples=0"),
        (["three.npy"], "INPUT: t-SNE needs more than 3 samples, got n_samples=3"),
        (["header.csv"], "INPUT: t-SNE needs more than 3 samples, got n_samples=0"),
        (["X.npy", "--seed", "-1"], "--seed: must be a non-negative integer, got -1"),
        (["X.npy", "--perplexity", "1e-9"], "--perplexity: must be >= 1"),
        (["X.npy", "--perplexity", "nan"], "--perplexity: must be >= 1"),
    ],
)
def test_bad_input_exits_2(data, capsys, args, message):
    root, X, y = data
    (root / "bad.csv").write_text("1,2,3\n4,x,6\n7,8,9\n1,1,1\n5,5,5\n")
    bad = X.copy()
    bad[0, 0] = np.nan
    np.save(root / "nan.npy", bad)
    np.save(root / "empty.npy", np.zeros((0, 5)))
    np.save(root / "empty3d.npy", np.zeros((0, 2, 3)))
    np.save(root / "three.npy", X[:3])
    (root / "header.csv").write_text("a,b,c\n")
    labels = y.astype(float)
    labels[5] = np.nan
    np.save(root / "nan_labels.npy", labels)
    np.savez(root / "nan_y.npz", X=X, y=labels)
    rows = [
        ",".join(f"{v:.17g}" for v in row) + f",{k:g}" for row, k in zip(X, labels, strict=True)
    ]
    (root / "nan_label.csv").write_text("a,b,c,d,e,kind\n" + "\n".join(rows) + "\n")
    rest = [str(root / a[5:]) if a.startswith("ROOT/") else a for a in args[1:]]
    # not bad.png: its embedding would be bad.csv, an input (refused before it is read)
    argv = ["tsne", str(root / args[0]), "--out", str(root / "refused.png")] + FAST + rest
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_refused_max_iter_shows_no_progress_bar(data, capsys):
    """The bar is made at the first iteration, after fit has checked --max-iter: a huge value
    (whose bar would be forced on, even off a terminal) leaves the one error line alone."""
    root, _, _ = data
    argv = ["tsne", str(root / "X.npy"), "--out", str(root / "refused.png")]
    assert main(argv + ["--max-iter", "100000000000000000000000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("verigrad tsne: error: --max-iter: must be in [1, 10000000]")
    assert "t-SNE" not in err and len(err.strip().splitlines()) == 1


def test_subprocess_run(data):
    root, _, _ = data
    out = root / "sub" / "plot.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "verigrad",
            "tsne",
            str(root / "Xy.npz"),
            "--out",
            str(out),
            "--max-iter",
            "30",
            "--method",
            "exact",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr
    assert "embedded 80 points" in result.stdout
    assert out.exists() and out.with_suffix(".npy").exists() and out.with_suffix(".csv").exists()


def test_auto_method_picks_exact_for_small_inputs(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "small.npy", rng.standard_normal((60, 5)))
    assert (
        main(
            [
                "tsne",
                str(tmp_path / "small.npy"),
                "--out",
                str(tmp_path / "s.png"),
                "--perplexity",
                "10",
                "--max-iter",
                "300",
                "--quiet",
            ]
        )
        == 0
    )
    Y = np.load(tmp_path / "s.npy")
    from verigrad.manifold import TSNE

    ref = TSNE(perplexity=10, max_iter=300, method="exact", random_state=0).fit_transform(
        np.load(tmp_path / "small.npy")
    )
    np.testing.assert_allclose(Y, ref)


@pytest.mark.parametrize(
    "n_components, note", [(3, "plot shows dimensions 0 and 1 of 3"), (1, "random jitter")]
)
def test_plot_says_what_it_does_not_show(data, capsys, monkeypatch, n_components, note):
    """--method auto picks exact for more than 2 components (fft embeds in 1 or 2 only); a
    3-D embedding is plotted by its first two dimensions and a 1-D one against jitter, which
    the plot title and the printed summary say."""
    import verigrad.plots

    root, _, _ = data
    titles = []
    plot = verigrad.plots.plot_embedding

    def spy(Y, path, labels=None, title="", **options):
        titles.append(title)
        return plot(Y, path, labels=labels, title=title, **options)

    monkeypatch.setattr(verigrad.plots, "plot_embedding", spy)
    out = root / f"components_{n_components}.png"
    argv = ["tsne", str(root / "X.npy"), "--out", str(out), "--max-iter", "60"]
    assert main(argv + ["--n-components", str(n_components)]) == 0
    assert np.load(out.with_suffix(".npy")).shape == (80, n_components)
    assert out.with_suffix(".csv").read_text().splitlines()[0].count("dim") == n_components
    assert len(titles) == 1 and note in titles[0] and "(exact," in titles[0]
    assert note in capsys.readouterr().out
