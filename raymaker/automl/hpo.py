"""Autopilot's HYPERPARAMETER_TUNING mode: Optuna's TPE over the zoo and each learner's own
hyperparameters (a conditional, define-by-run space), on Ray Tune.

Each trial fits one learner with the sampled hyperparameters on the training rows and is
scored on the validation rows (the ``validation`` channel, ``validation_fraction`` of train,
or a fifth of it). The best trial is the best candidate; there is no ensemble in this mode,
as in SageMaker's.

On large data (``MULTI_FIDELITY_ROWS`` training rows or more) a trial is multi-fidelity: it
fits on a ninth of the rows, then a third, then all of them, reporting its validation score at
each rung, and Ray Tune's ASHA scheduler stops the trials trailing at a rung (reduction factor
3), so the budget goes to the promising configurations (as FLAML's cost-frugal search starts
on samples). The rows of a rung are the same for every trial (one seeded order).
"""

from __future__ import annotations

DEFAULT_TRIALS = 20
HOLDOUT = 0.2  # the validation share when the job names none
MULTI_FIDELITY_ROWS = 4000  # below it a whole fit costs little; a ninth has 444 rows or more
REDUCTION = 3  # ASHA's reduction factor, and the ratio of one rung's rows to the next


def rungs(rows: int) -> list[int]:
    """The training rows of each rung: all of them, or (large data) a ninth, a third, all."""
    if rows < MULTI_FIDELITY_ROWS:
        return [rows]
    return [rows // REDUCTION**2, rows // REDUCTION, rows]


def scheduler(rows: int, maximize: bool):
    """ASHA over the rungs (None when the data is small: one fit a trial)."""
    if len(rungs(rows)) == 1:
        return None
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(time_attr="training_iteration", metric="objective",
                         mode="max" if maximize else "min", max_t=len(rungs(rows)),
                         grace_period=1, reduction_factor=REDUCTION)  # fmt: skip


class Space:
    """Optuna's define-by-run space: the learner, then its hyperparameters (a class, so Tune
    can save the search with the experiment)."""

    def __init__(self, learners: list[str]):
        self.learners = list(learners)

    def __call__(self, trial) -> None:
        learner = trial.suggest_categorical("learner", self.learners)
        if learner == "lightgbm":
            trial.suggest_int("lightgbm.num_leaves", 8, 256, log=True)
            trial.suggest_float("lightgbm.learning_rate", 0.01, 0.3, log=True)
            trial.suggest_int("lightgbm.n_estimators", 50, 1000, log=True)
            trial.suggest_int("lightgbm.min_child_samples", 5, 100, log=True)
            trial.suggest_float("lightgbm.colsample_bytree", 0.5, 1.0)
            trial.suggest_float("lightgbm.reg_lambda", 1e-3, 10.0, log=True)
        elif learner == "xgboost":
            trial.suggest_int("xgboost.max_depth", 2, 10)
            trial.suggest_float("xgboost.learning_rate", 0.01, 0.3, log=True)
            trial.suggest_int("xgboost.n_estimators", 50, 1000, log=True)
            trial.suggest_float("xgboost.min_child_weight", 0.01, 10.0, log=True)
            trial.suggest_float("xgboost.colsample_bytree", 0.5, 1.0)
            trial.suggest_float("xgboost.reg_lambda", 1e-3, 10.0, log=True)
        elif learner in ("random_forest", "extra_trees"):
            trial.suggest_int(f"{learner}.n_estimators", 50, 500, log=True)
            trial.suggest_float(f"{learner}.max_features", 0.2, 1.0)
            trial.suggest_int(f"{learner}.min_samples_leaf", 1, 20, log=True)
        elif learner == "linear":
            trial.suggest_float("linear.strength", 1e-4, 1e2, log=True)
        elif learner == "mlp":
            trial.suggest_int("mlp.width", 32, 256, log=True)
            trial.suggest_float("mlp.lr", 1e-4, 1e-2, log=True)


def learner_params(config: dict) -> tuple[str, dict]:
    """``(learner, {hyperparameter: value})`` of a sampled configuration."""
    learner = config["learner"]
    prefix = f"{learner}."
    return learner, {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}


def run_tuned_candidate(config: dict, data) -> None:
    """The Tune trainable of this mode: fit the sampled learner on each rung's rows, score it
    on the validation rows and report the objective (the search learns from it; ASHA may stop
    the trial there); the fit on all rows is the candidate, its files kept."""
    import time

    import numpy as np
    from ray import tune

    from raymaker.automl.candidates import candidate_name, save
    from raymaker.automl.ensemble import Bagged
    from raymaker.automl.objectives import REGRESSION, all_metrics, objective_for
    from raymaker.automl.zoo import learner

    name, params = learner_params(config)
    trial = tune.get_context().get_trial_id()
    started = time.time()
    fit = learner(name, problem_type=data.problem_type, seed=data.seed, threads=data.threads,
                  params=params)  # fmt: skip
    objective = objective_for(data.problem_type, data.objective)
    n = len(data.y)
    order = np.random.default_rng(data.seed).permutation(n)
    classes = None if data.problem_type == REGRESSION else len(np.unique(data.y))
    for rows in rungs(n):
        index = np.sort(order[:rows]) if rows < n else slice(None)
        y = data.y[index]
        if classes is not None and len(np.unique(y)) < classes:
            continue  # a rare class missing from this rung's rows: go on to the next
        w = None if data.w is None else data.w[index]
        model = fit(data.X[index], y) if w is None else fit(data.X[index], y, w)
        holdout = np.asarray(model.predict(data.X_holdout), dtype=np.float64)
        value = objective.score(data.y_holdout, holdout, data.w_holdout)
        if rows < n:
            tune.report({"objective": value, "rows": rows})
    fit_seconds = time.time() - started
    row = {
        "CandidateName": candidate_name(data.job, f"{trial}-{name}"),
        "learner": name,
        "hyperparameters": params,
        "CandidateStatus": "Completed",
        "objective": objective.name,
        "metrics": all_metrics(data.problem_type, data.y_holdout, holdout, data.w_holdout),
        "fit_seconds": round(fit_seconds, 3),
        "started_at": started,
        "ended_at": time.time(),
    }
    save(data, row, Bagged([model], np.empty(0)), holdout)
    tune.report({"objective": value, "rows": n})
