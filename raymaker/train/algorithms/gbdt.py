"""XGBoost and LightGBM built-ins: classification and regression, data-parallel on Ray Train.

Each worker reads its own shard and builds the engine's matrix; the engines' own collectives
(XGBoost's Rabit tracker, LightGBM's socket network) do the data-parallel training. LightGBM's
network is set up by Ray Train's LightGBM backend; XGBoost's by the worker function itself
(rank 0 starts xgboost's tracker and broadcasts its address with Ray Train's collective), so
Ray Train's controller never imports xgboost (~1.5 s on 2 cores) and workers do not import Ray
Train's XGBoost module (Ray Tune and Ray Data with it). Nothing reports per round through Ray:
metrics go to the job's series and checkpoints to the store from a callback, at most every
``checkpoint_interval_s`` seconds, which is what keeps training within a few percent of native.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import nullcontext
from typing import Any, Literal

from pydantic import Field

from raymaker.errors import SpecError
from raymaker.train.algorithms.base import Algorithm, Hyperparameters
from raymaker.train.tabular import TabularData

CLASS_LIMIT = 1000  # more distinct label values than this is a regression


class XGBoostHyperparameters(Hyperparameters):
    """SageMaker's XGBoost hyperparameter names (``num_round``, ``eta``, ...)."""

    num_round: int = Field(100, ge=1, description="Boosting rounds.")
    objective: str | None = Field(
        None, description="XGBoost objective; default from the label (binary/multi/regression)."
    )
    eta: float = Field(0.3, gt=0, le=1, description="Learning rate.")
    max_depth: int = Field(6, ge=0)
    min_child_weight: float = Field(1.0, ge=0)
    subsample: float = Field(1.0, gt=0, le=1)
    colsample_bytree: float = Field(1.0, gt=0, le=1)
    colsample_bylevel: float = Field(1.0, gt=0, le=1)
    gamma: float = Field(0.0, ge=0)
    lambda_: float = Field(1.0, ge=0, alias="lambda")
    alpha: float = Field(0.0, ge=0)
    tree_method: Literal["auto", "hist", "approx", "exact"] = "hist"
    max_bin: int = Field(256, ge=2)
    scale_pos_weight: float = Field(1.0, gt=0)
    num_class: int | None = Field(None, ge=2)
    eval_metric: str | list[str] | None = None
    early_stopping_rounds: int | None = Field(None, ge=1)
    seed: int = 0


class LightGBMHyperparameters(Hyperparameters):
    """SageMaker's LightGBM hyperparameter names (``num_boost_round``, ``learning_rate``, ...)."""

    num_boost_round: int = Field(100, ge=1)
    objective: str | None = Field(
        None, description="LightGBM objective; default from the label (binary/multiclass/...)."
    )
    learning_rate: float = Field(0.1, gt=0, le=1)
    num_leaves: int = Field(31, ge=2)
    max_depth: int = Field(-1)
    min_data_in_leaf: int = Field(20, ge=0)
    feature_fraction: float = Field(1.0, gt=0, le=1)
    bagging_fraction: float = Field(1.0, gt=0, le=1)
    bagging_freq: int = Field(0, ge=0)
    lambda_l1: float = Field(0.0, ge=0)
    lambda_l2: float = Field(0.0, ge=0)
    max_bin: int = Field(255, ge=2)
    num_class: int | None = Field(None, ge=2)
    metric: str | None = None
    early_stopping_rounds: int | None = Field(None, ge=1)
    seed: int = 0


def decide_task(data: TabularData, objective: str | None, num_class: int | None, family: dict):
    """Set ``data.classes`` and return ``(task, objective)``; task: binary/multiclass/regression.

    ``family`` maps task -> the engine's default objective; an objective the user gives wins.
    """
    numeric = data.label_type.startswith(("int", "uint", "float", "double", "bool"))
    if objective:
        task = _task_of(objective)
        if task == "binary" and numeric:
            data.classes = [False, True] if data.label_type == "bool" else [0, 1]
        elif task == "multiclass" and numeric and num_class:
            data.classes = list(range(num_class))
        elif task != "regression":
            data.classes = data.label_values()
        return task, objective
    values = data.label_values()
    if not numeric:
        task = "binary" if len(values) == 2 else "multiclass"
        if len(values) > CLASS_LIMIT or len(values) < 2:
            raise SpecError(
                f"label {data.label!r} has {len(values)} distinct values: not a classification "
                "target; give objective explicitly"
            )
    elif set(values) <= {0, 1} and len(values) == 2:
        task = "binary"
    else:
        task = "regression"
    if task != "regression":
        data.classes = values
    return task, family[task]


def _task_of(objective: str) -> str:
    if objective.startswith("binary") or objective in ("cross_entropy", "xentropy"):
        return "binary"
    if objective.startswith(("multi", "softmax")) or objective in ("multiclass", "multiclassova"):
        return "multiclass"
    return "regression"


class _GBDT(Algorithm):
    objectives: dict[str, str]

    def common(self, spec, hps, data: TabularData) -> dict[str, Any]:
        task, objective = decide_task(data, hps.objective, hps.num_class, self.objectives)
        if task == "multiclass" and hps.num_class and hps.num_class != len(data.classes):
            raise SpecError(
                f"hyperparameters: num_class ({hps.num_class}) does not match the "
                f"{len(data.classes)} classes of label {data.label!r}"
            )
        if hps.early_stopping_rounds and "validation" not in data.sources:
            raise SpecError("hyperparameters: early_stopping_rounds needs a 'validation' channel")
        return {"task": task, "objective": objective, "data": data}


class XGBoostAlgorithm(_GBDT):
    name = "xgboost"
    resource = "num_round"
    framework = "xgboost"
    backend = None  # the worker function joins XGBoost's tracker itself (_xgboost_collective)
    hyperparameters = XGBoostHyperparameters
    objectives = {
        "binary": "binary:logistic",
        "multiclass": "multi:softprob",
        "regression": "reg:squarederror",
    }
    worker = "raymaker.train.algorithms.gbdt:train_xgboost"

    def prepare(self, spec, hps: XGBoostHyperparameters, data: TabularData) -> dict:
        config = self.common(spec, hps, data)
        params = hps.model_dump(
            by_alias=True,
            exclude={"num_round", "early_stopping_rounds", "objective", "num_class"},
            exclude_none=True,
        )
        params["objective"] = config["objective"]
        if config["task"] == "multiclass":
            params["num_class"] = len(data.classes)
        config.update(
            params=params,
            rounds=hps.num_round,
            early_stopping_rounds=hps.early_stopping_rounds,
        )
        return config


class LightGBMAlgorithm(_GBDT):
    name = "lightgbm"
    resource = "num_boost_round"
    framework = "lightgbm"
    backend = "lightgbm"
    hyperparameters = LightGBMHyperparameters
    objectives = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
    worker = "raymaker.train.algorithms.gbdt:train_lightgbm"

    def prepare(self, spec, hps: LightGBMHyperparameters, data: TabularData) -> dict:
        config = self.common(spec, hps, data)
        params = hps.model_dump(
            exclude={"num_boost_round", "early_stopping_rounds", "objective", "num_class"},
            exclude_none=True,
        )
        params.update(objective=config["objective"], verbosity=-1)
        if config["task"] == "multiclass":
            params["num_class"] = len(data.classes)
        config.update(
            params=params,
            rounds=hps.num_boost_round,
            early_stopping_rounds=hps.early_stopping_rounds,
        )
        return config


class _Progress:
    """Rank 0's per-round bookkeeping: metrics to the series, checkpoints to the store."""

    def __init__(self, config: dict, ctx, save):
        from raymaker.train.checkpoints import Checkpoints
        from raymaker.train.metrics import MetricsLog

        self.chief = ctx.is_chief
        self.interval = config["checkpoint_interval_s"]
        self.save_fn = save
        self.last_saved = time.monotonic()
        self.rounds = config["rounds"]
        if self.chief:
            store = ctx.store()
            self.metrics = MetricsLog(store, config["metrics_key"])
            self.checkpoints = Checkpoints(store, config["checkpoint_key"])
        self.printed = time.monotonic()

    def after_round(self, done: int, values: dict[str, float], model) -> None:
        if not self.chief:
            return
        for name, value in values.items():
            self.metrics.add(name, value, step=done)
        now = time.monotonic()
        if now - self.printed > 5 or done == self.rounds:
            shown = " ".join(f"{k}={v:.6g}" for k, v in values.items())
            print(f"[{done}/{self.rounds}] {shown}", flush=True)
            self.printed = now
        if self.interval is not None and now - self.last_saved >= self.interval:
            self.save(done, model, values)

    def save(self, done: int, model, values: dict) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            self.save_fn(model, tmp)
            self.checkpoints.save(done, tmp, values)
        self.last_saved = time.monotonic()

    def close(self) -> None:
        if self.chief:
            self.metrics.save()


def _restore_from(ctx, config: dict, load):
    from raymaker.train.checkpoints import Checkpoints

    checkpoints = Checkpoints(ctx.store(), config["checkpoint_key"])
    with tempfile.TemporaryDirectory() as tmp:
        entry = checkpoints.restore(tmp)
        if entry is None:
            return None, 0
        print(f"resuming from checkpoint at round {entry['step']}", flush=True)
        return load(tmp), int(entry["step"])


def _upload_model(ctx, config: dict, write) -> None:
    """Rank 0 writes the model files and uploads them to the job's staging prefix."""
    if not ctx.is_chief:
        return
    with tempfile.TemporaryDirectory() as tmp:
        write(tmp)
        ctx.store().put_dir(tmp, config["model_staging"])


def train_xgboost(config: dict, ctx) -> dict:
    """Worker function: XGBoost on this worker's shard (collective when distributed)."""
    from raymaker.train.channels import Shard
    from raymaker.train.tabular import load_xy

    data: TabularData = config["data"]
    shard = Shard(ctx.rank, ctx.world_size)
    loading = _Prefetch(load_xy, data, "train", shard)  # Arrow reads while XGBoost is imported
    import xgboost  # noqa: F401 - loaded now, while the shard is read

    with _xgboost_collective(ctx):
        return _train_xgboost(config, ctx, data, shard, loading)


class _Prefetch:
    """``fn(*args)`` on a thread now; ``take()`` waits, re-raises its error or hands the value
    over (keeping no reference, so the caller can free it)."""

    def __init__(self, fn, *args):
        import threading

        self._box: dict = {}
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn, args):
        try:
            self._box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised by take()
            self._box["error"] = exc

    def take(self):
        self._thread.join()
        if "error" in self._box:
            raise self._box.pop("error")
        return self._box.pop("value")


def _xgboost_collective(ctx):
    """XGBoost's communicator for a distributed run: rank 0 starts xgboost's tracker and every
    rank joins it (what Ray's XGBoost backend does from Ray Train's controller)."""
    if not (ctx.distributed and ctx.world_size > 1):
        return nullcontext()
    import threading

    import ray
    import ray.train.collective
    from xgboost.collective import CommunicatorContext

    args = None
    if ctx.is_chief:
        from xgboost.tracker import RabitTracker

        tracker = RabitTracker(
            n_workers=ctx.world_size, host_ip=ray.util.get_node_ip_address(), sortby="task"
        )
        tracker.start()
        threading.Thread(target=tracker.wait_for, daemon=True).start()
        args = {"n_workers": ctx.world_size, **tracker.worker_args()}
    args = ray.train.collective.broadcast_from_rank_zero(args)
    # ranks are sorted by task id: XGBoost's rank is Ray Train's
    return CommunicatorContext(**args, dmlc_task_id=f"[xgboost.ray-rank={ctx.rank:08}]")


def _train_xgboost(config, ctx, data, shard, loading: _Prefetch) -> dict:
    import xgboost as xgb

    from raymaker.train.tabular import load_xy

    nthread = max(1, int(ctx.cpus))
    X, y = loading.take()
    dtrain = xgb.QuantileDMatrix(X, label=y, nthread=nthread, max_bin=config["params"]["max_bin"])
    evals = [(dtrain, "train")]
    if "validation" in data.sources:
        Xv, yv = load_xy(data, "validation", shard)
        evals.append((xgb.QuantileDMatrix(Xv, label=yv, ref=dtrain, nthread=nthread), "validation"))
    del X

    def save(model, folder):
        model.save_model(os.path.join(folder, "model.ubj"))

    def load(folder):
        return xgb.Booster(model_file=os.path.join(folder, "model.ubj"))

    progress = _Progress(config, ctx, save)
    booster, done = _restore_from(ctx, config, load)
    rounds = config["rounds"]

    class Callback(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            values = {
                f"{data_name}-{metric}": float(series[-1])
                for data_name, metrics in evals_log.items()
                for metric, series in metrics.items()
            }
            progress.after_round(model.num_boosted_rounds(), values, model)
            return False

    params = {**config["params"], "nthread": nthread}
    started = time.perf_counter()
    model = booster
    if rounds - done > 0:
        model = xgb.train(
            params,
            dtrain,
            num_boost_round=rounds - done,
            evals=evals,
            xgb_model=booster,
            callbacks=[Callback()],
            early_stopping_rounds=config["early_stopping_rounds"],
            verbose_eval=False,
        )
    train_s = time.perf_counter() - started
    progress.close()
    _upload_model(ctx, config, lambda folder: save(model, folder))
    result = {
        "rounds": model.num_boosted_rounds(),
        "resumed_from_round": done,
        "train_seconds": round(train_s, 3),
        "collective_workers": xgb.collective.get_world_size(),  # XGBoost's own count
    }
    if config["early_stopping_rounds"]:
        result["best_iteration"] = int(getattr(model, "best_iteration", -1))
    return result


def train_lightgbm(config: dict, ctx) -> dict:
    """Worker function: LightGBM on this worker's shard (data-parallel when distributed)."""
    import lightgbm as lgb

    from raymaker.train.channels import Shard
    from raymaker.train.tabular import load_xy

    data: TabularData = config["data"]
    shard = Shard(ctx.rank, ctx.world_size)
    params = {**config["params"], "num_threads": max(1, int(ctx.cpus))}
    if ctx.distributed and ctx.world_size > 1:
        from ray.train.lightgbm import get_network_params

        params.update(get_network_params(), tree_learner="data_parallel")
    X, y = load_xy(data, "train", shard)
    dtrain = lgb.Dataset(X, label=y, params={"max_bin": params["max_bin"]}, free_raw_data=False)
    valid_sets, valid_names = [dtrain], ["train"]
    if "validation" in data.sources:
        Xv, yv = load_xy(data, "validation", shard)
        valid_sets.append(lgb.Dataset(Xv, label=yv, reference=dtrain))
        valid_names.append("validation")

    def save(model, folder):
        model.save_model(os.path.join(folder, "model.txt"))

    def load(folder):
        return lgb.Booster(model_file=os.path.join(folder, "model.txt"))

    progress = _Progress(config, ctx, save)
    booster, done = _restore_from(ctx, config, load)
    rounds = config["rounds"]

    def callback(env):
        values = {f"{d}-{m}": float(v) for d, m, v, *_ in env.evaluation_result_list}
        progress.after_round(env.iteration + 1, values, env.model)

    callbacks = [callback]
    if config["early_stopping_rounds"]:
        callbacks.append(lgb.early_stopping(config["early_stopping_rounds"], verbose=False))
    started = time.perf_counter()
    model = booster
    if rounds - done > 0:
        model = lgb.train(
            params,
            dtrain,
            num_boost_round=rounds - done,
            valid_sets=valid_sets,
            valid_names=valid_names,
            init_model=booster,
            callbacks=callbacks,
        )
    train_s = time.perf_counter() - started
    progress.close()
    _upload_model(ctx, config, lambda folder: save(model, folder))
    return {
        "rounds": model.current_iteration(),
        "resumed_from_round": done,
        "train_seconds": round(train_s, 3),
    }
