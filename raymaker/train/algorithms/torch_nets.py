"""PyTorch built-ins: a tabular MLP, a small image CNN and a bag-of-n-grams text classifier.

One training loop serves all three: each worker trains on its shard, wrapped in
DistributedDataParallel when Ray Train's torch backend set up a process group (gloo on CPU,
NCCL on GPU). Rank 0 records per-epoch metrics, checkpoints (state dicts, loaded back with
``weights_only=True``: no pickle of code) and writes ``model.pt``; the network's shape goes into
the manifest so serving rebuilds it without code from the artifact.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from typing import Literal

from pydantic import Field

from raymaker.errors import DataError, SpecError
from raymaker.inference.networks import build_network, text_ids
from raymaker.train.algorithms.base import Algorithm, Hyperparameters
from raymaker.train.algorithms.gbdt import decide_task
from raymaker.train.tabular import TabularData

TASKS = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}


class TorchHyperparameters(Hyperparameters):
    epochs: int = Field(10, ge=1, le=10_000)
    batch_size: int = Field(256, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    task: Literal["binary", "multiclass", "regression"] | None = Field(
        None, description="Default: from the label."
    )
    seed: int = 0


class MLPHyperparameters(TorchHyperparameters):
    hidden_units: str = Field("64,32", description="Comma-separated layer widths.")
    dropout: float = Field(0.0, ge=0, lt=1)


class ImageHyperparameters(TorchHyperparameters):
    image_shape: str | None = Field(
        None, description="C,H,W or H,W of the pixel columns; default: a square, 1 channel."
    )
    channels: int = Field(32, ge=4, description="Width of the convolutional layers.")


class TextHyperparameters(TorchHyperparameters):
    text_column: str = Field(description="The column holding the text.")
    ngrams: int = Field(2, ge=1, le=4)
    buckets: int = Field(2**18, ge=1024, description="Hashed n-gram vocabulary size.")
    embedding_dim: int = Field(64, ge=4)
    learning_rate: float = Field(0.05, gt=0)


# -- algorithms ---------------------------------------------------------------------------------
class _TorchAlgorithm(Algorithm):
    resource = "epochs"
    framework = "pytorch"
    backend = "torch"
    worker = "raymaker.train.algorithms.torch_nets:train_torch"

    def architecture(self, hps, data: TabularData, outputs: int) -> dict:
        raise NotImplementedError

    classifier = False  # image and text: a numeric label means classes, not a regression

    def prepare(self, spec, hps, data: TabularData) -> dict:
        task = hps.task
        if task is None and self.classifier:
            task = "binary" if len(data.label_values()) == 2 else "multiclass"
        task, _ = decide_task(data, task, None, TASKS)
        outputs = 1 if task in ("binary", "regression") else len(data.classes)
        return {
            "task": task,
            "data": data,
            "hps": hps.model_dump(),
            "architecture": self.architecture(hps, data, outputs),
            "rounds": hps.epochs,
        }


class MLPAlgorithm(_TorchAlgorithm):
    name = "mlp"
    hyperparameters = MLPHyperparameters

    def architecture(self, hps, data, outputs):
        try:
            hidden = [int(u) for u in hps.hidden_units.split(",") if u.strip()]
        except ValueError:
            raise SpecError(
                f"hyperparameters.hidden_units: {hps.hidden_units!r} is not comma-separated ints"
            ) from None
        return {"kind": "mlp", "inputs": len(data.features), "hidden": hidden,
                "dropout": hps.dropout, "outputs": outputs}  # fmt: skip


class ImageAlgorithm(_TorchAlgorithm):
    name = "image"
    hyperparameters = ImageHyperparameters
    classifier = True

    def architecture(self, hps, data, outputs):
        n = len(data.features)
        if hps.image_shape:
            try:
                shape = [int(v) for v in hps.image_shape.split(",")]
            except ValueError:
                shape = []
            shape = [1, *shape] if len(shape) == 2 else shape
            if len(shape) != 3 or math.prod(shape) != n:
                raise SpecError(
                    f"hyperparameters.image_shape {hps.image_shape!r} does not fit the {n} "
                    "pixel columns (give C,H,W or H,W whose product is the column count)"
                )
        else:
            side = math.isqrt(n)
            if side * side != n:
                raise SpecError(
                    f"{n} pixel columns are not a square image; give hyperparameters.image_shape"
                )
            shape = [1, side, side]
        return {"kind": "cnn", "shape": shape, "channels": hps.channels, "outputs": outputs}


class TextAlgorithm(_TorchAlgorithm):
    name = "text"
    hyperparameters = TextHyperparameters
    classifier = True
    text_features = True  # the text column is a string: prepare_tabular must allow it

    def prepare(self, spec, hps, data: TabularData) -> dict:
        if hps.text_column not in data.input_schema:
            raise SpecError(
                f"hyperparameters.text_column: {hps.text_column!r} is not a column; columns: "
                f"{', '.join(data.input_schema)}"
            )
        data.features = [hps.text_column]
        config = super().prepare(spec, hps, data)
        if config["task"] == "regression":
            raise SpecError("the text built-in classifies: the label needs classes")
        return config

    def architecture(self, hps, data, outputs):
        return {"kind": "embedding_bag", "buckets": hps.buckets, "dim": hps.embedding_dim,
                "outputs": outputs, "ngrams": hps.ngrams}  # fmt: skip


# -- the worker ---------------------------------------------------------------------------------
def _tensors(config: dict, channel: str, shard):
    import numpy as np
    import torch

    from raymaker.train.channels import read_shard
    from raymaker.train.tabular import encode_label, load_xy

    data: TabularData = config["data"]
    arch = config["architecture"]
    if arch["kind"] == "embedding_bag":
        frame = read_shard(data.sources[channel], shard).to_pandas()
        if data.recipe_json is not None:
            from raymaker.data.recipe import FittedRecipe

            frame = FittedRecipe.from_json(data.recipe_json).transform_frame(frame)
        texts = frame[data.features[0]].tolist()
        y = encode_label(data, frame[data.label].to_numpy(), channel)
        return texts, torch.from_numpy(np.asarray(y))
    X, y = load_xy(data, channel, shard)
    if np.isnan(X).any():
        raise DataError(f"channel {channel!r} has missing feature values: add an impute step")
    return torch.from_numpy(X), torch.from_numpy(y)


def _batches(X, y, batch_size: int, arch: dict, generator=None):
    import torch

    n = len(y)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        if arch["kind"] == "embedding_bag":
            ids, offsets = text_ids([X[i] for i in idx.tolist()], arch["ngrams"], arch["buckets"])
            yield (torch.tensor(ids), torch.tensor(offsets)), y[idx]
        else:
            yield X[idx], y[idx]


def train_torch(config: dict, ctx) -> dict:
    """Worker function: the epoch loop for every PyTorch built-in."""
    import torch

    from raymaker.train.channels import Shard
    from raymaker.train.checkpoints import Checkpoints
    from raymaker.train.metrics import MetricsLog

    hps, arch, task = config["hps"], config["architecture"], config["task"]
    torch.manual_seed(hps["seed"])
    torch.set_num_threads(max(1, int(ctx.cpus)))
    shard = Shard(ctx.rank, ctx.world_size)
    X, y = _tensors(config, "train", shard)
    has_val = "validation" in config["data"].sources
    Xv, yv = _tensors(config, "validation", shard) if has_val else (None, None)

    distributed = ctx.distributed and ctx.world_size > 1
    device = torch.device("cpu")
    if ctx.use_gpu:
        import ray.train.torch

        device = ray.train.torch.get_device()
    net = build_network(arch).to(device)
    model = net
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net, device_ids=[device.index] if ctx.use_gpu else None)
    opt = torch.optim.Adam(
        model.parameters(), lr=hps["learning_rate"], weight_decay=hps["weight_decay"]
    )
    loss_fn = {
        "binary": torch.nn.BCEWithLogitsLoss(),
        "multiclass": torch.nn.CrossEntropyLoss(),
        "regression": torch.nn.MSELoss(),
    }[task]

    def target(t):
        return t.long() if task == "multiclass" else t.float().unsqueeze(1)

    def to_device(xb):
        return tuple(t.to(device) for t in xb) if isinstance(xb, tuple) else xb.to(device)

    store = ctx.store()
    checkpoints = Checkpoints(store, config["checkpoint_key"])
    start_epoch = 0
    with tempfile.TemporaryDirectory() as tmp:
        entry = checkpoints.restore(tmp)
        if entry is not None:
            state = torch.load(os.path.join(tmp, "state.pt"), weights_only=True)
            net.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            start_epoch = int(entry["step"])
            print(f"resuming from checkpoint at epoch {start_epoch}", flush=True)
    metrics = MetricsLog(store, config["metrics_key"]) if ctx.is_chief else None
    interval, last_saved = config["checkpoint_interval_s"], time.monotonic()
    generator = torch.Generator().manual_seed(hps["seed"] + ctx.rank)
    started = time.perf_counter()
    epochs = hps["epochs"]
    for epoch in range(start_epoch, epochs):
        model.train()
        total, count = 0.0, 0
        for xb, yb in _batches(X, y, hps["batch_size"], arch, generator):
            opt.zero_grad()
            loss = loss_fn(model(to_device(xb)), target(yb).to(device))
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            count += len(yb)
        values = {"train-loss": total / max(count, 1)}
        if has_val:
            values.update(_evaluate(net, Xv, yv, task, arch, loss_fn, target, to_device))
        if ctx.is_chief:
            for name, value in values.items():
                metrics.add(name, value, step=epoch + 1)
            shown = " ".join(f"{k}={v:.5g}" for k, v in values.items())
            print(f"[epoch {epoch + 1}/{epochs}] {shown}", flush=True)
            now = time.monotonic()
            if interval is not None and (now - last_saved >= interval or epoch + 1 == epochs):
                with tempfile.TemporaryDirectory() as tmp:
                    state = {"model": net.state_dict(), "optimizer": opt.state_dict()}
                    torch.save(state, os.path.join(tmp, "state.pt"))
                    checkpoints.save(epoch + 1, tmp, values)
                last_saved = now
    train_s = time.perf_counter() - started
    if ctx.is_chief:
        metrics.save()
        with tempfile.TemporaryDirectory() as tmp:
            torch.save(net.state_dict(), os.path.join(tmp, "model.pt"))
            store.put_dir(tmp, config["model_staging"])
    return {"epochs": epochs, "resumed_from_epoch": start_epoch, "train_seconds": round(train_s, 3)}


def _evaluate(net, X, y, task, arch, loss_fn, target, to_device) -> dict[str, float]:
    import torch

    net.eval()
    total, correct, count = 0.0, 0, 0
    device = next(net.parameters()).device
    with torch.no_grad():
        for xb, yb in _batches(X, y, 4096, arch):
            out = net(to_device(xb))
            total += loss_fn(out, target(yb).to(device)).item() * len(yb)
            count += len(yb)
            if task == "binary":
                correct += ((out.squeeze(1) > 0).float().cpu() == yb).sum().item()
            elif task == "multiclass":
                correct += (out.argmax(1).cpu() == yb.long()).sum().item()
    values = {"validation-loss": total / max(count, 1)}
    if task != "regression":
        values["validation-accuracy"] = correct / max(count, 1)
    return values
