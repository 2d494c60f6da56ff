"""Pure forward/backward kernels and their Tensor wrappers (import as ``F``).

Layout: :mod:`.activation` (relu, sigmoid, tanh, dropout), :mod:`.linear`, :mod:`.loss`
(softmax, log_softmax, cross-entropy family), :mod:`.conv` (conv2d, conv_transpose2d) and
:mod:`.pool` (max, average, Lp, adaptive, stochastic and mixed pooling).
"""

from .activation import dropout, relu, sigmoid, tanh
from .conv import conv2d, conv_transpose2d
from .linear import linear
from .loss import (
    cross_entropy,
    cross_entropy_from_probs,
    log_softmax,
    mse_loss,
    nll_loss,
    softmax,
)
from .pool import (
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
    lp_pool2d,
    max_pool2d,
    mixed_pool2d,
    stochastic_pool2d,
)

__all__ = [
    "relu",
    "sigmoid",
    "tanh",
    "dropout",
    "linear",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "nll_loss",
    "cross_entropy_from_probs",
    "mse_loss",
    "conv2d",
    "conv_transpose2d",
    "max_pool2d",
    "avg_pool2d",
    "lp_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
    "stochastic_pool2d",
    "mixed_pool2d",
]
