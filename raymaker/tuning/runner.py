"""``kind: TuningJob``: Ray Tune over training jobs, SageMaker's Automatic Model Tuning.

The tuning job's driver runs a Ray Tune experiment whose trainable is ``trial.run_trial``: each
trial is a whole training job (record, metrics, artifact, lineage) named ``<tuning>-<NNN>``.

- Bayesian: Optuna TPE (multivariate; seeded by ``random_seed``; a constant liar when trials
  run in parallel). Random: Optuna's random sampler. Hyperband: random sampling under ASHA
  over the algorithm's step resource. Grid: every combination of the Categorical ranges.
- ``early_stopping_type: Auto``: Ray Tune's median stopping rule on the trials' steps.
- Completion criteria, and a trial that never reports the objective, stop the experiment
  from ``watch.Watch`` (a Tune callback and stopper that reads the trials' records).
- The experiment lives under ``jobs/<tuning>/tune`` in the store; a resumed tuning job restores
  it (``Tuner.restore``) and trials whose jobs already succeeded are not run again.
"""

from __future__ import annotations

import logging
import math
import os
import time

from raymaker.errors import JobFailed, SpecError
from raymaker.storage import join, layout
from raymaker.tuning import trials
from raymaker.tuning.space import SearchSpace
from raymaker.tuning.trial import TrialSetup

TUNE_ENV = {
    "TUNE_GLOBAL_CHECKPOINT_S": "1",  # experiment state saved soon after each trial ends
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",  # records and metrics.jsonl are ours
    "TUNE_MAX_PENDING_TRIALS_PG": "1",
}


def run_tuning_job(spec, ctx) -> dict:
    """Run the experiment to its end. Raises SpecError before any trial, JobFailed when no
    trial produced the objective."""
    store, settings, name = ctx.store, ctx.settings, ctx.name
    if len(name) > trials.NAME_ROOM:
        raise SpecError(
            f"name {name!r} is too long for a tuning job: trials add '-NNN' "
            f"(at most {trials.NAME_ROOM} characters)"
        )
    algo = _check_template(spec, settings)
    space = SearchSpace(spec.hyperparameter_ranges)
    hyperband = _hyperband(spec, algo)
    warm = _warm_start(spec, store, space)
    grid = _grid_points(spec, space, warm)
    setup = TrialSetup(
        tuning=name,
        template=spec.training.model_dump(mode="json", exclude_defaults=True, by_alias=True),
        ranges={k: r.model_dump(mode="json") for k, r in spec.hyperparameter_ranges.items()},
        metric_name=spec.objective.metric_name,
        objective_type=spec.objective.type,
        settings=settings,
        resource=hyperband["resource"] if hyperband else None,
        max_resource=hyperband["max_resource"] if hyperband else None,
        milestones=hyperband["milestones"] if hyperband else [],
        intermediate=bool(hyperband) or spec.early_stopping_type == "Auto",
    )
    total = len(grid) if grid is not None else spec.max_jobs
    print(
        f"tuning {name}: strategy {spec.strategy}, {total} trials, "
        f"{spec.max_parallel_jobs} at a time, objective {spec.objective.type} "
        f"{spec.objective.metric_name}"
        + (f"; warm start from {len(warm['observations'])} parent trials" if warm else ""),
        flush=True,
    )
    ctx.progress(stage="tuning", total=total, force=True)

    from raymaker.cluster import connect

    connect(settings)
    os.environ.update(TUNE_ENV)
    # without Tune's own result files its analysis warns about every trial; records are ours
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    from raymaker.tuning.watch import Watch

    watch = Watch(name, spec.model_dump(mode="json", by_alias=True), settings, total)
    tuner = _tuner(spec, ctx, setup, space, hyperband, warm, grid, watch)
    started = time.time()
    try:
        tuner.fit()
    finally:
        rows = _finish(store, spec, name, reason=watch.stop_reason)
    return _outcome(spec, store, name, rows, watch, warm, time.time() - started)


def _check_template(spec, settings):
    """The training template must be runnable with every tuned name. Raises SpecError."""
    from raymaker.tuning.checks import check_tuning

    settings.resources_for(spec.training.instance_type)
    problems = check_tuning(spec)
    if problems:
        raise SpecError("\n  ".join(problems))
    if not spec.training.algorithm:
        return None
    from raymaker.train.algorithms import algorithm_for

    return algorithm_for(spec.training.algorithm)


def _hyperband(spec, algo) -> dict | None:
    """The resource ASHA allocates: which hyperparameter, its min/max and the rungs."""
    if spec.strategy != "Hyperband":
        return None
    config = spec.hyperband or _default_hyperband()
    resource = config.resource or (algo.resource if algo else None)
    max_resource = config.max_resource
    if resource and max_resource is None:
        given = spec.training.hyperparameters.get(resource)
        if given is None and algo is not None:
            given = algo.hyperparameters.model_fields[resource].default
        max_resource = int(given) if given is not None else None
    if max_resource is None:
        raise SpecError(
            "hyperband.max_resource is required when the training job has no step "
            "hyperparameter (scripts: name it in hyperband.resource or give max_resource)"
        )
    if resource in spec.hyperparameter_ranges:
        raise SpecError(
            f"hyperband.resource {resource!r} is set by Hyperband; do not tune it as well"
        )
    if max_resource <= config.min_resource:
        raise SpecError(
            f"hyperband.max_resource ({max_resource}) must be > min_resource "
            f"({config.min_resource})"
        )
    milestones, step = [], config.min_resource
    while step < max_resource:
        milestones.append(int(step))
        step *= config.reduction_factor
    return {
        "resource": resource,
        "min_resource": config.min_resource,
        "max_resource": max_resource,
        "reduction_factor": config.reduction_factor,
        "milestones": milestones,
    }


def _default_hyperband():
    from raymaker.specs.jobs import HyperbandConfig

    return HyperbandConfig()


def _warm_start(spec, store, space: SearchSpace) -> dict | None:
    """The parents' finished trials as observations for the sampler. Raises SpecError."""
    if not spec.warm_start_parents:
        return None
    from raymaker.errors import NotFound
    from raymaker.jobs.records import read_record
    from raymaker.specs.jobs import TuningJob

    observations, skipped, parents, best = [], 0, [], None
    for parent in spec.warm_start_parents:
        try:
            record = read_record(store, parent)
        except NotFound:
            raise SpecError(f"warm_start_parents: no tuning job named {parent!r}") from None
        if record.kind != "TuningJob":
            raise SpecError(f"warm_start_parents: {parent!r} is a {record.kind}, not a TuningJob")
        if not record.status.terminal:
            raise SpecError(
                f"warm_start_parents: {parent!r} is {record.status.value}; "
                "a parent must have finished"
            )
        parent_spec = TuningJob.model_validate(record.spec)
        _check_parent(spec, parent_spec, parent, store)
        tuned = list(parent_spec.hyperparameter_ranges)
        fixed = parent_spec.training.hyperparameters
        rows = trials.list_trials(store, parent, parent_spec.objective.metric_name, tuned)
        for row in rows:
            if row.status != "SUCCEEDED" or row.objective is None:
                continue
            point = space.to_internal({**fixed, **row.hyperparameters})
            if point is None:
                skipped += 1
                continue
            observations.append((point, row.objective, row.training_job))
            if best is None or _better(spec, row.objective, best[0]):
                best = (row.objective, row.training_job)
        parents.append(parent)
    return {
        "parents": parents,
        "type": spec.warm_start_type,
        "observations": observations,
        "skipped": skipped,
        "best": best,
    }


def _same_data(store, mine: dict, theirs: dict) -> bool:
    """The same channels with the same content (each job stages local files on its own)."""
    if set(mine) != set(theirs):
        return False
    from raymaker.storage.artifacts import fingerprint
    from raymaker.train.channels import resolve_channels

    differ = [c for c in mine if mine[c] != theirs[c]]
    if not differ:
        return True
    a = resolve_channels(store, {c: mine[c] for c in differ}, required=())
    b = resolve_channels(store, {c: theirs[c] for c in differ}, required=())
    return all(fingerprint(a[c])["sha256"] == fingerprint(b[c])["sha256"] for c in differ)


def _check_parent(spec, parent_spec, parent: str, store) -> None:
    if parent_spec.objective.metric_name != spec.objective.metric_name or (
        parent_spec.objective.type != spec.objective.type
    ):
        raise SpecError(
            f"warm_start_parents: {parent!r} optimized {parent_spec.objective.type} "
            f"{parent_spec.objective.metric_name}; this job optimizes {spec.objective.type} "
            f"{spec.objective.metric_name} (they must be the same)"
        )
    if spec.warm_start_type != "IdenticalDataAndAlgorithm":
        return
    mine, theirs = spec.training, parent_spec.training
    if not _same_data(store, mine.inputs, theirs.inputs):
        raise SpecError(
            f"warm_start_type IdenticalDataAndAlgorithm: training.inputs hold other data than "
            f"parent {parent!r}'s ({sorted(theirs.inputs.items())} there); use TransferLearning"
        )
    for field in ("algorithm", "entry_point", "label", "recipe"):
        if getattr(mine, field) != getattr(theirs, field):
            raise SpecError(
                f"warm_start_type IdenticalDataAndAlgorithm: training.{field} differs from "
                f"parent {parent!r} ({getattr(theirs, field)!r} there, {getattr(mine, field)!r} "
                "here); use TransferLearning"
            )


def _better(spec, a: float, b: float) -> bool:
    return a > b if spec.objective.type == "Maximize" else a < b


def _grid_points(spec, space: SearchSpace, warm) -> list[dict] | None:
    """Grid: every combination, less those identical parents already trained."""
    if spec.strategy != "Grid":
        return None
    points = space.grid()
    if warm and warm["type"] == "IdenticalDataAndAlgorithm":
        done = [o[0] for o in warm["observations"]]
        points = [p for p in points if p not in done]
    if spec.max_jobs is not None:
        points = points[: spec.max_jobs]
    if not points:
        raise SpecError("strategy Grid: every combination was already trained by the parents")
    return points


def _tuner(spec, ctx, setup, space, hyperband, warm, grid, watch):
    from ray import tune

    from raymaker.train.workers import plan_for
    from raymaker.tuning.trial import run_trial

    plan = plan_for(spec.training, ctx.settings)
    # the trial's own process trains (it holds the worker's share), or it only waits on a Ray
    # Train worker group that holds the resources (Tune needs a non-empty bundle: 1 MiB)
    if plan.runs_in_driver():
        resources = {"cpu": plan.cpus, "gpu": plan.gpus}
    else:
        resources = {"cpu": 0, "memory": 1 << 20}
    trainable = tune.with_resources(tune.with_parameters(run_trial, setup=setup), resources)
    store = ctx.store
    fs = store.arrow_filesystem()
    path = store.arrow_path(join(layout.job_dir(ctx.name), "tune"))
    if ctx.record.attempts > 1 and tune.Tuner.can_restore(path, storage_filesystem=fs):
        print(f"tuning {ctx.name}: resuming the experiment in {path}", flush=True)
        return tune.Tuner.restore(
            path, trainable, resume_unfinished=True, resume_errored=False,
            storage_filesystem=fs,
        )  # fmt: skip
    mode = "max" if spec.objective.type == "Maximize" else "min"
    search, param_space, samples = _search(spec, space, warm, grid, mode)
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric="objective",
            mode=mode,
            search_alg=search,
            scheduler=_scheduler(spec, hyperband),
            num_samples=samples,
            max_concurrent_trials=spec.max_parallel_jobs,
            time_budget_s=spec.max_runtime_in_seconds,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name="tune",
            storage_path=store.arrow_path(layout.job_dir(ctx.name)),
            storage_filesystem=fs,
            stop=watch,
            callbacks=[watch],
            failure_config=tune.FailureConfig(max_failures=0),
            verbose=0,
        ),
    )


def _search(spec, space: SearchSpace, warm, grid, mode: str):
    """(search algorithm, param_space, num_samples) for the strategy."""
    if grid is not None:
        from ray.tune.search.basic_variant import BasicVariantGenerator

        # the points are the first (and, with num_samples = their count, the only) samples
        return BasicVariantGenerator(points_to_evaluate=grid), space.tune_space(), len(grid)
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seed = spec.random_seed
    if spec.strategy == "Bayesian":
        sampler = optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            constant_liar=spec.max_parallel_jobs > 1,
            n_startup_trials=startup_trials(spec.max_jobs, len(space.ranges)),
        )
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    observations = warm["observations"] if warm else []
    search = OptunaSearch(
        sampler=sampler,
        points_to_evaluate=[o[0] for o in observations] or None,
        evaluated_rewards=[o[1] for o in observations] or None,
    )
    return search, space.tune_space(), spec.max_jobs


def startup_trials(max_jobs: int, dimensions: int) -> int:
    """Random trials before TPE models the objective: enough to cover the space coarsely,
    never more than a third of the budget."""
    return max(2, min(dimensions + 3, max_jobs // 3))


def _scheduler(spec, hyperband):
    from ray.tune.schedulers import ASHAScheduler, MedianStoppingRule

    if hyperband:
        return ASHAScheduler(
            time_attr="step",
            max_t=hyperband["max_resource"],
            grace_period=hyperband["min_resource"],
            reduction_factor=hyperband["reduction_factor"],
        )
    if spec.early_stopping_type == "Auto":
        return MedianStoppingRule(time_attr="step", grace_period=3, min_samples_required=3)
    return None


def _finish(store, spec, name: str, *, reason: str | None):
    """After the experiment: trials still RUNNING are STOPPED; leaderboard and plot written."""
    from raymaker.errors import NotFound
    from raymaker.jobs.records import JobStatus, read_record, write_record

    rows = trials.list_trials(
        store, name, spec.objective.metric_name, list(spec.hyperparameter_ranges)
    )
    for row in rows:
        if row.status in ("SUCCEEDED", "FAILED", "STOPPED"):
            continue
        try:
            record = read_record(store, row.training_job)
        except NotFound:
            continue
        if record.status.terminal:
            continue
        record.status, record.ended_at = JobStatus.STOPPED, time.time()
        record.failure_reason = "the tuning job ended before this trial finished" + (
            f" ({reason})" if reason else ""
        )
        write_record(store, record)
        row.status, row.failure_reason = "STOPPED", record.failure_reason
    trials.publish(store, name, rows, spec.model_dump(mode="json", by_alias=True))
    return rows


def _why_done(spec, rows, seconds: float) -> str:
    if spec.max_runtime_in_seconds and seconds >= spec.max_runtime_in_seconds:
        return f"max_runtime_in_seconds ({spec.max_runtime_in_seconds}) reached"
    return f"all {len(rows)} trials ran"


def _outcome(spec, store, name: str, rows, watch, warm, seconds: float) -> dict:
    from raymaker.jobs.records import read_record

    metric = spec.objective.metric_name
    best = trials.best_of(rows, spec.objective.type)
    if best is None:
        if watch.stop_reason and "never reported" in watch.stop_reason:
            raise JobFailed(watch.stop_reason)
        silent = [r for r in rows if r.status == "SUCCEEDED" and r.objective is None]
        if silent:
            reported = sorted({m for r in silent for m in r.metrics})
            raise JobFailed(
                f"no trial reported the objective metric {metric!r}; metrics the trials "
                f"reported: {', '.join(reported) or 'none'}"
            )
        failed = [r for r in rows if r.status == "FAILED"]
        if failed:
            first = read_record(store, failed[0].training_job)
            raise JobFailed(
                f"all {len(rows)} trials failed; {first.name}: {first.failure_reason}",
                traceback=first.traceback,
            )
        raise JobFailed(f"no trial finished ({len(rows)} started)")
    record = read_record(store, best.training_job)
    counts = {s: sum(r.status == s for r in rows) for s in ("SUCCEEDED", "FAILED", "STOPPED")}
    early = sum(1 for r in rows if (r.failure_reason or "").startswith("stopped early"))
    result = {
        "best_training_job": best.training_job,
        "best_objective": best.objective,
        "best_hyperparameters": best.hyperparameters,
        "objective": {"metric_name": metric, "type": spec.objective.type},
        "model_data": record.result.get("model_data"),
        "model_dir": record.result.get("model_dir"),
        "trials": len(rows),
        "succeeded": counts["SUCCEEDED"],
        "failed": counts["FAILED"],
        "stopped": counts["STOPPED"],
        "stopped_early": early,
        "total_steps": sum(r.steps or 0 for r in rows),
        "completion": watch.stop_reason or _why_done(spec, rows, seconds),
        "leaderboard_uri": store.uri(trials.leaderboard_key(name)),
        "plot_uri": store.uri(trials.plot_key(name)),
        "seconds": round(seconds, 3),
    }
    if warm:
        overall = (best.objective, best.training_job)
        if warm["best"] and _better(spec, warm["best"][0], best.objective):
            overall = warm["best"]
        result["warm_start"] = {
            "parents": warm["parents"],
            "type": warm["type"],
            "observations": len(warm["observations"]),
            "skipped_outside_ranges": warm["skipped"],
        }
        result["overall_best_training_job"] = overall[1]
        result["overall_best_objective"] = overall[0]
    if math.isfinite(best.objective):
        print(f"best: {best.training_job} {metric}={best.objective:.6g}", flush=True)
    return result
