"""Top-5 accuracy on (100000, 1000) float32 scores vs scikit-learn and a torch.topk computation.

verigrad counts, per row, the classes that beat the true class (``O(N * C)``, no sort, ties as
scikit-learn); ``sklearn.metrics.top_k_accuracy_score`` argsorts every row (target: ratio
<= 1/30) and the torch reference is ``(torch.topk(s, k).indices == y[:, None]).any(1)
.float().mean()`` with torch's default threads (target: ratio <= 1.0). Two informational
rows follow: the same against torch on "trained-like" scores (true class boosted, so most
rows need the tie check) and the streaming ``TopKError(ks=(1, 5))`` fed in 10 batches
against torch computing top-1 and top-5 batch by batch. Standard normal scores, fixed seed;
``quick`` uses (2000, 100).
"""

from __future__ import annotations

import warnings

import numpy as np

from .harness import compare

__all__ = ["run"]


def run(quick: bool = False) -> list:
    import torch
    from sklearn.metrics import top_k_accuracy_score

    from ..metrics import TopKError, top_k_accuracy

    n, c = (2000, 100) if quick else (100_000, 1000)
    k = 5
    rng = np.random.default_rng(20240605)
    scores = rng.standard_normal((n, c), dtype=np.float32)
    labels = rng.integers(0, c, size=n)
    trained = scores.copy()
    trained[np.arange(n), labels] += 3.0
    scores_t, labels_t, trained_t = (torch.from_numpy(a) for a in (scores, labels, trained))
    case = f"({n}, {c}) float32, k={k}"
    repeats = 3 if quick else 7
    values = {}

    def torch_topk(s):
        return float((torch.topk(s, k).indices == labels_t[:, None]).any(1).float().mean())

    def ours():
        values["ours"] = top_k_accuracy(scores, labels, k)

    def ours_trained():
        values["ours_trained"] = top_k_accuracy(trained, labels, k)

    def reference_torch():
        values["torch"] = torch_topk(scores_t)

    def reference_torch_trained():
        values["torch_trained"] = torch_topk(trained_t)

    def reference_sklearn():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values["sklearn"] = top_k_accuracy_score(labels, scores, k=k, labels=np.arange(c))

    threads = torch.get_num_threads()
    rows = [compare("topk", case, ours, reference_torch, "torch.topk", repeats=repeats, target=1.0)]
    rows[-1].extra = {"acc": values["ours"], "torch_acc": values["torch"], "torch_threads": threads}

    # sklearn sorts every row (~6 s per call at full size): no warm-up, three repeats
    rows.append(
        compare(
            "topk",
            case,
            ours,
            reference_sklearn,
            "sklearn top_k_accuracy_score",
            repeats=3,
            warmup=0,
            target=1 / 30,
        )
    )
    rows[-1].extra = {"acc": values["ours"], "sklearn_acc": values["sklearn"]}

    rows.append(
        compare(
            "topk",
            case + ", trained-like scores",
            ours_trained,
            reference_torch_trained,
            "torch.topk",
            repeats=repeats,
        )
    )
    rows[-1].extra = {
        "acc": values["ours_trained"],
        "torch_acc": values["torch_trained"],
        "torch_threads": threads,
    }

    batches = np.array_split(np.arange(n), 10)

    def ours_streaming():
        stream = TopKError(ks=(1, 5))
        for b in batches:
            stream.update(scores[b[0] : b[-1] + 1], labels[b[0] : b[-1] + 1])
        values["stream"] = stream.compute()

    def torch_streaming():
        hits1 = hits5 = 0
        for b in batches:
            top = (
                torch.topk(scores_t[b[0] : b[-1] + 1], 5).indices
                == labels_t[b[0] : b[-1] + 1, None]
            )
            hits1 += int(top[:, 0].sum())
            hits5 += int(top.any(1).sum())
        values["torch_stream"] = {1: 1 - hits1 / n, 5: 1 - hits5 / n}

    rows.append(
        compare(
            "topk",
            case + ", streaming TopKError(ks=(1, 5)), 10 batches",
            ours_streaming,
            torch_streaming,
            "torch.topk per batch",
            repeats=repeats,
        )
    )
    rows[-1].extra = {
        "top5_err": values["stream"][5],
        "torch_top5_err": values["torch_stream"][5],
        "top1_err": values["stream"][1],
        "torch_top1_err": values["torch_stream"][1],
    }
    return rows
