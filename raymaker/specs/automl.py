"""The spec of ``kind: AutoMLJob``: SageMaker Autopilot's CreateAutoMLJob, in raymaker's words.

Names follow SageMaker's (``target_attribute_name``, ``problem_type``, ``mode``,
``max_candidates``, ``total_job_runtime_in_seconds``, ...); ``objective`` is
``AutoMLJobObjective.MetricName`` and ``algorithms`` are ``AutoMLAlgorithms`` values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from raymaker.specs.base import ResourceSpec, Tracked, Uri

# SageMaker's AutoMLAlgorithms names -> the zoo's learners (nn-torch and mlp: the torch MLP),
# cheapest first (a tight budget still gets candidates, as FLAML starts with its cheap learners)
ALGORITHM_LEARNERS = {
    "linear-learner": "linear",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "extra-trees": "extra_trees",
    "randomforest": "random_forest",
    "nn-torch": "mlp",
    "mlp": "mlp",
}
ALGORITHMS = tuple(ALGORITHM_LEARNERS)
ProblemType = Literal["BinaryClassification", "MulticlassClassification", "Regression"]


class AutoMLJob(ResourceSpec, Tracked):
    """An Autopilot job: candidates from the zoo, run as Ray Tune trials, then an ensemble."""

    kind: Literal["AutoMLJob"] = Field("AutoMLJob", description="The resource kind.")
    inputs: dict[str, Uri] = Field(
        description="Channel name -> data URI: 'train' (required) and optionally 'validation' "
        "(rows the candidates are scored on)."
    )
    target_attribute_name: str = Field(min_length=1, description="The column to predict.")
    problem_type: ProblemType | None = Field(
        None, description="Inferred from the target column when omitted."
    )
    objective: str | None = Field(
        None,
        description="AutoMLJobObjective.MetricName (default: MSE, F1 or Accuracy by problem type).",
    )
    mode: Literal["AUTO", "ENSEMBLING", "HYPERPARAMETER_TUNING"] = Field(
        "AUTO",
        description="ENSEMBLING: bag every learner, select a weighted ensemble; "
        "HYPERPARAMETER_TUNING: Optuna search over the zoo; AUTO: ensembling under 100 MB.",
    )
    algorithms: list[Literal[ALGORITHMS]] | None = Field(  # type: ignore[valid-type]
        None, min_length=1, description="The learners to try (default: all of the zoo)."
    )
    max_candidates: int | None = Field(
        None,
        ge=1,
        description="Candidates at most (every stacking layer's count; the ensemble is not one).",
    )
    max_runtime_per_training_job_in_seconds: int | None = Field(
        None, gt=0, description="A candidate running longer is stopped."
    )
    total_job_runtime_in_seconds: int | None = Field(
        None, gt=0, description="The whole job ends within this (plus the ensemble's build)."
    )
    validation_fraction: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Rows held out for the candidates' reported metrics. Default: none held "
        "out; every row trains and the metrics are the out-of-fold predictions' (k-fold "
        "cross-validation).",
    )
    sample_weight_attribute_name: str | None = Field(
        None, description="A column of row weights, used in fitting and in the metrics."
    )
    feature_specification_s3_uri: Uri | None = Field(
        None,
        description='A JSON file, {"FeatureAttributeNames": [...]}: the only columns the '
        "candidates learn from (the target and the weight column aside), as SageMaker's.",
    )
    generate_candidate_definitions_only: bool = Field(
        False, description="Write each candidate's definition and stop before training."
    )
    folds: int = Field(5, ge=2, le=10, description="Bagging folds a candidate (ENSEMBLING).")
    stack_levels: int = Field(
        1,
        ge=0,
        le=2,
        description="Stacking layers above the first (ENSEMBLING), as AutoGluon's: each bags "
        "the learners again on the features plus the layer below's out-of-fold predictions, "
        "when the budget leaves time for it. 0: no stacking.",
    )
    max_parallel_candidates: int | None = Field(
        None, ge=1, description="Candidates at once (default: as the cluster's CPUs allow)."
    )
    instance_type: str = Field("cpu.1", min_length=1, description="Each candidate's preset.")
    output_path: Uri | None = Field(None, description="Where the models and reports go.")
    random_seed: int = Field(0, description="Seeds folds, learners and the search.")

    @model_validator(mode="after")
    def _channels(self):
        if "train" not in self.inputs:
            given = ", ".join(sorted(self.inputs)) or "none"
            raise ValueError(f"inputs needs a 'train' channel (given: {given})")
        extra = sorted(set(self.inputs) - {"train", "validation"})
        if extra:
            raise ValueError(
                f"inputs: channels are 'train' and 'validation'; not: {', '.join(extra)}"
            )
        return self
