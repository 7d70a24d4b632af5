"""Run one training function on N workers: in the job's driver, or as a Ray Train worker group.

Ray Train (V2) starts a controller and one actor per worker; on this 2-core machine that is
~13 s before the first line of training (process starts and imports), against 0 s for a
function call. So a job that needs nothing Ray Train gives (one CPU worker, no retries) runs
its worker function in the job's driver, which already runs on the cluster; everything else
(several workers, GPUs, ``max_retry_attempts``) runs under Ray Train with its backend
(XGBoost/LightGBM collective setup, torch.distributed). The worker function is the same.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from raymaker.errors import JobFailed

# backend name -> "module:class" of the Ray Train trainer that sets it up
TRAINERS = {
    None: "ray.train.v2.api.data_parallel_trainer:DataParallelTrainer",
    "lightgbm": "ray.train.lightgbm:LightGBMTrainer",
    "torch": "ray.train.torch:TorchTrainer",
}

# The controller polls workers every 2 s by default: up to 2 s added to every job's end.
RAY_TRAIN_ENV = {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.25"}


@dataclass
class WorkerContext:
    """Where a worker function runs: its rank among ``world_size`` and the job's settings."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    node_rank: int = 0
    distributed: bool = False
    use_gpu: bool = False
    cpus: float = 1
    env: dict[str, str] = field(default_factory=dict)

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    def store(self):
        """The job's store, opened from the settings the job was started with."""
        from raymaker.storage.store import store_from_env

        return store_from_env(self.env)

    def host(self) -> str:
        return f"algo-{self.node_rank + 1}"


@dataclass
class Plan:
    """How to run: the number of workers, per-worker resources and the failure policy."""

    num_workers: int
    cpus: float
    gpus: float
    max_retries: int = 0
    backend: str | None = None
    execution: str = "auto"  # the spec's: auto, driver or ray
    instance_type: str = "?"

    def runs_in_driver(self) -> bool:
        from raymaker.placement import runs_in_driver

        return runs_in_driver(
            self.execution, instances=self.num_workers, gpus=self.gpus, retries=self.max_retries
        )


def plan_for(spec, settings) -> Plan:
    """How a TrainingJob spec runs: workers, per-worker resources, retries. Raises SpecError."""
    preset = settings.resources_for(spec.instance_type)
    use_gpu = spec.use_gpu if spec.use_gpu is not None else preset["gpus"] > 0
    return Plan(
        num_workers=spec.instance_count,
        cpus=preset["cpus"],
        gpus=preset["gpus"] if use_gpu else 0,
        max_retries=spec.max_retry_attempts,
        execution=spec.execution,
        instance_type=spec.instance_type,
    )


def driver_resources(spec, settings) -> dict:
    """A job that trains in its driver reserves its worker's CPUs there; one that starts a
    Ray Train worker group reserves nothing for the driver (the workers hold the resources)."""
    try:
        plan = plan_for(spec, settings)
    except Exception:  # noqa: BLE001 - the runner reports a bad spec with its record
        return {}
    return {"cpus": plan.cpus} if plan.runs_in_driver() else {}


def run_workers(
    fn: Callable[[dict, WorkerContext], dict | None],
    config: dict,
    plan: Plan,
    *,
    name: str,
    store,
    env: dict[str, str],
) -> dict:
    """Run ``fn(config, ctx)`` on every worker; returns rank 0's result.

    Raises JobFailed with the failing worker's own traceback.
    """
    if plan.runs_in_driver():
        _use_threads(int(plan.cpus))
        ctx = WorkerContext(cpus=plan.cpus, env=env)
        return fn(config, ctx) or {}
    return _run_ray_train(fn, config, plan, name=name, store=store, env=env)


def _use_threads(n: int) -> None:
    """Give this process ``n`` threads: a Ray Job's driver inherits OMP_NUM_THREADS=1 from Ray,
    which halves XGBoost and Arrow here (OpenMP reads it when the engine first loads)."""
    os.environ["OMP_NUM_THREADS"] = str(max(1, n))
    import pyarrow

    pyarrow.set_cpu_count(max(1, n))


def _run_ray_train(fn, config, plan: Plan, *, name, store, env) -> dict:
    import importlib

    os.environ.update(RAY_TRAIN_ENV)
    import ray
    from ray.train import FailureConfig, RunConfig, ScalingConfig

    from raymaker.placement import check_fits

    if ray.is_initialized():  # a worker no node can hold would wait forever
        check_fits({"cpus": plan.cpus, "gpus": plan.gpus}, plan.instance_type,
                   what="a training worker")  # fmt: skip
    module, _, attr = TRAINERS[plan.backend].partition(":")
    trainer_cls = getattr(importlib.import_module(module), attr)
    resources = {"CPU": plan.cpus, **({"GPU": plan.gpus} if plan.gpus else {})}
    result_key = f"jobs/{name}/_tmp/worker-result.json"
    store.delete(result_key)
    loop_config = {
        "fn": fn,
        "config": config,
        "env": env,
        "cpus": plan.cpus,
        "gpu": bool(plan.gpus),
        "result_key": result_key,
    }
    trainer = trainer_cls(
        _train_loop,
        train_loop_config=loop_config,
        scaling_config=ScalingConfig(
            num_workers=plan.num_workers, use_gpu=bool(plan.gpus), resources_per_worker=resources
        ),
        run_config=RunConfig(
            name=name,
            storage_path=store.arrow_path(f"jobs/{name}/ray-train"),
            storage_filesystem=store.arrow_filesystem(),
            failure_config=FailureConfig(max_failures=plan.max_retries),
        ),
    )
    import time

    fit_at = time.time()
    try:
        trainer.fit()
    except Exception as exc:  # noqa: BLE001 - re-raised with the worker's own traceback
        raise _worker_failure(exc) from None
    returned_at = time.time()
    result = store.read_json(result_key) if store.exists(result_key) else {}
    began, ended = result.pop("_loop_began_at", None), result.pop("_loop_ended_at", None)
    if began and ended:  # where Ray Train's time goes, around the worker function
        result["ray_train_seconds"] = {
            "worker_group_start": round(began - fit_at, 3),
            "worker_function": round(ended - began, 3),
            "worker_group_end": round(returned_at - ended, 3),
        }
    return result


def _train_loop(loop_config: dict) -> None:
    import time

    began = time.time()
    import ray.train

    tc = ray.train.get_context()
    ctx = WorkerContext(
        rank=tc.get_world_rank(),
        world_size=tc.get_world_size(),
        local_rank=tc.get_local_rank(),
        node_rank=tc.get_node_rank(),
        distributed=True,
        use_gpu=loop_config["gpu"],
        cpus=loop_config["cpus"],
        env=loop_config["env"],
    )
    result = loop_config["fn"](loop_config["config"], ctx) or {}
    if ctx.is_chief:  # Ray's Result keeps metrics only with a checkpoint: the store it is
        result = {**result, "_loop_began_at": began, "_loop_ended_at": time.time()}
        ctx.store().write_json(loop_config["result_key"], result)
    ray.train.report({})


def _worker_failure(exc: Exception) -> JobFailed:
    """The first worker's error as JobFailed, keeping a JobFailed's own traceback."""
    failures = getattr(exc, "worker_failures", None) or {}
    for rank in sorted(failures):
        inner = failures[rank]
        found = _find_job_failed(inner)
        if found is not None:
            return JobFailed(f"worker {rank}: {found.args[0]}", traceback=found.traceback)
        import traceback

        text = "".join(traceback.format_exception(inner))
        return JobFailed(f"worker {rank} failed: {type(inner).__name__}: {inner}", traceback=text)
    controller = getattr(exc, "controller_failure", None)
    cause = controller or exc
    return JobFailed(f"training failed: {type(cause).__name__}: {cause}")


def _find_job_failed(exc: BaseException | None) -> JobFailed | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, JobFailed):
            return exc
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]
