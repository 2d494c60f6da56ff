"""``verigrad export``: a checkpoint's model as an ONNX graph or a torch.export program."""

from __future__ import annotations

import os

HELP = "export a checkpoint's model to ONNX or PyTorch (torch.export)"
DESCRIPTION = """Export the model of a checkpoint written by verigrad train.

  --to onnx   an ONNX graph (opset 17), checked with onnx.checker; run it with onnxruntime:
              onnxruntime.InferenceSession(FILE).run(None, {"input": X})
              needs onnx: pip install onnx (from a clone: pip install -e '.[export]')
  --to torch  a torch.export program (torch.export.save), which runs with torch alone:
              torch.export.load(FILE).module()(X)

Both take a batch of any size, shaped (batch, C, H, W) like the training images, and return
the logits (batch, classes) of the model in eval mode (stochastic pooling in its eval form,
dropout off). Optimizer state for continuing training in torch: see
verigrad.export.torch_state and examples/continue_in_torch.py.

The file's suffix says its format: .onnx for --to onnx, .pt2 (torch.export's convention) for
--to torch; a suffix of the other format is refused, and without --to the suffix chooses.

  verigrad export runs/20261126-082512/model.npz --out model.onnx
  verigrad export runs/20261126-082512/model.npz --to torch --out model.pt2"""

#: --to -> the suffix of its files (torch.export.save's convention: .pt2)
SUFFIXES = {"onnx": ".onnx", "torch": ".pt2"}

#: the library names the exported model ``model`` and the converted one ``module``
PARAMETER_DESTS = {"module": "checkpoint", "model": "checkpoint"}


def add_arguments(p):
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="model.npz written by verigrad train")
    p.add_argument(
        "--to",
        choices=tuple(SUFFIXES),
        default=None,
        help="onnx: an ONNX graph; torch: a torch.export program (torch.export.load); "
        "default: the one --out's suffix names (.onnx or .pt2)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the file to write: FILE.onnx for --to onnx, FILE.pt2 for --to torch",
    )


def _format(to, out: str) -> str:
    """The format to write: ``to``, or the one ``out``'s suffix names when ``to`` is None.
    A suffix that names the other format, or none of them, is refused about ``out`` (``to``
    when that was not given): a torch program under a .onnx name opens in no ONNX tool."""
    from .._checks import ParameterError

    suffix = os.path.splitext(out)[1].lower()
    named = next((fmt for fmt, s in SUFFIXES.items() if s == suffix), None)
    if to is None:
        if named is None:
            raise ParameterError(
                "to",
                f"give --to onnx or --to torch, or an --out ending in .onnx or .pt2 "
                f"(got --out {out})",
            )
        return named
    if suffix != SUFFIXES[to]:
        fix = f"use {os.path.splitext(out)[0]}{SUFFIXES[to]}"
        if named is not None:
            fix += f" (or --to {named} for a {SUFFIXES[named]} file)"
        raise ParameterError(
            "out",
            f"{out}: --to {to} writes a {SUFFIXES[to]} file, not {suffix or 'one without a suffix'}; {fix}",
        )
    return to


def run(args) -> int:
    import sys

    from ..training import load_checkpoint, load_model

    args.to = _format(args.to, args.out)
    model = load_model(args.checkpoint)
    _, meta = load_checkpoint(args.checkpoint)  # the input shape, classes and epoch
    input_shape = tuple(int(n) for n in meta["input_shape"])
    try:
        if args.to == "onnx":
            from ..export.onnx import OPSET, export_onnx

            export_onnx(model, args.out, input_shape)
            what = f"ONNX opset {OPSET}"
        else:
            from ..export.torch_program import export_torch

            export_torch(model, args.out, input_shape)
            what = "torch.export program"
    except ModuleNotFoundError as exc:
        if exc.name not in ("onnx", "torch"):
            raise
        print(f"verigrad export: error: {exc}", file=sys.stderr)
        return 2
    dtype = next((p.dtype for p in model.parameters()), "float32")
    shape = ", ".join(str(n) for n in input_shape)
    print(
        f"wrote {args.out}: {what} of the {meta['config']['model']} model "
        f"(epoch {meta['epoch']}, {model.n_parameters():,} parameters), "
        f"input (batch, {shape}) {dtype}, output (batch, {meta['n_classes']})"
    )
    return 0
