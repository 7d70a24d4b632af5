"""SageMaker SDK v2's ``Transformer``: a batch transform job over a model.

    transformer = estimator.transformer(instance_count=2, output_path="s3://bucket/scores/")
    transformer.transform("s3://bucket/batch/", content_type="text/csv", split_type="Line")
    transformer.output_path   # where the .out files are

``transform`` builds a ``TransformJob`` spec and submits it through the job layer, the path
``raymaker submit transform.yaml`` takes. As in SageMaker's SDK, arguments left as None mean
SageMaker's defaults: ``split_type=None`` makes every file one record, ``assemble_with=None``
concatenates a custom handler's answers.
"""

from __future__ import annotations

from typing import Any

from raymaker.errors import SpecError
from raymaker.sagemaker import surface
from raymaker.sagemaker.session import UsesSession, default_session
from raymaker.sagemaker.utils import name_from_base


class Transformer(UsesSession):
    """Batch predictions of one model (``model_data``, and a handler ``entry_point`` if any)."""

    def __init__(
        self,
        model_name: str | None = None,
        instance_count: int = 1,
        instance_type: str = "cpu.1",
        strategy: str | None = None,
        assemble_with: str | None = None,
        output_path: str | None = None,
        output_kms_key: str | None = None,
        accept: str | None = None,
        max_concurrent_transforms: int | None = None,
        max_payload: int | None = None,
        tags: Any = None,
        env: dict[str, str] | None = None,
        base_transform_job_name: str | None = None,
        sagemaker_session=None,
        volume_kms_key: str | None = None,
        *,
        model_data: str | None = None,
        entry_point: str | None = None,
        source_dir: str | None = None,
        framework: str | None = None,
        on_bad_rows: str = "fail",
        session=None,
        **_ignored: Any,
    ):
        surface.ignored("Transformer", {"output_kms_key": output_kms_key, "tags": tags,
                                        "volume_kms_key": volume_kms_key})  # fmt: skip
        self.model_data = model_data or model_name
        if not self.model_data:
            raise SpecError("model_data: the model's URI (or registry reference) is required")
        self.entry_point = entry_point
        self.source_dir = source_dir
        self.framework = framework  # a model made elsewhere: its framework container's defaults
        self.instance_count = instance_count
        self.instance_type = instance_type
        self.strategy = strategy
        self.assemble_with = assemble_with
        self.output_path = output_path
        self.accept = accept
        self.max_concurrent_transforms = max_concurrent_transforms
        self.max_payload = max_payload
        self.env = dict(env or {})
        self.base_transform_job_name = base_transform_job_name
        self.on_bad_rows = on_bad_rows
        self.session = session or sagemaker_session
        self.latest_transform_job = None

    def __repr__(self) -> str:
        return f"Transformer(model_data={self.model_data!r}, instance_count={self.instance_count})"

    def transform_job_spec(
        self,
        data: str,
        content_type: str | None = None,
        compression_type: str | None = None,
        split_type: str | None = None,
        job_name: str | None = None,
        input_filter: str | None = None,
        output_filter: str | None = None,
        join_source: str | None = None,
        *,
        on_bad_rows: str | None = None,
        execution: str = "auto",
        experiment_config: dict | None = None,
    ):
        """The ``TransformJob`` spec ``transform`` would submit. Raises SpecError."""
        from raymaker.sagemaker.experiments.run import experiment_config_for

        body = {
            "kind": "TransformJob",
            "name": job_name or name_from_base(self.base_transform_job_name),
            "model_data": self.model_data,
            "entry_point": self.entry_point,
            "source_dir": self.source_dir,
            "framework": self.framework,
            "environment": self.env or None,
            "instance_count": self.instance_count,
            "instance_type": self.instance_type,
            "input": {
                "data_uri": data if hasattr(data, "expr") else str(data),
                "content_type": content_type
                or ("text/csv" if hasattr(data, "expr") else _content_type(str(data))),
                "split_type": split_type or "None",
                "compression_type": compression_type or "None",
            },
            "output": {
                k: v
                for k, v in {
                    "path": self.output_path,
                    "accept": self.accept,
                    "assemble_with": self.assemble_with or "None",
                }.items()
                if v is not None
            },
            "strategy": self.strategy,
            "max_concurrent_transforms": self.max_concurrent_transforms,
            "max_payload_mb": self.max_payload,
            "join_source": join_source,
            "input_filter": input_filter,
            "output_filter": output_filter,
            "on_bad_rows": on_bad_rows or self.on_bad_rows,
            "execution": execution,
            "experiment_config": experiment_config_for(experiment_config),
        }
        return self._spec(body, "transform")

    def transform(
        self,
        data: str,
        data_type: str = "S3Prefix",
        content_type: str | None = None,
        compression_type: str | None = None,
        split_type: str | None = None,
        job_name: str | None = None,
        input_filter: str | None = None,
        output_filter: str | None = None,
        join_source: str | None = None,
        experiment_config: dict | None = None,
        wait: bool = True,
        logs: bool = True,
        *,
        on_bad_rows: str | None = None,
        execution: str = "auto",
        timeout: float | None = None,
        **_ignored: Any,
    ) -> None:
        """Run the transform job over ``data`` (a file, prefix or glob; a local path is
        uploaded). With ``wait``, raises JobFailed naming the bad record or the cause."""
        if data_type not in ("S3Prefix", "S3Object"):
            raise SpecError(
                f"data_type {data_type!r} is not supported; allowed: S3Prefix, S3Object "
                "(a manifest file is not)"
            )
        spec = self.transform_job_spec(
            data, content_type, compression_type, split_type, job_name, input_filter,
            output_filter, join_source, on_bad_rows=on_bad_rows, execution=execution,
            experiment_config=experiment_config,
        )  # fmt: skip
        if not hasattr(spec, "model_fields"):
            return spec  # under a PipelineSession: a TransformStep's arguments
        session = self._session()
        handle = session.jobs.submit(spec, name=spec.name)
        self.latest_transform_job = handle
        if self.output_path is None:
            from raymaker.storage import layout

            self.output_path = session.store.uri(layout.job_output(handle.name))
        if wait:
            self.wait(logs=logs, timeout=timeout)

    def wait(self, logs: bool = True, timeout: float | None = None) -> None:
        """Wait for the last job. Raises JobFailed, WaitTimeout."""
        self._job().wait(timeout=timeout, logs=logs)

    def stop_transform_job(self, wait: bool = True) -> None:
        """Stop the last job; its partial results are deleted, the output path untouched."""
        self._job().stop(timeout=30.0 if wait else 0.0)

    def delete_model(self) -> None:
        """SageMaker deletes its Model resource; raymaker has none apart from the artifact in the
        store (which stays): nothing to do."""

    @classmethod
    def attach(cls, transform_job_name: str, sagemaker_session=None, *, session=None):
        """A transformer for an existing transform job (its spec), ``latest_transform_job``
        set."""
        sess = session or sagemaker_session or default_session()
        handle = sess.jobs.get(transform_job_name)
        spec = handle.describe().spec
        output = spec.get("output") or {}
        transformer = cls(
            model_data=spec["model_data"], instance_count=spec.get("instance_count", 1),
            instance_type=spec.get("instance_type", "cpu.1"), strategy=spec.get("strategy"),
            assemble_with=output.get("assemble_with"), output_path=output.get("path"),
            accept=output.get("accept"), env=spec.get("environment"),
            entry_point=spec.get("entry_point"), source_dir=spec.get("source_dir"),
            framework=spec.get("framework"), session=sess,
        )  # fmt: skip
        transformer.latest_transform_job = handle
        return transformer

    def describe(self):
        """The last job's record: status, counts (rows in/out, bad rows), outputs."""
        return self._job().describe()

    def _job(self):
        if self.latest_transform_job is None:
            raise SpecError("this transformer has not run a transform yet")
        return self.latest_transform_job


def _content_type(data: str) -> str:
    from raymaker.data.readers import format_of

    fmt = format_of(data.rstrip("/"))
    return {"parquet": "application/x-parquet", "jsonl": "application/jsonlines"}.get(
        fmt or "", "text/csv"
    )


surface.install(Transformer, "Transformer")
