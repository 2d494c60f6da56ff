"""Loss modules."""

from __future__ import annotations

from .. import functional as F
from .._checks import check_choice, check_number
from .module import Module

__all__ = ["CrossEntropyLoss", "MSELoss"]


class CrossEntropyLoss(Module):
    """:func:`verigrad.functional.cross_entropy` as a module (takes logits)."""

    def __init__(
        self,
        weight=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        ignore_index: int = -100,
    ):
        super().__init__()
        self.weight = weight
        self.reduction = check_choice(reduction, "reduction", ("mean", "sum", "none"))
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", 0.0, 1.0)
        self.ignore_index = ignore_index

    def forward(self, logits, target):
        return F.cross_entropy(
            logits, target, self.weight, self.reduction, self.label_smoothing, self.ignore_index
        )


class MSELoss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_choice(reduction, "reduction", ("mean", "sum", "none"))

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)
