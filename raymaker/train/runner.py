"""``kind: TrainingJob``: plan on the driver, train on workers, publish the model artifact.

Everything that can be wrong with a spec (channels, label, feature types, hyperparameters,
presets) is found here before any worker starts. Workers write the model files to the job's
temporary prefix; the driver adds the fitted recipe and the manifest, and publishes the
folder and ``model.tar.gz`` together.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import signal
import tempfile
import threading
from contextlib import contextmanager

from raymaker.errors import JobStopped, SpecError
from raymaker.storage import artifacts, layout
from raymaker.train.job import (
    connect_for,
    final_metrics,
    job_keys,
    lineage,
    output_prefix,
    version_of,
)
from raymaker.train.workers import Plan, plan_for, run_workers

PANDAS_FIT_BYTES = 256 << 20  # a recipe on less data than this is fitted with pandas


def run_training_job(spec, ctx) -> dict:
    """Returns ``{"model_data", "model_dir", "sha256", "metrics", ...}``. Raises SpecError."""
    preset = ctx.settings.resources_for(spec.instance_type)
    if spec.use_gpu and not preset["gpus"]:
        raise SpecError(
            f"use_gpu is true but instance_type {spec.instance_type!r} has no GPU; "
            "use a gpu.N preset"
        )
    plan = plan_for(spec, ctx.settings)
    with _max_run(spec.max_run):
        if spec.algorithm:
            return _run_builtin(spec, ctx, plan)
        from raymaker.train.script import run_script_job

        return run_script_job(spec, ctx, plan)


def _run_builtin(spec, ctx, plan: Plan) -> dict:
    from raymaker.train.algorithms import algorithm_for
    from raymaker.train.channels import resolve_channels
    from raymaker.train.checks import check_training
    from raymaker.train.tabular import prepare_tabular

    store = ctx.store
    clock = _Clock()
    problems = check_training(spec)  # what validate and submit found (a run may skip both)
    if problems:
        raise SpecError("\n  ".join(problems))
    algo = algorithm_for(spec.algorithm)
    hps = algo.parse_hyperparameters(spec.hyperparameters)
    sources = resolve_channels(store, spec.inputs, required=algo.required_channels)
    ctx.progress(stage="planning", force=True)
    fitted = _recipe(spec, ctx, sources["train"])
    data = prepare_tabular(
        spec, sources, fitted, algorithm=spec.algorithm,
        text_features=getattr(algo, "text_features", False),
    )  # fmt: skip
    config = algo.prepare(spec, hps, data)
    config.update(job_keys(spec, ctx))
    fingerprints = _Background(lambda: {c: artifacts.fingerprint(s) for c, s in sources.items()})

    plan.backend = algo.backend
    module, _, attr = algo.worker.partition(":")
    worker = getattr(importlib.import_module(module), attr)
    clock.lap("plan")
    ctx.progress(stage="training", workers=plan.num_workers, force=True)
    connect_for(plan, ctx)
    result = run_workers(worker, config, plan, name=ctx.name, store=store, env=_worker_env(ctx))
    clock.lap("workers")

    ctx.progress(stage="publishing", force=True)
    metrics = final_metrics(store, config["metrics_key"])
    with tempfile.TemporaryDirectory() as model_dir:
        _download(store, config["model_staging"], model_dir)
        if fitted is not None:
            with open(os.path.join(model_dir, artifacts.RECIPE), "w", encoding="utf-8") as f:
                f.write(fitted.to_json())
        manifest = {
            "framework": algo.framework,
            "framework_version": version_of(algo.framework),
            "algorithm": spec.algorithm,
            "task": config["task"],
            "label": data.label,
            "classes": data.classes,
            "features": data.features,
            "input_schema": data.input_schema,
            "output": _output_of(config["task"], data.classes),
            "architecture": config.get("architecture"),
            "recipe": artifacts.RECIPE if fitted is not None else None,
            "hyperparameters": hps.model_dump(by_alias=True, exclude_none=True),
            "metrics": metrics,
            "lineage": lineage(spec, ctx, fingerprints.result(), _code_hash(algo)),
            **config.get("manifest", {}),
        }
        artifacts.write_manifest(model_dir, manifest)
        published = artifacts.publish(
            store, model_dir, staging=layout.job_staging(ctx.name, "artifact"),
            target=output_prefix(spec, ctx),
        )  # fmt: skip
    store.delete(layout.job_staging(ctx.name), recursive=True)
    clock.lap("publish")
    return {
        **published,
        "metrics": metrics,
        "workers": plan.num_workers,
        "execution": "driver" if plan.runs_in_driver() else "ray_train",
        **result,
        "seconds": clock.laps,
    }


class _Clock:
    """Seconds spent in each phase of the job, for the result (and for tuning this code)."""

    def __init__(self):
        import time

        self._time = time.perf_counter
        self._last = self._time()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = self._time()
        self.laps[name] = round(now - self._last, 3)
        self._last = now


def _worker_env(ctx) -> dict[str, str]:
    return ctx.settings.job_env()


def _recipe(spec, ctx, train_source):
    """The fitted recipe: loaded (a ``.json`` from a processing job) or fitted on ``train``."""
    if not spec.recipe:
        return None
    from raymaker.data.recipe import FittedRecipe, load_recipe

    if spec.recipe.endswith(".json"):
        return FittedRecipe.load(ctx.store, spec.recipe)
    import dataclasses

    from raymaker.data.readers import read_dataset, read_frame

    recipe = load_recipe(spec.recipe, ctx.store)
    ctx.progress(stage="fitting recipe", force=True)
    source = dataclasses.replace(train_source)  # the dataset's row counter stays off the original
    size = sum(i.size for i in source.filesystem.get_file_info(source.paths))
    if size <= PANDAS_FIT_BYTES:  # Ray Data costs ~2 s a pass here; small data fits faster
        return recipe.fit(read_frame(source))
    from raymaker.cluster import connect

    connect(ctx.settings)
    return recipe.fit(read_dataset(source))


def _download(store, prefix: str, local_dir: str) -> None:
    if not store.get_dir(prefix, local_dir):
        raise RuntimeError("the training workers wrote no model files")


def _output_of(task: str, classes) -> dict:
    if task == "binary":
        return {"type": "probability", "positive_class": classes[1], "classes": classes}
    if task == "multiclass":
        return {"type": "probabilities", "classes": classes}
    return {"type": "value"}


def _code_hash(algo) -> str:
    """A built-in's code identity: the source of its module and raymaker's version."""
    module = importlib.import_module(type(algo).__module__)
    with open(module.__file__, "rb") as f:
        return hashlib.sha256(f.read() + version_of("raymaker").encode()).hexdigest()


class _Background:
    """Run ``fn`` in a thread now; ``result()`` waits for it (errors are returned as text)."""

    def __init__(self, fn):
        self._value = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn):
        try:
            self._value = fn()
        except Exception as exc:  # noqa: BLE001 - lineage must not fail a trained model
            self._value = {"error": f"{type(exc).__name__}: {exc}"}

    def result(self):
        self._thread.join()
        return self._value


@contextmanager
def _max_run(seconds: int | None):
    """Stop the job (as ``raymaker jobs stop`` would) when it runs past ``max_run``."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise JobStopped(f"max_run ({seconds} s) exceeded")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
