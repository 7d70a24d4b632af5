"""``sagemaker.tuner``: ``HyperparameterTuner`` (its ranges are in ``parameter``, as in SDK v2).

    tuner = rm.HyperparameterTuner(
        rm.XGBoost(label="y", hyperparameters={"num_round": 100}),
        objective_metric_name="validation:auc",
        hyperparameter_ranges={"eta": rm.ContinuousParameter(0.01, 0.3),
                               "max_depth": rm.IntegerParameter(3, 10)},
        max_jobs=20, max_parallel_jobs=2)
    tuner.fit({"train": ..., "validation": ...})
    tuner.best_training_job(); tuner.analytics().dataframe()

``fit`` builds a ``kind: TuningJob`` spec and submits it through the job layer, the same path
as ``raymaker submit tuning.yaml``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker import surface
from raymaker.sagemaker.parameter import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
)
from raymaker.sagemaker.session import UsesSession, default_session
from raymaker.sagemaker.utils import name_from_base


class WarmStartTypes(StrEnum):
    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class WarmStartConfig:
    """Start from the finished trials of up to 5 parent tuning jobs."""

    def __init__(self, warm_start_type, parents):
        self.type = WarmStartTypes(warm_start_type)
        self.parents = sorted(parents) if isinstance(parents, set) else list(parents)


class HyperbandStrategyConfig:
    """Hyperband (ASHA): every trial gets ``min_resource`` steps; the best 1/``reduction_factor``
    of each rung go on, up to ``max_resource``. ``resource`` names the step hyperparameter."""

    def __init__(self, min_resource: int = 1, max_resource: int | None = None,
                 reduction_factor: int = 3, resource: str | None = None):  # fmt: skip
        self.config = {
            "min_resource": min_resource,
            "max_resource": max_resource,
            "reduction_factor": reduction_factor,
            "resource": resource,
        }


class StrategyConfig:
    def __init__(self, hyperband_strategy_config: HyperbandStrategyConfig | None = None):
        self.hyperband_strategy_config = hyperband_strategy_config


class TuningJobCompletionCriteriaConfig:
    """Stop early: at a target objective value, or after N trials without improvement."""

    def __init__(self, max_number_training_jobs_not_improving: int | None = None,
                 complete_on_convergence: bool | None = None,
                 target_objective_metric_value: float | None = None):  # fmt: skip
        if complete_on_convergence:
            raise SpecError(
                "complete_on_convergence is not supported; use "
                "max_number_training_jobs_not_improving or target_objective_metric_value"
            )
        self.criteria = {
            "max_number_of_training_jobs_not_improving": max_number_training_jobs_not_improving,
            "target_objective_metric_value": target_objective_metric_value,
        }


class Ranges(dict):
    """The tuner's ranges by name; calling it gives them in SageMaker's API form, as the SDK's
    ``tuner.hyperparameter_ranges()`` does."""

    def __call__(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for name, value in self.items():
            r = _as_range(name, value)
            row = {"Name": name}
            if r["type"] == "Categorical":
                row["Values"] = [str(v) for v in r["values"]]
            else:
                row.update(MinValue=str(r["min_value"]), MaxValue=str(r["max_value"]),
                           ScalingType=r.get("scaling_type") or "Auto")  # fmt: skip
            out.setdefault(f"{r['type']}ParameterRanges", []).append(row)
        return out


class HyperparameterTuner(UsesSession):
    """Tune an estimator's hyperparameters: a TuningJob whose trials are training jobs."""

    def __init__(
        self,
        estimator,
        objective_metric_name: str,
        hyperparameter_ranges: dict[str, Any],
        metric_definitions: list[dict[str, str]] | None = None,
        strategy: str = "Bayesian",
        objective_type: str = "Maximize",
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime_in_seconds: int | None = None,
        tags=None,
        base_tuning_job_name: str | None = None,
        warm_start_config: WarmStartConfig | None = None,
        strategy_config: StrategyConfig | None = None,
        completion_criteria_config: TuningJobCompletionCriteriaConfig | None = None,
        early_stopping_type: str = "Off",
        estimator_name: str | None = None,
        random_seed: int | None = None,
        *,
        completion_criteria: TuningJobCompletionCriteriaConfig | dict | None = None,
        session=None,
        **kwargs: Any,
    ):
        unknown = sorted(set(kwargs) - surface.ignored_args("HyperparameterTuner"))
        if unknown:
            raise SpecError(f"HyperparameterTuner: unknown argument(s): {', '.join(unknown)}")
        surface.ignored(
            "HyperparameterTuner", {"tags": tags, "estimator_name": estimator_name, **kwargs}
        )
        self.estimator = estimator
        self.objective_metric_name = objective_metric_name
        self.hyperparameter_ranges = Ranges(hyperparameter_ranges)
        self.metric_definitions = metric_definitions
        self.strategy = strategy
        self.objective_type = objective_type
        self.max_jobs = max_jobs
        self.max_parallel_jobs = max_parallel_jobs
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.tags = dict(tags or {}) if isinstance(tags, dict) else {}
        self.base_tuning_job_name = base_tuning_job_name
        self.warm_start_config = warm_start_config
        self.strategy_config = strategy_config
        self.completion_criteria = completion_criteria or completion_criteria_config
        self.early_stopping_type = early_stopping_type
        self.random_seed = random_seed
        self.session = session or getattr(estimator, "session", None)
        self.latest_tuning_job = None

    def __repr__(self) -> str:
        return (
            f"HyperparameterTuner({self.strategy}, {self.objective_type} "
            f"{self.objective_metric_name!r}, max_jobs={self.max_jobs})"
        )

    # -- verbs -----------------------------------------------------------------------------
    def fit(
        self,
        inputs=None,
        job_name: str | None = None,
        wait: bool = True,
        logs: bool = False,
        include_cls_metadata: bool = False,
        *,
        resume: bool = False,
        timeout: float | None = None,
        **_ignored: Any,
    ) -> None:
        """Run the tuning job. With ``wait``, raises JobFailed when no trial produced the
        objective; ``resume=True`` continues an interrupted tuning job of ``job_name``
        without re-running its finished trials."""
        spec = self.tuning_job_spec(inputs, job_name)
        if not hasattr(spec, "model_fields"):
            return spec  # under a PipelineSession: a TuningStep's arguments
        handle = self._session().jobs.submit(spec, name=job_name or spec.name, resume=resume)
        self.latest_tuning_job = handle
        if wait:
            handle.wait(timeout=timeout, logs=logs)

    def tuning_job_spec(self, inputs=None, job_name: str | None = None):
        """The ``TuningJob`` spec ``fit`` would submit. Raises SpecError."""

        training = self.estimator.training_job_spec(inputs)
        template = training.model_dump(mode="json", exclude_defaults=True, by_alias=True)
        template.pop("name", None)
        fixed = template.get("hyperparameters") or {}
        for name in self.hyperparameter_ranges:  # tuned wins, as SageMaker's SDK drops it
            fixed.pop(name, None)
        if self.metric_definitions:
            template["metric_definitions"] = list(self.metric_definitions)
        body: dict[str, Any] = {
            "kind": "TuningJob",
            "name": job_name or name_from_base(self.base_tuning_job_name),
            "training": template,
            "objective": {"metric_name": self.objective_metric_name, "type": self.objective_type},
            "hyperparameter_ranges": {
                name: _as_range(name, r) for name, r in self.hyperparameter_ranges.items()
            },
            "strategy": self.strategy,
            "max_jobs": self.max_jobs,
            "max_parallel_jobs": self.max_parallel_jobs,
            "max_runtime_in_seconds": self.max_runtime_in_seconds,
            "early_stopping_type": self.early_stopping_type,
            "random_seed": self.random_seed,
            "tags": self.tags or None,
        }
        hyperband = getattr(self.strategy_config, "hyperband_strategy_config", None)
        if hyperband is not None:
            body["hyperband"] = {k: v for k, v in hyperband.config.items() if v is not None}
        if self.completion_criteria is not None:
            criteria = getattr(self.completion_criteria, "criteria", self.completion_criteria)
            body["completion_criteria"] = {k: v for k, v in dict(criteria).items() if v is not None}
        if self.warm_start_config is not None:
            body["warm_start_parents"] = self.warm_start_config.parents
            body["warm_start_type"] = self.warm_start_config.type.value
        return self._spec(body)

    @classmethod
    def attach(cls, tuning_job_name: str, sagemaker_session=None, *, session=None):
        """A tuner for an existing tuning job, with ``latest_tuning_job`` set."""
        from raymaker.sagemaker.estimator import Estimator

        sess = session or sagemaker_session or default_session()
        handle = sess.jobs.get(tuning_job_name)
        spec = handle.describe().spec
        estimator = Estimator.from_spec(spec.get("training", {}), session=sess)
        objective = spec.get("objective", {})
        tuner = cls(
            estimator,
            objective_metric_name=objective.get("metric_name"),
            hyperparameter_ranges={
                name: _from_range(r) for name, r in spec.get("hyperparameter_ranges", {}).items()
            },
            strategy=spec.get("strategy", "Bayesian"),
            objective_type=objective.get("type", "Maximize"),
            max_jobs=spec.get("max_jobs"),
            max_parallel_jobs=spec.get("max_parallel_jobs", 1),
            session=sess,
        )
        tuner.latest_tuning_job = handle
        return tuner

    def transfer_learning_tuner(self, additional_parents: set[str] | None = None,
                                estimator=None) -> HyperparameterTuner:  # fmt: skip
        """A new tuner warm-started from this tuning job (and ``additional_parents``) with
        TransferLearning, as SageMaker's: same ranges and objective, ``estimator`` or this one."""
        return self._warm_child(WarmStartTypes.TRANSFER_LEARNING, additional_parents, estimator)

    def identical_dataset_and_algorithm_tuner(
        self, additional_parents: set[str] | None = None
    ) -> HyperparameterTuner:
        """A new tuner warm-started from this tuning job with IdenticalDataAndAlgorithm."""
        return self._warm_child(WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, additional_parents)

    def _warm_child(self, kind, additional_parents, estimator=None) -> HyperparameterTuner:
        parents = {self._job().name, *(additional_parents or ())}
        return HyperparameterTuner(
            estimator or self.estimator, self.objective_metric_name, self.hyperparameter_ranges,
            metric_definitions=self.metric_definitions, strategy=self.strategy,
            objective_type=self.objective_type, max_jobs=self.max_jobs,
            max_parallel_jobs=self.max_parallel_jobs,
            max_runtime_in_seconds=self.max_runtime_in_seconds,
            base_tuning_job_name=self.base_tuning_job_name,
            warm_start_config=WarmStartConfig(kind, parents=parents),
            strategy_config=self.strategy_config, early_stopping_type=self.early_stopping_type,
            random_seed=self.random_seed, session=self.session,
        )  # fmt: skip

    def wait(self, timeout: float | None = None, *, logs: bool = False):
        """Block until the tuning job ends. Raises JobFailed, WaitTimeout."""
        return self._job().wait(timeout=timeout, logs=logs)

    def stop_tuning_job(self):
        """Stop the tuning job (running trials are stopped with it)."""
        return self._job().stop()

    def describe(self):
        """The tuning job's record."""
        return self._job().describe()

    # -- results ---------------------------------------------------------------------------
    def best_training_job(self) -> str:
        """The name of the best trial's training job. Raises SpecError before success."""
        return self._result()["best_training_job"]

    def best_estimator(self):
        """An estimator attached to the best trial (its ``model_data`` is the best model)."""
        from raymaker.sagemaker.estimator import Estimator

        return Estimator.attach(self.best_training_job(), session=self._session())

    def analytics(self) -> HyperparameterTuningJobAnalytics:
        return HyperparameterTuningJobAnalytics(self._job().name, session=self._session())

    def deploy(self, *args, **kwargs):
        """Deploy the best trial's model (``best_estimator().deploy(...)``)."""
        return self.best_estimator().deploy(*args, **kwargs)

    def delete_endpoint(self, endpoint_name: str | None = None) -> None:
        """Delete ``endpoint_name``, by default the best training job's (what ``deploy`` named
        it when no name was given), as SageMaker's SDK does."""
        self._session().endpoints.delete(endpoint_name or self.best_training_job())

    def _job(self):
        if self.latest_tuning_job is None:
            raise SpecError("this tuner has not been fit (or attached) yet")
        return self.latest_tuning_job

    def _result(self) -> dict:
        record = self._job().describe()
        if record.status.value != "SUCCEEDED":
            reason = f": {record.failure_reason}" if record.failure_reason else ""
            raise SpecError(f"tuning job {record.name} is {record.status.value}{reason}")
        return record.result


class HyperparameterTuningJobAnalytics:
    """A tuning job's trials as a pandas DataFrame (SageMaker's column names)."""

    def __init__(self, hyperparameter_tuning_job_name: str, sagemaker_session=None, *,
                 session=None):  # fmt: skip
        self.name = hyperparameter_tuning_job_name
        self.session = session or sagemaker_session or default_session()

    def leaderboard(self) -> dict:
        """``{"objective": ..., "trials": [...]}``, best first."""
        return self.session.tuning_leaderboard(self.name)

    def dataframe(self, force_refresh: bool = False):
        import pandas as pd

        board = self.leaderboard()
        rows = []
        for t in board["trials"]:
            rows.append(
                {
                    **t["hyperparameters"],
                    "TrainingJobName": t["training_job"],
                    "TrainingJobStatus": _sagemaker_status(t["status"]),
                    "FinalObjectiveValue": t["objective"],
                    "TrainingStartTime": _time(t["started_at"]),
                    "TrainingEndTime": _time(t["ended_at"]),
                    "TrainingElapsedTimeSeconds": t["seconds"],
                    "TrialNumber": t["number"],
                    "Steps": t["steps"],
                }
            )
        return pd.DataFrame(rows)


def _sagemaker_status(status: str) -> str:
    return {"SUCCEEDED": "Completed", "FAILED": "Failed", "STOPPED": "Stopped"}.get(
        status, "InProgress"
    )


def _time(seconds: float | None):
    import pandas as pd

    return None if seconds is None else pd.Timestamp(seconds, unit="s", tz="UTC")


def _as_range(name: str, value) -> dict:
    if isinstance(value, dict):
        return value
    as_range = getattr(value, "as_range", None)
    if as_range is None:
        raise SpecError(
            f"hyperparameter_ranges.{name}: expected ContinuousParameter, IntegerParameter or "
            f"CategoricalParameter, got {value!r}"
        )
    return as_range()


def _from_range(r: dict):
    if r.get("type") == "Categorical":
        return CategoricalParameter(r["values"])
    cls = ContinuousParameter if r.get("type") == "Continuous" else IntegerParameter
    return cls(r.get("min_value"), r.get("max_value"), r.get("scaling_type", "Auto"))


__all__ = [
    "CategoricalParameter",
    "ContinuousParameter",
    "HyperbandStrategyConfig",
    "HyperparameterTuner",
    "HyperparameterTuningJobAnalytics",
    "IntegerParameter",
    "StrategyConfig",
    "TuningJobCompletionCriteriaConfig",
    "WarmStartConfig",
    "WarmStartTypes",
]


surface.install(HyperparameterTuner, "HyperparameterTuner")
