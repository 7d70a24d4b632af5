"""Script mode: the user's training script, unchanged, on every worker, under SageMaker's
training contract.

Each worker gets an ``/opt/ml``-shaped folder of its own::

    <base>/input/config/{hyperparameters,resourceconfig,inputdataconfig}.json
    <base>/input/data/<channel>/     the channel's files (fully replicated, as SageMaker's default)
    <base>/model/                    SM_MODEL_DIR: rank 0's is the model artifact
    <base>/output/data/              SM_OUTPUT_DATA_DIR: rank 0's is published as output/data
    <base>/checkpoints/              synced to the job's checkpoint prefix while the script runs,
                                     restored from it when a restarted or resumed job begins

and the SM_* variables pointing there, hyperparameters as ``--name value`` arguments, cwd =
the source folder, and for several workers the torch.distributed rendezvous variables
(MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK, ...), so a DDP script just works.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time

from raymaker.errors import JobFailed, SpecError
from raymaker.storage import artifacts, join, layout
from raymaker.train.workers import Plan, free_port, run_workers

CHECKPOINT_SYNC_S = 2.0


def run_script_job(spec, ctx, plan: Plan) -> dict:
    """Run the script on ``plan.num_workers`` workers and publish ``SM_MODEL_DIR``."""
    from raymaker.train.job import (
        connect_for,
        final_metrics,
        job_keys,
        lineage,
        output_prefix,
        version_of,
    )
    from raymaker.train.metrics import LineParser

    store = ctx.store
    if not spec.source_dir:
        raise SpecError("source_dir: script mode needs the folder holding entry_point")
    LineParser([m.model_dump() for m in spec.metric_definitions])  # bad regexes fail here
    for channel, uri in spec.inputs.items():
        key = store.key(uri)
        if not store.exists(key) and not store.list(key):
            raise SpecError(f"inputs.{channel}: nothing at {uri}")
    code_sha = _tree_hash(store, store.key(spec.source_dir))
    config = {
        "entry_point": spec.entry_point,
        "source_dir": spec.source_dir,
        "hyperparameters": dict(spec.hyperparameters),
        "inputs": dict(spec.inputs),
        "environment": dict(spec.environment),
        "metric_definitions": [m.model_dump() for m in spec.metric_definitions],
        # SageMaker's XGBoost framework container defines its evaluation lines' metrics
        "xgboost_lines": spec.framework == "xgboost" and not spec.metric_definitions,
        "requirements": spec.requirements,
        "job": ctx.name,
        "max_run": spec.max_run,
        "num_gpus": int(plan.gpus),
        **job_keys(spec, ctx),
        "output_staging": layout.job_staging(ctx.name, "output-data"),
        "framework": spec.framework,
        "tf_workers": layout.job_staging(ctx.name, "tf-workers"),
    }
    ctx.progress(stage="training", workers=plan.num_workers, force=True)
    connect_for(plan, ctx)
    config["mlflow_env"] = ctx.mlflow_env()  # the script's own MLflow calls: the job's run
    result = run_workers(
        run_script_worker, config, plan, name=ctx.name, store=store, env=ctx.settings.job_env()
    )

    ctx.progress(stage="publishing", force=True)
    metrics = final_metrics(store, config["metrics_key"])
    target = output_prefix(spec, ctx)
    with tempfile.TemporaryDirectory() as model_dir:
        store.get_dir(config["model_staging"], model_dir)
        manifest = {
            "framework": spec.framework or "custom",
            "framework_version": version_of(_PACKAGES.get(spec.framework or "", "")),
            "entry_point": spec.entry_point,
            "hyperparameters": dict(spec.hyperparameters),
            "metrics": metrics,
            "lineage": lineage(spec, ctx, _data_lineage(store, spec.inputs), code_sha),
        }
        artifacts.write_manifest(model_dir, manifest)
        published = artifacts.publish(
            store, model_dir, staging=layout.job_staging(ctx.name, "artifact"), target=target
        )
    if store.list(config["output_staging"]):
        store.delete(join(target, "data"), recursive=True)
        store.move(config["output_staging"], join(target, "data"))
        published["output_data"] = store.uri(join(target, "data"))
    store.delete(layout.job_staging(ctx.name), recursive=True)
    return {
        **published,
        "metrics": metrics,
        "workers": plan.num_workers,
        "execution": "driver" if plan.runs_in_driver() else "ray_train",
        **result,
    }


_PACKAGES = {"pytorch": "torch", "sklearn": "scikit-learn", "xgboost": "xgboost",
             "lightgbm": "lightgbm", "tensorflow": "tensorflow"}  # fmt: skip


def run_script_worker(config: dict, ctx) -> dict:
    """Worker function: lay out /opt/ml, run the script, sync checkpoints, upload the model."""
    from raymaker.storage.staging import fetch
    from raymaker.train.checkpoints import Checkpoints
    from raymaker.train.metrics import LineParser, MetricsLog

    store = ctx.store()
    base = tempfile.mkdtemp(prefix=f"raymaker-{config['job']}-{ctx.rank}-")
    try:
        dirs = _layout(base)
        code = os.path.join(base, "code")
        fetch(store, config["source_dir"], code)
        script = os.path.join(code, config["entry_point"])
        if not os.path.isfile(script):
            raise JobFailed(f"entry_point {config['entry_point']!r} is not in the source folder")
        for channel, uri in config["inputs"].items():
            os.makedirs(os.path.join(dirs["data"], channel), exist_ok=True)
            fetch(store, uri, os.path.join(dirs["data"], channel))
        checkpoints = Checkpoints(store, config["checkpoint_key"])
        restored = checkpoints.restore(dirs["checkpoints"])
        if restored:
            print(f"restored checkpoint {restored['step']} into SM checkpoints dir", flush=True)
        pythonpath = _install_requirements(code, config)
        if config.get("framework") == "tensorflow" and "model_dir" not in config["hyperparameters"]:
            # SageMaker's TensorFlow contract: --model_dir, where the script saves its model
            config = {**config, "hyperparameters": {**config["hyperparameters"],
                                                    "model_dir": dirs["model"]}}  # fmt: skip
        rendezvous = _rendezvous(ctx)
        if config.get("framework") == "tensorflow":
            rendezvous.update(_tensorflow_env(ctx, store, config))
        env = _environment(config, ctx, dirs, code, rendezvous, pythonpath)
        _write_config_files(config, ctx, dirs)
        args = [sys.executable, script, *_hyperparameter_args(config["hyperparameters"])]

        metrics = parser = None
        if ctx.is_chief:
            metrics = MetricsLog(store, config["metrics_key"])
            parser = LineParser(
                config["metric_definitions"], xgboost_lines=config.get("xgboost_lines", False)
            )
        sync = _CheckpointSync(checkpoints, dirs["checkpoints"], restored) if ctx.is_chief else None
        from raymaker.jobs.scripts import run_streaming, user_traceback

        started = time.perf_counter()
        try:
            code_, tail = run_streaming(
                args, cwd=code, env=env, timeout_name="max_run",
                # the driver stops the job at max_run; this is the backstop for a lost driver
                timeout=config["max_run"] + 30 if config["max_run"] else None,
                on_line=(lambda line: metrics.add_line(parser, line)) if metrics else None,
            )  # fmt: skip
        finally:
            if sync:
                sync.stop()
            if metrics:
                metrics.save()
        if code_ != 0:
            raise JobFailed(
                f"the training script {config['entry_point']} exited with code {code_}"
                + (f" on worker {ctx.rank}" if ctx.world_size > 1 else ""),
                job_name=config["job"],
                traceback=user_traceback(tail) or _failure_file(dirs),
            )
        if ctx.is_chief:
            store.put_dir(dirs["model"], config["model_staging"])
            if os.listdir(dirs["output_data"]):
                store.put_dir(dirs["output_data"], config["output_staging"])
        return {"script_seconds": round(time.perf_counter() - started, 3)}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _layout(base: str) -> dict[str, str]:
    dirs = {
        "input": os.path.join(base, "input"),
        "config": os.path.join(base, "input", "config"),
        "data": os.path.join(base, "input", "data"),
        "model": os.path.join(base, "model"),
        "output": os.path.join(base, "output"),
        "output_data": os.path.join(base, "output", "data"),
        "failure": os.path.join(base, "output", "failure"),
        "checkpoints": os.path.join(base, "checkpoints"),
    }
    for path in dirs.values():
        os.makedirs(path, exist_ok=True)
    return dirs


def _rendezvous(ctx) -> dict[str, str]:
    """MASTER_ADDR/MASTER_PORT agreed by all workers (rank 0 picks, everyone learns it)."""
    if not ctx.distributed or ctx.world_size == 1:
        return {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    import ray
    from ray.train.collective import broadcast_from_rank_zero

    mine = {"MASTER_ADDR": ray.util.get_node_ip_address(), "MASTER_PORT": str(free_port())}
    return broadcast_from_rank_zero(mine)


def _tensorflow_env(ctx, store, config) -> dict[str, str]:
    """What a TensorFlow script gets beyond SageMaker's SM_* contract: Keras 2 as ``tf.keras``
    (tf_keras, as Ray Train's TensorFlow backend sets it: SageMaker-era scripts call
    ``model.save(dir)`` for a SavedModel, and Keras 3 has no MultiWorkerMirroredStrategy), and
    with several workers TF_CONFIG."""
    import importlib.util

    env = {}
    if "TF_USE_LEGACY_KERAS" not in config["environment"] and importlib.util.find_spec("tf_keras"):
        env["TF_USE_LEGACY_KERAS"] = "1"
    if ctx.world_size > 1:
        env["TF_CONFIG"] = _tf_config(ctx, store, config["tf_workers"])
    return env


def _tf_config(ctx, store, prefix: str) -> str:
    """TF_CONFIG for ``MultiWorkerMirroredStrategy``, as Ray Train's TensorFlow backend builds
    it: every worker's ``host:port`` (each picks a free port on its own node and posts it to
    the store), this worker's index. The script's own process reads it; the worker actor never
    imports TensorFlow."""
    import ray
    from ray.train.collective import barrier

    store.write_text(join(prefix, str(ctx.rank)), f"{ray.util.get_node_ip_address()}:{free_port()}")
    barrier()
    workers = [store.read_text(join(prefix, str(r))) for r in range(ctx.world_size)]
    return json.dumps(
        {"cluster": {"worker": workers}, "task": {"type": "worker", "index": ctx.rank}}
    )


def _environment(config, ctx, dirs, code, rendezvous, pythonpath) -> dict[str, str]:
    hosts = [f"algo-{i + 1}" for i in range(ctx.world_size)]
    hps = config["hyperparameters"]
    channels = sorted(config["inputs"])
    training_env = {
        "job_name": config["job"],
        "hosts": hosts,
        "current_host": hosts[ctx.rank],
        "current_instance_group": "homogeneousCluster",
        "channel_input_dirs": {c: os.path.join(dirs["data"], c) for c in channels},
        "hyperparameters": hps,
        "model_dir": dirs["model"],
        "output_data_dir": dirs["output_data"],
        "output_dir": dirs["output"],
        "input_dir": dirs["input"],
        "input_config_dir": dirs["config"],
        "module_dir": code,
        "module_name": os.path.splitext(config["entry_point"])[0],
        "num_cpus": int(ctx.cpus),
        "num_gpus": config["num_gpus"],
        "user_entry_point": config["entry_point"],
        "is_master": ctx.is_chief,
        "master_hostname": hosts[0],
    }
    env = {
        **os.environ,
        **config["environment"],
        "SM_MODEL_DIR": dirs["model"],
        "SM_CHANNELS": json.dumps(channels),
        "SM_HPS": json.dumps(hps),
        "SM_HOSTS": json.dumps(hosts),
        "SM_CURRENT_HOST": hosts[ctx.rank],
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster",
        "SM_NUM_GPUS": str(config["num_gpus"]),
        "SM_NUM_CPUS": str(int(ctx.cpus)),
        "SM_OUTPUT_DATA_DIR": dirs["output_data"],
        "SM_OUTPUT_DIR": dirs["output"],
        "SM_INPUT_DIR": dirs["input"],
        "SM_INPUT_CONFIG_DIR": dirs["config"],
        "SM_MODULE_DIR": code,
        "SM_MODULE_NAME": training_env["module_name"],
        "SM_USER_ENTRY_POINT": config["entry_point"],
        "SM_USER_ARGS": json.dumps(_hyperparameter_args(hps)),
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_TRAINING_ENV": json.dumps(training_env),
        "SM_LOG_LEVEL": "20",
        "SM_CHECKPOINT_DIR": dirs["checkpoints"],
        "RAYMAKER_JOB_NAME": config["job"],
        "RAYMAKER_OPT_ML": os.path.dirname(dirs["input"]),
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": str(max(1, int(ctx.cpus))),  # Ray's jobs and actors may say 1
        # torch.distributed's env:// rendezvous
        "WORLD_SIZE": str(ctx.world_size),
        "RANK": str(ctx.rank),
        "LOCAL_RANK": str(ctx.local_rank),
        "NODE_RANK": str(ctx.node_rank),
        "LOCAL_WORLD_SIZE": str(ctx.world_size if not ctx.distributed else _local_world(ctx)),
        **rendezvous,
    }
    for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "RAYMAKER_MLFLOW_RUN_ID"):
        env.pop(name, None)  # rank 0 alone writes into the job's run, as Ray Train's MLflow
    if ctx.is_chief:  # integration has it; other ranks' calls would duplicate its points
        env.update(config.get("mlflow_env") or {})
    env.update({k: v for k, v in config["environment"].items() if k.startswith("MLFLOW_")})
    for c in channels:
        env[f"SM_CHANNEL_{c.upper()}"] = os.path.join(dirs["data"], c)
    for k, v in hps.items():
        env[f"SM_HP_{k.upper()}"] = v if isinstance(v, str) else json.dumps(v)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([pythonpath, env.get("PYTHONPATH", "")]).rstrip(":")
    return env


def _local_world(ctx) -> int:
    try:
        import ray.train

        return ray.train.get_context().get_local_world_size()
    except Exception:  # noqa: BLE001 - outside Ray Train
        return 1


def _write_config_files(config, ctx, dirs) -> None:
    hosts = [f"algo-{i + 1}" for i in range(ctx.world_size)]
    hps = {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in config["hyperparameters"].items()
    }
    files = {
        "hyperparameters.json": hps,
        "resourceconfig.json": {
            "current_host": hosts[ctx.rank],
            "hosts": hosts,
            "network_interface_name": "eth0",
        },
        "inputdataconfig.json": {
            c: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
            for c in config["inputs"]
        },
    }
    for name, body in files.items():
        with open(os.path.join(dirs["config"], name), "w", encoding="utf-8") as f:
            json.dump(body, f, indent=2)


def _hyperparameter_args(hps: dict) -> list[str]:
    """SageMaker passes every hyperparameter as ``--name value`` (bools as True/False)."""
    args = []
    for key, value in hps.items():
        args += [f"--{key}", value if isinstance(value, str) else _arg(value)]
    return args


def _arg(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def _install_requirements(code: str, config: dict) -> str | None:
    """The PYTHONPATH entry of the script's requirements (source_dir/requirements.txt, or the
    spec's ``requirements``), installed once per node (``train.requirements``); None when the
    environment satisfies them or there are none."""
    from raymaker.train.requirements import install

    name = config.get("requirements") or "requirements.txt"
    path = os.path.join(code, name)
    if not os.path.isfile(path):
        if config.get("requirements"):
            raise JobFailed(f"requirements file {name!r} is not in the source folder")
        return None
    return install(path, log=lambda line: print(line, flush=True))


def _failure_file(dirs) -> str | None:
    path = os.path.join(dirs["failure"], "failure")
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    return None


def _tree_hash(store, prefix: str) -> str:
    h = hashlib.sha256()
    for key in store.list(prefix, recursive=True):
        h.update(key[len(prefix) :].encode() + b"\0" + store.read_bytes(key))
    return h.hexdigest()


def _data_lineage(store, inputs: dict[str, str]) -> dict:
    out = {}
    for channel, uri in inputs.items():
        try:
            from raymaker.data.readers import resolve

            out[channel] = artifacts.fingerprint(resolve(store, uri, format="csv"))
        except Exception:  # noqa: BLE001 - any files, not only data formats
            out[channel] = {"uri": uri}
    return out


class _CheckpointSync:
    """Upload the script's checkpoint folder whenever it changed (every few seconds)."""

    def __init__(self, checkpoints, folder: str, restored: dict | None):
        self.checkpoints, self.folder = checkpoints, folder
        self.step = int(restored["step"]) if restored else 0
        self.seen = self._state()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="raymaker-ckpt")
        self._thread.start()

    def _state(self):
        items = []
        for dirpath, _, names in os.walk(self.folder):
            for n in names:
                p = os.path.join(dirpath, n)
                st = os.stat(p)
                items.append((p, st.st_size, st.st_mtime_ns))
        return sorted(items)

    def _loop(self):
        while not self._stop.wait(CHECKPOINT_SYNC_S):
            self.sync()

    def sync(self) -> None:
        state = self._state()
        if state and state != self.seen:
            self.seen = state
            self.step += 1
            with tempfile.TemporaryDirectory() as snap:
                shutil.copytree(self.folder, snap, dirs_exist_ok=True)
                self.checkpoints.save(self.step, snap)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.sync()
