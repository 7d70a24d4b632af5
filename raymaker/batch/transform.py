"""TransformJob: a model over files, in the job's driver or an actor pool, with atomic results.

    plan      the input's files cut into items (plan.py), the model checked before any worker
    transform the items on the driver's lanes, an actor pool of ``instance_count``
              TransformWorkers, or both while the pool starts (pool.py); a killed actor is
              restarted and its item redone (the item's part is rewritten whole)
    assemble  a file's parts concatenated in order into ``<name>.out``; bad records into
              ``_errors.jsonl``
    publish   only when every item succeeded: the staged files are moved under the output
              path, then ``_SUCCESS``; a failed or stopped job deletes its staging and leaves
              the output path as it was

The job record's result holds the counts (rows in, rows out, bad rows) and its progress the
items done, for the CLI's progress bar.
"""

from __future__ import annotations

import json
import time

from raymaker.batch import plan as planning
from raymaker.batch.plan import open_output
from raymaker.errors import JobFailed, SpecError
from raymaker.inference import codecs
from raymaker.inference.builtin import container_serves
from raymaker.inference.reference import resolve
from raymaker.storage import join, layout
from raymaker.storage.artifacts import read_manifest

OUTPUT_TYPES = (codecs.CSV, codecs.JSONLINES, codecs.JSON, codecs.PARQUET)
ERRORS_FILE = "_errors.jsonl"
SUCCESS_FILE = "_SUCCESS"


def run_transform_job(spec, ctx) -> dict:
    """Run ``spec`` (a TransformJob). Raises SpecError, NotFound, DataError, JobFailed."""
    store, settings = ctx.store, ctx.settings
    clock = _Clock()
    resources = settings.resources_for(spec.instance_type)
    ref = resolve(
        store, spec.model_data, entry_point=spec.entry_point, code_uri=spec.source_dir,
        environment=dict(spec.environment), store_env=settings.job_env(),
        framework=spec.framework,
    )  # fmt: skip
    fmt = planning.input_format(spec.input.content_type, spec.input.split_type)
    accept = output_type(spec, fmt)
    manifest = read_manifest(store, ref.uri) if ref.entry_point is None else None
    builtin = manifest is not None and not container_serves(manifest)
    columns = list((manifest or {}).get("input_schema") or {}) if builtin else None
    ctx.progress(stage="planning", force=True)
    fs, files, items = planning.plan(
        store, spec.input.data_uri, fmt, gzip=spec.input.compression_type == "Gzip",
        columns=columns,
    )  # fmt: skip
    if builtin and fmt == "csv":
        planning.check_width(files, columns or [], bool(spec.input_filter))
    clock.mark("plan")
    target = store.key(spec.output.path) if spec.output.path else layout.job_output(ctx.name)
    staging = layout.job_staging(ctx.name)
    store.delete(staging, recursive=True)
    config = {
        "model": ref.to_dict(),
        "files": [f.to_dict() for f in files],
        "format": fmt,
        "content_type": codecs.media_type(spec.input.content_type),
        "accept": accept,
        "assemble_with": spec.output.assemble_with,
        "join_source": spec.join_source,
        "input_filter": spec.input_filter,
        "output_filter": spec.output_filter,
        "on_bad_rows": spec.on_bad_rows,
        "strategy": spec.strategy,
        "max_payload_mb": spec.max_payload_mb,
        "threads": max(1, int(resources.get("cpus", 1))),
        "lanes": spec.max_concurrent_transforms or max(1, int(resources.get("cpus", 1))),
        "staging": store.arrow_path(staging),
    }
    in_driver = runs_in_driver(spec)
    try:
        summaries, counts = _run(spec, ctx, config, items, resources, clock, in_driver=in_driver)
        clock.mark("transform")
        ctx.progress(stage="assembling", force=True)
        outputs = _assemble(store, fs, staging, files, items, summaries, accept)
        errors = _errors(store, fs, staging, summaries)
        clock.mark("assemble")
        ctx.progress(stage="publishing", force=True)
        published = _publish(store, staging, target, bool(errors))
        clock.mark("publish")
    finally:
        store.delete(staging, recursive=True)
    totals = {k: sum(s[k] for s in summaries) for k in ("rows", "out", "bad")}
    seconds = clock.total()
    return {
        "output_path": store.uri(target),
        "outputs": [store.uri(join(target, k)) for k in outputs[:20]],
        "output_files": len(outputs),
        "input_files": len(files),
        "rows_in": totals["rows"],
        "rows_out": totals["out"],
        "bad_rows": totals["bad"],
        "bad_row_samples": [f"{e['file']}:{e['line']}: {e['error']}" for e in errors[:20]],
        "errors_uri": store.uri(join(target, ERRORS_FILE)) if errors else None,
        "accept": accept,
        "items": len(items),
        "seconds": round(seconds, 3),
        "rows_per_s": round(totals["rows"] / seconds, 1) if seconds else None,
        "worker_peak_rss_mb": round(max((s["rss_mb"] for s in summaries), default=0.0), 1),
        "published": published,
        "execution": "driver" if in_driver else "ray",
        **counts,
        "model": {"uri": ref.uri, "sha256": ref.sha256, "registry": ref.registry},
        "timings_s": clock.marks,
    }


class _Clock:
    """Seconds spent in each stage (plan, connect, first item, transform, ...)."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.marks: dict[str, float] = {}

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.marks[stage] = round(now - self.last, 3)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.start


def runs_in_driver(spec) -> bool:
    """A transform's placement (``placement.runs_in_driver``): one instance works in the job's
    driver, its cores (and GPU) reserved there as the entrypoint's resources; more are a Ray
    Data actor pool."""
    from raymaker.placement import runs_in_driver as decide

    return decide(spec.execution, instances=spec.instance_count)


def driver_resources(spec, settings) -> dict:
    """What the job's driver reserves: an instance's resources when it does an instance's
    work (alone, or as instance 1 of a CPU pool)."""
    try:
        resources = settings.resources_for(spec.instance_type)
    except SpecError:
        return {}  # the runner reports the bad preset with the job's record
    if not (runs_in_driver(spec) or driver_is_an_instance(spec, resources)):
        return {}
    return {k: v for k, v in resources.items() if v}


def output_type(spec, fmt: str) -> str:
    """The results' MIME type: ``output.accept``, else Parquet for Parquet, else the input's."""
    if spec.output.accept:
        accept = codecs.media_type(spec.output.accept)
    elif fmt == "parquet":
        accept = codecs.PARQUET
    else:
        accept = codecs.media_type(spec.input.content_type)
    if fmt == "raw":
        if accept == codecs.PARQUET:
            raise SpecError("output.accept: Parquet output needs split_type Line")
        return accept
    if accept not in OUTPUT_TYPES:
        raise SpecError(
            f"output.accept {spec.output.accept!r} is not a record format; allowed: "
            f"{', '.join(OUTPUT_TYPES)}"
        )
    if spec.join_source == "Input" and fmt == "jsonl" and accept == codecs.CSV:
        raise SpecError(
            "join_source Input with JSON input needs a JSON or Parquet accept; CSV cannot "
            "hold a JSON record"
        )
    return accept


def _run(spec, ctx, config, items, resources, clock, *, in_driver: bool) -> tuple[list, dict]:
    """Every item's summary (``pool.run_items``: the driver's lanes, the actor pool or both)
    and how many items each did; raises JobFailed at the first failed item."""
    from raymaker.batch.pool import run_items

    tally = _Tally(ctx, clock, len(items))
    if in_driver:
        counts = run_items(items, config, tally, lanes=config["lanes"])
        return tally.ordered(items), counts

    def start_pool(count: int, per_actor: int):
        from raymaker.batch.pool import Pool
        from raymaker.cluster import connect
        from raymaker.placement import check_fits

        connect(ctx.settings)
        check_fits(resources, spec.instance_type, what="a transform actor")
        return Pool(config, count, resources, per_actor)

    gpu = bool(resources.get("gpus"))
    instances = max(1, min(spec.instance_count, len(items)))
    driver_is_instance = driver_is_an_instance(spec, resources)
    counts = run_items(
        items, config, tally, lanes=config["lanes"],
        actors=instances - 1 if driver_is_instance else instances, start_pool=start_pool,
        per_actor=spec.max_concurrent_transforms or 1,
        driver_is_instance=driver_is_instance, driver_scores=not gpu,
    )  # fmt: skip
    return tally.ordered(items), counts


def driver_is_an_instance(spec, resources: dict) -> bool:
    """A pool of CPU instances has its driver as instance 1 (it reserves that instance's
    resources and scores all along); a GPU pool is all actors."""
    return not resources.get("gpus") and spec.instance_count > 1


class _Tally:
    """Items' summaries as they come: progress in the job record, the first failure raised."""

    def __init__(self, ctx, clock, total: int):
        self.ctx, self.clock, self.total = ctx, clock, total
        self.summaries: dict[int, dict] = {}
        self.rows = self.bad = 0
        ctx.progress(stage="transforming", done=0, total=total, rows=0, force=True)

    def add(self, s: dict) -> None:
        if s["failure"]:
            raise JobFailed(f"transform failed: {s['failure']}")
        self.summaries[s["id"]] = s
        if len(self.summaries) == 1:
            self.clock.mark("first_item")
        self.rows, self.bad = self.rows + s["rows"], self.bad + s["bad"]
        self.ctx.progress(done=len(self.summaries), total=self.total, rows=self.rows,
                          bad_rows=self.bad)  # fmt: skip

    def ordered(self, items) -> list[dict]:
        missing = [i.id for i in items if i.id not in self.summaries]
        if missing:
            raise JobFailed(f"transform incomplete: {len(missing)} of {len(items)} unanswered")
        return [self.summaries[i.id] for i in items]


def _assemble(store, fs, staging: str, files, items, summaries, accept) -> list[str]:
    """Concatenate each split file's parts, in order, into ``out/<name>.out``; the staged
    output keys relative to ``out/``."""
    if accept != codecs.PARQUET:
        by_file: dict[int, list] = {}
        for item, s in zip(items, summaries, strict=True):
            if item.parts > 1:
                by_file.setdefault(item.file, []).append((item.part, s["part"]))
        for index, parts in by_file.items():
            name = files[index].name
            target = store.arrow_path(join(staging, "out", f"{name}.out"))
            with open_output(fs, target) as out:
                for _, path in sorted(parts):
                    with fs.open_input_stream(path) as src:
                        while chunk := src.read(1 << 22):
                            out.write(chunk)
    prefix = join(staging, "out")
    return [k[len(prefix) + 1 :] for k in store.list(prefix, recursive=True)]


def _errors(store, fs, staging: str, summaries) -> list[dict]:
    """Concatenate the items' bad records into ``out/_errors.jsonl``, in order; returns the
    first 20 (the job record's samples)."""
    paths = [s["errors"] for s in summaries if s["errors"]]
    if not paths:
        return []
    records: list[dict] = []
    target = store.arrow_path(join(staging, "out", ERRORS_FILE))
    with open_output(fs, target) as out:
        for path in paths:
            with fs.open_input_stream(path) as src:
                data = src.read()
            out.write(data)
            if len(records) < 20:
                records.extend(json.loads(line) for line in data.splitlines()[:20])
    return records


def _publish(store, staging: str, target: str, has_errors: bool) -> int:
    """Move the staged outputs under ``target``; ``_SUCCESS`` last. Returns files moved."""
    store.delete(join(target, SUCCESS_FILE))
    if not has_errors:
        store.delete(join(target, ERRORS_FILE))
    prefix = join(staging, "out")
    keys = store.list(prefix, recursive=True)
    for key in keys:
        store.move(key, join(target, key[len(prefix) + 1 :]))
    store.write_text(join(target, SUCCESS_FILE), f"{time.time()}\n")
    return len(keys)


__all__ = ["output_type", "run_transform_job"]
