"""Continue a verigrad training run in PyTorch, data-parallel over processes (DDP, gloo).

    python examples/continue_in_torch.py runs/20261126-082512/model.npz --epochs 1 --out torch_run.pt

1. reads the checkpoint written by ``verigrad train``: the model, the optimizer's and the
   schedule's state, the options (data, seed, batch size);
2. converts them: ``Module.to_torch()`` for the model (same parameter names and order) and
   :func:`verigrad.export.torch_state.torch_training_state` for the optimizer and schedule,
   so the first torch step is the step verigrad would have taken next;
3. starts ``--processes`` processes (default 2) that join a ``torch.distributed`` group with
   the gloo backend on 127.0.0.1, wrap the model in ``DistributedDataParallel`` and train on
   the run's training split, each process on its shard (``DistributedSampler``); the global
   batch is the run's batch size, split evenly between the processes;
4. after each epoch, steps the schedule like ``verigrad train``; process 0 reports the test
   accuracy and finally saves ``{"model", "optimizer", "scheduler", "epoch", "config"}`` with
   ``torch.save`` (plain state dicts: ``torch.load(FILE)`` reads them without verigrad).

On several machines the same worker runs under ``torchrun``: replace the ``tcp://127.0.0.1``
rendezvous with ``init_method="env://"`` and the backend with ``nccl`` on GPUs.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys


def convert(checkpoint):
    """``(torch_model, torch_optimizer, torch_scheduler, meta)`` of a verigrad checkpoint, the
    model in training mode, optimizer and schedule where verigrad left them."""
    from verigrad.export.torch_state import torch_training_state
    from verigrad.training import load_checkpoint
    from verigrad.training.checkpoint import optimizer_state, restore_model, scheduler_state

    arrays, meta = load_checkpoint(checkpoint)
    if meta["config"].get("l1", 0) or meta["config"].get("group_l1", 0):
        sys.exit("this run trained with a proximal (l1) step, which torch.optim lacks")
    torch_model = restore_model(arrays, meta).to_torch().train()
    optimizer, scheduler = torch_training_state(
        meta["config"]["optimizer"],
        torch_model.parameters(),
        optimizer_state(arrays),
        scheduler_state(arrays),
    )
    return torch_model, optimizer, scheduler, meta


def _data(meta):
    import torch

    from verigrad.data import load_dataset

    config = meta["config"]
    X_train, y_train, X_test, y_test, _ = load_dataset(
        config["data"], config["seed"], config.get("test_size", 0.2)
    )
    as_tensors = lambda X, y: (torch.from_numpy(X.astype("float32")), torch.from_numpy(y).long())  # noqa: E731
    return as_tensors(X_train, y_train), as_tensors(X_test, y_test)


def _worker(rank, world_size, port, checkpoint, epochs, out):
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size
    )
    try:
        model, optimizer, scheduler, meta = convert(checkpoint)
        config = meta["config"]
        (X_train, y_train), (X_test, y_test) = _data(meta)
        ddp = DistributedDataParallel(model)
        sampler = DistributedSampler(
            TensorDataset(X_train, y_train), world_size, rank, shuffle=True, seed=config["seed"]
        )
        per_process = max(1, config["batch_size"] // world_size)
        loader = DataLoader(TensorDataset(X_train, y_train), per_process, sampler=sampler)
        start = int(meta["epoch"])
        for epoch in range(start, start + epochs):
            sampler.set_epoch(epoch)
            total, count = torch.zeros(2), 0
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(ddp(xb), yb)
                loss.backward()  # DDP averages the gradients over the processes here
                optimizer.step()
                total += torch.tensor([loss.item() * len(yb), len(yb)])
                count += 1
            dist.all_reduce(total)
            if scheduler is not None:
                scheduler.step()
            if rank == 0:
                model.eval()
                with torch.no_grad():
                    accuracy = (model(X_test).argmax(1) == y_test).float().mean().item()
                model.train()
                print(
                    f"epoch {epoch + 1} (torch, {world_size} processes, {count} steps each): "
                    f"train loss {total[0].item() / total[1].item():.4f}  "
                    f"test acc {accuracy:.4f}",
                    flush=True,
                )
        if rank == 0 and out:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": None if scheduler is None else scheduler.state_dict(),
                "epoch": start + epochs,
                "config": dict(config),
            }
            torch.save(state, out)
            print(f"wrote {out}", flush=True)
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="model.npz written by verigrad train")
    parser.add_argument("--epochs", type=int, default=1, help="epochs to train in torch")
    parser.add_argument("--processes", type=int, default=2, help="DDP processes (gloo, CPU)")
    parser.add_argument("--out", default="torch_run.pt", help="where process 0 saves the run")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.checkpoint):
        parser.error(f"{args.checkpoint}: no such checkpoint file")
    import torch.multiprocessing as mp

    mp.spawn(
        _worker,
        args=(args.processes, _free_port(), args.checkpoint, args.epochs, args.out),
        nprocs=args.processes,
        join=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
