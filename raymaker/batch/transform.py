"""TransformJob: a model over files, on a Ray Data actor pool, with atomic results.

    plan      the input's files cut into items (plan.py), the model checked before any worker
    transform Ray Data ``map_batches`` over the items with an actor pool of TransformWorker
              (instance_count actors of the preset's resources, loaded once each); a killed
              actor is restarted and its item redone (the item's part is rewritten whole)
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
from raymaker.errors import DataError, JobFailed, SpecError
from raymaker.inference import codecs
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
    )  # fmt: skip
    fmt = planning.input_format(spec.input.content_type, spec.input.split_type)
    accept = output_type(spec, fmt)
    builtin = ref.entry_point is None
    manifest = read_manifest(store, ref.uri) if builtin else None
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
    if not in_driver:
        from raymaker.cluster import connect

        connect(settings)
        clock.mark("connect")
    try:
        if in_driver:
            summaries = _in_driver(ctx, config, items, clock)
        else:
            summaries = _transform(spec, ctx, config, items, resources, clock)
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
        "execution": "driver" if in_driver else "ray_data",
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
    """What the job's driver reserves: the instance's resources when it does the work."""
    if not runs_in_driver(spec):
        return {}
    try:
        resources = settings.resources_for(spec.instance_type)
    except SpecError:
        return {}  # the runner reports the bad preset with the job's record
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


def _in_driver(ctx, config, items, clock) -> list[dict]:
    """Every item in this process: as many at once as the instance has cores (or
    ``max_concurrent_transforms``), each on one thread (Arrow's parser, the model and the
    formatter release the GIL)."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    from raymaker.batch.worker import TransformWorker

    lanes = config["lanes"]
    worker = TransformWorker({**config, "threads": 1})
    tally = _Tally(ctx, clock, len(items))
    pending = list(reversed(items))
    try:
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="raymaker-transform") as pool:
            running = set()
            try:
                while pending or running:
                    while pending and len(running) < lanes:
                        running.add(pool.submit(worker.run, pending.pop().to_dict()))
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        tally.add(future.result())
            finally:
                pending.clear()
                for future in running:
                    future.cancel()
    finally:
        worker.close()
    return tally.ordered(items)


def _transform(spec, ctx, config, items, resources, clock) -> list[dict]:
    """Every item's summary, via Ray Data; raises JobFailed at the first failed item."""
    import ray.data
    from ray.data import ActorPoolStrategy, DataContext

    from raymaker.batch.worker import TransformWorker
    from raymaker.placement import check_fits

    check_fits(resources, spec.instance_type, what="a transform actor")
    DataContext.get_current().enable_progress_bars = False
    per_actor = spec.max_concurrent_transforms or 1
    actors = max(1, min(spec.instance_count, len(items)))
    ds = ray.data.from_items([i.to_dict() for i in items], override_num_blocks=len(items))
    results = ds.map_batches(
        TransformWorker,
        batch_size=1,
        fn_constructor_kwargs={"config": config},
        compute=ActorPoolStrategy(
            size=actors,
            max_tasks_in_flight_per_actor=per_actor + 1,
            max_concurrent_calls_per_actor=per_actor,
            enable_true_multi_threading=per_actor > 1,
        ),
        num_cpus=resources.get("cpus", 1),
        num_gpus=resources.get("gpus", 0) or None,
    )
    tally = _Tally(ctx, clock, len(items))
    iterator = iter(results.iter_rows())
    try:
        for row in iterator:
            tally.add({k: _plain(v) for k, v in row.items()})
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    return tally.ordered(items)


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


def _plain(value):
    return value.item() if hasattr(value, "item") else value


__all__ = ["DataError", "output_type", "run_transform_job"]
