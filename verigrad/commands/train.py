"""``verigrad train``: the main job (see :mod:`verigrad.training`)."""

from __future__ import annotations

import os
import sys
import time

from .._checks import ParameterError

HELP = "train a model on the embedded digits, MNIST IDX files or an .npz (the main job)"
DESCRIPTION = """Train a model and write into --out: metrics.json, model.npz (checkpoint, rewritten
atomically every epoch), curves.png, confusion.png, tsne.png and report.html.

  verigrad train                                   # CNN on the embedded digits
  verigrad train --model mlp --optimizer momentum --epochs 10
  verigrad train --data mnist:~/data/fashion --epochs 5
  verigrad train --l1 1e-4                          # proximal sparse training
  verigrad train --resume runs/20261126-101500 --epochs 40"""


def add_arguments(p):
    from ..nn.models import MODELS, POOLS
    from ..training import OPTIMIZERS, SCHEDULES, TrainConfig

    d = TrainConfig()
    p.add_argument(
        "--data",
        default=None,
        help="digits (default), mnist:DIR (IDX files) or FILE.npz with X, y",
    )
    p.add_argument("--model", choices=MODELS, default=None, help=f"default: {d.model}")
    p.add_argument(
        "--pool",
        choices=POOLS,
        default=None,
        help=f"pooling layer of the cnn (default: {d.pool})",
    )
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=None, help=f"default: {d.optimizer}")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: per optimizer)")
    p.add_argument("--weight-decay", type=float, default=None, help=f"default: {d.weight_decay}")
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=None,
        help=f"learning-rate schedule (default: {d.schedule}; step: x0.1 every 10 epochs; "
        "cosine over --epochs)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"total epochs (default: {d.epochs}; with --resume: the saved run's)",
    )
    p.add_argument("--batch-size", type=int, default=None, help=f"default: {d.batch_size}")
    p.add_argument(
        "--l1",
        type=float,
        default=None,
        metavar="LAMBDA",
        help=f"proximal L1 (soft thresholding) on the weights after each step (default: {d.l1})",
    )
    p.add_argument("--seed", type=int, default=None, help=f"default: {d.seed}")
    p.add_argument(
        "--out", default=None, metavar="DIR", help="run directory (default: runs/<timestamp>)"
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="continue the run saved in DIR (or DIR/model.npz) up to --epochs in total; its "
        "other options are kept, and giving one with a different value is an error",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-tsne", action="store_true", help="skip the t-SNE figure")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")


#: options that shape a run's trajectory: a resumed run keeps its saved values, so giving one
#: with another value is refused (--epochs may extend the run; --no-tsne etc. change no weight)
_TRAJECTORY = (
    "data",
    "model",
    "pool",
    "optimizer",
    "lr",
    "weight_decay",
    "schedule",
    "batch_size",
    "l1",
    "seed",
)


def _refuse_conflicts(args, saved, run_dir: str) -> None:
    """Options given explicitly (parser default None) that differ from the resumed run's."""
    from ..training import canonical_data

    for field in _TRAJECTORY:
        value = getattr(args, field)
        kept = saved.learning_rate if field == "lr" else getattr(saved, field)
        if field == "data" and value is not None and canonical_data(value) == canonical_data(kept):
            continue  # the same file or directory, spelled another way
        if value is not None and value != kept:
            option = "--" + field.replace("_", "-")
            raise ParameterError(
                option,
                f"the run in {run_dir} was trained with {option} {kept}, got {value}; "
                f"a resumed run keeps its options (start a new run with --out to change it)",
            )
    if args.out is not None and os.path.realpath(args.out) != os.path.realpath(run_dir):
        raise ValueError(
            f"--out: a resumed run continues in its own directory {run_dir}, got --out {args.out}"
        )


#: library parameters set by options of another name (library parameter -> argparse dest):
#: the checkpoint that --resume names
PARAMETER_DESTS = {"checkpoint": "resume"}


def _make_run_directory(out) -> str:
    """Create the run directory: ``out``, or a new ``runs/<timestamp>[-N]``.

    The default name is claimed with ``os.mkdir``, which fails if it exists, so two runs
    started in the same second get ``runs/<timestamp>`` and ``runs/<timestamp>-2`` instead of
    writing over each other.
    """
    if out is not None:
        if os.path.exists(out) and not os.path.isdir(out):
            raise ValueError(f"--out: {out} exists and is not a directory")
        try:
            os.makedirs(out, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"--out: cannot create {out}: {exc.strerror or exc}") from None
        return out
    stamp = os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs("runs", exist_ok=True)
    candidate, n = stamp, 1
    while True:
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            n += 1
            candidate = f"{stamp}-{n}"


def _run_directory(resume: str) -> str:
    """The run directory ``--resume`` names: the directory itself, or the directory of the
    ``model.npz`` given instead."""
    from ..training import CHECKPOINT

    if os.path.isfile(resume):
        if os.path.basename(resume) == CHECKPOINT:
            return os.path.dirname(resume) or "."
        raise ValueError(
            f"--resume: {resume} is a file; give the run directory (the one holding {CHECKPOINT})"
        )
    if not os.path.isdir(resume):
        raise FileNotFoundError(f"--resume: {resume}: no such directory")
    if not os.path.isfile(os.path.join(resume, CHECKPOINT)):
        raise FileNotFoundError(f"--resume: {resume} holds no {CHECKPOINT}")
    return resume


def run(args) -> int:
    from ..io import atomic_write_json
    from ..report import write_run_outputs
    from ..training import CHECKPOINT, TrainConfig, Trainer, TrainingDiverged, canonical_data

    log = (lambda *a, **k: None) if args.quiet else print
    made_dir = False
    if args.resume:
        out_dir = _run_directory(args.resume)
        trainer = Trainer.resume(out_dir, epochs=args.epochs)
        _refuse_conflicts(args, trainer.config, out_dir)
        log(f"resuming {out_dir} at epoch {trainer.epoch} of {trainer.config.epochs}")
    else:
        given = {f: getattr(args, f) for f in _TRAJECTORY if getattr(args, f) is not None}
        if "data" in given:  # recorded as an absolute path: see training.canonical_data
            given["data"] = canonical_data(given["data"])
        if args.epochs is not None:
            given["epochs"] = args.epochs
        config = TrainConfig(**given)
        config.validate()
        out_dir = args.out
        if out_dir is not None and os.path.exists(os.path.join(out_dir, CHECKPOINT)):
            raise ValueError(
                f"--out: {out_dir} already holds a run; use --resume {out_dir} or another --out"
            )
        # the directory is made once the data have loaded: bad input leaves none behind
        trainer = Trainer(config, out_dir or "")
        made_dir = out_dir is None or not os.path.isdir(out_dir)
        trainer.out_dir = out_dir = _make_run_directory(out_dir)
    c = trainer.config
    log(
        f"data {c.data}: {len(trainer.ytr)} train / {len(trainer.yte)} test images of shape "
        f"{trainer.Xtr.shape[1:]}, {trainer.n_classes} classes"
    )
    log(
        f"model {c.model} (pool {c.pool}), {trainer.model.n_parameters():,} parameters; optimizer {c.optimizer} "
        f"lr {c.learning_rate:g}, schedule {c.schedule}, batch {c.batch_size}, seed {c.seed}"
        + (f", l1 {c.l1:g}" if c.l1 else "")
    )
    try:
        final = trainer.run(progress=not args.no_progress and not args.quiet, log=log)
    except KeyboardInterrupt:
        final = trainer.final_metrics()
        atomic_write_json(os.path.join(out_dir, "metrics.json"), trainer.metrics(final))
        print(
            f"interrupted: {trainer.epoch} complete epoch(s) saved in {trainer.checkpoint_path}; "
            f"continue with: verigrad train --resume {out_dir} --epochs {c.epochs}",
            file=sys.stderr,
        )
        return 130
    except TrainingDiverged as exc:
        saved = (
            f" ({trainer.epoch} complete epoch(s) stay in {trainer.checkpoint_path})"
            if trainer.epoch
            else ""
        )
        if not trainer.epoch and made_dir:  # nothing was saved: leave no empty run behind
            try:
                os.rmdir(out_dir)
            except OSError:
                pass
        raise ValueError(f"{exc}{saved}") from None
    paths = write_run_outputs(trainer, final, out_dir, tsne=not args.no_tsne)
    atomic_write_json(os.path.join(out_dir, "metrics.json"), trainer.metrics(final))
    print(
        f"test accuracy {final['test_accuracy']:.4f}  top-1 error {final['test_top1_error']:.4f}  "
        f"top-3 error {final['test_top3_error']:.4f}  ({final['wall_time_s']:.1f} s training"
        + (f", sparsity {100 * final['sparsity']:.3g}%" if "sparsity" in final else "")
        + ")"
    )
    print(
        f"wrote {out_dir}/: metrics.json {CHECKPOINT} "
        + " ".join(os.path.basename(p) for p in paths.values())
    )
    return 0
