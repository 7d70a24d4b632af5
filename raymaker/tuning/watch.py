"""The tuning job's eye on its experiment: a Ray Tune callback and stopper in the driver."""

from __future__ import annotations

import time

from ray.tune import Callback, Stopper

from raymaker.storage import join
from raymaker.tuning import trials as trial_rows

PUBLISH_EVERY_S = 5.0  # the leaderboard file is rewritten at most this often while running


class Watch(Callback, Stopper):
    """A Tune callback and stopper: prints each finished trial, keeps the leaderboard file,
    ends the experiment on the completion criteria or when the objective is never reported.

    Picklable (Tune saves it with the experiment); its counts come from the trials' records
    at ``setup``, so a restored experiment picks up where the lost one was.
    """

    def __init__(self, tuning: str, spec: dict, settings, total: int):
        self.tuning, self.spec, self.settings, self.total = tuning, spec, settings, total
        self._reset()

    def _reset(self):
        self._store = None
        self.stop_reason: str | None = None
        self.finished = 0
        self.best: float | None = None
        self.best_job: str | None = None
        self.since_best = 0
        self.published = 0.0

    def __getstate__(self):
        return {k: self.__dict__[k] for k in ("tuning", "spec", "settings", "total")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._reset()

    # -- Tune's Callback interface ---------------------------------------------------------
    def setup(self, **info):
        rows = self._rows()
        finished = sorted(
            (r for r in rows if r.status in ("SUCCEEDED", "FAILED", "STOPPED")),
            key=lambda r: r.ended_at or 0,
        )
        for row in finished:
            self._count(row)

    def on_trial_complete(self, iteration, trials, trial, **info):  # noqa: F811
        self._ended(trial, error=False)

    def on_trial_error(self, iteration, trials, trial, **info):  # noqa: F811
        self._ended(trial, error=True)

    # -- Tune's Stopper interface ----------------------------------------------------------
    def __call__(self, trial_id, result) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.stop_reason is not None

    # -- the work --------------------------------------------------------------------------
    @property
    def store(self):
        if self._store is None:
            from raymaker.storage import store_for_settings

            self._store = store_for_settings(self.settings)
        return self._store

    def _rows(self):
        return trial_rows.list_trials(
            self.store, self.tuning, self.spec["objective"]["metric_name"],
            list(self.spec["hyperparameter_ranges"]),
        )  # fmt: skip

    def _ended(self, trial, *, error: bool) -> None:
        from raymaker.errors import NotFound

        try:
            entry = self.store.read_json(
                join(trial_rows.trials_prefix(self.tuning), f"{trial.trial_id}.json")
            )
        except NotFound:
            return  # the trial failed before it claimed a name: Tune keeps its error
        name = entry["training_job"]
        if not error:
            _mark_cut(self.store, name, trial.last_result or {}, self.spec)
        rows = [r for r in self._rows() if r.training_job == name]
        if not rows:
            return
        row = rows[0]
        self._count(row)
        metric = self.spec["objective"]["metric_name"]
        shown = "-" if row.objective is None else f"{row.objective:.6g}"
        best = "-" if self.best is None else f"{self.best:.6g} ({self.best_job})"
        hps = " ".join(f"{k}={_short(v)}" for k, v in row.hyperparameters.items())
        why = row.failure_reason if row.status != "SUCCEEDED" and row.failure_reason else ""
        why = f"  [{why}]" if why else ""
        print(
            f"trial {self.finished}/{self.total} {name} {row.status} {metric}={shown} "
            f"best={best} {row.seconds or 0:.1f}s {hps}{why}",
            flush=True,
        )
        if error and row.status == "SUCCEEDED" and row.objective is None and self.best is None:
            reported = ", ".join(sorted(row.metrics)) or "none"
            self.stop_reason = (
                f"the objective metric {metric!r} was never reported (trial {name} finished "
                f"without it; metrics it reported: {reported})"
            )
        if time.monotonic() - self.published > PUBLISH_EVERY_S:
            trial_rows.publish(self.store, self.tuning, self._rows(), self.spec)
            self.published = time.monotonic()

    def _count(self, row) -> None:
        self.finished += 1
        objective_type = self.spec["objective"]["type"]
        if row.status == "SUCCEEDED" and row.objective is not None:
            better = self.best is None or (
                row.objective > self.best if objective_type == "Maximize"
                else row.objective < self.best
            )  # fmt: skip
            if better:
                self.best, self.best_job, self.since_best = row.objective, row.training_job, 0
            else:
                self.since_best += 1
        elif row.status != "SUCCEEDED" or row.objective is None:
            self.since_best += 1
        criteria = self.spec.get("completion_criteria") or {}
        target = criteria.get("target_objective_metric_value")
        if target is not None and self.best is not None:
            reached = self.best >= target if objective_type == "Maximize" else self.best <= target
            if reached and self.stop_reason is None:
                self.stop_reason = (
                    f"completion criteria: target objective {target} reached by {self.best_job}"
                )
        patience = criteria.get("max_number_of_training_jobs_not_improving")
        if patience and self.since_best >= patience and self.stop_reason is None:
            self.stop_reason = (
                f"completion criteria: {self.since_best} trials in a row without improvement"
            )


def _mark_cut(store, name: str, last_result: dict, spec: dict) -> None:
    """A trial Tune ended before its function returned: its job record says STOPPED."""
    from raymaker.errors import NotFound
    from raymaker.jobs.records import JobStatus, read_record, write_record

    try:
        record = read_record(store, name)
    except NotFound:
        return
    if record.status.terminal or last_result.get("final"):
        return
    step = last_result.get("step")
    record.status, record.ended_at = JobStatus.STOPPED, time.time()
    record.failure_reason = f"stopped early by the tuning job at step {step}"
    if last_result.get("objective") is not None:
        record.result = {
            "metrics": {spec["objective"]["metric_name"]: last_result["objective"]},
            "steps": step,
        }
    write_record(store, record)


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
