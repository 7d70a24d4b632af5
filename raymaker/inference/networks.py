"""The built-in torch networks, rebuilt from a model manifest's ``architecture``.

Shared by training (``train/algorithms/torch_nets.py``) and inference, so serving and batch
transform load a ``model.pt`` state dict without importing the training package.
"""

from __future__ import annotations

import zlib

from raymaker.errors import SpecError


def build_network(arch: dict):
    """The ``torch.nn.Module`` an architecture dict describes."""
    import torch.nn as nn

    kind = arch["kind"]
    if kind == "mlp":
        layers, width = [], arch["inputs"]
        for units in arch["hidden"]:
            layers += [nn.Linear(width, units), nn.ReLU()]
            if arch.get("dropout"):
                layers.append(nn.Dropout(arch["dropout"]))
            width = units
        layers.append(nn.Linear(width, arch["outputs"]))
        return nn.Sequential(*layers)
    if kind == "cnn":
        c, w = arch["shape"][0], arch["channels"]
        return nn.Sequential(
            nn.Unflatten(1, tuple(arch["shape"])),
            nn.Conv2d(c, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(), nn.Linear(2 * w, arch["outputs"]),
        )  # fmt: skip
    if kind == "embedding_bag":
        return _TextNet(arch["buckets"], arch["dim"], arch["outputs"])
    raise SpecError(f"unknown network kind {kind!r}")


def _TextNet(buckets: int, dim: int, outputs: int):  # noqa: N802 - a class factory
    import torch.nn as nn

    class TextNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(buckets, dim, mode="mean")
            self.out = nn.Linear(dim, outputs)

        def forward(self, batch):
            ids, offsets = batch
            return self.out(self.bag(ids, offsets))

    return TextNet()


def text_ids(texts, ngrams: int, buckets: int) -> tuple[list[int], list[int]]:
    """Hashed word n-gram ids of each text, flattened, and each text's offset."""
    ids, offsets = [], []
    for text in texts:
        offsets.append(len(ids))
        words = str(text if text is not None else "").lower().split()
        grams = [
            " ".join(words[i : i + n])
            for n in range(1, ngrams + 1)
            for i in range(len(words) - n + 1)
        ]
        ids.extend(zlib.crc32(g.encode()) % buckets for g in grams or [""])
    return ids, offsets
