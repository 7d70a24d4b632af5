"""ProcessingJob in script mode, with SageMaker's processing contract.

The job's folder stands in for ``/opt/ml``: inputs are downloaded to
``<base>/opt/ml/processing/input/<name>`` (or their ``destination``), the script runs with
``cwd`` = its source folder, and each output folder is uploaded to a temporary prefix and moved
to its destination only when the script succeeded. Arguments that name ``/opt/ml/...`` paths
are mapped into the job's folder; ``RAYMAKER_OPT_ML`` tells the script where that is.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from raymaker.errors import JobFailed, SpecError
from raymaker.jobs.scripts import run_streaming, user_traceback
from raymaker.storage import layout
from raymaker.storage.staging import fetch

OPT_ML = "/opt/ml"


def run_processing_job(spec, ctx) -> dict:
    """Run the spec's script (or its recipe); returns ``{"outputs": {name: uri}, ...}``.

    Raises JobFailed with the script's own traceback when it exits non-zero.
    """
    if not spec.code:
        from raymaker.data.prepare import run_recipe_job

        return run_recipe_job(spec, ctx)
    if spec.instance_count != 1:
        raise SpecError(
            f"instance_count ({spec.instance_count}) must be 1 for a script ProcessingJob "
            "in this version: the script runs once, on one worker"
        )
    ctx.settings.resources_for(spec.instance_type)
    opt_ml = ctx.workdir / "opt" / "ml"

    def mapped(path: str) -> str:
        if path == OPT_ML or path.startswith(OPT_ML + "/"):
            return str(opt_ml) + path[len(OPT_ML) :]
        return path

    started = time.time()
    code_dir = ctx.workdir / "code"
    code_dir.mkdir(parents=True)
    if spec.source_dir:
        fetch(ctx.store, spec.source_dir, str(code_dir))
        script = code_dir / spec.code
        if not script.is_file():
            raise SpecError(
                f"code {spec.code!r} is not a file inside source_dir {spec.source_dir!r}"
            )
    else:
        script = Path(fetch(ctx.store, spec.code, str(code_dir)))

    ctx.progress(stage="downloading inputs", force=True)
    for item in spec.inputs:
        dest = mapped(item.destination or f"{OPT_ML}/processing/input/{item.name}")
        os.makedirs(dest, exist_ok=True)
        fetch(ctx.store, item.source, dest)
    outputs = {}
    for item in spec.outputs:
        src = mapped(item.source or f"{OPT_ML}/processing/output/{item.name}")
        os.makedirs(src, exist_ok=True)
        outputs[item.name] = src
    _write_config(opt_ml, spec, ctx)

    env = {
        **os.environ,
        **spec.environment,
        "RAYMAKER_JOB_NAME": ctx.name,
        "RAYMAKER_OPT_ML": str(opt_ml),
        "PYTHONUNBUFFERED": "1",
    }
    # "python3" (the default) means this environment's interpreter, where the user's packages are.
    command = [sys.executable] if spec.command == ["python3"] else spec.command
    cmd = [*command, str(script), *[mapped(a) for a in spec.arguments]]
    ctx.progress(stage="running script", force=True)
    exit_code, stderr_tail = run_streaming(
        cmd, cwd=str(script.parent), env=env, timeout=spec.max_runtime_in_seconds
    )
    if exit_code != 0:
        raise JobFailed(
            f"the script {os.path.basename(spec.code)} exited with code {exit_code}",
            job_name=ctx.name,
            traceback=user_traceback(stderr_tail),
        )

    ctx.progress(stage="uploading outputs", force=True)
    published = {}
    for item in spec.outputs:
        staging = layout.job_staging(ctx.name, item.name)
        ctx.store.put_dir(outputs[item.name], staging)
        target = ctx.store.key(item.destination) if item.destination else None
        target = target or layout.job_output(ctx.name, item.name)
        ctx.store.delete(target, recursive=True)
        if ctx.store.list(staging):
            ctx.store.move(staging, target)
        published[item.name] = ctx.store.uri(target)
    ctx.store.delete(layout.job_staging(ctx.name), recursive=True)
    return {
        "exit_code": 0,
        "outputs": published,
        "script_seconds": round(time.time() - started, 3),
    }


def _write_config(opt_ml, spec, ctx) -> None:
    """SageMaker's processingjobconfig.json and resourceconfig.json, for scripts that read them."""
    config = opt_ml / "config"
    config.mkdir(parents=True, exist_ok=True)
    job = {
        "ProcessingJobName": ctx.name,
        "ProcessingInputs": [
            {"InputName": i.name, "S3Input": {"S3Uri": i.source, "LocalPath": i.destination}}
            for i in spec.inputs
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {"OutputName": o.name, "S3Output": {"S3Uri": o.destination, "LocalPath": o.source}}
                for o in spec.outputs
            ]
        },
        "Environment": spec.environment,
    }
    (config / "processingjobconfig.json").write_text(json.dumps(job, indent=2))
    resources = {"current_host": "algo-1", "hosts": ["algo-1"]}
    (config / "resourceconfig.json").write_text(json.dumps(resources))


__all__ = ["run_processing_job"]
