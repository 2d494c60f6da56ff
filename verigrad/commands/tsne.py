"""``verigrad tsne INPUT --out plot.png``: embed a data set with t-SNE and plot it."""

from __future__ import annotations

import os

from .._checks import ParameterError

HELP = "embed data (.npy, .npz, .csv) with t-SNE and plot it"
DESCRIPTION = """Embed the rows of INPUT with t-SNE (verigrad.manifold.TSNE) and write a scatter
plot (PNG) plus the embedding next to it as .npy and .csv.

INPUT: .npy (a 2-D array; more dimensions are flattened per row), .npz (array 'X' and
optional labels 'y'), or .csv (numbers, optional header row). --labels colours the points:
a column of the CSV (index or header name, removed from the features) or a file of labels
(.npy, or text with one label per line); up to 20 distinct labels get a colour each and a
legend, more numeric ones (a measurement) a colour scale and a colorbar.

The other settings are TSNE's defaults: early exaggeration 12, learning rate "auto"
(max(N / 12 / 4, 50)). An --out whose .npy or .csv would overwrite INPUT is refused.

  verigrad tsne iris.csv --labels species --out iris-tsne.png"""


#: up to this many points ``--method auto`` runs the exact O(N^2) method
AUTO_EXACT_MAX = 1000

#: TSNE's early-exaggeration phase (verigrad.manifold.tsne.EXPLORATION_ITER), named in --help
#: without importing numpy at ``verigrad --help``
EXPLORATION_ITER = 250


def add_arguments(p):
    p.add_argument("input", metavar="INPUT", help="data file: .npy, .npz (X, optional y) or .csv")
    p.add_argument(
        "--out",
        required=True,
        metavar="PNG",
        help="plot to write (PNG); the embedding goes next to it as .npy and .csv",
    )
    p.add_argument(
        "--labels",
        metavar="COLUMN|FILE",
        help="CSV column (index or name) or a file of labels used to colour the points",
    )
    p.add_argument(
        "--perplexity",
        type=float,
        default=30.0,
        metavar="P",
        help="neighbours per point: at least 1, below the sample count (default 30)",
    )
    p.add_argument(
        "--method",
        choices=("auto", "fft", "exact"),
        default="auto",
        help=f"auto (default; TSNE's own default is fft): exact up to {AUTO_EXACT_MAX} points "
        "(faster there: the FFT grid has a fixed minimum size) or for --n-components above 2, "
        "fft otherwise",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed (default 0, so reruns repeat; TSNE's own default is None)",
    )
    p.add_argument(
        "--max-iter",
        type=int,
        default=1000,
        dest="max_iter",
        metavar="N",
        help=f"iterations, the first {EXPLORATION_ITER} with early exaggeration 12 (default 1000)",
    )
    p.add_argument(
        "--n-components",
        type=int,
        default=2,
        dest="n_components",
        metavar="N",
        help="embedding dimensions (default 2; fft: 1 or 2; the plot shows the first two)",
    )
    p.add_argument(
        "--init",
        choices=("pca", "random"),
        default="pca",
        help="initial embedding: pca (default) or random (drawn with --seed)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")


#: TSNE's parameters set by options of another name (library parameter -> argparse dest)
PARAMETER_DESTS = {"random_state": "seed", "X": "input"}


def output_paths(out: str) -> list:
    """Every file ``verigrad tsne --out OUT`` writes: the plot and the embedding next to it."""
    stem = os.path.splitext(out)[0]
    return [out, stem + ".npy", stem + ".csv"]


def _refuse_overwriting_inputs(args) -> None:
    """Refuse (naming ``--out``) an ``--out`` whose plot or embedding files would overwrite
    INPUT or the ``--labels`` file: the embedding is written next to the plot under the same
    base name, so ``tsne data.csv --out data.png`` would replace data.csv."""
    from ..io import same_file

    inputs = [("INPUT", args.input)]
    if args.labels is not None and os.path.isfile(args.labels):
        inputs.append(("--labels", args.labels))
    for written in output_paths(args.out):
        for what, path in inputs:
            if same_file(path, written):
                raise ParameterError(
                    "out",
                    f"{args.out} would make verigrad tsne write {written}, which is the "
                    f"{what} file {path}; choose another --out name "
                    f"(e.g. {os.path.splitext(args.out)[0]}-tsne.png)",
                )


def run(args) -> int:
    import time

    import numpy as np

    from ..data.tables import load_table
    from ..io import atomic_write
    from ..manifold import TSNE
    from ..plots import plot_embedding

    if not args.out.lower().endswith(".png"):
        raise ValueError(f"--out: expected a .png path, got {args.out!r}")
    _refuse_overwriting_inputs(args)
    if not args.perplexity >= 1:  # also refuses nan
        raise ValueError(
            f"--perplexity: must be >= 1 (the effective number of neighbours), "
            f"got {args.perplexity:g}"
        )
    X, labels = load_table(args.input, args.labels)
    if len(X) <= 3:  # TSNE's own rule, named for the command line
        raise ParameterError(
            "input", f"t-SNE needs more than 3 samples, got n_samples={len(X)} in {args.input}"
        )
    if args.method == "auto":
        # the fft method embeds in 1 or 2 dimensions only; exact handles any number
        small = len(X) <= AUTO_EXACT_MAX
        args.method = "exact" if small or args.n_components > 2 else "fft"
    model = TSNE(
        n_components=args.n_components,
        perplexity=args.perplexity,
        max_iter=args.max_iter,
        init=args.init,
        method=args.method,
        random_state=args.seed,
    )
    bar = None

    def progress(iteration, total):
        # the bar appears with the first iteration: after fit has checked its settings, so a
        # refused --max-iter leaves the one-line error alone on the terminal
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(
                total=total,
                desc="t-SNE",
                unit="it",
                leave=False,
                disable=None if len(X) * total < 2_000_000 else False,
            )
        bar.update(iteration - bar.n)

    start = time.perf_counter()
    try:
        model.fit(X, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    Y = model.embedding_
    _, npy_path, csv_path = output_paths(args.out)
    atomic_write(npy_path, lambda fh: np.save(fh, Y), "out")
    header = ",".join(f"dim{k}" for k in range(Y.shape[1]))
    if labels is not None:
        table = np.column_stack([Y.astype(object), np.asarray(labels).astype(str)])
        text = (
            header
            + ",label\n"
            + "\n".join(",".join([f"{v:.9g}" for v in row[:-1]] + [str(row[-1])]) for row in table)
            + "\n"
        )
    else:
        text = header + "\n" + "\n".join(",".join(f"{v:.9g}" for v in row) for row in Y) + "\n"
    atomic_write(csv_path, lambda fh: fh.write(text.encode("utf-8")), "out")
    shown = Y[:, :2]
    note = _plot_note(Y.shape[1])
    title = (
        f"t-SNE ({args.method}, perplexity {args.perplexity:g}), N={len(X)}, "
        f"KL={model.kl_divergence_:.3f}"
    )
    if note:
        title += f"\n({note})"
    plot_embedding(shown, args.out, labels=labels, title=title, legend_title=_label_title(args))
    if not args.quiet:
        print(
            f"embedded {len(X)} points in {seconds:.1f} s, KL divergence "
            f"{model.kl_divergence_:.4f}; wrote {args.out}, {npy_path}, {csv_path}"
        )
        if note:
            print(f"note: {note}")
    return 0


def _label_title(args) -> str:
    """What the legend or colorbar calls the labels: the CSV column given to --labels."""
    if args.labels is None:
        return "class"  # an .npz's y
    if os.path.isfile(args.labels):
        return "label"
    return f"column {args.labels}" if args.labels.lstrip("-").isdigit() else args.labels


def _plot_note(n_components):
    """What the 2-D scatter does not show of an ``n_components`` embedding ("" if nothing)."""
    if n_components == 1:
        return "1-D embedding: the vertical position is random jitter, not a dimension"
    if n_components > 2:
        return f"plot shows dimensions 0 and 1 of {n_components}; all are in the .npy and .csv"
    return ""
