"""ProcessingJob in recipe mode: read, fit (or load) a recipe, apply, split, write Parquet.

Runs on Ray Data in the job's driver, streaming: the input is never materialized whole.
Everything is written under the job's temporary prefix and moved into place only when all of
it succeeded; the fitted recipe (JSON) is published beside the data.
"""

from __future__ import annotations

import os

from raymaker.data import filetasks
from raymaker.data.readers import read_dataset, resolve, skipped_rows
from raymaker.data.recipe import FittedRecipe, load_recipe
from raymaker.storage import join, layout

DEFAULT_OUTPUT = "data"
RECIPE_OUTPUT = "recipe"


def run_recipe_job(spec, ctx) -> dict:
    """Returns ``{"outputs": {name: uri}, "rows": {name: n}, "bad_rows": n, "recipe": uri}``."""
    from raymaker.cluster import connect
    from raymaker.data import splits

    connect(ctx.settings)
    store = ctx.store
    item = spec.inputs[0]
    source = resolve(
        store, item.source, format=item.format, header=item.header, columns=item.columns,
        on_bad_lines=item.on_bad_lines,
    )  # fmt: skip
    ctx.progress(stage="reading", files=len(source.paths), force=True)
    recipe = None if spec.fitted_recipe else load_recipe(spec.recipe, store)
    steps = recipe.steps if recipe else FittedRecipe.load(store, spec.fitted_recipe).steps
    if filetasks.supported(steps, source):
        return _run_per_file(spec, ctx, source, recipe)
    ds = read_dataset(source)
    if spec.fitted_recipe:
        fitted, recipe_uri = FittedRecipe.load(store, spec.fitted_recipe), spec.fitted_recipe
    else:
        ctx.progress(stage="fitting recipe", force=True)
        fitted, recipe_uri = recipe.fit(ds), None
    out = fitted.transform(ds)

    declared = {o.name: o for o in spec.outputs}
    names = splits.names(spec.split) if spec.split else [next(iter(declared), DEFAULT_OUTPUT)]
    fs = store.arrow_filesystem()
    staging = layout.job_staging(ctx.name)
    ctx.progress(stage="writing", force=True)
    if spec.split:
        labelled = splits.label_dataset(out, spec.split)
        labelled.write_parquet(
            store.arrow_path(join(staging, "_split")), filesystem=fs,
            partition_cols=[splits.SPLIT_COLUMN],
        )  # fmt: skip
        for name in names:
            part = join(staging, "_split", f"{splits.SPLIT_COLUMN}={name}")
            if store.list(part):
                store.move(part, join(staging, name))
            else:  # an empty split still gets its (empty) output folder
                store.write_bytes(join(staging, name, "_EMPTY"), b"")
        store.delete(join(staging, "_split"), recursive=True)
    else:
        out.write_parquet(store.arrow_path(join(staging, names[0])), filesystem=fs)
    if recipe_uri is None:
        fitted.save(store, join(staging, RECIPE_OUTPUT, "recipe.json"))

    rows = {name: _parquet_rows(store, join(staging, name)) for name in names}
    return _publish(spec, ctx, source, fitted, recipe_uri, names, rows, skipped_rows(source))


def _run_per_file(spec, ctx, source, recipe) -> dict:
    """The same job as one Ray task per input file and pass (see data/filetasks.py)."""
    import functools

    from raymaker.data import splits

    store = ctx.store
    if spec.fitted_recipe:
        fitted, recipe_uri = FittedRecipe.load(store, spec.fitted_recipe), spec.fitted_recipe
    else:
        ctx.progress(stage="fitting recipe", force=True)
        (fitted, _), recipe_uri = filetasks.fit_files(recipe, source), None
    declared = {o.name: o for o in spec.outputs}
    names = splits.names(spec.split) if spec.split else [next(iter(declared), DEFAULT_OUTPUT)]
    label = None
    if spec.split:
        cuts = None
        if spec.split.method == "time":
            parts = filetasks.collect_files(
                fitted, source, functools.partial(splits.time_sketch, spec=spec.split)
            )
            cuts = splits.time_cuts([pair for part in parts for pair in part], spec.split)
        elif spec.split.method == "stratified":
            merged: dict[str, list] = {}
            fn = functools.partial(splits.label_sketches, spec=spec.split)
            for part in filetasks.collect_files(fitted, source, fn):
                for key, sk in part.items():
                    merged.setdefault(key, []).extend(sk)
            cuts = splits.label_cuts(merged, spec.split)
        label = functools.partial(splits.label_frame, spec=spec.split, thresholds=cuts)
    ctx.progress(stage="writing", force=True)
    fs = store.arrow_filesystem()
    staging = layout.job_staging(ctx.name)
    bases = {name: store.arrow_path(join(staging, name)) for name in names}
    for base in bases.values():
        fs.create_dir(base, recursive=True)
    rows, skipped = filetasks.write_files(fitted, source, fs, bases, label)
    for name in names:
        if not rows[name]:  # an empty split still gets its (empty) output folder
            store.write_bytes(join(staging, name, "_EMPTY"), b"")
    if recipe_uri is None:
        fitted.save(store, join(staging, RECIPE_OUTPUT, "recipe.json"))
    return _publish(spec, ctx, source, fitted, recipe_uri, names, rows, skipped)


def _publish(spec, ctx, source, fitted, recipe_uri, names, rows, skipped) -> dict:
    store = ctx.store
    declared = {o.name: o for o in spec.outputs}
    staging = layout.job_staging(ctx.name)
    ctx.progress(stage="publishing", force=True)
    outputs = {}
    for name in [*names, *([] if recipe_uri else [RECIPE_OUTPUT])]:
        declared_to = declared[name].destination if name in declared else None
        target = store.key(declared_to) if declared_to else layout.job_output(ctx.name, name)
        store.delete(target, recursive=True)
        store.move(join(staging, name), target)
        outputs[name] = store.uri(target)
    store.delete(staging, recursive=True)
    if recipe_uri is None:
        recipe_uri = store.uri(join(store.key(outputs[RECIPE_OUTPUT]), "recipe.json"))
    samples = [
        f"{source.display_prefix}{path}:{line}" for path, lines in skipped.items() for line in lines
    ][:20]
    return {
        "outputs": outputs,
        "rows": rows,
        "bad_rows": sum(len(v) for v in skipped.values()),
        "bad_row_samples": samples,
        "recipe": recipe_uri,
        "input_files": [os.path.basename(p) for p in source.paths][:20],
    }


def _parquet_rows(store, prefix: str) -> int:
    """Rows in the Parquet files under ``prefix``, from their footers (no data read)."""
    import pyarrow.parquet as pq

    fs = store.arrow_filesystem()
    total = 0
    for key in store.list(prefix, recursive=True):
        if key.endswith(".parquet"):
            with fs.open_input_file(store.arrow_path(key)) as f:
                total += pq.ParquetFile(f).metadata.num_rows
    return total
