"""Autopilot's HYPERPARAMETER_TUNING mode: Optuna's TPE over the zoo and each learner's own
hyperparameters (a conditional, define-by-run space), on Ray Tune.

Each trial fits one learner with the sampled hyperparameters on the training rows and is
scored on the validation rows (the ``validation`` channel, ``validation_fraction`` of train,
or a fifth of it). The best trial is the best candidate; there is no ensemble in this mode,
as in SageMaker's. (Multi-fidelity stopping of trailing trials on large data is not built.)
"""

from __future__ import annotations

DEFAULT_TRIALS = 20
HOLDOUT = 0.2  # the validation share when the job names none


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
    """The Tune trainable of this mode: fit the sampled learner once, score it on the
    validation rows, report the objective (the search learns from it), keep its files."""
    import time

    import numpy as np
    from ray import tune

    from raymaker.automl.candidates import candidate_name, save
    from raymaker.automl.ensemble import Bagged
    from raymaker.automl.objectives import all_metrics, objective_for
    from raymaker.automl.zoo import learner

    name, params = learner_params(config)
    trial = tune.get_context().get_trial_id()
    started = time.time()
    fit = learner(name, problem_type=data.problem_type, seed=data.seed, threads=data.threads,
                  params=params)  # fmt: skip
    model = fit(data.X, data.y) if data.w is None else fit(data.X, data.y, data.w)
    fit_seconds = time.time() - started
    holdout = np.asarray(model.predict(data.X_holdout), dtype=np.float64)
    objective = objective_for(data.problem_type, data.objective)
    value = objective.score(data.y_holdout, holdout, data.w_holdout)
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
    tune.report({"objective": value})
