"""Optimizers (torch.optim's updates, to float64 round-off) and learning-rate schedules."""

from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD"]
