"""The training job behind ``verigrad train``: data, model, optimizer, loop, checkpoints.

A run is fully described by its :class:`TrainConfig`. All randomness (the split, the
initialisation, the shuffling, dropout and stochastic pooling) comes from one
``numpy.random.Generator`` seeded by ``config.seed``, whose state is saved in every checkpoint
together with the weights, the optimizer and scheduler state and the history. Resuming restores
all of it, so ``4 epochs`` and ``2 epochs + resume to 4`` give bit-identical weights.

The checkpoint ``model.npz`` is rewritten atomically after every epoch (temporary file, fsync,
rename): a run killed at any moment leaves the last complete checkpoint readable.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np

from . import functional as F
from ._checks import MissingFileError, ParameterError, check_choice, check_int, check_number
from .io import atomic_savez, load_npz, pack_tree, unpack_tree
from .nn.models import MODELS, POOLS, build_model
from .tensor import Tensor, no_grad

__all__ = [
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "load_dataset",
    "load_samples",
    "canonical_data",
    "evaluate_model",
    "OPTIMIZERS",
    "SCHEDULES",
    "DEFAULT_LR",
    "load_checkpoint",
    "model_state",
]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine")
DEFAULT_LR = {
    "sgd": 0.1,
    "momentum": 0.03,
    "nesterov": 0.03,
    "adagrad": 0.03,
    "rmsprop": 1e-3,
    "adam": 3e-3,
    "adamw": 3e-3,
}
CHECKPOINT = "model.npz"
STEP_SIZE = 10  # epochs between StepLR decays (fixed, so resuming a run never re-plans it)


@dataclasses.dataclass
class TrainConfig:
    """Every option of a training run (what ``metrics.json`` records as ``config``)."""

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
    seed: int = 0
    test_size: float = 0.2

    def validate(self) -> TrainConfig:
        check_choice(self.model, "model", MODELS)
        check_choice(self.pool, "pool", POOLS)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.schedule, "schedule", SCHEDULES)
        if self.lr is not None:
            _check_finite(check_number(self.lr, "lr", 0.0, low_open=True), "lr")
        _check_finite(check_number(self.weight_decay, "weight_decay", 0.0), "weight_decay")
        check_int(self.epochs, "epochs", 1, 100_000)
        check_int(self.batch_size, "batch_size", 1)
        _check_finite(check_number(self.l1, "l1", 0.0), "l1")
        check_int(self.seed, "seed", 0, 2**63 - 1)
        check_number(self.test_size, "test_size", 0.0, 1.0, low_open=True, high_open=True)
        if not isinstance(self.data, str) or not self.data:
            raise ParameterError(
                "data", f"expected 'digits', 'mnist:DIR' or FILE.npz, got {self.data!r}"
            )
        return self

    @property
    def learning_rate(self) -> float:
        return DEFAULT_LR[self.optimizer] if self.lr is None else float(self.lr)

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["lr"] = self.learning_rate
        return d


def _check_finite(value: float, name: str) -> float:
    # check_number lets infinity through; an infinite step or penalty only ever trains NaNs
    # (or, for l1, a model of zeros), so it is refused before any work is done
    if not np.isfinite(value):
        raise ParameterError(name, f"must be a finite number, got {value}")
    return value


# ---------------------------------------------------------------------------------- data
def _as_images(X: np.ndarray, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1])))
        if side * side == X.shape[1]:
            return X.reshape(len(X), 1, side, side)
        return X
    if X.ndim == 3:
        return X[:, None]
    if X.ndim == 4:
        return X
    raise ParameterError(
        name, f"expected X of shape (N, D), (N, H, W) or (N, C, H, W), got {X.shape}"
    )


def canonical_data(spec):
    """``spec`` with its file (``FILE.npz``) or directory (``mnist:DIR``) made an absolute real
    path; other specs (``digits``) unchanged. A run records its data this way, so it can be
    resumed or evaluated from any working directory, and two spellings of one file compare
    equal (``./d.npz``, ``d.npz``, an absolute path or a symlink)."""
    if not isinstance(spec, str):
        return spec
    if spec.startswith("mnist:") and len(spec) > len("mnist:"):
        return "mnist:" + os.path.realpath(spec[len("mnist:") :])
    if spec.endswith(".npz"):
        return os.path.realpath(spec)
    return spec


def load_samples(spec: str, dtype=np.float32):
    """``(X, y)``: every sample of ``digits``, ``mnist:DIR`` (train and test files) or ``FILE.npz``."""
    from .data import load_digits, load_mnist

    if spec == "digits":
        return load_digits(dtype=dtype)
    if spec.startswith("mnist:"):
        (Xtr, ytr), (Xte, yte) = load_mnist(_mnist_directory(spec), dtype=dtype)
        return np.concatenate([Xtr, Xte]), np.concatenate([ytr, yte])
    if not spec.endswith(".npz"):
        raise ParameterError("data", f"expected 'digits', 'mnist:DIR' or a FILE.npz, got {spec!r}")
    if not os.path.isfile(spec):
        raise MissingFileError("data", f"{spec}: no such file")
    arrays = load_npz(spec)
    if "X" not in arrays or "y" not in arrays:
        raise ParameterError(
            "data", f"{spec} must hold arrays 'X' and 'y', it has {sorted(arrays)}"
        )
    X = _as_images(arrays["X"], "data").astype(dtype)
    y = np.asarray(arrays["y"])
    if len(X) == 0:
        raise ParameterError("data", f"{spec} holds no samples (X has shape {X.shape})")
    if y.dtype.kind not in "iu" or y.ndim != 1 or len(y) != len(X) or y.min() < 0:
        raise ParameterError(
            "data", f"{spec}: y must be non-negative int labels, one per sample of X"
        )
    if not np.all(np.isfinite(X)):
        raise ParameterError("data", f"{spec}: X contains NaN or infinite values")
    return X, y.astype(np.int64)


def _mnist_directory(spec: str) -> str:
    directory = spec[len("mnist:") :]
    if not directory:
        raise ParameterError("data", "give the directory as mnist:DIR")
    return directory


def load_dataset(spec: str, seed: int = 0, test_size: float = 0.2, dtype=np.float32):
    """``(X_train, y_train, X_test, y_test, n_classes)`` for ``digits``, ``mnist:DIR`` or ``FILE.npz``.

    Digits and ``.npz`` data are split (stratified, seeded); MNIST comes with its own test set.
    """
    from .data import load_mnist, train_test_split

    if spec.startswith("mnist:"):
        (Xtr, ytr), (Xte, yte) = load_mnist(_mnist_directory(spec), dtype=dtype)
        n_classes = int(max(ytr.max(), yte.max())) + 1
        return Xtr, ytr, Xte, yte, n_classes
    X, y = load_samples(spec, dtype)
    rng = np.random.default_rng([seed, 1])  # the split has its own stream: same split on resume
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, rng=rng, stratify=True)
    n_classes = len(np.unique(y))
    if n_classes < 2:
        raise ParameterError(
            "data", f"{spec}: training needs at least 2 classes, y holds {n_classes}"
        )
    if len(Xte) == 0:
        # each class gives round(count * test_size) samples to the test part, so a class of
        # ceil(0.5 / test_size) samples is the least that puts one there
        need = int(np.ceil(0.5 / test_size))
        raise ParameterError(
            "data",
            f"{spec}: {len(y)} samples are too few for the train/test split (test size "
            f"{test_size:g}, stratified): give at least {need} samples of one class",
        )
    return Xtr, ytr, Xte, yte, int(y.max()) + 1


# ---------------------------------------------------------------------------------- parts
def _make_optimizer(config: TrainConfig, model):
    from . import optim

    lr, wd = config.learning_rate, config.weight_decay
    params = list(model.parameters())
    if config.l1 > 0:
        from .prox import l1

        weights = [p for p in params if p.ndim > 1]
        others = [p for p in params if p.ndim <= 1]
        groups = [{"params": weights, "prox": l1(config.l1)}]
        if others:
            groups.append({"params": others})
        params = groups
    kind = config.optimizer
    if kind == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=wd)
    if kind in ("momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd, nesterov=kind == "nesterov")
    if kind == "adagrad":
        return optim.Adagrad(params, lr=lr, weight_decay=wd)
    if kind == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=wd)
    if kind == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    return optim.AdamW(params, lr=lr, weight_decay=wd if wd else 1e-2)


def _make_scheduler(config: TrainConfig, optimizer):
    if config.schedule == "none":
        return None
    from .optim import lr_scheduler

    if config.schedule == "step":
        return lr_scheduler.StepLR(optimizer, step_size=STEP_SIZE, gamma=0.1)
    if config.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return None


def evaluate_model(model, X: np.ndarray, y: np.ndarray, batch_size: int = 512) -> dict:
    """Loss, top-1/top-3 errors, predictions and logits of ``model`` on ``(X, y)`` (eval mode)."""
    from .metrics import top_k_error

    was_training = model.training
    model.eval()
    logits = []
    with no_grad():
        for start in range(0, len(X), batch_size):
            logits.append(model(Tensor(X[start : start + batch_size])).data)
    model.train(was_training)
    scores = np.concatenate(logits).astype(np.float64)
    n_classes = scores.shape[1]
    loss = float(F.cross_entropy(scores, y).item())
    result = {
        "loss": loss,
        "top1_error": float(top_k_error(scores, y, k=1)),
        "top3_error": float(top_k_error(scores, y, k=min(3, n_classes))) if n_classes > 3 else 0.0,
        "predictions": scores.argmax(axis=1),
        "scores": scores,
    }
    result["accuracy"] = 1.0 - result["top1_error"]
    return result


def sparsity(model) -> float:
    """Fraction of exactly-zero entries among the weight matrices/kernels (ndim > 1)."""
    weights = [p.data for p in model.parameters() if p.ndim > 1]
    total = sum(w.size for w in weights)
    return float(sum(np.count_nonzero(w == 0) for w in weights) / total) if total else 0.0


# ---------------------------------------------------------------------------------- trainer
class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite; the last complete epoch's checkpoint stays."""


class Trainer:
    """Holds a run's state and advances it epoch by epoch (see the module docstring)."""

    def __init__(self, config: TrainConfig, out_dir: str):
        self.config = config.validate()
        self.out_dir = out_dir
        self.Xtr, self.ytr, self.Xte, self.yte, self.n_classes = load_dataset(
            config.data, config.seed, config.test_size
        )
        if len(np.unique(self.ytr)) < 2:
            raise ParameterError("data", "the training set needs at least two classes")
        self.rng = np.random.default_rng(config.seed)
        self.model = build_model(
            config.model, self.Xtr.shape[1:], self.n_classes, config.pool, rng=self.rng
        )
        self.optimizer = _make_optimizer(config, self.model)
        self.scheduler = _make_scheduler(config, self.optimizer)
        self.epoch = 0
        self.history: list = []
        self._test = None  # evaluation of the current weights on the test set, once computed
        self.elapsed = 0.0

    @property
    def checkpoint_path(self) -> str:
        return os.path.join(self.out_dir, CHECKPOINT)

    # ------------------------------------------------------------------ checkpoints
    def state_arrays(self) -> dict:
        arrays = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        arrays.update(pack_tree(self.optimizer.state_dict(), "optimizer"))
        if self.scheduler is not None:
            arrays.update(pack_tree(self.scheduler.state_dict(), "scheduler"))
        meta = {
            "config": self.config.as_dict() | {"lr": self.config.lr},
            "epoch": self.epoch,
            "history": self.history,
            "elapsed": self.elapsed,
            "n_classes": self.n_classes,
            "input_shape": list(self.Xtr.shape[1:]),
            "rng": self.rng.bit_generator.state,
        }
        arrays["meta"] = np.array(json.dumps(meta))
        return arrays

    def save_checkpoint(self) -> None:
        atomic_savez(self.checkpoint_path, **self.state_arrays())

    @classmethod
    def resume(cls, out_dir: str, epochs: int | None = None) -> Trainer:
        """Rebuild a run from ``out_dir/model.npz``; ``epochs`` (total) may extend it."""
        arrays, meta = load_checkpoint(os.path.join(out_dir, CHECKPOINT))
        config = TrainConfig(**meta["config"])
        if epochs is not None:
            if epochs < meta["epoch"]:
                raise ParameterError(
                    "epochs",
                    f"the run in {out_dir} already has {meta['epoch']} epochs, "
                    f"got --epochs {epochs}",
                )
            config.epochs = epochs
        trainer = cls(config, out_dir)
        trainer.model.load_state_dict(model_state(arrays))
        trainer.optimizer.load_state_dict(unpack_tree(arrays, "optimizer"))
        if trainer.scheduler is not None and "scheduler" in arrays:
            state = unpack_tree(arrays, "scheduler")
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
        from tqdm import tqdm

        from .data import DataLoader

        config = self.config
        loader = DataLoader(self.Xtr, self.ytr, config.batch_size, shuffle=True, rng=self.rng)
        self.model.train()
        self._test = None  # the weights are about to change
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(
            loader,
            desc=f"epoch {self.epoch + 1}/{config.epochs}",
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
        return {"train_loss": total_loss / seen, "train_top1_error": 1.0 - correct / seen}

    def _diverged(self, what: str) -> TrainingDiverged:
        c = self.config
        return TrainingDiverged(
            f"{what} at epoch {self.epoch + 1}: training diverged; the step is set by "
            f"--lr {c.learning_rate:g}, --weight-decay {c.weight_decay:g} and --l1 {c.l1:g}: "
            "start a new run with smaller values (a resumed run keeps its options)"
        )

    def run(self, progress: bool = True, log=print) -> dict:
        """Train up to ``config.epochs`` (saving after each), then return the final metrics."""
        while self.epoch < self.config.epochs:
            start = time.perf_counter()
            lr = self.optimizer.param_groups[0]["lr"]
            train = self.train_epoch(progress)
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
            if self.config.l1 > 0:
                record["sparsity"] = sparsity(self.model)
            self.history.append(record)
            self.save_checkpoint()
            if log:
                log(
                    f"epoch {self.epoch:3d}/{self.config.epochs}  train loss {train['train_loss']:.4f}  "
                    f"test loss {test['loss']:.4f}  test acc {test['accuracy']:.4f}  "
                    f"top-3 err {test['top3_error']:.4f}  ({record['time_s']:.2f} s)"
                )
        return self.final_metrics()

    def test_evaluation(self) -> dict:
        """:func:`evaluate_model` on the test set for the current weights, computed once (the
        epoch log, the final metrics and the report's confusion matrix share it)."""
        if self._test is None:
            self._test = evaluate_model(self.model, self.Xte, self.yte)
        return self._test

    def final_metrics(self) -> dict:
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
        if self.config.l1 > 0:
            final["sparsity"] = sparsity(self.model)
        return final

    def metrics(self, final: dict) -> dict:
        return {"config": self.config.as_dict(), "epochs": self.history, "final": final}


def model_state(arrays: dict) -> dict:
    """The model's ``state_dict`` inside checkpoint ``arrays`` (the ``model/`` entries)."""
    return {k[len("model/") :]: v for k, v in arrays.items() if k.startswith("model/")}


def load_checkpoint(path: str):
    """``(arrays, meta)`` of a checkpoint written by :class:`Trainer`; errors name the file."""
    if os.path.isdir(path):
        inside = os.path.join(path, CHECKPOINT)
        hint = f"; give {inside}" if os.path.isfile(inside) else ""
        raise ParameterError("checkpoint", f"{path} is a directory, not a checkpoint file{hint}")
    if not os.path.isfile(path):
        raise MissingFileError("checkpoint", f"{path}: no such file")
    try:
        arrays = load_npz(path)
    except (OSError, ValueError) as exc:
        raise ParameterError("checkpoint", f"{' '.join(str(exc).split())}") from None
    try:
        meta = json.loads(str(arrays["meta"]))
    except (ValueError, KeyError) as exc:
        raise ParameterError("checkpoint", f"{path} is not a verigrad checkpoint ({exc})") from None
    return arrays, meta
