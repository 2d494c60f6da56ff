"""Where a run lives: its directory and its checkpoint ``model.npz``.

A checkpoint is one ``.npz`` archive (no pickles) holding

==================== ==================================================================
entry                content
==================== ==================================================================
``model/<name>``     the model's ``state_dict``
``optimizer[/i]``    the optimizer's ``state_dict`` (:func:`verigrad.io.pack_tree`)
``scheduler[/i]``    the schedule's ``state_dict``, when the run has one
``meta``             JSON: ``config`` (:meth:`TrainConfig.as_dict`), ``epoch``, ``history``
                     (one record per epoch), ``elapsed`` (s), ``n_classes``, ``input_shape``
                     ``(C, H, W)`` and ``rng`` (the state of the run's bit generator)
==================== ==================================================================

It is rewritten atomically after every epoch (temporary file, fsync, rename): a run killed at
any moment leaves the last complete checkpoint readable, and a write that fails (a full disk)
leaves it as it was and raises :class:`~verigrad.io.UnwritableError` about ``run_dir`` naming
the file. :func:`make_run_directory` refuses a directory that cannot be written before the
run starts. :func:`load_model` is the public way back to the trained model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np

from .._checks import MissingFileError, ParameterError
from ..data.sources import MAX_CLASSES
from ..io import (
    TEMPORARY_PREFIX,
    atomic_write,
    check_writable_directory,
    load_npz,
    pack_tree,
    read_json,
    unpack_tree,
)
from ..nn.models import build_model
from .config import TrainConfig

__all__ = [
    "CHECKPOINT",
    "make_run_directory",
    "remove_stale_outputs",
    "save_checkpoint",
    "load_checkpoint",
    "model_state",
    "optimizer_state",
    "scheduler_state",
    "restore_model",
    "load_model",
]

CHECKPOINT = "model.npz"


def make_run_directory(run_dir=None) -> tuple:
    """Make the directory a run writes into; returns ``(path, created)``.

    ``run_dir`` None: a new ``runs/<timestamp>[-N]``, claimed with ``os.mkdir`` (which fails if
    it exists), so two runs started in the same second get ``runs/<timestamp>`` and
    ``runs/<timestamp>-2`` instead of writing over each other. A given ``run_dir`` is created
    with its parents unless it exists; ``created`` says whether this call made it. The
    directory must take a new file (a read-only file system or directory is refused here,
    before any epoch is spent; a directory this call made is removed again), and the temporary
    files that a run killed while writing left in it are removed. Errors name ``run_dir``.
    """
    if run_dir is not None:
        run_dir = os.fspath(run_dir)
        if not run_dir.strip():
            raise ParameterError("run_dir", "expected a directory name, got an empty one")
        if os.path.exists(run_dir) and not os.path.isdir(run_dir):
            raise ParameterError("run_dir", f"{run_dir} exists and is not a directory")
        created = not os.path.isdir(run_dir)
        if created:
            try:
                os.makedirs(run_dir)
            except OSError as exc:
                raise ParameterError(
                    "run_dir", f"cannot create {run_dir}: {exc.strerror or exc}"
                ) from None
    else:
        run_dir, created = _new_timestamped_directory()
    try:
        check_writable_directory(run_dir, "run_dir", CHECKPOINT)
    except OSError:
        if created:
            _remove_empty_directory(run_dir)
        raise
    remove_stale_outputs(run_dir)
    return run_dir, created


def _new_timestamped_directory() -> tuple:
    stamp = os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    try:
        os.makedirs("runs", exist_ok=True)
    except OSError as exc:
        raise ParameterError(
            "run_dir", f"cannot create {os.path.abspath('runs')}: {exc.strerror or exc}"
        ) from None
    candidate, n = stamp, 1
    while True:
        try:
            os.mkdir(candidate)
            return candidate, True
        except FileExistsError:
            n += 1
            candidate = f"{stamp}-{n}"
        except OSError as exc:
            raise ParameterError(
                "run_dir", f"cannot create {candidate}: {exc.strerror or exc}"
            ) from None


def _remove_empty_directory(path: str) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass


def remove_stale_outputs(run_dir) -> list:
    """Remove the temporary files (``.tmp-*``, see :mod:`verigrad.io`) that a run killed while
    writing its checkpoint, metrics or figures left in ``run_dir``; returns their paths.

    The run directory belongs to one run, so every temporary file in it is stale when a run
    starts or resumes there."""
    removed = []
    try:
        entries = os.listdir(run_dir)
    except OSError:
        return removed
    for entry in entries:
        path = os.path.join(run_dir, entry)
        if entry.startswith(TEMPORARY_PREFIX) and os.path.isfile(path):
            try:
                os.unlink(path)
                removed.append(path)
            except OSError:
                pass
    return removed


def save_checkpoint(path, model, optimizer, scheduler, meta: dict) -> None:
    """Write the checkpoint (see the module docstring) to ``path`` atomically; a failed write
    (a full disk) is an :class:`~verigrad.io.UnwritableError` about ``run_dir`` naming ``path``,
    and the previous checkpoint stays as it was."""
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    arrays.update(pack_tree(optimizer.state_dict(), "optimizer"))
    if scheduler is not None:
        arrays.update(pack_tree(scheduler.state_dict(), "scheduler"))
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_write(path, lambda fh: np.savez(fh, **arrays), "run_dir")


def load_checkpoint(path):
    """``(arrays, meta)`` of a checkpoint; errors name the parameter ``checkpoint`` and the file
    (a run directory given instead of its ``model.npz`` is named as such)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        inside = os.path.join(path, CHECKPOINT)
        hint = f"; give {inside}" if os.path.isfile(inside) else ""
        raise ParameterError("checkpoint", f"{path} is a directory, not a checkpoint file{hint}")
    if not os.path.isfile(path):
        raise MissingFileError("checkpoint", f"{path}: no such file")
    arrays = load_npz(path, "checkpoint")
    if "meta" not in arrays:
        raise ParameterError("checkpoint", f"{path} is not a verigrad checkpoint (no 'meta' entry)")
    meta = read_json(arrays["meta"], "checkpoint")
    _check_contents(arrays, meta, path)
    return arrays, meta


#: the largest input a checkpoint may declare (C * H * W), far above MNIST's 784
MAX_INPUT_SIZE = 10**7


def _check_contents(arrays: dict, meta, path: str) -> None:
    """Refuse a checkpoint whose metadata or weights would resume nonsense or size memory
    from a corrupt number: every field of ``meta`` has its type and range, the history one
    record per epoch, the weights real and finite. Errors name ``checkpoint`` and the file."""

    def bad(what):
        return ParameterError("checkpoint", f"{path}: {what}")

    if not isinstance(meta, dict):
        raise bad("its metadata is not a JSON object")
    missing = [
        k for k in ("config", "epoch", "history", "n_classes", "input_shape") if k not in meta
    ]
    if missing:
        raise bad(f"its metadata lacks {', '.join(missing)}")
    config = meta["config"]
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    if not isinstance(config, dict) or not {"model", "pool"} <= set(config):
        raise bad("its config is not a training configuration")
    unknown = sorted(set(config) - fields)
    if unknown:
        raise bad(f"its config has unknown option(s) {', '.join(map(str, unknown))}")
    epoch = meta["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise bad(f"its epoch must be a whole number >= 0, got {epoch!r}")
    history = meta["history"]
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise bad("its history is not a list of epoch records")
    if len(history) != epoch:
        raise bad(f"its history has {len(history)} records for {epoch} epochs")
    elapsed = meta.get("elapsed", 0.0)
    if isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)) or not elapsed >= 0:
        raise bad(f"its elapsed time must be a number >= 0, got {elapsed!r}")
    if elapsed == float("inf"):
        raise bad("its elapsed time is infinite")
    n_classes = meta["n_classes"]
    if isinstance(n_classes, bool) or not isinstance(n_classes, int):
        raise bad(f"its class count must be a whole number, got {n_classes!r}")
    if not 2 <= n_classes <= MAX_CLASSES:
        raise bad(f"its class count must be in [2, {MAX_CLASSES:,}], got {n_classes:,}")
    shape = meta["input_shape"]
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 3
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
        or int(np.prod(shape, dtype=object)) > MAX_INPUT_SIZE
    ):
        raise bad(f"its input shape must be 1 to 3 positive sizes, got {shape!r}")
    if "rng" in meta:
        try:
            np.random.default_rng(0).bit_generator.state = meta["rng"]
        except (TypeError, ValueError, KeyError):
            raise bad("its random-generator state is damaged") from None
    for name, value in model_state(arrays).items():
        if value.dtype.kind != "f":
            raise bad(f"weight {name!r} has dtype {value.dtype}; expected floating point")
        if not np.all(np.isfinite(value)):
            raise bad(f"weight {name!r} holds NaN or infinite values")


def model_state(arrays: dict) -> dict:
    """The model's ``state_dict`` inside checkpoint ``arrays`` (the ``model/`` entries)."""
    return {k[len("model/") :]: v for k, v in arrays.items() if k.startswith("model/")}


def optimizer_state(arrays: dict) -> dict:
    """The optimizer's ``state_dict`` inside checkpoint ``arrays``."""
    return unpack_tree(arrays, "optimizer")


def scheduler_state(arrays: dict) -> dict | None:
    """The schedule's ``state_dict`` inside checkpoint ``arrays``; None if it holds none."""
    return unpack_tree(arrays, "scheduler") if "scheduler" in arrays else None


def restore_model(arrays: dict, meta: dict):
    """The trained model of a loaded checkpoint, in eval mode."""
    config = meta["config"]
    model = build_model(
        config["model"], tuple(meta["input_shape"]), meta["n_classes"], config["pool"], rng=0
    )
    if meta.get("compacted_widths"):  # a checkpoint written by `verigrad compact`
        from .compact import shrink_architecture  # compact imports this module

        shrink_architecture(model, meta["compacted_widths"])
    model.load_state_dict(model_state(arrays))
    return model.eval()


def load_model(path):
    """The model trained by ``verigrad train`` (or :class:`~verigrad.training.Trainer`) whose
    checkpoint is ``path`` (``run_dir/model.npz``), with its weights, in eval mode.

    Examples
    --------
    >>> model = load_model("runs/20261126-082512/model.npz")  # doctest: +SKIP
    >>> model(Tensor(X[:5])).data.argmax(axis=1)  # doctest: +SKIP
    """
    return restore_model(*load_checkpoint(path))
