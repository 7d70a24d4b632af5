"""Specs of the job kinds: ProcessingJob, TrainingJob, TuningJob, TransformJob."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from raymaker.specs.base import Framework, Name, ResourceSpec, SpecModel, Tracked, Uri

Scalar = str | int | float | bool

# "In the job's driver or on Ray?": one vocabulary for training and transform. The older
# per-kind names (ray_train, ray_data) are still read.
Execution = Annotated[
    Literal["auto", "driver", "ray"],
    BeforeValidator(lambda v: {"ray_train": "ray", "ray_data": "ray"}.get(v, v)),
]


class Resources(SpecModel):
    """How many workers ("instances") and of which preset."""

    instance_count: int = Field(1, ge=1, le=1024, description="Number of workers.")
    instance_type: str = Field(
        "cpu.1", min_length=1, description="A resource preset (settings.INSTANCE_TYPES)."
    )


class ProcessingInput(SpecModel):
    """One input channel, downloaded before the script starts."""

    name: Name = Field(description="Channel name; also the folder name under processing/input.")
    source: Uri = Field(description="Store key or URI to download (an object or a prefix).")
    destination: str | None = Field(
        None,
        description="Where the script sees it; default /opt/ml/processing/input/<name>. "
        "Paths under /opt/ml are mapped into the job's own folder.",
    )
    format: Literal["csv", "parquet", "jsonl"] | None = Field(
        None, description="Recipe jobs: the data format (default: from the file names)."
    )
    header: bool = Field(True, description="Recipe jobs: CSV files have a header line.")
    columns: list[str] | None = Field(None, description="Recipe jobs: column names to use.")
    on_bad_lines: Literal["error", "skip"] = Field(
        "error", description="Recipe jobs: fail on a malformed CSV row, or skip and count it."
    )


class ProcessingOutput(SpecModel):
    """One output channel, uploaded after the script succeeds."""

    name: Name = Field(description="Channel name; also the folder name under processing/output.")
    source: str | None = Field(
        None, description="Folder the script writes; default /opt/ml/processing/output/<name>."
    )
    destination: Uri | None = Field(
        None, description="Where to publish it; default the job's output/<name> in the store."
    )


class SplitSpec(SpecModel):
    """Split the prepared data into train/validation/test outputs."""

    method: Literal["random", "stratified", "time"] = "random"
    test_fraction: float = Field(0.2, gt=0, lt=1)
    validation_fraction: float = Field(0.0, ge=0, lt=1)
    seed: int = 0
    label: str | None = Field(None, description="Stratify on this column (method stratified).")
    time_column: str | None = Field(None, description="Order by this column (method time).")

    @model_validator(mode="after")
    def _fields(self):
        if self.test_fraction + self.validation_fraction >= 1:
            raise ValueError(
                f"test_fraction ({self.test_fraction}) + validation_fraction "
                f"({self.validation_fraction}) must be < 1"
            )
        if self.method == "stratified" and not self.label:
            raise ValueError("method stratified needs label")
        if self.method == "time" and not self.time_column:
            raise ValueError("method time needs time_column")
        return self


class ProcessingJob(ResourceSpec, Resources, Tracked):
    """A SageMaker-style processing job: the user's script, or a data recipe (fit and/or apply)."""

    kind: Literal["ProcessingJob"] = Field("ProcessingJob", description="The resource kind.")
    code: str | None = Field(
        None, min_length=1, description="The script to run (a local path or store URI)."
    )
    recipe: str | list[dict] | None = Field(
        None, description="A recipe to fit and apply: a YAML file/URI, or the steps inline."
    )
    fitted_recipe: str | None = Field(
        None, description="A fitted recipe (JSON URI) to apply without fitting."
    )
    split: SplitSpec | None = Field(None, description="Recipe jobs: split the output.")
    source_dir: str | None = Field(
        None, description="Folder holding ``code`` and its helpers; the script's working folder."
    )
    command: list[str] = Field(
        default_factory=lambda: ["python3"], min_length=1, description="Interpreter and flags."
    )
    arguments: list[str] = Field(default_factory=list, description="Arguments for the script.")
    inputs: list[ProcessingInput] = Field(default_factory=list, description="Input channels.")
    outputs: list[ProcessingOutput] = Field(default_factory=list, description="Output channels.")
    environment: dict[str, str] = Field(default_factory=dict, description="Extra env variables.")
    max_runtime_in_seconds: int | None = Field(None, gt=0, description="Stop the job after this.")

    @model_validator(mode="after")
    def _unique_channels(self):
        given = [k for k in ("code", "recipe", "fitted_recipe") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of code, recipe or fitted_recipe "
                f"(given: {', '.join(given) or 'none'})"
            )
        if not self.code and len(self.inputs) != 1:
            raise ValueError(f"a recipe job reads exactly one input (got {len(self.inputs)})")
        for label, items in (("inputs", self.inputs), ("outputs", self.outputs)):
            names = [i.name for i in items]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{label} has duplicate channel names: {', '.join(dupes)}")
        return self


class MetricDefinition(SpecModel):
    """A metric read from the job's output with a regex (SageMaker ``metric_definitions``)."""

    name: str = Field(min_length=1, alias="Name", description="Metric name.")
    regex: str = Field(min_length=1, alias="Regex", description="Regex with one group: the value.")


class TrainingJob(ResourceSpec, Resources, Tracked):
    """A training job: a built-in algorithm or the user's script (script mode)."""

    kind: Literal["TrainingJob"] = Field("TrainingJob", description="The resource kind.")
    algorithm: str | None = Field(
        None, description="A built-in algorithm (xgboost, lightgbm, ...); or give entry_point."
    )
    entry_point: str | None = Field(None, description="The user's training script.")
    source_dir: str | None = Field(None, description="Folder holding the script and helpers.")
    framework: Literal["xgboost", "lightgbm", "pytorch", "sklearn", "tensorflow"] | None = Field(
        None, description="Framework of the script or model."
    )
    hyperparameters: dict[str, Scalar] = Field(default_factory=dict, description="Passed as args.")
    inputs: dict[str, Uri] = Field(default_factory=dict, description="Channel name -> data URI.")
    label: str | None = Field(None, description="Target column for built-in algorithms.")
    recipe: Uri | None = Field(None, description="A data recipe applied before training.")
    environment: dict[str, str] = Field(default_factory=dict, description="Extra env variables.")
    metric_definitions: list[MetricDefinition] = Field(default_factory=list)
    output_path: Uri | None = Field(None, description="Where the model artifact goes.")
    checkpoint_uri: Uri | None = Field(None, description="Where checkpoints go.")
    max_run: int | None = Field(None, gt=0, description="Stop the job after this many seconds.")
    max_retry_attempts: int = Field(
        0, ge=0, le=30, description="Restarts of the worker group after a failure."
    )
    use_gpu: bool | None = Field(None, description="Default: from the instance type.")
    checkpoint_interval_s: float | None = Field(
        30.0,
        ge=0,
        description="Built-ins save a checkpoint at most this often (0: every round/epoch; "
        "null: never).",
    )
    execution: Execution = Field(
        "auto",
        description="auto: one CPU worker without retries runs in the job's driver (no Ray "
        "Train start-up); anything else (or ray) runs as a Ray Train worker group.",
    )
    requirements: str | None = Field(
        None, description="Script mode: a requirements file (default source_dir/requirements.txt)."
    )

    @model_validator(mode="after")
    def _one_program(self):
        if bool(self.algorithm) == bool(self.entry_point):
            raise ValueError(
                "give exactly one of algorithm or entry_point "
                f"(algorithm={self.algorithm!r}, entry_point={self.entry_point!r})"
            )
        if self.execution == "driver" and (self.instance_count > 1 or self.max_retry_attempts):
            raise ValueError(
                f"execution driver runs one worker without retries (instance_count="
                f"{self.instance_count}, max_retry_attempts={self.max_retry_attempts})"
            )
        return self


class ParameterRange(SpecModel):
    """A hyperparameter range: continuous, integer or categorical."""

    type: Literal["Continuous", "Integer", "Categorical"] = Field(description="Range type.")
    min_value: float | None = Field(None, description="Lower bound (Continuous/Integer).")
    max_value: float | None = Field(None, description="Upper bound (Continuous/Integer).")
    values: list[Scalar] | None = Field(None, description="Choices (Categorical).")
    scaling_type: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"] = Field(
        "Auto",
        description="How values are searched. Auto: Logarithmic when min_value > 0 and "
        "max_value / min_value >= 100, else Linear. ReverseLogarithmic (Continuous only, "
        "0 <= min_value < max_value < 1) searches values close to 1 finely.",
    )

    @model_validator(mode="after")
    def _bounds(self):
        if self.type == "Categorical":
            if not self.values:
                raise ValueError("a Categorical range needs a non-empty values list")
            if self.min_value is not None or self.max_value is not None:
                raise ValueError("a Categorical range takes values, not min_value/max_value")
            return self
        if self.values is not None:
            raise ValueError(f"a {self.type} range takes min_value and max_value, not values")
        if self.min_value is None or self.max_value is None:
            raise ValueError(f"a {self.type} range needs min_value and max_value")
        if self.min_value >= self.max_value:
            raise ValueError(f"min_value ({self.min_value}) must be < max_value ({self.max_value})")
        if self.type == "Integer" and not (
            float(self.min_value).is_integer() and float(self.max_value).is_integer()
        ):
            raise ValueError(
                f"an Integer range needs whole bounds (got {self.min_value}, {self.max_value})"
            )
        if self.scaling_type == "Logarithmic" and self.min_value <= 0:
            raise ValueError(f"Logarithmic scaling needs min_value > 0 (got {self.min_value})")
        if self.scaling_type == "ReverseLogarithmic":
            if self.type != "Continuous":
                raise ValueError("ReverseLogarithmic scaling is for Continuous ranges only")
            if not (self.min_value >= 0 and self.max_value < 1):
                raise ValueError(
                    "ReverseLogarithmic scaling needs 0 <= min_value < max_value < 1 "
                    f"(got {self.min_value}, {self.max_value})"
                )
        return self


class Objective(SpecModel):
    metric_name: str = Field(
        min_length=1,
        description="The metric to optimize, as the training job records it (built-ins: "
        "'validation-auc', 'validation-logloss', ...; SageMaker's 'validation:auc' works too).",
    )
    type: Literal["Maximize", "Minimize"] = Field("Maximize", description="Direction.")


class HyperbandConfig(SpecModel):
    """Strategy Hyperband: ASHA over a resource (boosting rounds, epochs, a script's steps)."""

    min_resource: int = Field(1, ge=1, description="Steps every trial gets before a cut.")
    max_resource: int | None = Field(
        None,
        ge=1,
        description="Steps a trial can reach; default the template's value of the resource "
        "hyperparameter.",
    )
    reduction_factor: int = Field(3, ge=2, le=10, description="1/eta of trials go on at a rung.")
    resource: str | None = Field(
        None,
        description="The hyperparameter set to max_resource in every trial (default: the "
        "built-in's num_round / num_boost_round / epochs; scripts name theirs).",
    )

    @model_validator(mode="after")
    def _bounds(self):
        if self.max_resource is not None and self.max_resource <= self.min_resource:
            raise ValueError(
                f"max_resource ({self.max_resource}) must be > min_resource ({self.min_resource})"
            )
        return self


class CompletionCriteria(SpecModel):
    """Stop the tuning job early (SageMaker's TuningJobCompletionCriteria)."""

    target_objective_metric_value: float | None = Field(
        None, description="Stop once a trial's objective reaches this value."
    )
    max_number_of_training_jobs_not_improving: int | None = Field(
        None, ge=1, description="Stop after this many finished trials without a new best."
    )


class TuningJob(ResourceSpec, Tracked):
    """Hyperparameter tuning over a training job template."""

    kind: Literal["TuningJob"] = Field("TuningJob", description="The resource kind.")
    training: TrainingJob = Field(description="The training job each trial runs.")
    objective: Objective
    hyperparameter_ranges: dict[str, ParameterRange] = Field(min_length=1)
    strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"] = Field(
        "Bayesian",
        description="Bayesian: Optuna TPE; Random; Grid (Categorical ranges only); Hyperband: "
        "ASHA with random sampling.",
    )
    max_jobs: int | None = Field(None, ge=1, description="Trials in all (Grid: inferred).")
    max_parallel_jobs: int = Field(1, ge=1, description="Trials at once.")
    max_runtime_in_seconds: int | None = Field(None, gt=0)
    early_stopping_type: Literal["Off", "Auto"] = Field(
        "Off",
        description="Auto: stop a trial whose best objective so far is worse than the median "
        "of the other trials' running averages at the same step.",
    )
    hyperband: HyperbandConfig | None = Field(None, description="Strategy Hyperband settings.")
    completion_criteria: CompletionCriteria | None = None
    random_seed: int | None = Field(None, description="Seeds the sampler (reproducible runs).")
    warm_start_parents: list[Name] = Field(default_factory=list, max_length=5)
    warm_start_type: Literal["IdenticalDataAndAlgorithm", "TransferLearning"] | None = None

    @model_validator(mode="after")
    def _strategy_fields(self):
        if self.strategy == "Grid":
            bad = sorted(
                k for k, r in self.hyperparameter_ranges.items() if r.type != "Categorical"
            )
            if bad:
                raise ValueError(
                    "strategy Grid needs Categorical ranges only; not categorical: "
                    + ", ".join(bad)
                )
        elif self.max_jobs is None:
            raise ValueError(f"max_jobs is required for strategy {self.strategy}")
        if self.strategy == "Hyperband" and self.early_stopping_type == "Auto":
            raise ValueError(
                "strategy Hyperband stops trials itself: early_stopping_type must be Off"
            )
        if self.hyperband is not None and self.strategy != "Hyperband":
            raise ValueError(f"hyperband settings need strategy Hyperband (got {self.strategy})")
        if self.warm_start_parents and not self.warm_start_type:
            raise ValueError(
                "warm_start_parents needs warm_start_type "
                "(IdenticalDataAndAlgorithm or TransferLearning)"
            )
        fixed = sorted(set(self.hyperparameter_ranges) & set(self.training.hyperparameters))
        if fixed:
            raise ValueError(
                "hyperparameters both fixed in training.hyperparameters and tuned: "
                + ", ".join(fixed)
            )
        return self


class TransformInput(SpecModel):
    data_uri: Uri = Field(description="A file, prefix or glob of CSV / JSON Lines / Parquet.")
    content_type: str = Field(
        "text/csv",
        description="MIME type of the input: text/csv, application/jsonlines (application/json "
        "with split_type Line: one JSON record a line), application/x-parquet; with "
        "split_type None, any type the handler takes.",
    )
    split_type: Literal["Line", "None"] = Field(
        "Line", description="Line: one record a line (a row group for Parquet); None: one "
        "record a file."
    )  # fmt: skip
    compression_type: Literal["None", "Gzip"] = Field(
        "None", description="Gzip: the input files are gzip'd (also detected from .gz names)."
    )


class TransformOutput(SpecModel):
    path: Uri | None = Field(None, description="Where results go; default the job's output.")
    accept: str | None = Field(
        None,
        description="MIME type of the results: text/csv, application/jsonlines, "
        "application/json (one JSON object a line) or application/x-parquet; default "
        "Parquet for Parquet input, else the input's type.",
    )
    assemble_with: Literal["Line", "None"] = Field(
        "Line",
        description="Custom handlers' answers: Line ends each with a newline; None keeps "
        "them as they are. Built-ins write a line a record either way; Parquet ignores it.",
    )


class TransformJob(ResourceSpec, Resources, Tracked):
    """Batch transform: a model over a data set, with the endpoint's handler."""

    kind: Literal["TransformJob"] = Field("TransformJob", description="The resource kind.")
    model_data: Uri = Field(description="Model artifact URI or registry://group/version.")
    entry_point: str | None = Field(
        None, description="The handler module (model_fn, input_fn, predict_fn, output_fn)."
    )
    source_dir: str | None = Field(None, description="Folder holding entry_point and helpers.")
    framework: Framework | None = Field(
        None,
        description="A model made elsewhere (no raymaker manifest): served as this framework's "
        "SageMaker container serves it.",
    )
    environment: dict[str, str] = Field(default_factory=dict, description="Handler env vars.")
    input: TransformInput
    output: TransformOutput = Field(default_factory=TransformOutput)
    strategy: Literal["MultiRecord", "SingleRecord"] = Field(
        "MultiRecord",
        description="Custom handlers: records per request (up to max_payload_mb) or one. "
        "Built-ins predict a whole chunk as one matrix either way (same results).",
    )
    max_concurrent_transforms: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Chunks one instance handles at once (threads); default: its cores in the "
        "job's driver, 1 an actor.",
    )
    max_payload_mb: int = Field(6, ge=1, le=100, description="Largest request a handler gets.")
    join_source: Literal["Input", "None"] = Field(
        "None", description="Input: each output record is its input record plus the prediction."
    )
    input_filter: str | None = Field(
        None, description="JSONPath selecting what the model sees: $[1:], $.features, ..."
    )
    output_filter: str | None = Field(
        None, description="JSONPath selecting what is written from the (joined) output: $[0,-1]."
    )
    execution: Execution = Field(
        "auto",
        description="auto: instance_count 1 runs in the job's driver, with the instance's "
        "cores reserved there (no actor to start); more (or ray) run on an actor pool, the "
        "driver scoring while it starts.",
    )
    on_bad_rows: Literal["fail", "skip"] = Field(
        "fail",
        description="fail: the job fails at the first record that cannot be parsed or "
        "predicted, naming its file and line; skip: such records go to _errors.jsonl and the "
        "job goes on.",
    )

    @model_validator(mode="after")
    def _filters(self):
        from raymaker.specs.jsonpath import compile_path

        for field in ("input_filter", "output_filter"):
            try:
                compile_path(getattr(self, field))
            except ValueError as e:
                raise ValueError(f"{field}: {e}") from None
        if self.source_dir and not self.entry_point:
            raise ValueError("source_dir needs entry_point (the handler module in it)")
        return self
