"""``verigrad evaluate``: top-k errors of a saved checkpoint."""

from __future__ import annotations

import os

from .._checks import ParameterError

HELP = "evaluate a checkpoint (model.npz): loss, accuracy and top-k errors"
DESCRIPTION = """Evaluate a checkpoint written by verigrad train: loss, accuracy and top-k errors.

Which samples: --split auto (the default) uses the test split of the data the checkpoint was
trained on (the same seeded split as training), and every sample of any other --data; --split
test or --split all chooses explicitly. The first line says which was used.

The checkpoint is given like export's and compact's, as CHECKPOINT (--checkpoint FILE, the
older spelling, still works; give one of the two).

  verigrad evaluate runs/20261126-101500/model.npz
  verigrad evaluate run/model.npz --data other.npz --k 1,2"""


def add_arguments(p):
    p.add_argument(
        "checkpoint",
        nargs="?",
        metavar="CHECKPOINT",
        help="model.npz written by verigrad train",
    )
    p.add_argument(
        "--checkpoint",
        dest="checkpoint_option",
        metavar="FILE",
        help="the same as CHECKPOINT (the older spelling)",
    )
    p.add_argument(
        "--data",
        default=None,
        help="digits, mnist:DIR or FILE.npz (default: the data the checkpoint was trained on)",
    )
    p.add_argument(
        "--split",
        choices=("auto", "test", "all"),
        default="auto",
        help="test: the training run's test split of --data; all: every sample; auto (default): "
        "test for the checkpoint's own data, all for other data",
    )
    p.add_argument(
        "--k",
        default=None,
        help="comma-separated k values, each at most the number of classes "
        "(default: those of 1,3,5 that fit)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def _same_source(spec: str, trained_on: str) -> bool:
    """Whether two --data specs name the same data (files compared by identity, not text).

    Runs record their data as an absolute path (``data.canonical_data``); a relative one
    (a checkpoint from before that) is read relative to the working directory."""
    from ..data import canonical_data

    if canonical_data(spec) == canonical_data(trained_on):
        return True
    paths = []
    for s in (spec, trained_on):
        if s.startswith("mnist:"):
            s = s[len("mnist:") :]
        elif not s.endswith(".npz"):
            return False
        paths.append(s)
    try:
        return os.path.samefile(*paths) and spec.startswith("mnist:") == trained_on.startswith(
            "mnist:"
        )
    except OSError:
        return False


def _parse_k(text: str) -> list:
    try:
        ks = [int(k) for k in text.split(",")]
    except ValueError:
        raise ParameterError("k", f"expected comma-separated integers, got {text!r}") from None
    if any(k < 1 for k in ks):
        raise ParameterError("k", f"every k must be >= 1, got {text!r}")
    return ks


def _checkpoint(args) -> str:
    """The checkpoint given as CHECKPOINT or as --checkpoint (exactly one of them); errors
    about it then name the spelling the user typed."""
    positional, option = args.checkpoint, args.checkpoint_option
    if positional is not None and option is not None:
        raise ParameterError(
            "checkpoint",
            f"given twice ({positional} and --checkpoint {option}): give the checkpoint once",
        )
    if positional is None and option is None:
        raise ParameterError(
            "checkpoint", "give the checkpoint to evaluate: verigrad evaluate RUN/model.npz"
        )
    if option is not None:
        args._dests = {**getattr(args, "_dests", {}), "checkpoint": "checkpoint_option"}
        args.checkpoint = option
    return args.checkpoint


def run(args) -> int:
    import json

    from ..data import load_dataset, load_samples
    from ..metrics import top_k_error
    from ..training import evaluate_model, load_checkpoint
    from ..training.checkpoint import restore_model

    checkpoint = _checkpoint(args)
    ks = _parse_k(args.k) if args.k is not None else None
    arrays, meta = load_checkpoint(checkpoint)
    config = meta["config"]
    spec = args.data or config["data"]
    split = args.split
    if split == "auto":
        split = "test" if _same_source(spec, config["data"]) else "all"
    if split == "test":
        _, _, X, y, _ = load_dataset(spec, config["seed"], config.get("test_size", 0.2))
    else:
        X, y = load_samples(spec)
    n_classes = meta["n_classes"]
    if tuple(X.shape[1:]) != tuple(meta["input_shape"]):
        raise ParameterError(
            "data",
            f"images of shape {X.shape[1:]} do not fit the model's {tuple(meta['input_shape'])}",
        )
    if int(y.max()) >= n_classes:
        raise ParameterError(
            "data", f"has labels up to {int(y.max())}, the model {n_classes} classes"
        )
    if ks is None:
        ks = [k for k in (1, 3, 5) if k <= n_classes]
    too_big = [k for k in ks if k > n_classes]
    if too_big:
        raise ParameterError("k", f"must be <= {n_classes} (the model's classes), got {too_big[0]}")
    result = evaluate_model(restore_model(arrays, meta), X, y)
    samples = (
        f"the test split of {spec}: {len(y)} samples"
        if split == "test"
        else f"all {len(y)} samples of {spec}"
    )
    report = {
        "checkpoint": checkpoint,
        "data": spec,
        "split": split,
        "n": int(len(y)),
        "epoch": meta["epoch"],
        "loss": result["loss"],
        "accuracy": result["accuracy"],
    }
    for k in ks:
        report[f"top{k}_error"] = (
            float(top_k_error(result["scores"], y, k=k)) if k < n_classes else 0.0
        )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{checkpoint} (epoch {meta['epoch']}) on {samples}")
        print(f"  loss {report['loss']:.4f}  accuracy {report['accuracy']:.4f}")
        for k in ks:
            print(f"  top-{k} error {report[f'top{k}_error']:.4f}")
    return 0
