"""``verigrad export``: a checkpoint's model as an ONNX graph or a torch.export program."""

from __future__ import annotations

HELP = "export a checkpoint's model to ONNX or PyTorch (torch.export)"
DESCRIPTION = """Export the model of a checkpoint written by verigrad train.

  --to onnx   an ONNX graph (opset 17), checked with onnx.checker; run it with onnxruntime:
              onnxruntime.InferenceSession(FILE).run(None, {"input": X})
              needs the export extra: pip install verigrad[export]
  --to torch  a torch.export program (torch.export.save), which runs with torch alone:
              torch.export.load(FILE).module()(X)

Both take a batch of any size, shaped (batch, C, H, W) like the training images, and return
the logits (batch, classes) of the model in eval mode (stochastic pooling in its eval form,
dropout off). Optimizer state for continuing training in torch: see
verigrad.export.torch_state and examples/continue_in_torch.py.

  verigrad export runs/20261126-082512/model.npz --to onnx --out model.onnx
  verigrad export runs/20261126-082512/model.npz --to torch --out model.pt2"""

#: the library names the exported model ``model`` and the converted one ``module``
PARAMETER_DESTS = {"module": "checkpoint", "model": "checkpoint"}


def add_arguments(p):
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="model.npz written by verigrad train")
    p.add_argument(
        "--to",
        required=True,
        choices=("onnx", "torch"),
        help="onnx: an ONNX graph; torch: a torch.export program (torch.export.load)",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write")


def run(args) -> int:
    import sys

    from ..training import load_checkpoint, load_model

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
