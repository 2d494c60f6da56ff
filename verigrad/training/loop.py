"""The training loop behind ``verigrad train``: :class:`Trainer` advances a run epoch by epoch.

A run is fully described by its :class:`~verigrad.training.config.TrainConfig`. All randomness
(the split, the initialisation, the shuffling, dropout and stochastic pooling) comes from one
``numpy.random.Generator`` seeded by ``config.seed``, whose state is saved in every checkpoint
together with the weights, the optimizer and scheduler state and the history. Resuming restores
all of it, so ``4 epochs`` and ``2 epochs + resume to 4`` give bit-identical weights.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from .. import functional as F
from .._checks import ParameterError, ParameterTypeError
from ..data import DataLoader, load_dataset
from ..io import remove_stale_temporaries
from ..nn.models import build_model
from ..optim.registry import make_optimizer, make_scheduler
from ..prox import l1
from ..tensor import Tensor
from .checkpoint import (
    CHECKPOINT,
    load_checkpoint,
    make_run_directory,
    model_state,
    optimizer_state,
    save_checkpoint,
    scheduler_state,
)
from .compact import (
    apply_group_prox,
    collapsed_layers,
    find_units,
    layer_sparsity,
    removable_fraction,
    weight_sparsity,
)
from .config import TrainConfig
from .evaluation import evaluate_model

__all__ = [
    "Trainer",
    "TrainingDiverged",
    "ModelCollapsed",
    "sparsity",
    "l1_layer_scales",
    "penalty_factor",
    "finetune_step_size",
]

#: fraction of exactly-zero weights (ndim > 1), see :func:`~verigrad.training.compact.weight_sparsity`
sparsity = weight_sparsity


class TrainingDiverged(FloatingPointError):
    """The training loss, the outputs or the weights became NaN or infinite.

    The last complete epoch's checkpoint stays. Attributes, as data: ``what`` (what became
    non-finite), ``epoch`` (1-based, the epoch it happened in) and ``lr``, ``weight_decay`` and
    ``l1``, the options that set the step.
    """

    def __init__(
        self,
        what: str,
        epoch: int,
        lr: float,
        weight_decay: float,
        l1: float,
        group_l1: float = 0.0,
    ):
        self.what, self.epoch = what, epoch
        self.lr, self.weight_decay, self.l1, self.group_l1 = lr, weight_decay, l1, group_l1
        super().__init__(
            f"{what} at epoch {epoch}: training diverged (lr {lr:g}, weight_decay "
            f"{weight_decay:g}, l1 {l1:g}, group_l1 {group_l1:g}); start a new run with "
            "smaller values"
        )


class ModelCollapsed(TrainingDiverged):
    """The sparsity penalties made every weight of a layer zero: the model's output no longer
    depends on its input. ``layers`` names those layers; the rest as :class:`TrainingDiverged`
    (the last complete epoch's checkpoint stays)."""

    def __init__(self, layers, epoch: int, lr: float, weight_decay: float, l1: float, group_l1):
        self.layers = list(layers)
        super().__init__(
            f"every weight of layer(s) {', '.join(self.layers)} is 0",
            epoch,
            lr,
            weight_decay,
            l1,
            group_l1,
        )
        self.args = (
            f"the model collapsed to zero at epoch {epoch}: every weight of layer(s) "
            f"{', '.join(self.layers)} is 0 (l1 {l1:g}, group_l1 {group_l1:g}, lr {lr:g}); "
            "start a new run with smaller penalties",
        )


def l1_layer_scales(model, scale: str = "fan-in") -> list:
    """One ``(weight, factor)`` per weight tensor (ndim > 1) of ``model``: the l1 penalty on
    that tensor is ``l1 * factor * ||W||_1``.

    ``scale="fan-in"``: ``factor_l = sqrt(fan_in_l) / c``, with ``fan_in`` the inputs of one
    output (``in_channels * kh * kw`` for a conv, ``in_features`` for a linear layer) and ``c``
    the mean of ``sqrt(fan_in)`` over all the weights, so the penalty measures each weight in
    units of its layer's initial scale ``1 / sqrt(fan_in)`` (the initialisation of
    :mod:`verigrad.nn`) while ``l1`` stays the average penalty per weight. A layer of few, large
    weights (the digits CNN's first conv: 9 inputs per filter, factor 0.26) is then not pruned
    before layers of many small ones (its second conv, 144 inputs, factor 1.03; the output
    layer, 128, factor 0.97), as with one threshold in ``|w|``: Han et al. (2015)'s per-layer
    threshold proportional to the layer's weight scale, for the l1 penalty. ``scale="none"``:
    ``factor = 1``, one ``l1`` for every weight.
    """
    weights = [p for p in model.parameters() if p.ndim > 1]
    if scale == "none" or not weights:
        return [(w, 1.0) for w in weights]
    roots = [np.sqrt(np.prod(w.shape[1:])) for w in weights]
    mean = sum(r * w.size for r, w in zip(roots, weights, strict=True)) / sum(
        w.size for w in weights
    )
    return [(w, float(r / mean)) for w, r in zip(weights, roots, strict=True)]


def penalty_factor(epoch: int, epochs: int, ramp: str = "linear") -> float:
    """The fraction of ``l1``/``group_l1`` applied during epoch ``epoch + 1`` of ``epochs``.

    ``ramp="linear"``: ``(epoch + 1) / epochs``, from ``1 / epochs`` in the first epoch to the
    full penalty in the last. At initialisation the gradients of most weights are smaller than
    a useful lambda (the digits CNN's second conv: mean ``|m_hat|`` about 2e-3 against
    ``l1 = 3e-3``), so the full penalty from the first step zeroes 85% of that layer in the
    first epoch, before anything is learnt, and whole filters die with it; ramped, weights leave
    as the network learns which ones it needs (the gradual schedule of Zhu & Gupta 2017, for
    a penalty). ``ramp="none"``: 1 throughout.
    """
    if ramp == "none":
        return 1.0
    return min(1.0, (epoch + 1) / epochs)


def finetune_step_size(finetune_epochs: int) -> int:
    """The ``step`` schedule's decay interval while fine-tuning: half the fine-tuning epochs
    (at least 1), so fine-tuning, like the run before it (decay after 10 of 20 epochs), ends at
    a tenth of its rate; without the decay the test accuracy of the digits CNN moved by up to
    2.3 points from one fine-tuning epoch to the next (seed 2), so the last one was noise."""
    return max(1, finetune_epochs // 2)


def _param_groups(model, l1_strength: float, scale: str = "fan-in"):
    """The model's parameters; with ``l1 > 0``, one group per weight tensor (ndim > 1) with
    soft thresholding at ``l1`` times its :func:`l1_layer_scales` factor as its ``prox``, and
    the biases in a plain group."""
    params = list(model.parameters())
    if l1_strength <= 0:
        return params
    groups = [
        {"params": [w], "prox": l1(l1_strength * factor)}
        for w, factor in l1_layer_scales(model, scale)
    ]
    others = [p for p in params if p.ndim <= 1]
    if others:
        groups.append({"params": others})
    return groups


#: what a checkpoint's config that lacks these fields trained with
_LEGACY_SPARSE_OPTIONS = {"l1_scale": "none", "penalty_ramp": "none"}


class _SupportProjection:
    """``prox(v, t) = v * mask``: the projection onto the parameters with the given support
    (the prox of its indicator, the same in any metric), holding zeros at zero."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask

    def __call__(self, v, t):
        return v * self.mask


class Trainer:
    """A training run: its data, model, optimizer, schedule and directory.

    ``Trainer(config, run_dir)`` loads the data and builds the model, the optimizer and the
    schedule, and only then makes ``run_dir`` (None: a new ``runs/<timestamp>``; see
    :func:`~verigrad.training.checkpoint.make_run_directory`), so bad input leaves no
    directory behind. :meth:`run` trains up to ``config.epochs``, writing the checkpoint
    ``run_dir/model.npz`` after every epoch; :meth:`resume` rebuilds a saved run.

    Attributes: ``config``, ``run_dir``, ``Xtr``, ``ytr``, ``Xte``, ``yte``, ``n_classes``,
    ``model``, ``optimizer``, ``scheduler`` (None for ``schedule="none"``), ``rng``,
    ``epoch`` (complete epochs), ``history`` (one record per epoch), ``elapsed`` (s).
    """

    def __init__(self, config: TrainConfig, run_dir=None):
        if not isinstance(config, TrainConfig):
            raise ParameterTypeError(
                "config", f"expected a TrainConfig, got {type(config).__name__}"
            )
        self.config = config
        self.Xtr, self.ytr, self.Xte, self.yte, self.n_classes = load_dataset(
            config.data, config.seed, config.test_size
        )
        if len(np.unique(self.ytr)) < 2:
            raise ParameterError("data", "the training set needs at least two classes")
        self.rng = np.random.default_rng(config.seed)
        self.model = build_model(
            config.model, self.Xtr.shape[1:], self.n_classes, config.pool, rng=self.rng
        )
        # weight decay 0 means the optimizer's own default (AdamW's is 1e-2)
        self.optimizer = make_optimizer(
            config.optimizer,
            _param_groups(self.model, config.l1, config.l1_scale),
            config.lr,
            weight_decay=config.weight_decay or None,
        )
        if config.group_l1 > 0 and not find_units(self.model):
            raise ParameterError(
                "group_l1",
                f"the {config.model} model has no conv filters or hidden neurons to make zero "
                "(its only layer's outputs are the classes); use the l1 penalty for sparse weights",
            )
        self.scheduler = make_scheduler(config.schedule, self.optimizer, config.epochs)
        self._finetuning = False
        self.epoch = 0
        self.history: list = []
        self._test = None  # evaluation of the current weights on the test set, once computed
        self.elapsed = 0.0
        self.run_dir, self._made_run_dir = make_run_directory(run_dir)
        remove_stale_temporaries(self.checkpoint_path)  # what a write killed mid-way left

    @property
    def finetuning(self) -> bool:
        """Whether the run is in its fine-tuning phase (``config.finetune_epochs``)."""
        return self._finetuning

    def start_finetuning(self) -> None:
        """Switch to fine-tuning: every parameter's zeros held by a projection after each step,
        the penalties off, a fresh optimizer and schedule over ``finetune_epochs``."""
        config = self.config
        groups = [
            {"params": [p], "prox": _SupportProjection(p.data != 0)}
            for p in self.model.parameters()
        ]
        self.optimizer = make_optimizer(
            config.optimizer, groups, config.lr, weight_decay=config.weight_decay or None
        )
        self.scheduler = make_scheduler(
            config.schedule,
            self.optimizer,
            config.finetune_epochs,
            step_size=finetune_step_size(config.finetune_epochs),
        )
        self._finetuning = True

    @property
    def checkpoint_path(self) -> str:
        return os.path.join(self.run_dir, CHECKPOINT)

    # ------------------------------------------------------------------ checkpoints
    def meta(self) -> dict:
        """The checkpoint's ``meta`` entry (see :mod:`verigrad.training.checkpoint`)."""
        return {
            "config": self.config.as_dict(),
            "epoch": self.epoch,
            "history": self.history,
            "elapsed": self.elapsed,
            "n_classes": self.n_classes,
            "input_shape": list(self.Xtr.shape[1:]),
            "rng": self.rng.bit_generator.state,
        }

    def save_checkpoint(self) -> None:
        save_checkpoint(
            self.checkpoint_path, self.model, self.optimizer, self.scheduler, self.meta()
        )

    @classmethod
    def resume(cls, run_dir, epochs: int | None = None) -> Trainer:
        """Rebuild the run saved in ``run_dir/model.npz``; ``epochs`` (total) may extend it."""
        arrays, meta = load_checkpoint(os.path.join(run_dir, CHECKPOINT))
        # runs saved before l1_scale and penalty_ramp existed trained without them
        config = TrainConfig(**{**_LEGACY_SPARSE_OPTIONS, **meta["config"]})
        if config.finetune_epochs and epochs is not None and epochs != config.epochs:
            raise ParameterError(
                "epochs",
                f"the run in {run_dir} fine-tunes after {config.epochs} epochs; its epochs "
                f"cannot change, got {epochs}",
            )
        if epochs is not None and not config.finetune_epochs:
            if epochs < meta["epoch"]:
                raise ParameterError(
                    "epochs",
                    f"the run in {run_dir} already has {meta['epoch']} epochs, got {epochs}",
                )
            config = dataclasses.replace(config, epochs=epochs)
        trainer = cls(config, run_dir)
        trainer.model.load_state_dict(model_state(arrays))
        if int(meta["epoch"]) >= config.epochs and config.finetune_epochs:
            trainer.start_finetuning()  # the zeros of the saved weights are the support
        trainer.optimizer.load_state_dict(optimizer_state(arrays))
        state = scheduler_state(arrays)
        if trainer.scheduler is not None and state is not None:
            if epochs is not None and "T_max" in state:
                state["T_max"] = trainer.scheduler.T_max  # a longer run stretches the schedule
            trainer.scheduler.load_state_dict(state)
        trainer.rng.bit_generator.state = meta["rng"]
        trainer.epoch = int(meta["epoch"])
        trainer.history = list(meta["history"])
        trainer.elapsed = float(meta["elapsed"])
        return trainer

    # ------------------------------------------------------------------ the loop
    def train_epoch(self, progress: bool = True) -> dict:
        """One pass over the shuffled training set; ``train_loss`` and ``train_top1_error``
        averaged over it. Raises :class:`TrainingDiverged` (before any checkpoint is written)
        when the outputs, the loss or the weights stop being finite."""
        from tqdm import tqdm

        config = self.config
        group_l1 = self._apply_penalty_ramp()
        loader = DataLoader(self.Xtr, self.ytr, config.batch_size, shuffle=True, rng=self.rng)
        self.model.train()
        self._test = None  # the weights are about to change
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(
            loader,
            desc=f"epoch {self.epoch + 1}/{config.total_epochs}",
            unit="batch",
            disable=not progress,
            leave=False,
            dynamic_ncols=True,
        )
        # overflow on the way to a diverging run is caught below, by value, with one message
        # naming the options that set the step; NumPy's warnings would only repeat it
        with bar, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for xb, yb in bar:
                logits = self.model(Tensor(xb))
                if not np.all(np.isfinite(logits.data)):
                    raise self._diverged("the model's outputs became NaN or infinite")
                loss = F.cross_entropy(logits, yb)
                if not np.isfinite(loss.data):
                    raise self._diverged(f"the training loss became {loss.item()}")
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                if group_l1 > 0:
                    apply_group_prox(self.model, self.optimizer, group_l1)
                n = len(yb)
                total_loss += float(loss.item()) * n
                correct += int(np.count_nonzero(logits.data.argmax(axis=1) == yb))
                seen += n
                bar.set_postfix(
                    loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False
                )
        if not all(np.all(np.isfinite(p.data)) for p in self.model.parameters()):
            # checked before the epoch's checkpoint replaces the last good one
            raise self._diverged("the weights became NaN or infinite")
        if self.sparse and not self._finetuning:
            collapsed = collapsed_layers(self.model)
            if collapsed:  # checked before the epoch's checkpoint replaces the last good one
                c = self.config
                raise ModelCollapsed(
                    collapsed, self.epoch + 1, c.lr, c.weight_decay, c.l1, c.group_l1
                )
        return {"train_loss": total_loss / seen, "train_top1_error": 1.0 - correct / seen}

    def _apply_penalty_ramp(self) -> float:
        """Set the l1 prox of each weight group to this epoch's strength (``l1`` times the
        layer's factor times :func:`penalty_factor`); return this epoch's ``group_l1`` (0 while
        fine-tuning). The strength depends only on ``self.epoch``, so a resumed run continues
        the ramp where it stopped."""
        config = self.config
        if self._finetuning or not self.sparse:
            return 0.0
        factor = penalty_factor(self.epoch, config.epochs, config.penalty_ramp)
        if config.l1 > 0:
            scales = {id(w): f for w, f in l1_layer_scales(self.model, config.l1_scale)}
            for group in self.optimizer.param_groups:
                if group.get("prox") is not None:
                    group["prox"] = l1(config.l1 * factor * scales[id(group["params"][0])])
        return config.group_l1 * factor

    def _diverged(self, what: str) -> TrainingDiverged:
        c = self.config
        return TrainingDiverged(what, self.epoch + 1, c.lr, c.weight_decay, c.l1, c.group_l1)

    @property
    def sparse(self) -> bool:
        """Whether the run trains with a sparsity penalty (l1 or group_l1)."""
        return self.config.l1 > 0 or self.config.group_l1 > 0

    def sparsity_metrics(self) -> dict:
        """``sparsity`` (fraction of zero weights) and ``zero_filters`` (fraction of removable
        filters and hidden neurons, see :mod:`verigrad.training.compact`)."""
        return {
            "sparsity": sparsity(self.model),
            "zero_filters": removable_fraction(self.model),
        }

    def run(self, progress: bool = True, log=print) -> dict:
        """Train up to ``config.epochs`` (saving after each), then return the final metrics.

        A run that diverges before its first checkpoint removes the run directory it made.
        """
        while self.epoch < self.config.total_epochs:
            if self.epoch >= self.config.epochs and not self._finetuning:
                self.start_finetuning()
            start = time.perf_counter()
            lr = self.optimizer.param_groups[0]["lr"]
            try:
                train = self.train_epoch(progress)
            except TrainingDiverged:
                self._remove_empty_run_directory()
                raise
            test = self.test_evaluation()
            if self.scheduler is not None:
                self.scheduler.step()
            self.epoch += 1
            self.elapsed += time.perf_counter() - start
            record = {
                "epoch": self.epoch,
                "lr": lr,
                **train,
                "test_loss": test["loss"],
                "test_top1_error": test["top1_error"],
                "test_top3_error": test["top3_error"],
                "time_s": time.perf_counter() - start,
            }
            if self.sparse:
                record.update(self.sparsity_metrics())
            if self._finetuning:
                record["phase"] = "finetune"
            self.history.append(record)
            self.save_checkpoint()
            if log:
                sparse = (
                    f"  zero weights {100 * record['sparsity']:.1f}%  zero filters "
                    f"{100 * record['zero_filters']:.1f}%"
                    if self.sparse
                    else ""
                )
                log(
                    f"epoch {self.epoch:3d}/{self.config.total_epochs}  train loss "
                    f"{train['train_loss']:.4f}  test loss {test['loss']:.4f}  test acc "
                    f"{test['accuracy']:.4f}  top-3 err {test['top3_error']:.4f}{sparse}  "
                    f"({record['time_s']:.2f} s)" + ("  fine-tuning" if self._finetuning else "")
                )
        return self.final_metrics()

    def _remove_empty_run_directory(self) -> None:
        if self.epoch == 0 and self._made_run_dir:  # nothing was saved: leave no empty run
            try:
                os.rmdir(self.run_dir)
            except OSError:
                pass

    def test_evaluation(self) -> dict:
        """:func:`~verigrad.training.evaluation.evaluate_model` on the test set for the current
        weights, computed once (the epoch log, the final metrics and the report's confusion
        matrix share it)."""
        if self._test is None:
            self._test = evaluate_model(self.model, self.Xte, self.yte)
        return self._test

    def final_metrics(self) -> dict:
        """``metrics.json``'s ``final``: test accuracy and errors, time, size (and sparsity)."""
        test = self.test_evaluation()
        final = {
            "test_accuracy": test["accuracy"],
            "test_top1_error": test["top1_error"],
            "test_top3_error": test["top3_error"],
            "test_loss": test["loss"],
            "wall_time_s": self.elapsed,
            "n_parameters": self.model.n_parameters(),
            "n_train": int(len(self.ytr)),
            "n_test": int(len(self.yte)),
        }
        if self.sparse:
            final.update(self.sparsity_metrics())
            final["layers"] = layer_sparsity(self.model)
        return final

    def metrics(self, final: dict) -> dict:
        """``metrics.json``: ``config``, ``epochs`` (the history) and ``final``."""
        return {"config": self.config.as_dict(), "epochs": self.history, "final": final}
