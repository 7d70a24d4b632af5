"""One Autopilot candidate, run as a Ray Tune trial: a zoo learner bagged over k folds.

The trial reads the prepared matrices from Ray's object store (``tune.with_parameters``), so
the data is read and the recipe fitted once, on the driver. It reports after every fold, where
Tune's stopper can end it (the per-candidate and the whole-job time limits), and leaves in
the store, under ``jobs/<job>/candidates/<candidate>/``: the bagged fold models
(``bagged.joblib``), the out-of-fold and holdout predictions (``oof.npy``, ``holdout.npy``)
and its leaderboard row (``candidate.json``), written last, so a row means a whole candidate.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

from raymaker.storage import join, layout

ROW = "candidate.json"


@dataclass
class CandidateData:
    """What every trial shares: the matrices and how to fit."""

    job: str
    X: object  # the training rows after the recipe (float64)
    y: object  # encoded 0..k-1 for classification
    X_holdout: object
    y_holdout: object
    w: object  # row weights (sample_weight_attribute_name) or None
    w_holdout: object
    problem_type: str
    objective: str
    folds: int
    seed: int
    threads: int
    settings: object
    layer: int = 1  # a stacking layer above the first learns from ``inputs``' predictions
    inputs: tuple = ()  # the members of the layer below, whose predictions X ends with


def member_key(learner: str, layer: int = 1) -> str:
    """A candidate's name within its job and its model: the learner, and a layer above the
    first (``lightgbm-l2``)."""
    return learner if layer == 1 else f"{learner}-l{layer}"


def candidate_prefix(job: str, candidate: str) -> str:
    return join(layout.job_dir(job), "candidates", candidate)


def candidate_name(job: str, learner: str) -> str:
    return f"{job}-{learner.replace('_', '-')}"


def run_candidate(config: dict, data: CandidateData) -> None:
    """The Tune trainable: bag ``config["learner"]`` and leave its files in the store."""
    import numpy as np
    from ray import tune

    from raymaker.automl.ensemble import bag, decision_threshold
    from raymaker.automl.objectives import all_metrics, objective_for
    from raymaker.automl.zoo import learner

    name = config["learner"]
    key = member_key(name, data.layer)
    started = time.time()
    fit = learner(name, problem_type=data.problem_type, seed=data.seed, threads=data.threads)
    bagged = bag(
        fit, data.X, data.y, problem_type=data.problem_type, folds=data.folds, seed=data.seed,
        on_fold=lambda i: tune.report({"fold": i, "folds": data.folds}), sample_weight=data.w,
    )  # fmt: skip
    fit_seconds = time.time() - started
    holdout = (
        np.asarray(bagged.predict(data.X_holdout), dtype=np.float64)
        if len(data.X_holdout)
        else np.empty(0)
    )
    objective = objective_for(data.problem_type, data.objective)
    threshold = decision_threshold(bagged.oof, data.y, objective, data.w)
    row = {
        "CandidateName": candidate_name(data.job, key),
        "learner": name,
        "member": key,
        "layer": data.layer,
        "inputs": list(data.inputs),
        "CandidateStatus": "Completed",
        "objective": objective.name,
        "oof_objective": objective.score(data.y, bagged.oof, data.w, threshold),
        "threshold": threshold,
        "metrics": all_metrics(
            data.problem_type, data.y_holdout, holdout, data.w_holdout, threshold
        )
        if len(holdout)
        else all_metrics(data.problem_type, data.y, bagged.oof, data.w, threshold),
        "fit_seconds": round(fit_seconds, 3),
        "started_at": started,
        "ended_at": time.time(),
    }
    save(data, row, bagged, holdout)
    tune.report({"fold": data.folds, "folds": data.folds, "done": 1})


def save(data: CandidateData, row: dict, bagged, holdout) -> None:
    """Leave a finished candidate's files in the store, its leaderboard row last."""
    import joblib
    import numpy as np

    from raymaker.storage import store_for_settings

    store = store_for_settings(data.settings)
    prefix = candidate_prefix(data.job, row["CandidateName"])
    with tempfile.TemporaryDirectory() as tmp:
        joblib.dump(bagged, os.path.join(tmp, "bagged.joblib"), compress=3)
        np.save(os.path.join(tmp, "oof.npy"), bagged.oof)
        np.save(os.path.join(tmp, "holdout.npy"), holdout)
        for file in ("bagged.joblib", "oof.npy", "holdout.npy"):
            store.put_file(os.path.join(tmp, file), join(prefix, file))
    store.write_json(join(prefix, ROW), row)


def read_rows(store, job: str) -> list[dict]:
    """The leaderboard rows the job's trials have written so far."""
    from raymaker.errors import NotFound

    rows = []
    base = join(layout.job_dir(job), "candidates")
    for key in store.list(base, recursive=True):
        if key.endswith("/" + ROW):
            try:
                rows.append(store.read_json(key))
            except (NotFound, ValueError):
                continue  # being written
    return rows
