"""``verigrad evaluate``: top-k errors of a saved checkpoint."""

from __future__ import annotations

HELP = "evaluate a checkpoint (model.npz): loss, accuracy and top-k errors"


def add_arguments(p):
    p.add_argument(
        "--checkpoint", required=True, metavar="FILE", help="model.npz written by verigrad train"
    )
    p.add_argument(
        "--data",
        default=None,
        help="digits, mnist:DIR or FILE.npz (default: the checkpoint's test split)",
    )
    p.add_argument("--k", default="1,3,5", help="comma-separated k values (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    import json

    from ..cli import name_option
    from ..metrics import top_k_error
    from ..nn.models import build_model
    from ..training import evaluate_model, load_checkpoint, load_dataset, model_state

    try:
        ks = [int(k) for k in args.k.split(",")]
    except ValueError:
        raise ValueError(f"--k: expected comma-separated integers, got {args.k!r}") from None
    try:
        arrays, meta = load_checkpoint(args.checkpoint)
    except (ValueError, FileNotFoundError) as exc:
        raise name_option(exc, {"checkpoint": "--checkpoint"}) from None
    config = meta["config"]
    spec = args.data or config["data"]
    _, _, X, y, n_classes = load_dataset(spec, config["seed"], config.get("test_size", 0.2))
    if tuple(X.shape[1:]) != tuple(meta["input_shape"]):
        raise ValueError(
            f"--data: images of shape {X.shape[1:]} do not fit the model's {tuple(meta['input_shape'])}"
        )
    if n_classes > meta["n_classes"]:
        raise ValueError(f"--data: has {n_classes} classes, the model {meta['n_classes']}")
    model = build_model(config["model"], X.shape[1:], meta["n_classes"], config["pool"], rng=0)
    model.load_state_dict(model_state(arrays))
    result = evaluate_model(model, X, y)
    report = {
        "checkpoint": args.checkpoint,
        "data": spec,
        "n": int(len(y)),
        "epoch": meta["epoch"],
        "loss": result["loss"],
        "accuracy": result["accuracy"],
    }
    for k in ks:
        report[f"top{k}_error"] = (
            float(top_k_error(result["scores"], y, k=k)) if k < meta["n_classes"] else 0.0
        )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.checkpoint} (epoch {meta['epoch']}) on {spec}: {len(y)} samples")
        print(f"  loss {report['loss']:.4f}  accuracy {report['accuracy']:.4f}")
        for k in ks:
            print(f"  top-{k} error {report[f'top{k}_error']:.4f}")
    return 0
