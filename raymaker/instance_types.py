"""SageMaker's ``ml.*`` instance types: what one instance of each asks Ray for.

A notebook's ``instance_type="ml.m5.xlarge"`` means 4 vCPUs and 16 GiB; on a cluster that is
what a worker, replica or transform actor asks Ray for, so placement errors stay the ones
``placement.check_fits`` gives. On the local head (a laptop, where an ``ml.p3.16xlarge`` would
never fit) ``fit`` shrinks the request to the machine, with a one-line notice: SageMaker's local
mode runs the real job on what there is, it does not refuse it.

Sizes are AWS's published vCPU, memory (GiB) and GPU counts of the SageMaker ML instances.
"""

from __future__ import annotations

import difflib
import glob
import os
import warnings

from raymaker.errors import RaymakerNotice

# size -> vCPUs, for the general families whose memory is a fixed GiB per vCPU
_SIZES = {"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "9xlarge": 36,
          "12xlarge": 48, "16xlarge": 64, "18xlarge": 72, "24xlarge": 96,
          "32xlarge": 128}  # fmt: skip
# the sizes SageMaker offers, by generation
_GEN5 = ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge")
_C5 = ("large", "xlarge", "2xlarge", "4xlarge", "9xlarge", "18xlarge")
_GEN7 = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")
_GEN6 = (*_GEN7, "32xlarge")
_PER_VCPU = {  # family -> (GiB per vCPU, its sizes)
    "m5": (4, _GEN5), "m5d": (4, _GEN5), "m6i": (4, _GEN6), "m7i": (4, _GEN7),
    "c5": (2, _C5), "c6i": (2, _GEN6), "c7i": (2, _GEN7),
    "r5": (8, _GEN5), "r6i": (8, _GEN6),
}  # fmt: skip
# the rest, listed: name -> (vCPUs, GiB, GPUs)
_LISTED = {
    "ml.t2.medium": (2, 4, 0), "ml.t2.large": (2, 8, 0), "ml.t2.xlarge": (4, 16, 0),
    "ml.t2.2xlarge": (8, 32, 0),
    "ml.t3.medium": (2, 4, 0), "ml.t3.large": (2, 8, 0), "ml.t3.xlarge": (4, 16, 0),
    "ml.t3.2xlarge": (8, 32, 0),
    "ml.m4.xlarge": (4, 16, 0), "ml.m4.2xlarge": (8, 32, 0), "ml.m4.4xlarge": (16, 64, 0),
    "ml.m4.10xlarge": (40, 160, 0), "ml.m4.16xlarge": (64, 256, 0),
    "ml.c4.large": (2, 3.75, 0), "ml.c4.xlarge": (4, 7.5, 0), "ml.c4.2xlarge": (8, 15, 0),
    "ml.c4.4xlarge": (16, 30, 0), "ml.c4.8xlarge": (36, 60, 0),
    "ml.g4dn.xlarge": (4, 16, 1), "ml.g4dn.2xlarge": (8, 32, 1), "ml.g4dn.4xlarge": (16, 64, 1),
    "ml.g4dn.8xlarge": (32, 128, 1), "ml.g4dn.12xlarge": (48, 192, 4),
    "ml.g4dn.16xlarge": (64, 256, 1),
    "ml.g5.xlarge": (4, 16, 1), "ml.g5.2xlarge": (8, 32, 1), "ml.g5.4xlarge": (16, 64, 1),
    "ml.g5.8xlarge": (32, 128, 1), "ml.g5.12xlarge": (48, 192, 4), "ml.g5.16xlarge": (64, 256, 1),
    "ml.g5.24xlarge": (96, 384, 4), "ml.g5.48xlarge": (192, 768, 8),
    "ml.p2.xlarge": (4, 61, 1), "ml.p2.8xlarge": (32, 488, 8), "ml.p2.16xlarge": (64, 732, 16),
    "ml.p3.2xlarge": (8, 61, 1), "ml.p3.8xlarge": (32, 244, 4), "ml.p3.16xlarge": (64, 488, 8),
    "ml.p3dn.24xlarge": (96, 768, 8), "ml.p4d.24xlarge": (96, 1152, 8),
    "ml.p4de.24xlarge": (96, 1152, 8), "ml.p5.48xlarge": (192, 2048, 8),
    "local_gpu": (1, 0, 1),  # SageMaker local mode on the machine's GPU ("local" is a preset)
}  # fmt: skip


def _table() -> dict[str, tuple[float, float, int]]:
    table = dict(_LISTED)
    for family, (per_vcpu, sizes) in _PER_VCPU.items():
        for size in sizes:
            table[f"ml.{family}.{size}"] = (_SIZES[size], _SIZES[size] * per_vcpu, 0)
    return table


ML_TYPES = _table()


def resources(name: str) -> dict[str, float] | None:
    """What one instance asks Ray for, ``{"cpus", "gpus"}``, or None for a name not in the
    table (memory is in the table, not asked for)."""
    size = ML_TYPES.get(name)
    return None if size is None else {"cpus": size[0], "gpus": size[2]}


def suggestions(name: str, presets) -> list[str]:
    """The closest known names to a mistyped one, for a "did you mean"."""
    return difflib.get_close_matches(name, [*presets, *ML_TYPES], n=3, cutoff=0.6)


def machine_gpus() -> int:
    """GPUs this machine has (``RAYMAKER_NUM_GPUS``, else NVIDIA's device files)."""
    raw = os.environ.get("RAYMAKER_NUM_GPUS")
    if raw and raw.isdigit():
        return int(raw)
    return len(glob.glob("/dev/nvidia[0-9]*"))


def fit(name: str, need: dict[str, float], *, cpus: float, gpus: int) -> dict[str, float]:
    """``need`` shrunk to a machine of ``cpus`` cores and ``gpus`` GPUs, with a notice when it
    is (SageMaker local mode on the local head)."""
    fitted = {"cpus": min(need["cpus"], cpus), "gpus": min(need["gpus"], gpus)}
    if fitted["cpus"] < need["cpus"] or fitted["gpus"] < need["gpus"]:
        wanted = f"{need['cpus']:g} vCPUs" + (f", {need['gpus']:g} GPUs" if need["gpus"] else "")
        got = f"{fitted['cpus']:g} CPUs" + (f", {fitted['gpus']:g} GPUs" if fitted["gpus"] else "")
        warnings.warn(
            f"{name} ({wanted}) runs on this machine's local head as {got}",
            RaymakerNotice, stacklevel=3,
        )  # fmt: skip
    return fitted
