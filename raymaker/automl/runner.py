"""``kind: AutoMLJob``: SageMaker Autopilot on Ray Tune.

The driver reads the data once, resolves the problem type and objective, holds out
``validation_fraction`` of the rows or reads the ``validation`` channel (by default nothing is
held out: the candidates' out-of-fold predictions are what is scored), fits the automatic
recipe (``features``) and puts the matrices in Ray's object store. Each candidate is a Ray Tune
trial (``candidates.run_candidate``) bagging one zoo learner over k folds, in parallel as the
cluster's CPUs allow; a stacking layer (``stack_levels``) bags them again on the features plus
the first layer's out-of-fold predictions, when the budget leaves time. Then ``leaderboard``
weights an ensemble by greedy selection over every candidate's out-of-fold predictions,
scores, publishes (``serving``) and times each, and writes the best one's reports.

In HYPERPARAMETER_TUNING mode (``hpo``; AUTO picks it from 100 MB) the trials are Optuna's
TPE samples of a learner and its hyperparameters instead, each fitted once and scored on the
held-out rows; the best trial is the best candidate, with no ensemble.

The budget is a promise: Tune's ``time_budget_s`` ends the trials in time for the ensemble to
be built within ``total_job_runtime_in_seconds``; a job stopped by ``raymaker automl stop``
(the store's stop request, which Tune's stopper reads) or past its budget still builds its
leaderboard and best candidate from the candidates that finished.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time

import numpy as np

from raymaker.automl import candidates as cands
from raymaker.automl import hpo, leaderboard, reports
from raymaker.automl.data import Prepared, prepare
from raymaker.automl.hpo import DEFAULT_TRIALS
from raymaker.errors import JobFailed, JobStopped, SpecError
from raymaker.specs.automl import ALGORITHM_LEARNERS
from raymaker.storage import join, layout

# the budget kept for the ensemble: seconds a candidate, at least, and Tune's wind-down
RESERVE = (1.5, 1.0, 2.0)
REPORTS = 5.0  # seconds kept for the best candidate's insights and explanation
RESERVE_SHARE = 0.5  # of the budget, at most, kept from the trials
SUBMIT_GRACE = 15.0  # seconds of staging and start-up before the driver the budget counts
STACK_SHARE = 0.6  # a stacking layer runs when this share of the layer below's time is left
TUNE_ENV = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "TUNE_MAX_PENDING_TRIALS_PG": "1"}


def stop_request_key(name: str) -> str:
    return join(layout.job_dir(name), "stop-requested")


def run_automl_job(spec, ctx) -> dict:
    from raymaker.automl.checks import check_automl

    problems = check_automl(spec)
    if problems:
        raise SpecError("\n  ".join(problems))
    started = time.time()
    if ctx.record.attempts > 1:  # a resumed job starts without the stop that ended it
        ctx.store.delete(stop_request_key(ctx.name))
    else:  # the budget counts from the submission, the user's clock (up to SUBMIT_GRACE)
        started = min(started, max(ctx.record.created_at, started - SUBMIT_GRACE))
    ctx.progress(stage="AnalyzingData", force=True)
    data = prepare(spec, ctx)
    data.started = started
    mode = data.mode
    learners = _learners(spec, mode)
    definitions = _definitions(spec, ctx, data, learners)
    data.reports = {}
    reports.guarded(data.reports, "DataExploration", lambda: reports.write_data_exploration(
        ctx.store, _output(spec, ctx), data.frame, data.target))  # fmt: skip
    data.frame = None  # the raw rows, profiled: not held for the rest of the job
    if spec.generate_candidate_definitions_only:
        return _result(spec, ctx, data, mode, [], None, "CandidateDefinitionsGenerated",
                       definitions=definitions)  # fmt: skip
    ctx.progress(stage="TrainingModels" if mode == "ENSEMBLING" else "ModelTuning",
                 total=_trials(spec, mode, learners), force=True)  # fmt: skip
    reason = _run_trials(spec, ctx, data, learners, started)
    if mode == "ENSEMBLING":
        reason = _stack(spec, ctx, data, learners, started, reason)
    ctx.progress(stage="GeneratingModelInsightsReport", force=True)
    rows, best = leaderboard.build(spec, ctx, data, output=_output(spec, ctx),
                                   deadline=_deadline(spec, data))  # fmt: skip
    if best is None:
        why = "; ".join(f"{r['CandidateName']}: {r.get('FailureReason')}" for r in rows[:3])
        raise JobFailed(f"no candidate finished ({reason or why or 'no trial ran'})")
    result = _result(spec, ctx, data, mode, rows, best, reason or "Completed",
                     definitions=definitions)  # fmt: skip
    if reason == "Stopped":
        stopped = JobStopped("the AutoML job was stopped; its finished candidates are kept")
        stopped.result = result
        raise stopped
    return result


def _learners(spec, mode: str) -> list[str]:
    chosen = spec.algorithms or list(ALGORITHM_LEARNERS)
    learners = []
    for algorithm, learner in ALGORITHM_LEARNERS.items():  # the zoo's cheap-first order
        if algorithm in chosen and learner not in learners:
            learners.append(learner)
    if mode == "ENSEMBLING" and spec.max_candidates:
        return learners[: spec.max_candidates]
    return learners


def _trials(spec, mode: str, learners: list[str]) -> int:
    """Candidates to train: a learner each (ENSEMBLING), or the search's trials."""
    if mode == "ENSEMBLING":
        return len(learners)
    return spec.max_candidates or DEFAULT_TRIALS


def _definitions(spec, ctx, data: Prepared, learners: list[str]) -> list[dict]:
    """Each candidate's definition: this job's spec narrowed to its one learner, re-runnable
    as an AutoMLJob (``raymaker run``), written as YAML to ``candidate-definitions/``."""
    from raymaker.specs import dump_spec, parse_spec

    base = spec.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    out = []
    learner_algorithm = {v: k for k, v in reversed(ALGORITHM_LEARNERS.items())}
    prefix = join(_output(spec, ctx), "candidate-definitions")
    for learner in learners:
        name = cands.candidate_name(ctx.name, learner)
        definition = {
            **base,
            "name": f"{name}-rerun"[:63].rstrip("-"),
            "mode": "ENSEMBLING",
            "problem_type": data.problem_type,
            "objective": data.objective.name,
            "algorithms": [learner_algorithm[learner]],
            "max_candidates": 1,
            "generate_candidate_definitions_only": False,
        }
        definition.pop("total_job_runtime_in_seconds", None)
        text = dump_spec(parse_spec({**definition, "kind": "AutoMLJob"}))
        uri = ctx.store.write_text(join(prefix, f"{name}.yaml"), text)
        out.append({"CandidateName": name, "learner": learner, "uri": uri})
    return out


def _output(spec, ctx) -> str:
    if spec.output_path:
        return join(ctx.store.key(spec.output_path), ctx.name)
    return layout.job_output(ctx.name)


# -- trials -------------------------------------------------------------------------------------
def _stack(spec, ctx, data: Prepared, learners: list[str], started: float,
           reason: str | None) -> str | None:  # fmt: skip
    """The stacking layers above the first (``stack_levels``), each while the layer below
    has two candidates or more and the budget leaves ``STACK_SHARE`` of the time that layer
    took (its cheap learners come first; one the budget cuts is ``Stopped``): the
    learners bagged again on the features plus the layer below's out-of-fold predictions
    (``zoo.stack_features``). The reason the search ended early, as ``_run_trials``."""
    ran = len(learners)
    for layer in range(2, spec.stack_levels + 2):
        room = spec.max_candidates - ran if spec.max_candidates else len(learners)
        if room < 1:  # max_candidates counts every layer's candidates
            return reason
        below = sorted((r for r in cands.read_rows(ctx.store, ctx.name)
                        if r["CandidateStatus"] == "Completed"
                        and r.get("layer", 1) == layer - 1), key=lambda r: r["member"])  # fmt: skip
        took = time.time() - data.layer_started
        left = _trial_budget(spec, started, ran + min(room, len(learners)))
        if reason or len(below) < 2 or (left is not None and left < STACK_SHARE * took):
            if len(below) >= 2 and not reason:
                print(f"automl {ctx.name}: no stacking layer {layer}: {left:.0f} s left, "
                      f"the layer below took {took:.0f} s", flush=True)  # fmt: skip
            return reason
        print(f"automl {ctx.name}: stacking layer {layer} on "
              f"{', '.join(r['member'] for r in below)}", flush=True)  # fmt: skip
        reason = _run_trials(spec, ctx, data, learners[:room], started, layer=layer,
                             below=below)  # fmt: skip
        ran += min(room, len(learners))
    return reason


def _stacked(ctx, data: Prepared, below: list[dict]):
    """A stacking layer's matrices: the features plus the layer below's out-of-fold (train)
    and holdout predictions."""
    from raymaker.automl.zoo import stack_features

    oof, holdout = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, r in enumerate(below):
            prefix = cands.candidate_prefix(ctx.name, r["CandidateName"])
            for file, into in (("oof.npy", oof), ("holdout.npy", holdout)):
                local = os.path.join(tmp, f"{i}-{file}")
                ctx.store.get(join(prefix, file), local)
                into.append(np.load(local))
    X = stack_features(data.X, oof, data.problem_type)
    X_holdout = (stack_features(data.X_holdout, holdout, data.problem_type)
                 if data.holdout_rows else np.empty((0, X.shape[1])))  # fmt: skip
    return X, X_holdout


def _run_trials(spec, ctx, data: Prepared, learners: list[str], started: float, *,
                layer: int = 1, below: list[dict] | None = None) -> str | None:  # fmt: skip
    """Run the candidates (of a stacking ``layer`` above the first: on the features plus
    the ``below`` candidates' predictions); the reason the search ended early (None: all
    ran)."""
    from ray import tune

    from raymaker.cluster import connect

    connect(ctx.settings)
    os.environ.update(TUNE_ENV)
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    data.layer_started = time.time()
    preset = ctx.settings.resources_for(spec.instance_type)
    X, X_holdout = (data.X, data.X_holdout) if layer == 1 else _stacked(ctx, data, below)
    shared = cands.CandidateData(
        job=ctx.name, X=X, y=data.y, X_holdout=X_holdout, y_holdout=data.y_holdout,
        w=data.w, w_holdout=data.w_holdout,
        problem_type=data.problem_type, objective=data.objective.name, folds=spec.folds,
        seed=spec.random_seed, threads=max(1, int(preset["cpus"])), settings=ctx.settings,
        layer=layer, inputs=tuple(r["member"] for r in below or ()),
    )  # fmt: skip
    trials = _trials(spec, data.mode, learners)
    scheduler = None
    if data.mode == "ENSEMBLING":
        fn, param_space, search = cands.run_candidate, {"learner": tune.grid_search(learners)}, None
    else:
        fn, param_space, search = hpo.run_tuned_candidate, {}, _search(spec, data, learners)
        scheduler = hpo.scheduler(data.rows, data.objective.maximize)
    trainable = tune.with_resources(
        tune.with_parameters(fn, data=shared),
        {"cpu": preset["cpus"], "gpu": preset.get("gpus", 0)},
    )
    budget = _trial_budget(spec, started, _published(spec, ctx, layer, trials))
    stopper = _stopper(ctx, spec.max_runtime_per_training_job_in_seconds)
    store = ctx.store
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            search_alg=search,
            scheduler=scheduler,
            num_samples=1 if search is None else trials,
            max_concurrent_trials=spec.max_parallel_candidates,
            time_budget_s=budget,
            reuse_actors=False,
        ),
        run_config=tune.RunConfig(
            name="tune" if layer == 1 else f"tune-l{layer}",
            storage_path=store.arrow_path(layout.job_dir(ctx.name)),
            storage_filesystem=store.arrow_filesystem(),
            stop=stopper,
            failure_config=tune.FailureConfig(max_failures=0),
            verbose=0,
        ),
    )
    tune_started = time.time()
    print(f"automl {ctx.name}: {data.mode}, {trials} candidates from {', '.join(learners)}"
          + (f", {budget:.0f} s for them" if budget else ""), flush=True)  # fmt: skip
    try:
        grid = tuner.fit()
    except BaseException as exc:  # noqa: BLE001 - a stop mid-search keeps what finished
        if not _stopped(exc):
            raise
        return "Stopped"
    print(f"automl {ctx.name}: candidates ran {time.time() - tune_started:.1f} s", flush=True)
    _record_failures(ctx, grid, data.mode, data.rows, layer)
    if stopper.stop_requested:
        return "Stopped"
    if budget is not None and time.time() - tune_started >= budget - 0.5:
        return "MaxAutoMLJobRuntimeReached"
    return None


def _search(spec, data: Prepared, learners: list[str]):
    """Optuna's TPE over the zoo and each learner's hyperparameters, seeded."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    parallel = (spec.max_parallel_candidates or 2) > 1
    sampler = optuna.samplers.TPESampler(seed=spec.random_seed, constant_liar=parallel,
                                         n_startup_trials=max(len(learners), 4))  # fmt: skip
    return OptunaSearch(space=hpo.Space(learners), metric="objective",
                        mode="max" if data.objective.maximize else "min",
                        sampler=sampler)  # fmt: skip


def _published(spec, ctx, layer: int, trials: int) -> int:
    """Models the job will publish once this layer's trials end: the layers' below (those
    that finished) and this one's."""
    if layer == 1:
        return trials
    finished = cands.read_rows(ctx.store, ctx.name)
    return trials + sum(r["CandidateStatus"] == "Completed" for r in finished)


def _trial_budget(spec, started: float, candidates: int) -> float | None:
    """Seconds the trials may run: what is left of the job's budget less the ensemble's build
    (publishing and timing each of ``candidates`` models and the ensemble, the reports) and
    Tune's own wind-down; the reserve is half the budget at most, so a small budget still
    trains."""
    total = spec.total_job_runtime_in_seconds
    if not total:
        return None
    per, least, margin = RESERVE
    reserve = min(least + per * (candidates + 1) + margin + REPORTS, RESERVE_SHARE * total)
    return max(1.0, total - reserve - (time.time() - started))


def _stopper(ctx, per_trial: int | None):
    """Tune's stopper: a candidate past its own limit, or every trial once a stop is asked."""
    from ray.tune import Stopper

    class AutoMLStopper(Stopper):
        def __init__(self):
            self.store, self.key = ctx.store, stop_request_key(ctx.name)
            self.stop_requested = False
            self._checked = 0.0

        def __call__(self, trial_id, result) -> bool:
            return bool(per_trial and result.get("time_total_s", 0) > per_trial)

        def stop_all(self) -> bool:
            now = time.monotonic()
            if not self.stop_requested and now - self._checked > 1.0:
                self._checked = now
                self.stop_requested = self.store.exists(self.key)
            return self.stop_requested

    return AutoMLStopper()


def _stopped(exc: BaseException) -> bool:
    seen = exc
    while seen is not None:
        if isinstance(seen, (JobStopped, KeyboardInterrupt)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _record_failures(ctx, grid, mode: str, rows: int, layer: int = 1) -> None:
    """A leaderboard row for each trial that failed (its error) or was stopped unfinished
    (ASHA's early stop, or a time limit)."""
    done = {r["CandidateName"] for r in cands.read_rows(ctx.store, ctx.name)}
    for result in grid:
        learner = (result.config or {}).get("learner")
        if learner is None:
            continue
        if mode == "HYPERPARAMETER_TUNING":  # a search's trial: named by its trial id
            trial_id = str((result.metrics or {}).get("trial_id") or "")
            if not trial_id:
                continue
            learner = f"{trial_id}-{learner}"
        name = cands.candidate_name(ctx.name, cands.member_key(learner, layer))
        if name in done:
            continue
        reached = (result.metrics or {}).get("rows")
        why = "stopped before it finished (a time limit)"
        if result.error:
            why = _short(result.error)
        elif reached and reached < rows:  # (a time limit can end a trial at a rung too)
            why = (f"stopped early: its objective on {reached} of {rows} rows trailed "
                   f"the other trials' (ASHA), or a time limit ended it")  # fmt: skip
        row = {"CandidateName": name, "learner": learner, "layer": layer,
               "member": cands.member_key(learner, layer),
               "CandidateStatus": "Failed" if result.error else "Stopped",
               "FailureReason": why}  # fmt: skip
        ctx.store.write_json(join(cands.candidate_prefix(ctx.name, name), cands.ROW), row)


def _short(error) -> str:
    text = str(error).strip().splitlines()
    return text[-1][:500] if text else type(error).__name__


def _deadline(spec, data: Prepared) -> float | None:
    """``time.monotonic()`` by which the explanation stops adding members."""
    if not spec.total_job_runtime_in_seconds:
        return None
    left = data.started + spec.total_job_runtime_in_seconds - time.time()
    return time.monotonic() + max(0.0, left - 4.0)


def _result(spec, ctx, data: Prepared, mode: str, rows, best, status: str, *, definitions):
    return {
        "problem_type": data.problem_type,
        "problem_type_inferred": data.inferred,
        "objective": data.objective.name,
        "objective_type": "Maximize" if data.objective.maximize else "Minimize",
        "mode": mode,
        "secondary_status": status,
        "rows": data.rows,
        "holdout_rows": data.holdout_rows,
        "metrics_from": "holdout" if data.holdout_rows else "out-of-fold",
        "features": data.plan,
        "candidates": rows,
        "best_candidate": best,
        "candidate_definitions": definitions,
        "reports": data.reports,
        "output": ctx.store.uri(_output(spec, ctx)),
    }
