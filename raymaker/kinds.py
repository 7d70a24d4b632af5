"""The table of resource kinds: one row per kind, every entry a ``"module:attr"`` string.

    spec    the pydantic model of the kind (``raymaker.specs`` validates with it)
    run     ``run(spec, ctx) -> dict``: what ``raymaker run`` executes in the job's driver
    stage   ``stage(spec, store, job_name, base_dir) -> spec``: uploads the local files the
            spec names before it is submitted (None: it names none)
    driver  ``driver(spec, settings) -> {"cpus": n, "gpus": n}``: what the job's driver
            computes with, reserved from Ray for it (None: the driver only coordinates)
    names_job  whether the spec's ``name`` is the job's name (an ``Endpoint``'s name is the
            endpoint's: each apply of it is a job of its own, named ``<name>-apply-...``)
    check   ``check(spec) -> [problem, ...]``: what a submit would refuse, from the spec alone
            (hyperparameters, channels, ranges), each naming its field; ``raymaker validate``
            and every submit report them all at once (None: pydantic's checks are all)
    reconcile  ``reconcile(settings, store) -> {"restored": [...], "failed": {name: why}}``:
            bring back what the store says should run and the cluster lacks (after a head
            restart); ``raymaker cluster up`` runs every row's (None: nothing long-lived)
    soft_stop  ``soft_stop(name) -> key``: a stop first writes this store key, which the job
            watches to end itself with what it has (an AutoML job's finished candidates);
            Ray's stop follows only if it does not end in time (None: Ray's stop at once)
    run_name  ``run_name(spec) -> name``: the job's name when none is given, for kinds whose
            ``name`` is not the job's (None: ``<name>-apply-<time>-<hex>``)

Adding a kind is one row here (plus its spec model and its run function in its own room).
Nothing is imported here: rows are loaded on first use with ``load``, so the table sits at the
foundation and every layer can read it (specs, jobs and the CLI alike).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    spec: str
    run: str
    stage: str | None = None
    driver: str | None = None
    names_job: bool = True
    reconcile: str | None = None
    check: str | None = None
    soft_stop: str | None = None
    run_name: str | None = None


KINDS: dict[str, Kind] = {
    "ProcessingJob": Kind(
        spec="raymaker.specs.jobs:ProcessingJob",
        run="raymaker.data.processing:run_processing_job",
        stage="raymaker.jobs.staging:stage_processing",
    ),
    "TrainingJob": Kind(
        spec="raymaker.specs.jobs:TrainingJob",
        run="raymaker.train.runner:run_training_job",
        stage="raymaker.jobs.staging:stage_training",
        driver="raymaker.train.workers:driver_resources",
        check="raymaker.train.checks:check_training",
    ),
    "TuningJob": Kind(
        spec="raymaker.specs.jobs:TuningJob",
        run="raymaker.tuning.runner:run_tuning_job",
        stage="raymaker.jobs.staging:stage_tuning",
        check="raymaker.tuning.checks:check_tuning",
    ),
    "TransformJob": Kind(
        spec="raymaker.specs.jobs:TransformJob",
        run="raymaker.batch.transform:run_transform_job",
        stage="raymaker.jobs.staging:stage_transform",
        driver="raymaker.batch.transform:driver_resources",
    ),
    "AutoMLJob": Kind(
        spec="raymaker.specs.automl:AutoMLJob",
        run="raymaker.automl.runner:run_automl_job",
        stage="raymaker.jobs.staging:stage_automl",
        check="raymaker.automl.checks:check_automl",
        soft_stop="raymaker.automl.runner:stop_request_key",
    ),
    "Endpoint": Kind(
        spec="raymaker.specs.endpoint:Endpoint",
        run="raymaker.serve.endpoints:run_endpoint",
        stage="raymaker.jobs.staging:stage_endpoint",
        names_job=False,
        reconcile="raymaker.serve.endpoints:reconcile_endpoints",
    ),
    "BaselineJob": Kind(
        spec="raymaker.specs.monitor:BaselineJob",
        run="raymaker.monitor.jobs:run_baseline",
        stage="raymaker.jobs.staging:stage_monitoring",
    ),
    "MonitoringSchedule": Kind(
        spec="raymaker.specs.monitor:MonitoringSchedule",
        run="raymaker.monitor.jobs:run_schedule",
        stage="raymaker.jobs.staging:stage_monitoring",
        names_job=False,
        reconcile="raymaker.monitor.scheduler:reconcile_schedules",
    ),
    "ClarifyJob": Kind(
        spec="raymaker.specs.monitor:ClarifyJob",
        run="raymaker.monitor.clarify:run_clarify",
        stage="raymaker.jobs.staging:stage_monitoring",
    ),
    "Pipeline": Kind(
        spec="raymaker.specs.pipeline:Pipeline",
        run="raymaker.pipelines.execution:run_pipeline",
        stage="raymaker.pipelines.definition:stage_pipeline",
        check="raymaker.pipelines.definition:check_pipeline",
        names_job=False,
        reconcile="raymaker.pipelines.execution:reconcile_executions",
        run_name="raymaker.specs.pipeline:execution_name",
    ),
    "MonitoringExecution": Kind(
        spec="raymaker.specs.monitor:MonitoringExecution",
        run="raymaker.monitor.jobs:run_execution",
    ),
}


def load(target: str) -> Any:
    """The object a ``"module:attr"`` row names."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
