"""A tuning job's trials in the store: numbering, the objective of each, the leaderboard.

Each trial is an ordinary training job named ``<tuning>-<NNN>`` whose record names the tuning
job as its ``parent``. ``jobs/<tuning>/trials/<tune trial id>.json`` maps Ray Tune's trial
to that name; the numbers are claimed atomically, so parallel trials never share one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from raymaker.errors import Conflict, NotFound
from raymaker.storage import join, layout

NAME_ROOM = 59  # a trial's name adds "-NNN" to the tuning job's (names are at most 63 long)


def trials_prefix(tuning: str) -> str:
    return join(layout.job_dir(tuning), "trials")


def leaderboard_key(tuning: str) -> str:
    return join(layout.job_dir(tuning), "trials.json")


def trial_name(tuning: str, number: int) -> str:
    return f"{tuning}-{number:03d}"


def claim_number(store, tuning: str, trial_id: str) -> tuple[int, str]:
    """The trial's number and training job name; the same ones again after a restart."""
    key = join(trials_prefix(tuning), f"{trial_id}.json")
    try:
        entry = store.read_json(key)
        return int(entry["number"]), entry["training_job"]
    except NotFound:
        pass
    numbers = join(layout.job_dir(tuning), "_trial-numbers")
    number = len(store.list(numbers)) + 1
    while True:
        try:
            store.create_json(join(numbers, f"{number:05d}.json"), {"trial_id": trial_id})
            break
        except Conflict:
            number += 1
    name = trial_name(tuning, number)
    store.write_json(key, {"number": number, "training_job": name, "trial_id": trial_id})
    return number, name


def metric_aliases(metric_name: str) -> tuple[str, ...]:
    """The names a metric may be recorded under: SageMaker's ``validation:auc`` is the
    built-ins' ``validation-auc``."""
    names = [metric_name]
    for alt in (metric_name.replace(":", "-"), metric_name.replace("-", ":")):
        if alt not in names:
            names.append(alt)
    return tuple(names)


def objective_of(metrics: dict[str, float] | None, metric_name: str) -> float | None:
    """The objective's final value among a job's metrics, or None when it was not reported."""
    for name in metric_aliases(metric_name):
        value = (metrics or {}).get(name)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            return float(value)
    return None


@dataclass
class TrialRow:
    """One line of the leaderboard."""

    number: int
    training_job: str
    status: str
    objective: float | None
    hyperparameters: dict[str, Any]
    started_at: float | None = None
    ended_at: float | None = None
    seconds: float | None = None
    steps: int | None = None
    failure_reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def list_trials(store, tuning: str, metric_name: str, tuned: list[str]) -> list[TrialRow]:
    """Every trial of ``tuning`` with its status and objective, by number."""
    from raymaker.jobs.records import read_record

    rows = []
    for key in store.list(trials_prefix(tuning)):
        if not key.endswith(".json"):
            continue
        entry = store.read_json(key)
        try:
            record = read_record(store, entry["training_job"])
        except NotFound:  # claimed, but the driver died before its job started
            continue
        metrics = dict(record.result.get("metrics") or {})
        hps = record.spec.get("hyperparameters") or {}
        rows.append(
            TrialRow(
                number=int(entry["number"]),
                training_job=record.name,
                status=record.status.value,
                objective=objective_of(metrics, metric_name),
                hyperparameters={k: hps.get(k) for k in tuned},
                started_at=record.started_at,
                ended_at=record.ended_at,
                seconds=None if record.duration_s is None else round(record.duration_s, 3),
                steps=record.result.get("steps"),
                failure_reason=record.failure_reason,
                metrics=metrics,
            )
        )
    return sorted(rows, key=lambda r: r.number)


def best_of(rows: list[TrialRow], objective_type: str) -> TrialRow | None:
    """The best finished trial (an early-stopped one never counts as best)."""
    done = [r for r in rows if r.status == "SUCCEEDED" and r.objective is not None]
    if not done:
        return None
    pick = max if objective_type == "Maximize" else min
    return pick(done, key=lambda r: (r.objective, -r.number))


def ranked(rows: list[TrialRow], objective_type: str) -> list[TrialRow]:
    """Trials with an objective, best first; then the rest by number."""
    sign = -1 if objective_type == "Maximize" else 1
    scored = [r for r in rows if r.objective is not None]
    scored.sort(key=lambda r: (r.status != "SUCCEEDED", sign * r.objective, r.number))
    rest = [r for r in rows if r.objective is None]
    return scored + rest


def publish(store, tuning: str, rows, spec: dict) -> None:
    """Write ``trials.json`` (the leaderboard) and ``tuning.html`` (objective by trial)."""
    from raymaker.data.charts import write_asset
    from raymaker.train.plots import render_tuning_html

    objective = spec["objective"]
    ordered = ranked(rows, objective["type"])
    store.write_json(
        leaderboard_key(tuning),
        {"objective": objective, "trials": [r.to_dict() for r in ordered]},
    )
    write_asset(store, layout.job_dir(tuning))  # beside the page: jobs/<tuning>/assets/
    store.write_text(
        plot_key(tuning),
        render_tuning_html(
            rows, metric=objective["metric_name"], objective_type=objective["type"],
            title=f"Tuning job {tuning}", asset="assets/plotly.min.js",
        ),
    )  # fmt: skip


def plot_key(tuning: str) -> str:
    return join(layout.job_dir(tuning), "tuning.html")
