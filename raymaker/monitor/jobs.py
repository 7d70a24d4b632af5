"""What the monitoring kinds run in a job's driver (the kind table's ``run`` rows).

- ``BaselineJob``: a dataset's statistics.json and suggested constraints.json.
- ``MonitoringSchedule``: store the schedule and make sure the scheduler runs.
- ``MonitoringExecution``: one window of captured traffic (or a batch transform's input)
  against the baseline: statistics.json, constraint_violations.json and report.html,
  written aside and moved into place together, so a folder that exists is complete.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from raymaker.errors import DataError, NotFound
from raymaker.monitor import capture, constraints, quality, report, schedules
from raymaker.monitor.stats import Statistics
from raymaker.storage import join, layout

META_COLUMNS = capture.META
# what an execution checks, by monitor type: (ctx, schedule, execution) -> (files, violations,
# figures)
CHECKS = {
    "DataQuality": "raymaker.monitor.jobs:_data_quality",
    "ModelQuality": "raymaker.monitor.jobs:_model_quality",
    "ModelBias": "raymaker.monitor.model_checks:model_bias",
    "ModelExplainability": "raymaker.monitor.model_checks:model_explainability",
}


def run_baseline(spec, ctx) -> dict:
    """Suggest a baseline; returns the two files' URIs and the dataset's size."""
    ctx.progress(stage="reading", force=True)
    if spec.monitor_type == "ModelQuality":
        frame = whole(dataset_frames(ctx.store, spec.dataset), spec.dataset.uri)
        statistics = _quality_statistics(spec, frame, frame[_label_column(spec, frame)])
        suggested = quality.suggest(statistics, spec.problem_type)
        items, features = len(frame), 0
    else:
        stats = Statistics()
        for frame in dataset_frames(ctx.store, spec.dataset):
            stats.add(frame)
        if not stats.items:
            raise DataError(f"the baseline dataset {spec.dataset.uri} has no rows")
        statistics = stats.to_json()
        suggested = constraints.suggest(statistics)
        items, features = stats.items, len(stats.columns)
    ctx.progress(stage="publishing", force=True)
    files = {"statistics.json": statistics, "constraints.json": suggested}
    target = ctx.store.key(spec.output_uri) if spec.output_uri else layout.job_output(ctx.name)
    uris = publish(ctx.store, files, staging=layout.job_staging(ctx.name, "baseline"),
                    target=target)  # fmt: skip
    print(f"{spec.monitor_type} baseline: {items:,} rows -> {target}")
    return {
        "statistics": uris["statistics.json"],
        "constraints": uris["constraints.json"],
        "items": items,
        "features": features,
    }


def run_schedule(spec, ctx) -> dict:
    """Apply a schedule: store it, then start the scheduler if it is not running."""
    from raymaker.monitor.scheduler import ensure_scheduler

    state = schedules.apply(ctx.store, spec)
    ensure_scheduler(ctx.settings)
    print(f"monitoring schedule {spec.name}: {state.status} ({spec.schedule_cron_expression})")
    return {"schedule": spec.name, "status": state.status}


def run_execution(spec, ctx) -> dict:
    """Run one execution of a schedule over its window."""
    store = ctx.store
    sched = schedules.read_state(store, spec.schedule).schedule
    ctx.progress(stage="reading", force=True)
    from raymaker.kinds import load

    files, violations, figures = load(CHECKS[sched.monitor_type])(ctx, sched, spec)
    ctx.progress(stage="publishing", force=True)
    files["constraint_violations.json"] = {"violations": violations}  # written last
    root = _output_root(store, sched)
    from raymaker.data.charts import write_asset

    write_asset(store, root)
    uris = publish(store, files, staging=layout.job_staging(ctx.name, "execution"),
                    target=join(root, ctx.name))  # fmt: skip
    state = schedules.read_state(store, spec.schedule)
    state.last_execution = ctx.name
    schedules.write_state(store, state)
    summary = {
        "schedule": spec.schedule,
        "monitor_type": sched.monitor_type,
        "scheduled_time": spec.scheduled_time,
        "window": [spec.start, spec.end],
        **figures,
        "violations": len(violations),
        "violation_checks": sorted({v["constraint_check_type"] for v in violations}),
        "statistics": uris["statistics.json"],
        "constraint_violations": uris["constraint_violations.json"],
        "report": uris["report.html"],
    }
    window = f"{_date(spec.start)} .. {_date(spec.end)}"
    print(f"{figures['items']:,} rows in {window}: {len(violations)} violation(s)")
    for v in violations:
        what = v.get("feature_name") or v.get("metric_name")
        print(f"  {what}: {v['constraint_check_type']}: {v['description']}")
    if violations and sched.webhook:
        _notify(sched.webhook, {**summary, "violation_list": violations})
    return summary


def _data_quality(ctx, sched, spec) -> tuple[dict, list, dict]:
    store = ctx.store
    baseline, rules = _baseline(store, sched)
    features = sched.features or [f["name"] for f in (baseline or rules)["features"]]
    if sched.features:  # the roles given: only these columns (and the answer) are checked
        keep = {*sched.features, *([sched.prediction] if sched.prediction else [])}
        for doc in (baseline, rules):
            if doc is not None:
                doc["features"] = [f for f in doc["features"] if f["name"] in keep]
    from raymaker.monitor.parallel import window_statistics

    stats = window_statistics(ctx, sched, spec.start, spec.end, features)
    if not stats.items:
        raise DataError(f"no data to analyze in the window {_date(spec.start)} to "
                        f"{_date(spec.end)}{_source(sched)}")  # fmt: skip
    ctx.progress(stage="checking", force=True)
    types = {f["name"]: f["inferred_type"] for f in (baseline or rules)["features"]}
    current = stats.to_json(types)
    violations, drift = constraints.check(baseline or {"features": []}, rules, current)
    window = (_date(spec.start), _date(spec.end))
    page = report.drift_page(ctx.name, window, baseline or rules, current, violations, drift)
    figures = {
        "items": stats.items,
        "drifted": sorted(n for n, d in drift.items() if d["drifted"]),
        "drift": {n: d["statistic"] for n, d in drift.items()},
        "drift_methods": {n: d["method"] for n, d in drift.items()},
    }
    return {"statistics.json": current, "report.html": page}, violations, figures


def _model_quality(ctx, sched, spec) -> tuple[dict, list, dict]:
    """Predictions in the window merged with their ground truth (by inferenceId, else
    eventId), or a labelled batch input, scored and checked against the constraints."""
    store = ctx.store
    frames = window_frames(store, sched, spec.start, spec.end, sched.features or [])
    frame = whole(frames, _source(sched).strip(" ()"), allow_empty=True)
    if not len(frame):
        raise DataError(f"no data to analyze in the window {_date(spec.start)} to "
                        f"{_date(spec.end)}{_source(sched)}")  # fmt: skip
    if sched.batch_transform_input is not None:
        merged, labels = frame, frame[_label_column(sched, frame)]
    else:
        merged = merge_ground_truth(store, sched, frame, spec.start)
        labels = merged["label"]
    ctx.progress(stage="checking", force=True)
    current = _quality_statistics(sched, merged, labels)
    rules = (
        read_baseline(store, sched.baseline_constraints)
        if sched.baseline_constraints
        else quality.suggest(read_baseline(store, sched.baseline_statistics), sched.problem_type)
    )
    violations = quality.check(current, rules, sched.problem_type)
    section = quality.SECTIONS[sched.problem_type][0]
    values = {k: v["value"] for k, v in current[section].items() if "value" in v}
    window = (_date(spec.start), _date(spec.end))
    page = report.quality_page(ctx.name, window, sched.problem_type, current, rules, violations)
    figures = {"items": len(merged), "captured": len(frame), "metrics": values}
    return {"statistics.json": current, "report.html": page}, violations, figures


def merge_ground_truth(store, sched, frame, start: float):
    """The captured rows that have ground truth, with it as ``label``."""
    import time

    truth = capture.read_ground_truth(store, store.key(sched.ground_truth_uri), start, time.time())
    ids = frame[capture.EVENT_ID].astype(str)
    if capture.INFERENCE_ID in frame.columns:  # SageMaker's key: inferenceId, else eventId
        given = frame[capture.INFERENCE_ID]
        ids = given.where(given.notna() & (given.astype(str) != ""), ids).astype(str)
    keyed = frame.assign(**{capture.EVENT_ID: ids.to_numpy()})
    merged = keyed.merge(truth, on=capture.EVENT_ID, how="inner")
    if not len(merged):
        raise DataError(f"none of the {len(frame):,} captured records has ground truth under "
                        f"{sched.ground_truth_uri} (matched by inferenceId, else eventId; "
                        f"{len(truth):,} ground truth records read)")  # fmt: skip
    return merged


def _quality_statistics(spec, frame, labels) -> dict:
    predicted, scores = quality.predictions(
        frame, spec.problem_type, spec.inference_attribute, spec.probability_attribute,
        spec.probability_threshold_attribute,
    )  # fmt: skip
    if spec.problem_type == "Regression":
        labels = labels.astype("float64")
    return quality.statistics(spec.problem_type, labels.to_numpy(), predicted, scores)


def _label_column(spec, frame) -> str:
    name = spec.ground_truth_attribute
    if name not in frame.columns:
        raise DataError(f"ground_truth_attribute {name!r} is not a column; columns: "
                        f"{', '.join(map(str, frame.columns))}")  # fmt: skip
    return name


def whole(frames, what: str, allow_empty: bool = False):
    import pandas as pd

    parts = list(frames)
    if not parts and not allow_empty:
        raise DataError(f"{what} has no rows")
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def dataset_frames(store, dataset):
    """pandas frames of a whole dataset (a baseline, a batch transform's input), a file
    block at a time."""
    from raymaker.data.readers import file_batches, resolve

    fmt = {"json": "jsonl"}.get(dataset.format, dataset.format)
    source = resolve(store, dataset.uri, format=fmt, header=dataset.header)
    for path in source.paths:
        for table in file_batches(source, path):
            yield table.to_pandas()


def window_frames(store, sched, start: float, end: float, features: list[str]):
    """The window's rows: the endpoint's captured requests (every variant, or the one
    named) or the batch transform's input."""
    if sched.batch_transform_input is not None:
        yield from dataset_frames(store, sched.batch_transform_input)
        return
    keys, output = capture_plan(store, sched, start, end)
    yield from capture.read_window(store, keys, start, end, features, output=output)


def capture_plan(store, sched, start: float, end: float) -> tuple[list[str], str | None]:
    """The capture files of the window (every variant, or the one named) and the name the
    answer's column gets (None: the answers are not read)."""
    root = store.key(sched.capture_uri) if sched.capture_uri else layout.CAPTURE
    prefix = join(root, sched.endpoint)
    found = [join(prefix, sched.variant)] if sched.variant else capture.variants(store, prefix)
    answers = sched.monitor_type in ("ModelQuality", "ModelBias")
    output = sched.prediction or ("prediction" if answers else None)
    keys = [k for variant in found for k in capture.window_keys(store, variant, start, end)]
    return keys, output


def _baseline(store, sched) -> tuple[dict | None, dict]:
    """The baseline statistics (None if only constraints were given) and constraints (the
    suggested ones if only statistics were), with the schedule's per-feature overrides."""
    baseline = (
        read_baseline(store, sched.baseline_statistics) if sched.baseline_statistics else None
    )
    rules = (
        read_baseline(store, sched.baseline_constraints)
        if sched.baseline_constraints
        else constraints.suggest(baseline)
    )
    by_name = {f["name"]: f for f in rules.get("features", [])}
    for name, over in sched.overrides.items():
        if name not in by_name:
            raise DataError(f"overrides names feature {name!r}, which the baseline lacks; "
                            f"features: {', '.join(by_name)}")  # fmt: skip
        by_name[name]["monitoringConfigOverrides"] = {
            **(by_name[name].get("monitoringConfigOverrides") or {}),
            **over,
        }
    return baseline, rules


def read_baseline(store, uri: str) -> dict:
    try:
        return store.read_json(store.key(uri))
    except NotFound:
        raise NotFound(f"baseline file {uri} does not exist") from None


def _output_root(store, sched) -> str:
    if sched.output_uri:
        return store.key(sched.output_uri)
    return layout.schedule_executions(sched.name)


def publish(store, files: dict, *, staging: str, target: str) -> dict:
    """Write ``files`` under ``staging``, then move them to ``target`` together."""
    for name, body in files.items():
        text = body if isinstance(body, str) else json.dumps(body, indent=1, default=str)
        store.write_text(join(staging, name), text)
    store.delete(target, recursive=True)
    store.move(staging, target)
    return {name: store.uri(join(target, name)) for name in files}


def _notify(url: str, body: dict) -> None:
    """POST the violations to a webhook; a failure is printed, never fails the execution."""
    import urllib.request

    data = json.dumps(body, default=str).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - the user's URL
            print(f"webhook {url}: {resp.status}")
    except Exception as e:  # noqa: BLE001 - the report is written; the hook is best effort
        print(f"webhook {url} failed: {e}")


def _date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _source(sched) -> str:
    if sched.endpoint:
        return f" (endpoint {sched.endpoint}'s capture)"
    return f" ({sched.batch_transform_input.uri})"
