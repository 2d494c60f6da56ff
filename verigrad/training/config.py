"""What a training run is: :class:`TrainConfig`, every option, validated when it is made."""

from __future__ import annotations

import dataclasses

from .._checks import ParameterError, check_choice, check_finite, check_int, check_number
from ..nn.models import MODELS, POOLS
from ..optim.registry import OPTIMIZERS, SCHEDULES, default_lr

__all__ = ["TrainConfig", "L1_SCALES", "PENALTY_RAMPS"]

#: how the l1 penalty is spread over the layers (TrainConfig.l1_scale)
L1_SCALES = ("fan-in", "none")
#: how the sparsity penalties grow over the sparse epochs (TrainConfig.penalty_ramp)
PENALTY_RAMPS = ("linear", "none")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every option of a training run (what ``metrics.json`` records as ``config``).

    Parameters
    ----------
    data : str
        ``digits``, ``mnist:DIR`` or ``FILE.npz`` (see :mod:`verigrad.data.sources`).
    model : str
        One of :data:`~verigrad.nn.models.MODELS` (``softmax``, ``mlp``, ``cnn``).
    pool : str
        The cnn's pooling layer, one of :data:`~verigrad.nn.models.POOLS`.
    optimizer : str
        One of :data:`~verigrad.optim.registry.OPTIMIZERS`.
    lr : float, optional
        Learning rate, ``> 0`` and finite. Not given (None): the optimizer's default for the
        model, :func:`~verigrad.optim.registry.default_lr` ``(optimizer, model)`` (Adam's 3e-3;
        0.03 for softmax regression); the config holds the resolved value from then on.
    weight_decay : float
        ``>= 0``; 0 means the optimizer's own default (0; AdamW's 1e-2).
    schedule : str
        One of :data:`~verigrad.optim.registry.SCHEDULES`.
    epochs, batch_size : int
        ``epochs`` in ``[1, 100000]``, ``batch_size >= 1``.
    l1 : float
        ``>= 0``, finite: the penalty ``l1 * ||W||_1`` on the weights (not the biases) by its
        prox after each step, soft thresholding in the optimizer's metric (threshold
        ``lr * l1`` for SGD, ``lr * l1 / (sqrt(v_hat) + eps)`` per weight for Adam; see
        :mod:`verigrad.optim.optimizer`).
    group_l1 : float
        ``>= 0``, finite: the group lasso ``group_l1 * sum_j sqrt(|x_j|) ||x_j||_2`` over every
        conv filter and hidden neuron ``x_j`` (its weights and bias; the output layer's
        neurons, the classes, are not grouped), by the exact block soft threshold in the
        optimizer's metric after each step (:func:`verigrad.training.compact.apply_group_prox`).
    finetune_epochs : int
        ``>= 0``; with ``l1`` or ``group_l1``: after the ``epochs`` of sparse training, this many
        epochs of fine-tuning with the penalties off and the zeros held (every parameter
        projected onto its support after each step, the prox of the support's indicator),
        with a fresh optimizer and schedule of the same kind: the debiasing step of the relaxed
        lasso, the fine-tuning of magnitude pruning (Han et al. 2015). The run then has
        ``epochs + finetune_epochs`` epochs.
    seed : int
        Seeds the split, the initialisation, the shuffling, dropout and stochastic pooling.
    test_size : float
        Fraction of ``digits``/``.npz`` samples held out, in ``(0, 1)``.

    Notes
    -----
    The config is frozen: ``dataclasses.replace(config, epochs=40)`` makes a changed copy
    (validated again). Errors are :class:`~verigrad._checks.ParameterError` naming the field.
    """

    data: str = "digits"
    model: str = "cnn"
    pool: str = "max"
    optimizer: str = "adam"
    lr: float | None = None
    weight_decay: float = 0.0
    schedule: str = "step"
    epochs: int = 20
    batch_size: int = 32
    l1: float = 0.0
    group_l1: float = 0.0
    finetune_epochs: int = 0
    #: ``fan-in`` (the l1 penalty of each layer times ``sqrt(fan_in)``: weights measured in
    #: units of their initial scale) or ``none``; see :func:`verigrad.training.loop.l1_layer_scales`
    l1_scale: str = "fan-in"
    #: ``linear`` (l1 and group_l1 grow from 1/epochs of their value in the first epoch to all
    #: of it in the last) or ``none``; see :func:`verigrad.training.loop.penalty_factor`
    penalty_ramp: str = "linear"
    seed: int = 0
    test_size: float = 0.2

    def __post_init__(self):
        self.validate()
        if self.lr is None:
            object.__setattr__(self, "lr", default_lr(self.optimizer, self.model))

    def validate(self) -> TrainConfig:
        """Check every field (done when the config is made); returns ``self``."""
        check_choice(self.model, "model", MODELS)
        check_choice(self.pool, "pool", POOLS)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.schedule, "schedule", SCHEDULES)
        # check_number lets infinity through; an infinite step or penalty only ever trains NaNs
        # (or, for l1, a model of zeros), so it is refused before any work is done
        if self.lr is not None:
            check_finite(check_number(self.lr, "lr", 0.0, low_open=True), "lr")
        check_finite(check_number(self.weight_decay, "weight_decay", 0.0), "weight_decay")
        check_int(self.epochs, "epochs", 1, 100_000)
        check_int(self.batch_size, "batch_size", 1, 2**31 - 1)
        check_finite(check_number(self.l1, "l1", 0.0), "l1")
        check_finite(check_number(self.group_l1, "group_l1", 0.0), "group_l1")
        check_int(self.finetune_epochs, "finetune_epochs", 0, 100_000)
        check_choice(self.l1_scale, "l1_scale", L1_SCALES)
        check_choice(self.penalty_ramp, "penalty_ramp", PENALTY_RAMPS)
        if self.finetune_epochs and not (self.l1 > 0 or self.group_l1 > 0):
            raise ParameterError(
                "finetune_epochs",
                "fine-tunes the zeros a sparsity penalty leaves: give the l1 or the group-l1 "
                "penalty too",
            )
        check_int(self.seed, "seed", 0, 2**63 - 1)
        check_number(self.test_size, "test_size", 0.0, 1.0, low_open=True, high_open=True)
        if not isinstance(self.data, str) or not self.data:
            raise ParameterError(
                "data", f"expected 'digits', 'mnist:DIR' or FILE.npz, got {self.data!r}"
            )
        return self

    @property
    def total_epochs(self) -> int:
        """``epochs`` of training plus ``finetune_epochs`` of fine-tuning."""
        return self.epochs + self.finetune_epochs

    def as_dict(self) -> dict:
        """The fields as a plain dict (``lr`` resolved): ``TrainConfig(**d)`` rebuilds it."""
        return dataclasses.asdict(self)
