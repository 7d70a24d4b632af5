"""Reading experiments and runs back: what ``raymaker experiments`` and SageMaker's
``ExperimentAnalytics`` / ``list_runs`` show. Plain dicts, times as UNIX seconds."""

from __future__ import annotations

import statistics

from raymaker.errors import NotFound
from raymaker.tracking.client import DEFAULT_EXPERIMENT, client_for, quote


def experiments(uri: str) -> list[dict]:
    client = client_for(uri)
    out = []
    for exp in client.search_experiments(max_results=1000):
        out.append({
            "experiment": exp.name,
            "experiment_id": exp.experiment_id,
            "artifact_location": exp.artifact_location,
            "created_at": (exp.creation_time or 0) / 1000 or None,
            "stage": exp.lifecycle_stage,
        })  # fmt: skip
    return out


def experiment_of(client, name: str | None):
    exp = client.get_experiment_by_name(name or DEFAULT_EXPERIMENT)
    if exp is None:
        known = [e.name for e in client.search_experiments(max_results=1000)]
        raise NotFound(
            f"no MLflow experiment named {name!r}; experiments: {', '.join(known) or 'none'}"
        )
    return exp


def search(uri: str, experiment: str | None, *, max_results: int = 1000, order_by=None,
           filter_string: str = "") -> list:  # fmt: skip
    """The MLflow ``Run`` objects of an experiment, newest first. Raises NotFound."""
    client = client_for(uri)
    exp = experiment_of(client, experiment)
    return client.search_runs(
        [exp.experiment_id], filter_string=filter_string, max_results=max_results,
        order_by=order_by or ["attributes.start_time DESC"],
    )  # fmt: skip


def summary(run) -> dict:
    info, data = run.info, run.data
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "status": info.status,
        "job": data.tags.get("raymaker.job"),
        "kind": data.tags.get("raymaker.kind"),
        "parent_run_id": data.tags.get("mlflow.parentRunId"),
        "started_at": (info.start_time or 0) / 1000 or None,
        "ended_at": (info.end_time or 0) / 1000 or None,
        "params": dict(data.params),
        "metrics": dict(data.metrics),
    }


def runs(uri: str, experiment: str | None, *, max_results: int = 1000) -> list[dict]:
    return [summary(r) for r in search(uri, experiment, max_results=max_results)]


def find(uri: str, ref: str, experiment: str | None = None):
    """A run by id, by raymaker job name or by run name. Raises NotFound."""
    client = client_for(uri)
    try:
        return client.get_run(ref)
    except Exception:  # noqa: BLE001 - not a run id: a job or run name
        pass
    exps = (
        [experiment_of(client, experiment)]
        if experiment
        else client.search_experiments(max_results=1000)
    )
    ids = [e.experiment_id for e in exps]
    quoted = quote(ref)
    for query in (f"tags.`raymaker.job` = '{quoted}'", f"attributes.run_name = '{quoted}'"):
        found = client.search_runs(ids, filter_string=query, max_results=1,
                                   order_by=["attributes.start_time DESC"])  # fmt: skip
        if found:
            return found[0]
    raise NotFound(f"no MLflow run with id, job name or run name {ref!r}")


def compare(uri: str, refs: list[str], experiment: str | None = None) -> list[dict]:
    """One row per parameter and metric, a column per run (its name): side by side."""
    found = [find(uri, ref, experiment) for ref in refs]
    names = [r.info.run_name or r.info.run_id for r in found]
    rows = []
    for section, attr in (("param", "params"), ("metric", "metrics")):
        keys = sorted({k for r in found for k in getattr(r.data, attr)})
        for key in keys:
            row = {"": f"{section}: {key}"}
            for name, run in zip(names, found, strict=True):
                row[name] = getattr(run.data, attr).get(key)
            rows.append(row)
    return rows


def analytics(
    uri: str, experiment: str | None, *, metric_names=None, parameter_names=None,
    sort_by: str | None = None, sort_order: str = "Descending",
) -> list[dict]:  # fmt: skip
    """SageMaker's ``ExperimentAnalytics`` rows: one a run, its parameters and per metric
    ``<name> - Min/Max/Avg/StdDev/Last/Count`` over the metric's whole history."""
    client = client_for(uri)
    exp = experiment_of(client, experiment)
    rows = []
    for run in search(uri, experiment):
        info, data = run.info, run.data
        row = {
            "TrialComponentName": info.run_id,
            "DisplayName": info.run_name,
            "SourceArn": data.tags.get("raymaker.job_uri"),
            "Status": info.status,
            "StartTime": (info.start_time or 0) / 1000 or None,
            "EndTime": (info.end_time or 0) / 1000 or None,
        }
        for key, value in sorted(data.params.items()):
            if parameter_names is None or key in parameter_names:
                row[key] = _number(value)
        for key in sorted(data.metrics):
            if metric_names is not None and key not in metric_names:
                continue
            values = [m.value for m in client.get_metric_history(info.run_id, key)]
            if not values:
                continue
            row[f"{key} - Min"] = min(values)
            row[f"{key} - Max"] = max(values)
            row[f"{key} - Avg"] = sum(values) / len(values)
            row[f"{key} - StdDev"] = statistics.stdev(values) if len(values) > 1 else 0.0
            row[f"{key} - Last"] = data.metrics[key]
            row[f"{key} - Count"] = len(values)
        row["Trials"] = [data.tags["raymaker.trial"]] if "raymaker.trial" in data.tags else []
        row["Experiments"] = [exp.name]
        rows.append(row)
    if sort_by:
        present = [r for r in rows if r.get(sort_by) is not None]
        absent = [r for r in rows if r.get(sort_by) is None]
        present.sort(key=lambda r: r[sort_by], reverse=sort_order.lower().startswith("desc"))
        rows = present + absent
    return rows


def _number(text: str):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value
