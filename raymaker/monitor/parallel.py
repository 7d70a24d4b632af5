"""A data quality window's statistics, read in the job's driver or, for a large window, by
Ray tasks.

A window of at least ``PARALLEL_FILES`` capture files, in a job that runs on Ray, is split
into one group of files per CPU of the cluster (at most ``MAX_TASKS``); each Ray task reads
its group a batch at a time and returns its mergeable ``Statistics`` (counts, moments, KLL
sketches as bytes, value counts), which the driver merges. Ray tasks rather than a Ray Data
pipeline: the work is one pass of "parse, then aggregate into a sketch", whose partial
results are small and merge exactly, so there is nothing to shuffle or stream on.
"""

from __future__ import annotations

import os

from raymaker.monitor import capture
from raymaker.monitor.stats import Statistics

PARALLEL_FILES = 32  # fewer files are read in the driver (a Ray task's start costs ~1 s)
MAX_TASKS = 64


def window_statistics(ctx, sched, start: float, end: float, features: list[str]) -> Statistics:
    """The window's statistics (the answer as a column when the schedule names one)."""
    from raymaker.monitor.jobs import capture_plan, dataset_frames

    if sched.batch_transform_input is not None:
        stats = Statistics()
        for frame in dataset_frames(ctx.store, sched.batch_transform_input):
            stats.add(frame)
        return stats
    keys, output = capture_plan(ctx.store, sched, start, end)  # listed once, read below
    if len(keys) >= PARALLEL_FILES and os.environ.get("RAY_ADDRESS"):
        return _on_ray(ctx, keys, start, end, features, output)
    return read_statistics(ctx.settings.job_env(), keys, start, end, features, output,
                           store=ctx.store)  # fmt: skip


def read_statistics(store_env: dict, keys: list[str], start: float, end: float,
                    features: list[str], output: str | None, *,
                    store=None) -> Statistics:  # fmt: skip
    """One group of capture files' statistics (what a Ray task runs; the driver passes its
    own ``store``)."""
    from raymaker.storage.store import store_from_env

    store = store or store_from_env(store_env)
    stats = Statistics()
    for frame in capture.read_window(store, keys, start, end, features, output=output):
        stats.add(frame.drop(columns=[c for c in capture.META if c in frame.columns]))
    return stats


def _on_ray(ctx, keys, start, end, features, output) -> Statistics:
    import ray

    from raymaker.cluster.connect import connect

    connect(ctx.settings)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    n = max(1, min(MAX_TASKS, cpus, len(keys)))
    groups = [keys[i::n] for i in range(n)]
    task = ray.remote(num_cpus=1, max_retries=2)(read_statistics)
    env = ctx.settings.job_env()
    refs = [task.remote(env, group, start, end, features, output) for group in groups]
    print(f"reading {len(keys)} capture files in {n} Ray tasks")
    stats = Statistics()
    for part in ray.get(refs):
        stats.merge(part)
    return stats
