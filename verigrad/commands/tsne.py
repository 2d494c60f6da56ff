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
(.npy, or text with one label per line)."""


#: up to this many points ``--method auto`` runs the exact O(N^2) method
AUTO_EXACT_MAX = 1000


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
    p.add_argument("--perplexity", type=float, default=30.0)
    p.add_argument(
        "--method",
        choices=("auto", "fft", "exact"),
        default="auto",
        help=f"auto (default): exact up to {AUTO_EXACT_MAX} points (faster there: the FFT grid "
        "has a fixed minimum size) or for --n-components above 2, fft otherwise",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--max-iter", type=int, default=1000, dest="max_iter")
    p.add_argument("--n-components", type=int, default=2, dest="n_components")
    p.add_argument("--init", choices=("pca", "random"), default="pca")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def _read_csv(path, label_column):
    import csv

    import numpy as np

    with open(path, newline="") as fh:
        rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise ParameterError("input", f"{path} has no rows")

    def numeric(cell):
        try:
            float(cell)
            return True
        except ValueError:
            return False

    header = None
    if not all(numeric(cell) for cell in rows[0]):
        header, rows = [cell.strip() for cell in rows[0]], rows[1:]
    width = len(rows[0]) if rows else 0
    if any(len(row) != width for row in rows):
        raise ParameterError("input", f"{path} has rows of different lengths")
    labels = None
    if label_column is not None:
        if header is not None and label_column in header:
            index = header.index(label_column)
        else:
            try:
                index = int(label_column)
            except ValueError:
                raise ValueError(
                    f"--labels: {label_column!r} is neither a file, a column "
                    f"index nor a column name of {path}"
                ) from None
            if not -width <= index < width:
                raise ValueError(f"--labels: column {index} out of range for {width} columns")
            index %= width
        labels = np.array([row[index].strip() for row in rows])
        if all(numeric(v) for v in labels):
            values = labels.astype(float)
            labels = values.astype(int) if np.all(values == np.round(values)) else values
        rows = [row[:index] + row[index + 1 :] for row in rows]
    try:
        X = np.array([[float(cell) for cell in row] for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise ParameterError("input", f"{path} has a non-numeric value ({exc})") from None
    return X, labels


def _read_labels_file(path):
    import numpy as np

    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False).ravel()
    with open(path) as fh:
        values = [line.strip() for line in fh if line.strip()]
    try:
        return np.array([int(v) for v in values])
    except ValueError:
        return np.array(values)


def load_input(path, labels_arg=None):
    """``(X (N, D) float64, labels or None)`` from ``path`` (.npy, .npz or .csv)."""
    import numpy as np

    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such file", path)
    extension = os.path.splitext(path)[1].lower()
    label_file = labels_arg if labels_arg is not None and os.path.isfile(labels_arg) else None
    column = labels_arg if labels_arg is not None and label_file is None else None
    labels = None
    if extension == ".csv":
        X, labels = _read_csv(path, column)
    elif extension in (".npy", ".npz"):
        try:
            data = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ParameterError("input", f"cannot read {path}: {exc}") from None
        if extension == ".npz":
            with data:
                if "X" not in data.files:
                    raise ParameterError(
                        "input", f"{path} has no array 'X' (found {', '.join(data.files)})"
                    )
                X = data["X"]
                labels = data["y"] if "y" in data.files else None
        else:
            X = data
        if column is not None:
            raise ValueError(
                f"--labels: {column!r} is not a file (a column name or index "
                "works only with .csv input)"
            )
        if X.ndim == 1 or X.ndim == 0:
            raise ParameterError("input", f"expected a 2-D array of samples, got shape {X.shape}")
        # explicit width: reshape(0, -1) cannot infer it for an empty array
        X = X.reshape(X.shape[0], int(np.prod(X.shape[1:])))
        if X.dtype.kind not in "biuf":
            raise ParameterError("input", f"expected numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
    else:
        raise ParameterError(
            "input", f"unsupported file type {extension or '(none)'!r}; use .npy, .npz or .csv"
        )
    if label_file is not None:
        labels = _read_labels_file(label_file)
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"--labels: {len(labels)} labels for {len(X)} samples")
    if labels is not None and labels.dtype.kind in "fc" and not np.all(np.isfinite(labels)):
        # a NaN label matches no class (NaN != NaN), so its point would vanish from the plot
        bad = int(np.count_nonzero(~np.isfinite(labels)))
        name = "--labels" if labels_arg is not None else f"INPUT: array 'y' of {path}"
        raise ParameterError(
            name, f"contains {bad} NaN or infinite label(s); every point needs one"
        )
    return X, labels


#: TSNE's parameters set by options of another name (library parameter -> argparse dest)
PARAMETER_DESTS = {"random_state": "seed", "X": "input"}


def run(args) -> int:
    import time

    import numpy as np

    from ..io import _atomic_write
    from ..manifold import TSNE
    from ..plots import plot_embedding

    if not args.out.lower().endswith(".png"):
        raise ValueError(f"--out: expected a .png path, got {args.out!r}")
    if not args.perplexity >= 1:  # also refuses nan
        raise ValueError(
            f"--perplexity: must be >= 1 (the effective number of neighbours), "
            f"got {args.perplexity:g}"
        )
    X, labels = load_input(args.input, args.labels)
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
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(
            total=args.max_iter,
            desc="t-SNE",
            unit="it",
            leave=False,
            disable=None if len(X) * args.max_iter < 2_000_000 else False,
        )

    def progress(iteration, total):
        if bar is not None:
            bar.update(iteration - bar.n)

    start = time.perf_counter()
    try:
        model.fit(X, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    Y = model.embedding_
    stem = os.path.splitext(args.out)[0]
    _atomic_write(stem + ".npy", lambda fh: np.save(fh, Y))
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
    _atomic_write(stem + ".csv", lambda fh: fh.write(text.encode("utf-8")))
    shown = Y[:, :2]
    note = _plot_note(Y.shape[1])
    title = (
        f"t-SNE ({args.method}, perplexity {args.perplexity:g}), N={len(X)}, "
        f"KL={model.kl_divergence_:.3f}"
    )
    if note:
        title += f"\n({note})"
    plot_embedding(shown, args.out, labels=labels, title=title)
    if not args.quiet:
        print(
            f"embedded {len(X)} points in {seconds:.1f} s, KL divergence "
            f"{model.kl_divergence_:.4f}; wrote {args.out}, {stem}.npy, {stem}.csv"
        )
        if note:
            print(f"note: {note}")
    return 0


def _plot_note(n_components):
    """What the 2-D scatter does not show of an ``n_components`` embedding ("" if nothing)."""
    if n_components == 1:
        return "1-D embedding: the vertical position is random jitter, not a dimension"
    if n_components > 2:
        return f"plot shows dimensions 0 and 1 of {n_components}; all are in the .npy and .csv"
    return ""
