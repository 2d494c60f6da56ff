"""``verigrad train``: the main job (see :mod:`verigrad.training`)."""

from __future__ import annotations

import math
import os
import sys

from .._checks import MissingFileError, ParameterError

HELP = "train a model on the embedded digits, MNIST IDX files or an .npz (the main job)"
DESCRIPTION = """Train a model and write into --out: metrics.json, model.npz (checkpoint, rewritten
atomically every epoch), curves.png, confusion.png, tsne.png and report.html.

  verigrad train                                   # CNN on the embedded digits
  verigrad train --model mlp --optimizer momentum --epochs 10
  verigrad train --data mnist:~/data/fashion --epochs 5
  verigrad train --l1 1e-4                          # sparse weights (proximal training)
  verigrad train --group-l1 1e-3                    # whole filters/neurons zero (group lasso)
  verigrad train --l1 3e-3 --finetune-epochs 20     # then fine-tune the sparse model
  verigrad train --resume runs/20261126-101500 --epochs 40"""


def add_arguments(p):
    from ..nn.models import MODELS, POOLS
    from ..optim.registry import OPTIMIZERS, SCHEDULES
    from ..training import TrainConfig
    from ..training.config import L1_SCALES, PENALTY_RAMPS

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
        help="L1 penalty on the weights by its prox (soft thresholding in the optimizer's "
        f"metric) after each step (default: {d.l1})",
    )
    p.add_argument(
        "--group-l1",
        type=float,
        default=None,
        metavar="LAMBDA",
        help="group lasso over each conv filter and hidden neuron (weights and bias) by group "
        "soft thresholding in the optimizer's metric; zero filters can then be removed with "
        f"verigrad compact (default: {d.group_l1})",
    )
    p.add_argument(
        "--finetune-epochs",
        type=int,
        default=None,
        metavar="N",
        help="with --l1/--group-l1: N more epochs with the penalties off and the zeros held "
        f"(debiasing, as pruning's fine-tuning; default: {d.finetune_epochs})",
    )
    p.add_argument(
        "--l1-scale",
        choices=L1_SCALES,
        default=None,
        help="fan-in: each layer's l1 penalty times sqrt(its fan-in), weights measured in units "
        f"of their initial scale; none: one LAMBDA for every weight (default: {d.l1_scale})",
    )
    p.add_argument(
        "--penalty-ramp",
        choices=PENALTY_RAMPS,
        default=None,
        help="linear: --l1/--group-l1 grow from 1/epochs of LAMBDA in the first epoch to LAMBDA "
        f"in the last; none: LAMBDA from the first step (default: {d.penalty_ramp})",
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
    "group_l1",
    "finetune_epochs",
    "l1_scale",
    "penalty_ramp",
    "seed",
)


def _refuse_conflicts(args, saved, run_dir: str) -> None:
    """Options given explicitly (parser default None) that differ from the resumed run's."""
    from ..data import canonical_data

    for field in _TRAJECTORY:
        value = getattr(args, field)
        kept = getattr(saved, field)
        if field == "data" and value is not None and canonical_data(value) == canonical_data(kept):
            continue  # the same file or directory, spelled another way
        if value is not None and value != kept:
            option = "--" + field.replace("_", "-")
            raise ParameterError(
                field,
                f"the run in {run_dir} was trained with {option} {kept}, got {value}; "
                f"a resumed run keeps its options (start a new run with --out to change it)",
            )
    if args.out is not None and os.path.realpath(args.out) != os.path.realpath(run_dir):
        raise ParameterError(
            "out",
            f"a resumed run continues in its own directory {run_dir}, got --out {args.out}",
        )


#: library parameters set by options of another name (library parameter -> argparse dest):
#: the checkpoint that --resume names, the run directory that --out names
PARAMETER_DESTS = {"checkpoint": "resume", "run_dir": "out"}


def _run_directory(resume: str) -> str:
    """The run directory ``--resume`` names: the directory itself, or the directory of the
    ``model.npz`` given instead."""
    from ..training import CHECKPOINT

    if os.path.isfile(resume):
        if os.path.basename(resume) == CHECKPOINT:
            return os.path.dirname(resume) or "."
        raise ParameterError(
            "resume", f"{resume} is a file; give the run directory (the one holding {CHECKPOINT})"
        )
    if not os.path.isdir(resume):
        raise MissingFileError("resume", f"{resume}: no such directory")
    if not os.path.isfile(os.path.join(resume, CHECKPOINT)):
        raise MissingFileError("resume", f"{resume} holds no {CHECKPOINT}")
    return resume


def run(args) -> int:
    from ..data import canonical_data
    from ..io import atomic_write_json
    from ..training import CHECKPOINT, TrainConfig, Trainer, TrainingDiverged
    from ..training.loop import ModelCollapsed
    from ..training.report import write_run_outputs

    log = (lambda *a, **k: None) if args.quiet else print
    if args.resume:
        # a resumed run writes where --resume points: an unwritable directory is that option's
        args._dests = {**PARAMETER_DESTS, "run_dir": "resume"}
        trainer = Trainer.resume(_run_directory(args.resume), epochs=args.epochs)
        _refuse_conflicts(args, trainer.config, trainer.run_dir)
        log(f"resuming {trainer.run_dir} at epoch {trainer.epoch} of {trainer.config.total_epochs}")
    else:
        given = {f: getattr(args, f) for f in _TRAJECTORY if getattr(args, f) is not None}
        if "data" in given:  # recorded as an absolute path: see data.canonical_data
            given["data"] = canonical_data(given["data"])
        if args.epochs is not None:
            given["epochs"] = args.epochs
        config = TrainConfig(**given)
        if args.out is not None and os.path.exists(os.path.join(args.out, CHECKPOINT)):
            raise ParameterError(
                "out", f"{args.out} already holds a run; use --resume {args.out} or another --out"
            )
        # the run directory (--out, or a new runs/<timestamp>) is made once the data have
        # loaded, so bad input leaves none behind
        trainer = Trainer(config, args.out)
    out_dir = trainer.run_dir
    c = trainer.config
    log(
        f"data {c.data}: {len(trainer.ytr)} train / {len(trainer.yte)} test images of shape "
        f"{trainer.Xtr.shape[1:]}, {trainer.n_classes} classes"
    )
    log(
        f"model {c.model}{f' (pool {c.pool})' if c.model == 'cnn' else ''}, "
        f"{trainer.model.n_parameters():,} parameters; optimizer {c.optimizer} "
        f"lr {c.lr:g}, schedule {c.schedule}, batch {c.batch_size}, seed {c.seed}"
        + (f", l1 {c.l1:g} (layer scale {c.l1_scale})" if c.l1 else "")
        + (f", group-l1 {c.group_l1:g}" if c.group_l1 else "")
        + (f", penalty ramp {c.penalty_ramp}" if c.l1 or c.group_l1 else "")
        + (f", then {c.finetune_epochs} fine-tuning epochs" if c.finetune_epochs else "")
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
    except TrainingDiverged as exc:  # the run removed the directory it made if nothing was saved
        saved = (
            f" ({trainer.epoch} complete epoch(s) stay in {trainer.checkpoint_path})"
            if trainer.epoch
            else ""
        )
        if isinstance(exc, ModelCollapsed):
            penalties = " and ".join(
                f"{option} {value:g}"
                for option, value in (("--l1", exc.l1), ("--group-l1", exc.group_l1))
                if value
            )
            raise ValueError(
                f"the model collapsed to zero at epoch {exc.epoch}: every weight of layer(s) "
                f"{', '.join(exc.layers)} is 0, so its predictions no longer depend on the "
                f"input; {penalties} {'is' if ' and ' not in penalties else 'are'} too strong "
                f"for --lr {exc.lr:g}: start a new run with smaller values{saved}"
            ) from None
        raise ValueError(
            f"{exc.what} at epoch {exc.epoch}: training diverged; the step is set by "
            f"--lr {exc.lr:g}, --weight-decay {exc.weight_decay:g}, --l1 {exc.l1:g} and "
            f"--group-l1 {exc.group_l1:g}: "
            f"start a new run with smaller values (a resumed run keeps its options){saved}"
        ) from None
    paths = write_run_outputs(trainer, final, tsne=not args.no_tsne)
    atomic_write_json(os.path.join(out_dir, "metrics.json"), trainer.metrics(final))
    print(
        f"test accuracy {final['test_accuracy']:.4f}  top-1 error {final['test_top1_error']:.4f}  "
        f"top-3 error {final['test_top3_error']:.4f}  ({final['wall_time_s']:.1f} s training"
        + (
            f", sparsity {100 * final['sparsity']:.3g}% of weights zero, "
            f"{100 * final['zero_filters']:.3g}% of filters/neurons zero"
            if "sparsity" in final
            else ""
        )
        + ")"
    )
    print(
        f"wrote {out_dir}/: metrics.json {CHECKPOINT} "
        + " ".join(os.path.basename(p) for p in paths.values())
    )
    warning = _divergence_warning(trainer.history, trainer.n_classes)
    if warning:
        print(f"verigrad train: warning: {warning}", file=sys.stderr)
    return 0


def _divergence_warning(history, n_classes: int) -> str | None:
    """A finite run that still went wrong: its last training loss is far above chance level's,
    ``log(n_classes)`` (uniform predictions). ``--lr 1e9`` with Adam ends near 1e26, finite, at
    chance accuracy; a run that learns anything ends well below ``log(n_classes)``."""
    losses = [e["train_loss"] for e in history if "train_loss" in e]
    chance = math.log(max(n_classes, 2))
    if not losses or not losses[-1] > 10 * chance:
        return None
    return (
        f"the final training loss {losses[-1]:.4g} is far above chance level's "
        f"log({n_classes}) = {chance:.3g}: the run diverged without overflowing; "
        "try a smaller --lr"
    )
