"""Benchmarks: verigrad side by side with the reference library (``verigrad bench``).

Each entry names a module ``verigrad.bench.<module>`` with a ``run(quick=False)`` function
returning :class:`~verigrad.bench.harness.Row` objects. Modules are imported only when their
benchmark runs, so a missing reference library affects only that benchmark.
"""

from __future__ import annotations

import importlib
import importlib.util

from .._checks import ParameterError
from .harness import Row, compare, format_table, to_json, to_markdown

__all__ = [
    "BENCHMARKS",
    "run_benchmarks",
    "Row",
    "compare",
    "format_table",
    "to_markdown",
    "to_json",
]

#: name -> (module, one-line description)
BENCHMARKS = {
    "softmax": ("softmax", "softmax regression on digits vs scikit-learn LogisticRegression"),
    "mlp": ("mlp", "one MLP training step (batch 128, 64-256-256-10) vs torch"),
    "conv": ("conv", "conv2d forward+backward vs torch"),
    "pool": ("pool", "max_pool2d forward+backward vs torch"),
    "adam": ("optim", "Adam step on 1M float32 parameters vs torch.optim"),
    "topk": ("topk", "top-5 error on (100000, 1000) scores vs scikit-learn and torch.topk"),
    "tsne": ("tsne", "t-SNE (fft) vs openTSNE and scikit-learn"),
    "lasso": ("lasso", "Lasso to scikit-learn's objective vs scikit-learn coordinate descent"),
    "train": (
        "train",
        "a LeNet-5 epoch (10,000 28x28 images) and the default digits `verigrad train` vs torch",
    ),
    "lasso_sparse": ("lasso_sparse", "Lasso on a 3000x8000 sparse design vs sklearn's sparse cd"),
    "softmax_classifier": (
        "softmax_classifier",
        "l1 SoftmaxClassifier on standardised digits vs LogisticRegression(saga)",
    ),
    "sparse": ("sparse", "digits CNN: proximal --l1 training vs magnitude pruning (sparse.png)"),
}


#: name -> the reference libraries it imports (checked before anything runs; a benchmark not
#: listed here is reported when its import fails)
REFERENCES = {
    "softmax": ("sklearn",),
    "mlp": ("torch",),
    "conv": ("torch",),
    "pool": ("torch",),
    "adam": ("torch",),
    "topk": ("torch", "sklearn"),
    "tsne": ("openTSNE", "sklearn"),
    "lasso": ("sklearn",),
    "train": ("torch",),
    "softmax_classifier": ("sklearn",),
    "sparse": (),  # verigrad against itself: proximal training vs magnitude pruning
}


def _missing_reference(name: str, package: str) -> ParameterError:
    return ParameterError(
        "names",
        f"benchmark {name!r} compares with {package}, which is not installed "
        "(pip install -e '.[test]' installs every reference)",
    )


def available() -> dict:
    """The registered benchmarks whose module exists."""
    found = {}
    for name, (module, text) in BENCHMARKS.items():
        if importlib.util.find_spec(f"{__name__}.{module}") is not None:
            found[name] = text
    return found


def run_benchmarks(names=None, quick: bool = False, progress=None) -> list:
    """Run the named benchmarks (all available ones by default) and return their rows."""
    table = available()
    names = list(table) if not names else list(names)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise ParameterError(
            "names",
            f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
        )
    rows = []
    for name in names:
        if name not in table:
            raise ParameterError("names", f"benchmark {name!r} is not available in this build")
        for package in REFERENCES.get(name, ()):
            if importlib.util.find_spec(package) is None:
                raise _missing_reference(name, package)
    for name in names:
        if progress:
            progress(name)
        module = importlib.import_module(f"{__name__}.{BENCHMARKS[name][0]}")
        try:
            rows.extend(module.run(quick=quick))
        except ModuleNotFoundError as exc:
            if not exc.name or exc.name.split(".")[0] == "verigrad":
                raise
            raise _missing_reference(name, exc.name) from None
    return rows
