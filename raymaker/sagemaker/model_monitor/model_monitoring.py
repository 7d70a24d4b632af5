"""``sagemaker.model_monitor.model_monitoring``: ``DefaultModelMonitor`` (data quality).

As in the SDK v2: ``suggest_baseline`` runs a baselining job, ``create_monitoring_schedule``
schedules executions over an endpoint's capture (or a batch transform's input), and the
schedule's executions, statistics and violations are read back as objects. AWS-only
arguments (role, instance types, volumes, KMS, network) are accepted and not needed.
raymaker adds ``features``/``prediction`` (column roles), ``overrides`` (per-feature
thresholds and drift methods) and ``run_now()``.
"""

from __future__ import annotations

from raymaker.sagemaker.model_monitor.dataset_format import dataset_spec
from raymaker.sagemaker.model_monitor.monitoring_files import (
    Constraints,
    ConstraintViolations,
    Statistics,
)
from raymaker.sagemaker.session import UsesSession


class EndpointInput:
    """Which endpoint's captured traffic a schedule reads."""

    def __init__(self, endpoint_name: str, destination: str = "/opt/ml/processing/input",
                 inference_attribute: str | None = None, probability_attribute: str | None = None,
                 probability_threshold_attribute: float | None = None, **_ignored):  # fmt: skip
        self.endpoint_name = endpoint_name
        self.destination = destination
        self.inference_attribute = inference_attribute
        self.probability_attribute = probability_attribute
        self.probability_threshold_attribute = probability_threshold_attribute


class BatchTransformInput:
    """A batch transform's input (``data_captured_destination_s3_uri``) to monitor."""

    def __init__(self, data_captured_destination_s3_uri: str, destination: str = "",
                 dataset_format: dict | None = None, inference_attribute: str | None = None,
                 probability_attribute: str | None = None,
                 probability_threshold_attribute: float | None = None, **_ignored):  # fmt: skip
        self.data_captured_destination_s3_uri = data_captured_destination_s3_uri
        self.destination = destination
        self.dataset_format = dataset_format
        self.inference_attribute = inference_attribute
        self.probability_attribute = probability_attribute
        self.probability_threshold_attribute = probability_threshold_attribute


class BaseliningJob:
    """The baselining job ``suggest_baseline`` ran: its statistics and constraints."""

    def __init__(self, handle, session):
        self.handle = handle
        self.job_name = handle.job_name
        self._session = session

    def wait(self, logs: bool = False):
        return self.handle.wait(logs=logs)

    def describe(self) -> dict:
        return self.handle.describe().model_dump(mode="json")

    def baseline_statistics(self) -> Statistics:
        return Statistics.from_s3_uri(self.handle.result()["statistics"],
                                      sagemaker_session=self._session)  # fmt: skip

    def suggested_constraints(self) -> Constraints:
        return Constraints.from_s3_uri(self.handle.result()["constraints"],
                                       sagemaker_session=self._session)  # fmt: skip


class MonitoringExecution:
    """One execution of a schedule (its summary, and its files)."""

    def __init__(self, summary: dict, session):
        self.summary = summary
        self.job_name = summary["ProcessingJobName"]
        self._session = session

    def describe(self) -> dict:
        return dict(self.summary)

    def wait(self, timeout: float | None = None):
        return self._session.jobs.get(self.job_name).wait(timeout=timeout)

    def statistics(self) -> Statistics | None:
        uri = self.summary.get("Statistics")
        return Statistics.from_s3_uri(uri, sagemaker_session=self._session) if uri else None

    def constraint_violations(self) -> ConstraintViolations | None:
        uri = self.summary.get("ConstraintViolations")
        if not uri:
            return None
        return ConstraintViolations.from_s3_uri(uri, sagemaker_session=self._session)

    def __repr__(self) -> str:
        status = self.summary.get("MonitoringExecutionStatus")
        return f"MonitoringExecution({self.job_name!r}, {status})"


class ModelMonitor(UsesSession):
    """The verbs every monitor shares: a schedule's life and its executions."""

    monitor_type = "DataQuality"

    def __init__(self, role=None, instance_count: int = 1, instance_type: str = "ml.m5.xlarge",
                 volume_size_in_gb: int = 30, volume_kms_key=None, output_kms_key=None,
                 max_runtime_in_seconds=None, base_job_name: str | None = None,
                 sagemaker_session=None, env=None, tags=None, network_config=None, *,
                 session=None, **_ignored):  # fmt: skip
        self.role = role
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.base_job_name = base_job_name
        self.session = sagemaker_session or session
        self.env = env
        self.tags = tags
        self.latest_baselining_job: BaseliningJob | None = None
        self.monitoring_schedule_name: str | None = None
        self.last_spec: dict | None = None

    # baselines ------------------------------------------------------------------------
    def suggest_baseline(self, baseline_dataset: str, dataset_format: dict | None = None,
                         record_preprocessor_script=None, post_analytics_processor_script=None,
                         output_s3_uri: str | None = None, wait: bool = True, logs: bool = True,
                         job_name: str | None = None, **quality) -> BaseliningJob:  # fmt: skip
        """Run a baselining job over ``baseline_dataset``: statistics.json and suggested
        constraints.json. Raises SpecError (before submitting), JobFailed with ``wait``."""
        _unsupported(record_preprocessor_script=record_preprocessor_script,
                     post_analytics_processor_script=post_analytics_processor_script)  # fmt: skip
        spec = {
            "kind": "BaselineJob",
            "monitor_type": self.monitor_type,
            "dataset": dataset_spec(baseline_dataset, dataset_format),
        }
        spec.update({k: v for k, v in quality.items() if v is not None})
        if output_s3_uri:
            spec["output_uri"] = output_s3_uri
        if job_name or self.base_job_name:
            spec["name"] = job_name or generated_name(self.base_job_name)
        handle = self._session().jobs.submit(spec, wait=wait, logs=logs)
        self.latest_baselining_job = BaseliningJob(handle, self._session())
        return self.latest_baselining_job

    def baseline_statistics(self) -> Statistics:
        return self._baselining().baseline_statistics()

    def suggested_constraints(self) -> Constraints:
        return self._baselining().suggested_constraints()

    def _baselining(self) -> BaseliningJob:
        if self.latest_baselining_job is None:
            raise ValueError("no baselining job yet: call suggest_baseline() first")
        return self.latest_baselining_job

    # schedules ------------------------------------------------------------------------
    def create_monitoring_schedule(self, endpoint_input=None, record_preprocessor_script=None,
                                   post_analytics_processor_script=None,
                                   output_s3_uri: str | None = None, constraints=None,
                                   statistics=None, monitor_schedule_name: str | None = None,
                                   schedule_cron_expression: str | None = None,
                                   enable_cloudwatch_metrics: bool = True,
                                   batch_transform_input=None,
                                   data_analysis_start_time: str | None = None,
                                   data_analysis_end_time: str | None = None, *,
                                   features: list[str] | None = None,
                                   prediction: str | None = None,
                                   overrides: dict | None = None,
                                   webhook: str | None = None, **quality) -> None:  # fmt: skip
        """Create a schedule (an apply job that starts the scheduler on the head). The
        baseline defaults to the latest ``suggest_baseline``'s. Raises SpecError naming the
        field, before anything is submitted."""
        _unsupported(record_preprocessor_script=record_preprocessor_script,
                     post_analytics_processor_script=post_analytics_processor_script)  # fmt: skip
        spec = self._schedule_spec(
            monitor_schedule_name or generated_name(self.base_job_name or "monitoring-schedule"),
            endpoint_input, batch_transform_input, output_s3_uri, constraints, statistics,
            schedule_cron_expression, data_analysis_start_time, data_analysis_end_time,
            features, prediction, overrides, webhook,
        )  # fmt: skip
        spec.update(quality_fields(endpoint_input, batch_transform_input, quality))
        self._session().monitors.apply(spec)
        self.monitoring_schedule_name = spec["name"]
        self.last_spec = spec

    def update_monitoring_schedule(self, endpoint_input=None, output_s3_uri=None,
                                   constraints=None, statistics=None,
                                   schedule_cron_expression=None, batch_transform_input=None,
                                   data_analysis_start_time=None, data_analysis_end_time=None,
                                   *, features=None, prediction=None, overrides=None,
                                   webhook=None, **_ignored) -> None:  # fmt: skip
        """Change the schedule's settings (what is not given stays as it was)."""
        name = self._name()
        current = dict(self._session().monitors.describe(name)["Spec"])
        changes = {
            "endpoint": getattr(endpoint_input, "endpoint_name", endpoint_input),
            "output_uri": output_s3_uri,
            "baseline_constraints": file_uri(constraints),
            "baseline_statistics": file_uri(statistics),
            "schedule_cron_expression": schedule_cron_expression,
            "data_analysis_start_time": data_analysis_start_time,
            "data_analysis_end_time": data_analysis_end_time,
            "features": features,
            "prediction": prediction,
            "overrides": overrides,
            "webhook": webhook,
        }
        if batch_transform_input is not None:
            changes["batch_transform_input"] = batch_input(batch_transform_input)
            current.pop("endpoint", None)
        if changes["endpoint"] is not None:
            current.pop("batch_transform_input", None)
        current.update({k: v for k, v in changes.items() if v is not None})
        self._session().monitors.apply(current)
        self.last_spec = current

    def describe_schedule(self) -> dict:
        return self._session().monitors.describe(self._name())

    def start_monitoring_schedule(self) -> None:
        self._session().monitors.start(self._name())

    def stop_monitoring_schedule(self) -> None:
        self._session().monitors.stop(self._name())

    def delete_monitoring_schedule(self) -> None:
        self._session().monitors.delete(self._name())
        self.monitoring_schedule_name = None

    def run_now(self, wait: bool = True) -> MonitoringExecution:
        """raymaker: one execution now, over the window ending now."""
        handle = self._session().monitors.run(self._name(), wait=wait)
        return self._execution(handle.job_name)

    def list_executions(self) -> list[MonitoringExecution]:
        """The schedule's executions, oldest first."""
        sess = self._session()
        return [MonitoringExecution(s, sess) for s in sess.monitors.executions(self._name())]

    def latest_monitoring_statistics(self) -> Statistics | None:
        done = [e for e in self.list_executions() if e.summary.get("Statistics")]
        return done[-1].statistics() if done else None

    def latest_monitoring_constraint_violations(self) -> ConstraintViolations | None:
        done = [e for e in self.list_executions() if e.summary.get("ConstraintViolations")]
        return done[-1].constraint_violations() if done else None

    @classmethod
    def attach(cls, monitor_schedule_name: str, sagemaker_session=None):
        """The monitor of an existing schedule. Raises NotFound."""
        monitor = cls(sagemaker_session=sagemaker_session)
        monitor._session().monitors.describe(monitor_schedule_name)
        monitor.monitoring_schedule_name = monitor_schedule_name
        return monitor

    def _execution(self, job_name: str) -> MonitoringExecution:
        sess = self._session()
        for summary in sess.monitors.executions(self._name()):
            if summary["ProcessingJobName"] == job_name:
                return MonitoringExecution(summary, sess)
        from raymaker.errors import NotFound

        raise NotFound(f"execution {job_name!r} is not in schedule {self._name()!r}")

    def _name(self) -> str:
        if not self.monitoring_schedule_name:
            raise ValueError("no monitoring schedule yet: call create_monitoring_schedule()")
        return self.monitoring_schedule_name

    def _schedule_spec(self, name, endpoint_input, batch_transform_input, output_s3_uri,
                       constraints, statistics, cron, start, end, features, prediction,
                       overrides, webhook) -> dict:  # fmt: skip
        spec: dict = {"kind": "MonitoringSchedule", "name": name,
                      "monitor_type": self.monitor_type}  # fmt: skip
        if batch_transform_input is not None:
            spec["batch_transform_input"] = batch_input(batch_transform_input)
        elif endpoint_input is not None:
            spec["endpoint"] = getattr(endpoint_input, "endpoint_name", endpoint_input)
        baseline = self.latest_baselining_job
        stats = file_uri(statistics) or (baseline and baseline.handle.result()["statistics"])
        rules = file_uri(constraints) or (baseline and baseline.handle.result()["constraints"])
        optional = {
            "baseline_statistics": stats,
            "baseline_constraints": rules,
            "output_uri": output_s3_uri,
            "schedule_cron_expression": cron,
            "data_analysis_start_time": start,
            "data_analysis_end_time": end,
            "features": features,
            "prediction": prediction,
            "overrides": overrides,
            "webhook": webhook,
        }
        spec.update({k: v for k, v in optional.items() if v})
        return spec


class DefaultModelMonitor(ModelMonitor):
    """Data quality: statistics, constraints and drift of the requests' features."""

    monitor_type = "DataQuality"


class ModelQualityMonitor(ModelMonitor):
    """Model quality: predictions merged with ground truth, SageMaker's metrics against the
    baseline's. ``suggest_baseline`` and ``create_monitoring_schedule`` take
    ``problem_type``; the baseline also ``inference_attribute``, ``probability_attribute``
    and ``ground_truth_attribute``; the schedule ``ground_truth_input`` (where the labels
    are uploaded) and the answer's attributes on ``endpoint_input``."""

    monitor_type = "ModelQuality"

    def suggest_baseline(self, baseline_dataset: str, dataset_format: dict | None = None,
                         output_s3_uri: str | None = None, problem_type: str | None = None,
                         inference_attribute: str | None = None,
                         probability_attribute: str | None = None,
                         ground_truth_attribute: str | None = None,
                         probability_threshold_attribute: float | None = None,
                         post_analytics_processor_script=None, wait: bool = True,
                         logs: bool = True, job_name: str | None = None):  # fmt: skip
        return super().suggest_baseline(
            baseline_dataset, dataset_format, None, post_analytics_processor_script,
            output_s3_uri, wait, logs, job_name, problem_type=problem_type,
            inference_attribute=inference_attribute, probability_attribute=probability_attribute,
            ground_truth_attribute=ground_truth_attribute,
            probability_threshold_attribute=probability_threshold_attribute,
        )  # fmt: skip


def quality_fields(endpoint_input, batch_transform_input, given: dict) -> dict:
    """The schedule's model quality fields from the SDK's arguments and inputs' attributes."""
    out = {}
    if given.get("problem_type"):
        out["problem_type"] = given["problem_type"]
    if given.get("ground_truth_input"):
        out["ground_truth_uri"] = given["ground_truth_input"]
    source = batch_transform_input if batch_transform_input is not None else endpoint_input
    for key in ("inference_attribute", "probability_attribute",
                "probability_threshold_attribute", "ground_truth_attribute"):  # fmt: skip
        value = given.get(key, getattr(source, key, None))
        if value is not None:
            out[key] = value
    unknown = set(given) - {"problem_type", "ground_truth_input", "inference_attribute",
                            "probability_attribute", "probability_threshold_attribute",
                            "ground_truth_attribute"}  # fmt: skip
    if unknown:
        raise TypeError(f"create_monitoring_schedule() got unexpected arguments: "
                        f"{', '.join(sorted(unknown))}")  # fmt: skip
    return out


def file_uri(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "file_s3_uri", None)


def batch_input(value) -> dict:
    if isinstance(value, str):
        return {"uri": value}
    return dataset_spec(value.data_captured_destination_s3_uri, value.dataset_format)


def generated_name(base: str | None) -> str:
    from raymaker.jobs.records import generate_name

    return generate_name(base or "baseline")


def _unsupported(**args) -> None:
    from raymaker.errors import SpecError

    given = [k for k, v in args.items() if v is not None]
    if given:
        raise SpecError(
            f"{', '.join(given)}: not supported yet (Model Monitor's preprocessor and "
            "postprocessor scripts); the monitor reads captured CSV and JSON as they are"
        )
