"""Layer cases shared by the torch and ONNX conversion tests: (name, factory(dtype), shape)."""

import numpy as np

import verigrad.nn as nn

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}

# (name, factory(dtype), input shape); inputs are non-negative (stochastic pooling needs it)
LAYERS = [
    ("linear", lambda d: nn.Linear(6, 4, rng=0, dtype=d), (3, 6)),
    ("linear-nobias", lambda d: nn.Linear(6, 4, bias=False, rng=0, dtype=d), (3, 6)),
    (
        "conv",
        lambda d: nn.Conv2d(2, 4, 3, stride=2, padding=1, dilation=1, rng=0, dtype=d),
        (2, 2, 9, 9),
    ),
    (
        "conv-groups-dilation",
        lambda d: nn.Conv2d(4, 6, (3, 2), padding=(2, 1), dilation=2, groups=2, rng=0, dtype=d),
        (2, 4, 8, 7),
    ),
    ("conv-same", lambda d: nn.Conv2d(2, 3, 4, padding="same", rng=0, dtype=d), (2, 2, 7, 7)),
    (
        "conv-transpose",
        lambda d: nn.ConvTranspose2d(
            4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, rng=0, dtype=d
        ),
        (2, 4, 5, 5),
    ),
    ("relu", lambda d: nn.ReLU(), (2, 3, 4, 4)),
    ("sigmoid", lambda d: nn.Sigmoid(), (2, 3, 4, 4)),
    ("tanh", lambda d: nn.Tanh(), (2, 3, 4, 4)),
    ("identity", lambda d: nn.Identity(), (2, 3)),
    ("flatten", lambda d: nn.Flatten(), (2, 3, 4, 4)),
    ("flatten-middle", lambda d: nn.Flatten(1, 2), (2, 3, 4, 5)),
    ("flatten-all", lambda d: nn.Flatten(0, -1), (2, 3, 4)),
    ("dropout", lambda d: nn.Dropout(0.3), (2, 8)),
    ("maxpool", lambda d: nn.MaxPool2d(2), (2, 3, 8, 8)),
    (
        "maxpool-ceil",
        lambda d: nn.MaxPool2d(3, 2, padding=1, dilation=1, ceil_mode=True),
        (2, 3, 8, 8),
    ),
    ("maxpool-dilated", lambda d: nn.MaxPool2d(2, 1, dilation=2), (2, 3, 7, 7)),
    ("avgpool", lambda d: nn.AvgPool2d(2), (2, 3, 8, 8)),
    (
        "avgpool-pad-ceil",
        lambda d: nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False),
        (2, 3, 8, 8),
    ),
    ("avgpool-pad-count", lambda d: nn.AvgPool2d(3, 2, padding=1), (2, 3, 7, 7)),
    ("lppool", lambda d: nn.LPPool2d(2, 2), (2, 3, 8, 8)),
    ("lppool-3-ceil", lambda d: nn.LPPool2d(3, 3, 2, ceil_mode=True), (2, 3, 8, 8)),
    ("lppool-1.5-ceil", lambda d: nn.LPPool2d(1.5, 2, ceil_mode=True), (2, 3, 7, 7)),
    ("lppool-inf", lambda d: nn.LPPool2d(float("inf"), 3, 2, ceil_mode=True), (2, 3, 8, 8)),
    ("adaptive-max-tiles", lambda d: nn.AdaptiveMaxPool2d((2, 4)), (2, 3, 6, 8)),
    ("adaptive-avg", lambda d: nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    ("adaptive-max", lambda d: nn.AdaptiveMaxPool2d(3), (2, 3, 7, 8)),
    ("global-avg", lambda d: nn.GlobalAvgPool2d(), (2, 3, 5, 5)),
    ("global-max", lambda d: nn.GlobalMaxPool2d(), (2, 3, 5, 5)),
    ("stochastic", lambda d: nn.StochasticPool2d(2), (2, 3, 8, 8)),
    ("stochastic-overlap", lambda d: nn.StochasticPool2d(3, 2), (2, 3, 9, 9)),
    ("mixed", lambda d: nn.MixedPool2d(2, alpha=0.3, dtype=d), (2, 3, 8, 8)),
    ("mixed-pad", lambda d: nn.MixedPool2d(3, 2, padding=1, alpha=0.8, dtype=d), (2, 3, 7, 7)),
]


def sample_input(shape, dtype, seed=0):
    x = np.random.default_rng(seed).random(shape).astype(dtype)
    x[..., 0, :] = 0  # zeros: ties for max, empty windows for stochastic pooling
    return x
