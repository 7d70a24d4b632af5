"""Client-side staging: local files a spec names are resolved and uploaded before submit.

A job runs on the cluster, which cannot see the user's files: ``code``, ``source_dir`` and
local input paths go to ``jobs/<name>/code`` and ``jobs/<name>/input/<channel>`` in the store,
and the submitted spec names their URIs. Relative paths are relative to the spec file's folder.
"""

from __future__ import annotations

import os

from raymaker.errors import NotFound
from raymaker.kinds import KINDS, load
from raymaker.specs.base import ResourceSpec
from raymaker.storage import Store, join, layout
from raymaker.storage.staging import check_entry_point, is_uri, local_path, stage_code


def _local(value: str | None, base_dir: str | None) -> str | None:
    """The absolute local path ``value`` names, or None for URIs and store keys."""
    if not value or is_uri(value):
        return None
    path = os.path.expanduser(local_path(value))
    if not os.path.isabs(path):
        path = os.path.join(base_dir or os.getcwd(), path)
    return path if os.path.exists(path) else None


def _local_data(value: str | None, base_dir: str | None, store: Store) -> str | None:
    """Like ``_local``, but None for a path already inside a local store (no copy of data
    the cluster can already read)."""
    path = _local(value, base_dir)
    if path is None or store.root.scheme != "file":
        return path
    root = store.root.path.rstrip("/") + "/"
    return None if os.path.abspath(path).startswith(root) else path


def stage_processing(spec, store: Store, name: str, base_dir: str | None):
    changes: dict = {}
    code_prefix = join(layout.job_dir(name), "code")
    if spec.recipe is not None:
        changes["recipe"] = _inline_recipe(spec.recipe, store, base_dir)
    if spec.fitted_recipe:
        fitted = _local(spec.fitted_recipe, base_dir)
        if fitted:
            changes["fitted_recipe"] = store.put_file(fitted, join(code_prefix, "recipe.json"))
    if spec.code and spec.source_dir:
        src = _local(spec.source_dir, base_dir)
        if src is None and not is_uri(spec.source_dir):
            raise NotFound(f"source_dir {spec.source_dir!r} does not exist")
        if src:
            changes["source_dir"] = store.put_dir(src, code_prefix)
    elif spec.code:
        code = _local(spec.code, base_dir)
        if code is None and not is_uri(spec.code):
            raise NotFound(f"code {spec.code!r} does not exist")
        if code:
            changes["code"] = store.put_file(code, join(code_prefix, os.path.basename(code)))
    inputs = []
    for item in spec.inputs:
        src = _local_data(item.source, base_dir, store)
        if src:
            item = item.model_copy(
                update={"source": store.upload(src, join(layout.job_dir(name), "input", item.name))}
            )
        inputs.append(item)
    changes["inputs"] = inputs
    return spec.model_copy(update=changes)


def _inline_recipe(recipe, store: Store, base_dir: str | None):
    """The recipe's steps, inline, with custom steps' local files carried as source text."""
    import yaml

    if isinstance(recipe, str):
        path = _local(recipe, base_dir)
        if path is None and not is_uri(recipe):
            raise NotFound(f"recipe {recipe!r} does not exist")
        if path is None:
            return recipe  # already in the store
        with open(path, encoding="utf-8") as f:
            loaded = yaml.safe_load(f)
        base_dir = os.path.dirname(path)
        recipe = loaded.get("steps") if isinstance(loaded, dict) else loaded
    steps = []
    for step in recipe or []:
        if isinstance(step, dict) and step.get("op") == "custom" and not step.get("source"):
            target, _, fn = str(step.get("function", "")).rpartition(":")
            local = _local(target, base_dir) if target.endswith(".py") else None
            if local:
                with open(local, encoding="utf-8") as f:
                    step = {**step, "source": f.read()}
        steps.append(step)
    return steps


def _stage_entry_point(
    spec, store: Store, code_prefix: str, base_dir: str | None, field: str = "entry_point"
) -> dict:
    """Upload ``entry_point`` (with its ``source_dir``, or alone); the spec fields that change.
    Code already in the store stays where it is. Raises SpecError, NotFound."""
    if not spec.entry_point:
        return {}
    check_entry_point(spec.entry_point, spec.source_dir, field)
    named = spec.source_dir or spec.entry_point
    if _local(named, base_dir) is None:
        if not is_uri(named) and not spec.source_dir:
            raise NotFound(f"{field} {spec.entry_point!r} does not exist")
        if (
            spec.source_dir
            and not is_uri(spec.source_dir)
            and not store.exists(join(store.key(spec.source_dir), spec.entry_point))
        ):
            raise NotFound(f"source_dir {spec.source_dir!r} does not exist")
        return {}
    uri, entry_point = stage_code(
        store, spec.entry_point, spec.source_dir, base_dir, code_prefix, field
    )
    return {"source_dir": uri, "entry_point": entry_point}


def stage_training(spec, store: Store, name: str, base_dir: str | None):
    """Upload the script (with its source_dir), a local recipe file and local channels."""
    code_prefix = join(layout.job_dir(name), "code")
    changes = _stage_entry_point(spec, store, code_prefix, base_dir)
    if spec.recipe:
        path = _local(spec.recipe, base_dir)
        if path:
            if path.endswith(".json"):
                changes["recipe"] = store.put_file(path, join(code_prefix, "recipe.json"))
            else:
                import yaml

                steps = _inline_recipe(spec.recipe, store, base_dir)
                text = yaml.safe_dump({"steps": steps}, sort_keys=False)
                changes["recipe"] = store.write_text(join(code_prefix, "recipe.yaml"), text)
    changes["inputs"] = _stage_inputs(spec.inputs, store, name, base_dir)
    return spec.model_copy(update=changes)


def _stage_inputs(inputs: dict, store: Store, name: str, base_dir: str | None) -> dict:
    """Channels with each local path uploaded to ``jobs/<name>/input/<channel>``."""
    out = {}
    for channel, uri in inputs.items():
        src = _local_data(uri, base_dir, store)
        out[channel] = (
            store.upload(src, join(layout.job_dir(name), "input", channel)) if src else uri
        )
    return out


def stage_tuning(spec, store: Store, name: str, base_dir: str | None):
    """The training template's files, staged once under the tuning job for every trial."""
    training = stage_training(spec.training, store, name, base_dir)
    return spec.model_copy(update={"training": training})


def stage_transform(spec, store: Store, name: str, base_dir: str | None):
    """Upload the handler code and a local input."""
    changes = _stage_entry_point(spec, store, join(layout.job_dir(name), "code"), base_dir)
    src = _local_data(spec.input.data_uri, base_dir, store)
    if src:
        uri = store.upload(src, join(layout.job_dir(name), "input", "data"))
        changes["input"] = spec.input.model_copy(update={"data_uri": uri})
    return spec.model_copy(update=changes)


def stage_endpoint(spec, store: Store, name: str, base_dir: str | None):
    """Upload each variant's local handler (``source_dir`` with its ``entry_point``, or the
    ``entry_point`` file alone)."""
    variants = []
    for v in spec.variants:
        prefix = join(layout.job_dir(name), "code", v.name)
        changes = _stage_entry_point(v, store, prefix, base_dir, f"variants.{v.name}.entry_point")
        variants.append(v.model_copy(update=changes) if changes else v)
    return spec.model_copy(update={"variants": variants})


def stage_automl(spec, store: Store, name: str, base_dir: str | None):
    """Upload local channels and a local feature specification (the cluster cannot read the
    user's files)."""
    changes: dict = {"inputs": _stage_inputs(spec.inputs, store, name, base_dir)}
    src = _local_data(spec.feature_specification_s3_uri, base_dir, store)
    if src:
        key = join(layout.job_dir(name), "input", "feature-specification.json")
        store.put_file(src, key)
        changes["feature_specification_s3_uri"] = store.uri(key)
    return spec.model_copy(update=changes)


def stage(spec: ResourceSpec, store: Store, name: str, base_dir: str | None = None) -> ResourceSpec:
    """A copy of ``spec`` whose local files are uploaded and named by URI (the kind table's
    ``stage``; a kind without one names no local files). Raises NotFound."""
    row = KINDS[spec.kind]
    return load(row.stage)(spec, store, name, base_dir) if row.stage else spec


def stage_monitoring(spec, store: Store, name: str, base_dir: str | None):
    """Upload a baseline's or a schedule's local files: its dataset, its baseline files."""
    changes: dict = {}
    folder = join(layout.job_dir(name), "input")
    for field in ("dataset", "batch_transform_input"):
        dataset = getattr(spec, field, None)
        src = _local_data(dataset.uri, base_dir, store) if dataset is not None else None
        if src:
            target = join(folder, field)
            uri = (store.put_dir(src, target) if os.path.isdir(src)
                   else store.put_file(src, join(target, os.path.basename(src))))  # fmt: skip
            changes[field] = dataset.model_copy(update={"uri": uri})
    for field in ("baseline_statistics", "baseline_constraints"):
        src = _local_data(getattr(spec, field, None), base_dir, store)
        if src:
            changes[field] = store.put_file(src, join(folder, os.path.basename(src)))
    return spec.model_copy(update=changes) if changes else spec
