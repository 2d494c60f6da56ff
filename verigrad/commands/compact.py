"""``verigrad compact``: remove the zero filters and neurons of a trained model (see
:mod:`verigrad.training.compact`)."""

from __future__ import annotations

from .._checks import ParameterError

HELP = "remove the zero filters and neurons of a checkpoint: a smaller model, same predictions"
DESCRIPTION = """Remove every conv filter and hidden neuron whose output is exactly zero or
unread (what verigrad train --group-l1 or --l1 leaves), and the matching input channels of the
next layer; write a smaller checkpoint that verigrad evaluate reads. Prints the parameters and
the inference time on the test split before and after, and checks that the predictions are
identical.

  verigrad train --group-l1 1e-3 --out run
  verigrad compact run/model.npz --out run/compact.npz
  verigrad evaluate run/compact.npz"""


def add_arguments(p):
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="model.npz written by verigrad train")
    p.add_argument(
        "--out", required=True, metavar="FILE", help="the compacted checkpoint to write (.npz)"
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="timed passes over the test split (the best is reported; default 5)",
    )


def _best_time(model, X, repeats: int) -> float:
    import time

    from ..training import forward_in_batches

    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        forward_in_batches(model, X)
        best = min(best, time.perf_counter() - start)
    return best


def run(args) -> int:
    import numpy as np

    from .._checks import check_int
    from ..data import load_dataset
    from ..training import forward_in_batches, load_checkpoint
    from ..training.compact import compact_checkpoint

    check_int(args.repeats, "repeats", 1, 1000)
    if not args.out.endswith(".npz"):
        raise ParameterError("out", f"the compacted checkpoint is an .npz file, got {args.out}")
    from ..io import same_file

    if same_file(args.out, args.checkpoint):
        raise ParameterError("out", "would overwrite the checkpoint being compacted")
    _, meta = load_checkpoint(args.checkpoint)
    config = meta["config"]
    try:
        _, _, X, _, _ = load_dataset(config["data"], config["seed"], config.get("test_size", 0.2))
        inputs = f"the {len(X)} test images of {config['data']}"
    except (ValueError, OSError):  # the training data are gone: time random images instead
        X = np.random.default_rng(0).random((512, *meta["input_shape"]), dtype=np.float32)
        inputs = f"{len(X)} random images (the training data {config['data']} are unavailable)"
    result = compact_checkpoint(args.checkpoint, args.out)
    model, small = result["model"], result["compact"]
    before, after = model.n_parameters(), small.n_parameters()
    scores, small_scores = forward_in_batches(model, X), forward_in_batches(small, X)
    same = np.array_equal(scores.argmax(axis=1), small_scores.argmax(axis=1))
    gap = float(np.max(np.abs(scores - small_scores))) if len(X) else 0.0
    time_before, time_after = _best_time(model, X, args.repeats), _best_time(small, X, args.repeats)
    widths = result["widths"]
    from ..training.compact import find_units

    units = find_units(model)
    print(
        f"{args.checkpoint}: removed filters/neurons per layer:"
        if units
        else f"{args.checkpoint}: the model has no filters or hidden neurons to remove"
    )
    for unit in units:
        layer = model[unit.index]
        n = layer.weight.shape[0]
        kept = int(widths.get(str(unit.index), n))
        kind = "filters" if layer.weight.ndim == 4 else "neurons"
        print(f"  layer {unit.index}: {kind} {n} -> {kept}")
    print(
        f"parameters {before:,} -> {after:,} ({100 * (1 - after / before):.1f}% fewer)"
        if before
        else "parameters 0"
    )
    print(
        f"inference on {inputs}: {1e3 * time_before:.2f} ms -> {1e3 * time_after:.2f} ms "
        f"(best of {args.repeats})"
    )
    print(
        f"predictions {'identical' if same else 'DIFFERENT'} (largest logit difference {gap:.2g})"
    )
    print(f"wrote {args.out}")
    return 0 if same else 1
