"""What a training run shows a person: curves, confusion matrix, t-SNE of features, report.html.

``report.html`` is one self-contained static page (the figures are embedded as base64 PNGs),
so it reads offline and survives being copied or mailed.
"""

from __future__ import annotations

import base64
import html
import os

import numpy as np

from ..io import atomic_write_text
from ..manifold import TSNE
from ..metrics import confusion_matrix
from ..nn import Sequential
from ..plots import plot_confusion, plot_curves, plot_embedding, plot_layer_sparsity
from .evaluation import forward_in_batches

__all__ = ["write_run_outputs", "penultimate_features", "write_html_report"]

TSNE_MAX_POINTS = 2000


def _data_label(spec: str) -> str:
    """A short name for titles: a run records its data file as an absolute path."""
    if spec.startswith("mnist:"):
        return "mnist:" + os.path.basename(os.path.normpath(spec[len("mnist:") :]))
    return os.path.basename(spec) if spec.endswith(".npz") else spec


def penultimate_features(model, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The inputs of the model's last layer, flattened: ``(N, D)`` float64; the raw inputs for
    a model that is not a ``Sequential`` of several layers."""
    if not isinstance(model, Sequential) or len(model) <= 1:
        return X.reshape(len(X), -1).astype(np.float64)
    return forward_in_batches(model, X, batch_size, part=model[:-1])


def _tsne_figure(model, X, y, path, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    if len(X) > TSNE_MAX_POINTS:
        keep = np.sort(rng.choice(len(X), TSNE_MAX_POINTS, replace=False))
        X, y = X[keep], y[keep]
    features = penultimate_features(model, X)
    n = len(features)
    if n <= 4:
        return {}
    perplexity = float(min(30.0, (n - 1) / 3))
    tsne = TSNE(perplexity=perplexity, method="exact" if n <= 1000 else "fft", random_state=seed)
    embedding = tsne.fit_transform(features)
    what = (
        "penultimate-layer features"
        if isinstance(model, Sequential) and len(model) > 1
        else "input pixels (the model has no hidden layer)"
    )
    plot_embedding(embedding, path, labels=y, title=f"t-SNE of the {what} ({n} test images)")
    return {"tsne_kl_divergence": float(tsne.kl_divergence_)}


def write_run_outputs(trainer, final: dict, tsne: bool = True) -> dict:
    """Write curves.png, confusion.png, tsne.png (and its KL divergence into ``final``) and
    report.html into ``trainer.run_dir``; returns their paths."""
    out_dir = trainer.run_dir
    history = trainer.history
    epochs = [h["epoch"] for h in history]
    paths = {}
    paths["curves"] = plot_curves(
        epochs,
        {
            "loss (cross-entropy)": {
                "train": [h["train_loss"] for h in history],
                "test": [h["test_loss"] for h in history],
            },
            "error": {
                "train top-1": [h["train_top1_error"] for h in history],
                "test top-1": [h["test_top1_error"] for h in history],
                "test top-3": [h["test_top3_error"] for h in history],
            },
        },
        os.path.join(out_dir, "curves.png"),
        title=f"{trainer.config.model} on {_data_label(trainer.config.data)}",
    )
    test = trainer.test_evaluation()
    matrix = confusion_matrix(trainer.yte, test["predictions"], n_classes=trainer.n_classes)
    paths["confusion"] = plot_confusion(
        matrix,
        os.path.join(out_dir, "confusion.png"),
        title=f"Confusion matrix (test accuracy {test['accuracy']:.4f})",
    )
    if final.get("layers"):
        paths["sparsity"] = plot_layer_sparsity(
            final["layers"],
            os.path.join(out_dir, "sparsity.png"),
            title=f"Sparsity per layer ({100 * final['sparsity']:.1f}% zero weights, "
            f"{100 * final['zero_filters']:.1f}% zero filters/neurons)",
        )
    if tsne:
        extra = _tsne_figure(
            trainer.model,
            trainer.Xte,
            trainer.yte,
            os.path.join(out_dir, "tsne.png"),
            trainer.config.seed,
        )
        if extra:
            paths["tsne"] = os.path.join(out_dir, "tsne.png")
            final.update(extra)
    paths["report"] = write_html_report(trainer.metrics(final), paths, out_dir)
    return paths


def _image(path: str, alt: str, css: str = "") -> str:
    with open(path, "rb") as fh:
        data = base64.b64encode(fh.read()).decode("ascii")
    return f'<figure class="{css}"><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(alt)}</figcaption></figure>'


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _percent(fraction) -> str:
    return "" if fraction is None else f"{100 * fraction:.1f}%"


def write_html_report(metrics: dict, paths: dict, out_dir: str) -> str:
    """One static, self-contained page with the figures and the metrics tables."""
    config, final, epochs = metrics["config"], metrics["final"], metrics["epochs"]
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>"
        for k, v in final.items()
        if k != "layers"
    )
    layers = final.get("layers") or []
    layer_rows = "".join(
        f"<tr><th>{html.escape(r['kind'])} {html.escape(str(r['layer']))}</th>"
        f"<td>{r['weights']:,}</td><td>{100 * r['zero_weights']:.1f}%</td>"
        f"<td>{'' if r['units'] is None else r['units']}</td>"
        f"<td>{_percent(r['zero_units'])}</td></tr>"
        for r in layers
    )
    layer_table = (
        "<h2>Sparsity per layer</h2><table><tr><th>layer</th><th>weights</th>"
        "<th>zero weights</th><th>filters/neurons</th><th>removable</th></tr>"
        f"{layer_rows}</table>"
        if layers
        else ""
    )
    conf = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in config.items()
    )
    columns = [
        c
        for c in (
            "epoch",
            "lr",
            "train_loss",
            "train_top1_error",
            "test_loss",
            "test_top1_error",
            "test_top3_error",
            "sparsity",
            "zero_filters",
            "time_s",
        )
        if epochs and c in epochs[0]
    ]
    head = "".join(f"<th>{c}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(e.get(c, ''))}</td>" for c in columns) + "</tr>"
        for e in epochs
    )
    figures = "".join(
        _image(paths[key], caption, css)
        for key, caption, css in (
            ("curves", "Loss and error per epoch", "wide"),
            ("confusion", "Confusion matrix (test set)", "half"),
            ("tsne", "t-SNE of the learned features (test set)", "half"),
            ("sparsity", "Zero weights and removable filters/neurons per layer", "half"),
        )
        if key in paths
    )
    title = f"verigrad train: {config['model']} on {_data_label(config['data'])}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 10px; text-align: right; }}
th {{ background: #f3f3f3; text-align: left; }}
figure {{ display: inline-block; margin: 0.5em 0; vertical-align: top; }}
figure.wide {{ width: 100%; }} figure.half {{ width: 49%; }}
img {{ max-width: 100%; }} figcaption {{ text-align: center; color: #555; }}
.summary {{ font-size: 1.3em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="summary">Test accuracy <b>{final["test_accuracy"]:.4f}</b> (top-1 error {final["test_top1_error"]:.4f},
top-3 error {final["test_top3_error"]:.4f}) after {len(epochs)} epochs in {final["wall_time_s"]:.1f} s,
{final["n_parameters"]:,} parameters.</p>
{figures}
<h2>Final metrics</h2><table>{rows}</table>
{layer_table}
<h2>Per epoch</h2><table><tr>{head}</tr>{body}</table>
<h2>Configuration</h2><table>{conf}</table>
</body></html>
"""
    path = os.path.join(out_dir, "report.html")
    atomic_write_text(path, page)
    return path
