"""Sparse training on the digits CNN: proximal training against iterative magnitude pruning.

``verigrad bench sparse`` (or ``python -m verigrad.bench.sparse --out DIR``) trains the default
digits CNN (Adam, lr 3e-3, step schedule, batch 32, 20 epochs) on seeds 0, 1, 2 and draws test
accuracy against sparsity (fraction of zero weights) for

* **proximal training**: ``verigrad train --l1 LAMBDA --finetune-epochs 10`` for a sweep of
  lambdas: 20 epochs of soft thresholding in Adam's metric after every step
  (:mod:`verigrad.optim.optimizer`), each layer's lambda scaled by its fan-in and ramped
  linearly over the 20 epochs (the defaults ``l1_scale="fan-in"``, ``penalty_ramp="linear"``,
  see :mod:`verigrad.training.loop`), then 10 epochs of fine-tuning with the penalty off and
  the zeros held; the point at the end of the proximal phase is drawn too (``prox-only``),
  to show what the fine-tuning buys;
* **iterative magnitude pruning** (Han et al. 2015; the gradual schedule of Zhu & Gupta 2017):
  train dense for the same 20 epochs, then prune the smallest-magnitude weights (one global
  threshold over every weight tensor) in 5 steps up to the target sparsity over the first
  half of a fine-tuning run of the same 10 epochs, the mask held fixed after each step (a
  projection, the prox of the support's indicator, after every optimizer step), with the
  schedule of ``--finetune-epochs`` (x0.1 after half of them): both methods see 30 epochs
  and the same fine-tuning;
* the dense run, whose accuracy is the reference line (with the 1-point band).

It writes ``sparse.json`` (every run) and ``sparse.png`` (the figure) and returns one row per
target sparsity (80%, 90%) comparing the test error of proximal training (the mean curve
over seeds, interpolated at that sparsity) with pruning's: ``ratio <= 1`` means proximal
training is at least as accurate. ``quick``: one seed, 3 epochs, two lambdas.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import numpy as np

from .harness import Row

__all__ = ["run", "sweep", "magnitude_masks", "prune_and_finetune", "plot_tradeoff", "main"]

#: the lambdas of the proximal sweep (--l1), from about 77% to 92% zero weights
LAMBDAS = (8e-3, 1.2e-2, 1.8e-2, 2.4e-2, 3.6e-2)
#: fine-tuning epochs after either sparse method (the same budget for both)
FINETUNE_EPOCHS = 10
TARGETS = (0.8, 0.9)
SEEDS = (0, 1, 2)
PRUNE_STEPS = 5


def magnitude_masks(weights, sparsity: float) -> list:
    """Boolean keep-masks zeroing the ``sparsity`` fraction of smallest ``|w|`` over all the
    given arrays together (one global threshold; ties at the threshold are pruned)."""
    flat = np.concatenate([np.abs(w).ravel() for w in weights])
    k = int(round(sparsity * flat.size))
    if k <= 0:
        return [np.ones(w.shape, bool) for w in weights]
    threshold = np.partition(flat, k - 1)[k - 1]
    return [np.abs(w) > threshold for w in weights]


def _trainer(seed: int, epochs: int, run_dir: str, **options):
    from ..training import TrainConfig, Trainer

    return Trainer(TrainConfig(seed=seed, epochs=epochs, **options), run_dir)


def prune_and_finetune(dense_state: dict, seed: int, epochs: int, target: float) -> dict:
    """Iterative magnitude pruning of the dense weights ``dense_state`` to ``target`` sparsity
    while fine-tuning ``epochs`` epochs (schedule in the module docstring); the final test
    accuracy and sparsity."""
    from ..optim.registry import make_optimizer, make_scheduler
    from ..training.compact import weight_sparsity
    from ..training.loop import finetune_step_size

    with tempfile.TemporaryDirectory() as run_dir:
        trainer = _trainer(seed, epochs, run_dir)
        trainer.model.load_state_dict(dense_state)
        weights = [p for p in trainer.model.parameters() if p.ndim > 1]
        masks = {id(p): np.ones(p.shape, bool) for p in weights}

        def project(p):
            return lambda v, t: v * masks[id(p)]

        groups = [{"params": [p], "prox": project(p)} for p in weights]
        others = [p for p in trainer.model.parameters() if p.ndim <= 1]
        if others:
            groups.append({"params": others})
        trainer.optimizer = make_optimizer(trainer.config.optimizer, groups, trainer.config.lr)
        # the schedule of --finetune-epochs: the same fine-tuning as proximal training's
        trainer.scheduler = make_scheduler(
            trainer.config.schedule,
            trainer.optimizer,
            epochs,
            step_size=finetune_step_size(epochs),
        )
        prune_epochs = max(1, epochs // 2)
        steps = min(PRUNE_STEPS, prune_epochs)
        schedule = {
            round(i * prune_epochs / steps): target * (1 - (1 - (i + 1) / steps) ** 3)
            for i in range(steps)
        }
        for epoch in range(epochs):
            if epoch in schedule:
                new = magnitude_masks([p.data for p in weights], schedule[epoch])
                for p, mask in zip(weights, new, strict=True):
                    masks[id(p)][...] = mask
                    p.data[...] *= mask
            trainer.train_epoch(progress=False)
            if trainer.scheduler is not None:
                trainer.scheduler.step()
            trainer.epoch += 1
        test = trainer.test_evaluation()
        return {"accuracy": test["accuracy"], "sparsity": weight_sparsity(trainer.model)}


def sweep(
    seeds=SEEDS,
    lambdas=LAMBDAS,
    targets=TARGETS,
    epochs: int = 20,
    finetune_epochs: int = FINETUNE_EPOCHS,
    log=None,
) -> list:
    """Every run of the experiment as records ``{method, seed, lam/target, accuracy,
    sparsity, zero_filters}`` (``method``: ``dense``, ``prune``, ``prox-only``, ``prox``).
    Both sparse methods train ``epochs`` then fine-tune ``finetune_epochs`` on their mask."""
    from ..training import TrainingDiverged

    records = []

    def add(record):
        records.append(record)
        if log:
            log(record)

    for seed in seeds:
        with tempfile.TemporaryDirectory() as run_dir:
            dense = _trainer(seed, epochs, run_dir)
            final = dense.run(progress=False, log=None)
            state = dense.model.state_dict()
        add({"method": "dense", "seed": seed, "accuracy": final["test_accuracy"], "sparsity": 0.0})
        for target in targets:
            result = prune_and_finetune(state, seed, finetune_epochs, target)
            add({"method": "prune", "seed": seed, "target": target, **result})
        for lam in lambdas:
            with tempfile.TemporaryDirectory() as run_dir:
                trainer = _trainer(seed, epochs, run_dir, l1=lam, finetune_epochs=finetune_epochs)
                try:
                    final = trainer.run(progress=False, log=None)
                except TrainingDiverged as exc:  # the model collapsed: all weights zero
                    add({"method": "prox", "seed": seed, "lam": lam, "collapsed": str(exc)})
                    continue
            before = trainer.history[epochs - 1]  # the end of proximal training
            add(
                {
                    "method": "prox-only",
                    "seed": seed,
                    "lam": lam,
                    "accuracy": 1.0 - before["test_top1_error"],
                    "sparsity": before["sparsity"],
                    "zero_filters": before["zero_filters"],
                }
            )
            add(
                {
                    "method": "prox",
                    "seed": seed,
                    "lam": lam,
                    "accuracy": final["test_accuracy"],
                    "sparsity": final["sparsity"],
                    "zero_filters": final["zero_filters"],
                }
            )
    return records


def _mean_curve(records, method: str = "prox") -> tuple:
    """Per lambda (runs that collapsed left out): mean sparsity, mean accuracy, their std."""
    prox = [r for r in records if r["method"] == method and "accuracy" in r]
    lams = sorted({r["lam"] for r in prox})
    rows = []
    for lam in lams:
        runs = [r for r in prox if r["lam"] == lam]
        s = np.array([r["sparsity"] for r in runs])
        a = np.array([r["accuracy"] for r in runs])
        rows.append((lam, s.mean(), a.mean(), s.std(), a.std(), len(runs)))
    return rows


def interpolate_prox(records, sparsity: float) -> float | None:
    """The mean proximal curve's accuracy at ``sparsity`` (linear between lambdas); None
    outside the measured range."""
    curve = sorted(_mean_curve(records), key=lambda r: r[1])
    xs = [c[1] for c in curve]
    if not xs or sparsity < xs[0] - 1e-9 or sparsity > xs[-1] + 1e-9:
        return None
    return float(np.interp(sparsity, xs, [c[2] for c in curve]))


def plot_tradeoff(records, path, title: str = "") -> str:
    """Test accuracy against the fraction of zero weights: proximal training (mean over seeds
    per lambda, each seed faint), magnitude pruning at each target, the dense reference."""
    from ..plots import new_figure, save_figure

    fig, axes = new_figure(size=(7.5, 5.0))
    ax = axes[0, 0]
    dense = np.array([r["accuracy"] for r in records if r["method"] == "dense"])
    if dense.size:
        ax.axhspan(
            100 * (dense.mean() - 0.01),
            100 * dense.mean(),
            color="#999",
            alpha=0.15,
            label="dense - 1 point",
        )
        ax.axhline(
            100 * dense.mean(),
            color="#444",
            linestyle="--",
            label=f"dense ({100 * dense.mean():.1f}%)",
        )
    prox = [r for r in records if r["method"] == "prox" and "accuracy" in r]
    ax.scatter(
        [100 * r["sparsity"] for r in prox],
        [100 * r["accuracy"] for r in prox],
        color="#4c72b0",
        alpha=0.3,
        s=14,
    )
    curve = sorted(_mean_curve(records), key=lambda r: r[1])
    if curve:
        ax.errorbar(
            [100 * c[1] for c in curve],
            [100 * c[2] for c in curve],
            xerr=[100 * c[3] for c in curve],
            yerr=[100 * c[4] for c in curve],
            color="#4c72b0",
            marker="o",
            capsize=3,
            label="proximal training + fine-tuning (--l1 λ --finetune-epochs 10)",
        )
        for lam, s, a, *_ in curve:
            ax.annotate(
                f"λ={lam:g}",
                (100 * s, 100 * a),
                textcoords="offset points",
                xytext=(-6, -14),
                fontsize=8,
                color="#4c72b0",
            )
    only = sorted(_mean_curve(records, "prox-only"), key=lambda r: r[1])
    if only:
        ax.plot(
            [100 * c[1] for c in only],
            [100 * c[2] for c in only],
            color="#4c72b0",
            marker="o",
            markerfacecolor="white",
            linestyle="--",
            alpha=0.7,
            label="proximal training before fine-tuning",
        )
    prune = [r for r in records if r["method"] == "prune"]
    targets = sorted({r["target"] for r in prune})
    if targets:
        ax.scatter(
            [100 * r["sparsity"] for r in prune],
            [100 * r["accuracy"] for r in prune],
            color="#dd8452",
            alpha=0.3,
            s=14,
        )
        means = [
            (
                np.mean([r["sparsity"] for r in prune if r["target"] == t]),
                np.mean([r["accuracy"] for r in prune if r["target"] == t]),
                np.std([r["accuracy"] for r in prune if r["target"] == t]),
            )
            for t in targets
        ]
        ax.errorbar(
            [100 * m[0] for m in means],
            [100 * m[1] for m in means],
            yerr=[100 * m[2] for m in means],
            color="#dd8452",
            marker="s",
            linestyle=":",
            capsize=3,
            label="magnitude pruning + fine-tuning",
        )
    seeds = sorted({r["seed"] for r in records})
    ax.set_xlabel("zero weights (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(
        title or f"Digits CNN: accuracy vs sparsity (mean of seeds {', '.join(map(str, seeds))})"
    )
    low = min([100 * r["accuracy"] for r in records if "accuracy" in r] + [90.0])
    ax.set_ylim(max(0.0, low - 1.0), 100.0)
    sparse = [100 * r["sparsity"] for r in records if r["method"] != "dense" and "sparsity" in r]
    ax.set_xlim(max(0.0, 10 * (min(sparse, default=10.0) // 10) - 10), 100)  # the measured range
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return save_figure(fig, path)


def rows_from(records, targets=TARGETS) -> list:
    """One :class:`Row` per target: proximal training's test error (mean curve, interpolated)
    against magnitude pruning's (mean), in percent; target ratio 1."""
    rows = []
    dense = [r["accuracy"] for r in records if r["method"] == "dense"]
    for target in targets:
        pruned = [r for r in records if r["method"] == "prune" and r["target"] == target]
        if not pruned:
            continue
        prune_acc = float(np.mean([r["accuracy"] for r in pruned]))
        prox_acc = interpolate_prox(records, target)
        extra = {
            "unit": "% err",
            "dense_acc": float(np.mean(dense)) if dense else float("nan"),
            "prune_acc": prune_acc,
            "seeds": len(pruned),
        }
        if prox_acc is None:
            extra["note"] = "proximal curve does not reach this sparsity"
            prox_acc = float("nan")
        extra["prox_acc"] = prox_acc
        rows.append(
            Row(
                "sparse",
                f"{100 * target:.0f}% zero weights",
                "magnitude pruning",
                100 * (1 - prox_acc),
                100 * (1 - prune_acc),
                target=1.0,
                repeats=len(pruned),
                extra=extra,
            )
        )
    return rows


def run(quick: bool = False) -> list:
    """The experiment (module docstring); writes ``sparse.json`` and ``sparse.png`` into the
    current directory and returns the comparison rows."""
    if quick:
        records = sweep(seeds=(0,), lambdas=(3e-3,), epochs=2, finetune_epochs=1)
    else:
        records = sweep()
    with open("sparse.json", "w") as fh:
        json.dump(records, fh, indent=1)
    plot_tradeoff(records, "sparse.png")
    return rows_from(records)


def main(argv=None) -> int:
    """``python -m verigrad.bench.sparse --out DIR [--seeds 0,1,2] [--epochs 20]
    [--lambdas ...] [--plot-only]``."""
    parser = argparse.ArgumentParser(prog="python -m verigrad.bench.sparse")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lambdas", default=",".join(map(str, LAMBDAS)))
    parser.add_argument("--finetune-epochs", type=int, default=FINETUNE_EPOCHS)
    parser.add_argument(
        "--plot-only", action="store_true", help="redraw DIR/sparse.png from DIR/sparse.json"
    )
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    records_path = os.path.join(args.out, "sparse.json")
    if args.plot_only:
        with open(records_path) as fh:
            records = json.load(fh)
    else:
        records = []

        def log(record):
            records.append(record)
            print(json.dumps(record), flush=True)
            with open(records_path, "w") as fh:
                json.dump(records, fh, indent=1)

        sweep(
            seeds=[int(s) for s in args.seeds.split(",")],
            lambdas=[float(x) for x in args.lambdas.split(",")],
            epochs=args.epochs,
            finetune_epochs=args.finetune_epochs,
            log=log,
        )
    plot_tradeoff(records, os.path.join(args.out, "sparse.png"))
    from .harness import format_table

    print(format_table(rows_from(records)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
