"""Training runs (``verigrad train``): what a run is, how it advances, where it is kept.

- :mod:`~verigrad.training.config`: :class:`TrainConfig`, every option, validated when made;
- :mod:`~verigrad.training.loop`: :class:`Trainer`, ``Trainer(config, run_dir)`` then ``run()``;
  :meth:`Trainer.resume` continues a saved run bit for bit;
- :mod:`~verigrad.training.checkpoint`: the run directory and the checkpoint format
  (``model.npz``); :func:`load_model` returns a trained model;
- :mod:`~verigrad.training.evaluation`: batched inference, loss and top-k errors;
- :mod:`~verigrad.training.report` (imported on demand: it needs matplotlib): the figures and
  ``report.html``.

The data sources are in :mod:`verigrad.data` (``load_dataset``), the optimizers and schedules
by name in :mod:`verigrad.optim.registry`.
"""

from .checkpoint import CHECKPOINT, load_checkpoint, load_model, model_state
from .config import TrainConfig
from .evaluation import evaluate_model, forward_in_batches
from .loop import Trainer, TrainingDiverged, sparsity

__all__ = [
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "CHECKPOINT",
    "load_checkpoint",
    "load_model",
    "model_state",
    "evaluate_model",
    "forward_in_batches",
    "sparsity",
]
