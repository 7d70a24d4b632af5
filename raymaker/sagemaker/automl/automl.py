"""``sagemaker.automl.automl``: ``AutoML`` and ``AutoMLInput``, SageMaker Autopilot's SDK v2 class.

    automl = rm.AutoML(role=role, target_attribute_name="churn", max_candidates=6,
                       total_job_runtime_in_seconds=300)
    automl.fit("data/churn.csv")
    automl.best_candidate()["FinalAutoMLJobObjectiveMetric"]
    predictor = automl.deploy(1, "ml.m5.large",
                              inference_response_keys=["predicted_label", "probability"])

``fit`` builds a ``kind: AutoMLJob`` spec and submits it through the job layer, the same path as
``raymaker automl create spec.yaml``.
"""

from __future__ import annotations

from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker import surface
from raymaker.sagemaker.session import UsesSession, default_session
from raymaker.sagemaker.utils import name_from_base


class AutoMLInput:
    """SageMaker's ``AutoMLInput``: the data (a URI, a local path or a list of them), its target
    column and channel; compression and content type are read from the files themselves."""

    def __init__(self, inputs, target_attribute_name: str | None = None, compression=None,
                 channel_type: str | None = None, content_type=None, s3_data_type=None,
                 sample_weight_attribute_name: str | None = None):  # fmt: skip
        self.inputs = inputs
        self.target_attribute_name = target_attribute_name
        self.channel_type = channel_type
        self.sample_weight_attribute_name = sample_weight_attribute_name


class AutoML(UsesSession):
    """Autopilot: candidates from LightGBM, XGBoost, forests, a linear model and a torch MLP,
    bagged and run as Ray Tune trials, combined by greedy ensemble selection."""

    def __init__(
        self,
        role: str | None = None,
        target_attribute_name: str | None = None,
        output_kms_key=None,
        output_path: str | None = None,
        base_job_name: str | None = None,
        compression_type=None,
        sagemaker_session=None,
        volume_kms_key=None,
        encrypt_inter_container_traffic=None,
        vpc_config=None,
        problem_type: str | None = None,
        max_candidates: int | None = None,
        max_runtime_per_training_job_in_seconds: int | None = None,
        total_job_runtime_in_seconds: int | None = None,
        job_objective: dict | str | None = None,
        generate_candidate_definitions_only: bool = False,
        tags=None,
        content_type=None,
        s3_data_type=None,
        feature_specification_s3_uri=None,
        validation_fraction: float | None = None,
        mode: str | None = None,
        auto_generate_endpoint_name=None,
        endpoint_name=None,
        sample_weight_attribute_name: str | None = None,
        *,
        algorithms: list[str] | None = None,
        folds: int | None = None,
        stack_levels: int | None = None,
        max_parallel_candidates: int | None = None,
        instance_type: str | None = None,
        random_seed: int | None = None,
        session=None,
    ):
        surface.ignored("AutoML", {
            "output_kms_key": output_kms_key, "compression_type": compression_type,
            "volume_kms_key": volume_kms_key,
            "encrypt_inter_container_traffic": encrypt_inter_container_traffic,
            "vpc_config": vpc_config, "tags": tags, "content_type": content_type,
            "s3_data_type": s3_data_type,
            "auto_generate_endpoint_name": auto_generate_endpoint_name,
            "endpoint_name": endpoint_name,
        })  # fmt: skip
        self.role = role
        self.target_attribute_name = target_attribute_name
        self.output_path = output_path
        self.base_job_name = base_job_name
        self.problem_type = problem_type
        self.max_candidates = max_candidates
        self.max_runtime_per_training_job_in_seconds = max_runtime_per_training_job_in_seconds
        self.total_job_runtime_in_seconds = total_job_runtime_in_seconds
        self.job_objective = job_objective
        self.generate_candidate_definitions_only = generate_candidate_definitions_only
        self.validation_fraction = validation_fraction
        self.mode = mode
        self.sample_weight_attribute_name = sample_weight_attribute_name
        self.feature_specification_s3_uri = feature_specification_s3_uri
        self.algorithms = algorithms
        self.folds = folds
        self.stack_levels = stack_levels
        self.max_parallel_candidates = max_parallel_candidates
        self.instance_type = instance_type
        self.random_seed = random_seed
        self.session = session or sagemaker_session
        self.current_job_name: str | None = None
        self.latest_auto_ml_job = None
        self._auto_ml_job_desc: dict | None = None

    def __repr__(self) -> str:
        return f"AutoML(target={self.target_attribute_name!r}, job={self.current_job_name!r})"

    # -- the job -----------------------------------------------------------------------------
    def auto_ml_job_spec(self, inputs=None, job_name: str | None = None):
        """The ``AutoMLJob`` spec ``fit`` would submit. Raises SpecError."""

        channels, target, weight = _channels(inputs)
        objective = self.job_objective
        if isinstance(objective, dict):
            objective = objective.get("MetricName")
        body: dict[str, Any] = {
            "kind": "AutoMLJob",
            "name": job_name or name_from_base(self.base_job_name or "automl"),
            "inputs": channels,
            "target_attribute_name": target or self.target_attribute_name,
            "problem_type": self.problem_type,
            "objective": objective,
            "mode": self.mode,
            "algorithms": self.algorithms,
            "max_candidates": self.max_candidates,
            "max_runtime_per_training_job_in_seconds": self.max_runtime_per_training_job_in_seconds,
            "total_job_runtime_in_seconds": self.total_job_runtime_in_seconds,
            "validation_fraction": self.validation_fraction,
            "sample_weight_attribute_name": weight or self.sample_weight_attribute_name,
            "feature_specification_s3_uri": self.feature_specification_s3_uri,
            "generate_candidate_definitions_only": self.generate_candidate_definitions_only,
            "folds": self.folds,
            "stack_levels": self.stack_levels,
            "max_parallel_candidates": self.max_parallel_candidates,
            "instance_type": self.instance_type,
            "output_path": self.output_path,
            "random_seed": self.random_seed,
        }
        return self._spec(body)

    def fit(self, inputs=None, wait: bool = True, logs: bool = True,
            job_name: str | None = None, *, timeout: float | None = None) -> None:  # fmt: skip
        """Run the AutoML job on ``inputs`` (a URI or local path, a list, or ``AutoMLInput``).
        With ``wait``, raises JobFailed when no candidate finished."""
        if logs and not wait:
            raise SpecError("logs can only be shown when wait is True; pass logs=False")
        spec = self.auto_ml_job_spec(inputs, job_name)
        if not hasattr(spec, "model_fields"):
            return spec  # under a PipelineSession: an AutoMLStep's arguments
        handle = self._session().jobs.submit(spec, name=spec.name)
        self.latest_auto_ml_job = handle
        self.current_job_name = spec.name
        self._auto_ml_job_desc = None
        if wait:
            handle.wait(timeout=timeout, logs=False)

    @classmethod
    def attach(cls, auto_ml_job_name: str, sagemaker_session=None, *, session=None) -> AutoML:
        """An ``AutoML`` bound to an existing AutoML job."""
        sess = session or sagemaker_session or default_session()
        handle = sess.jobs.get(auto_ml_job_name)
        record = handle.describe()
        if record.kind != "AutoMLJob":
            raise SpecError(f"{auto_ml_job_name!r} is a {record.kind}, not an AutoML job")
        spec = record.spec
        automl = cls(
            target_attribute_name=spec.get("target_attribute_name"),
            output_path=spec.get("output_path"), problem_type=spec.get("problem_type"),
            max_candidates=spec.get("max_candidates"),
            max_runtime_per_training_job_in_seconds=spec.get(
                "max_runtime_per_training_job_in_seconds"),
            total_job_runtime_in_seconds=spec.get("total_job_runtime_in_seconds"),
            job_objective={"MetricName": spec["objective"]} if spec.get("objective") else None,
            generate_candidate_definitions_only=spec.get("generate_candidate_definitions_only",
                                                         False),
            mode=spec.get("mode"), algorithms=spec.get("algorithms"), session=sess,
        )  # fmt: skip
        automl.current_job_name = auto_ml_job_name
        automl.latest_auto_ml_job = handle
        return automl

    def wait(self, timeout: float | None = None, logs: bool = False):
        return self._job().wait(timeout=timeout, logs=logs)

    def stop(self):
        """Stop the job: running candidates end, the finished ones still make the ensemble."""
        return self._job().stop()

    # -- results -------------------------------------------------------------------------------
    def describe_auto_ml_job(self, job_name: str | None = None) -> dict:
        """DescribeAutoMLJob's answer for the job (this one's by default)."""
        self._auto_ml_job_desc = self._session().describe_auto_ml_job(job_name or self._name())
        return self._auto_ml_job_desc

    def best_candidate(self, job_name: str | None = None) -> dict:
        """The best candidate (by the objective on the held-out rows). Raises SpecError when
        the job has none yet."""
        desc = self.describe_auto_ml_job(job_name)
        if "BestCandidate" not in desc:
            raise SpecError(
                f"AutoML job {desc['AutoMLJobName']} has no best candidate yet "
                f"({desc['AutoMLJobStatus']}, {desc['AutoMLJobSecondaryStatus']})"
            )
        return desc["BestCandidate"]

    def list_candidates(self, job_name: str | None = None, status_equals: str | None = None,
                        candidate_name: str | None = None, candidate_arn=None,
                        sort_order: str | None = None, sort_by: str | None = None,
                        max_results: int | None = None) -> list[dict]:  # fmt: skip
        """The job's candidates, best first by default (ListCandidatesForAutoMLJob)."""
        return self._session().list_candidates(
            job_name or self._name(), status_equals=status_equals, candidate_name=candidate_name,
            sort_order=sort_order, sort_by=sort_by, max_results=max_results,
        )["Candidates"]  # fmt: skip

    def create_model(self, name: str | None = None, sagemaker_session=None, candidate=None,
                     vpc_config=None, enable_network_isolation=False, model_kms_key=None,
                     predictor_cls=None, inference_response_keys=None):  # fmt: skip
        """A ``Model`` of ``candidate`` (a candidate dict or name; default the best) answering
        with ``inference_response_keys`` (predicted_label, probability, probabilities, labels)."""
        from raymaker.automl.serving import OUTPUT_ENV, check_response_keys
        from raymaker.sagemaker.model import Model

        desc = self.describe_auto_ml_job()
        chosen = self._candidate(candidate, desc)
        containers = chosen.get("InferenceContainers")
        if not containers:
            raise SpecError(f"candidate {chosen['CandidateName']} has no model (it did not finish)")
        problem = desc["ResolvedAttributes"]["ProblemType"]
        keys = check_response_keys(inference_response_keys, problem)
        env = {OUTPUT_ENV: ",".join(keys)} if keys else {}
        return Model(model_data=containers[0]["ModelDataUrl"], name=name, env=env,
                     predictor_cls=predictor_cls,
                     session=sagemaker_session or self._session())  # fmt: skip

    def deploy(self, initial_instance_count: int = 1, instance_type: str = "cpu.1",
               candidate=None, sagemaker_session=None, name: str | None = None,
               endpoint_name: str | None = None, tags=None, wait: bool = True,
               update_endpoint: bool = False, vpc_config=None, enable_network_isolation=False,
               model_kms_key=None, predictor_cls=None, inference_response_keys=None,
               serializer=None, deserializer=None):  # fmt: skip
        """Deploy ``candidate`` (default the best) to an endpoint; returns its Predictor."""
        model = self.create_model(name, sagemaker_session, candidate,
                                  predictor_cls=predictor_cls,
                                  inference_response_keys=inference_response_keys)  # fmt: skip
        return model.deploy(initial_instance_count, instance_type, serializer, deserializer,
                            endpoint_name or name_from_base(self._name()[:40]),
                            update_endpoint=update_endpoint, wait=wait)  # fmt: skip

    @staticmethod
    def validate_and_update_inference_response(inference_containers: list[dict],
                                               inference_response_keys) -> None:  # fmt: skip
        """Check the keys (SageMaker's four) and set them in the last container's environment,
        as SageMaker's SDK does before it builds the model."""
        from raymaker.automl.serving import OUTPUT_ENV, check_response_keys

        if not inference_response_keys:
            return
        keys = check_response_keys(inference_response_keys, "MulticlassClassification")
        inference_containers[-1].setdefault("Environment", {})[OUTPUT_ENV] = ",".join(keys)

    def _candidate(self, candidate, desc: dict) -> dict:
        if candidate is None:
            if "BestCandidate" not in desc:
                return self.best_candidate()  # raises, saying why there is none
            return desc["BestCandidate"]
        if isinstance(candidate, dict):
            return candidate
        found = self.list_candidates(candidate_name=str(candidate))
        if not found:
            names = [c["CandidateName"] for c in self.list_candidates()]
            raise SpecError(f"candidate {candidate!r} not found; candidates: {', '.join(names)}")
        return found[0]

    def _name(self) -> str:
        if self.current_job_name is None:
            raise SpecError("this AutoML has not been fit (or attached) yet")
        return self.current_job_name

    def _job(self):
        if self.latest_auto_ml_job is None:
            raise SpecError("this AutoML has not been fit (or attached) yet")
        return self.latest_auto_ml_job


def _channels(inputs) -> tuple[dict, str | None, str | None]:
    """``({"train": uri, ["validation": uri]}, target, weight)`` from SageMaker's inputs."""
    if inputs is None:
        raise SpecError("fit: inputs (the training data's URI or local path) are required")
    items = inputs if isinstance(inputs, list) else [inputs]
    channels: dict[str, str] = {}
    target = weight = None
    for item in items:
        if isinstance(item, AutoMLInput):
            channel = "validation" if item.channel_type == "validation" else "train"
            uris = item.inputs if isinstance(item.inputs, list) else [item.inputs]
            target = item.target_attribute_name or target
            weight = item.sample_weight_attribute_name or weight
        else:
            channel, uris = "train", [item]
        if channel in channels or len(uris) != 1:
            raise SpecError(
                f"fit: one data location a channel ({channel!r} got several); put the files "
                "under one prefix"
            )
        channels[channel] = uris[0] if hasattr(uris[0], "expr") else str(uris[0])
    return channels, target, weight


surface.install(AutoML, "AutoML")
