import glob
import os

import pytest

from raymaker.errors import NotFound, SpecError
from raymaker.specs import KINDS, dump_spec, load_spec, loads_spec, parse_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

VALID = {
    "ProcessingJob": {"kind": "ProcessingJob", "code": "x.py"},
    "TrainingJob": {"kind": "TrainingJob", "algorithm": "xgboost", "label": "y"},
    "TuningJob": {
        "kind": "TuningJob",
        "training": {"algorithm": "xgboost"},
        "objective": {"metric_name": "validation:auc"},
        "hyperparameter_ranges": {
            "eta": {"type": "Continuous", "min_value": 0.01, "max_value": 0.3}
        },
        "max_jobs": 4,
    },
    "TransformJob": {"kind": "TransformJob", "model_data": "models/m", "input": {"data_uri": "d"}},
    "Endpoint": {"kind": "Endpoint", "name": "churn", "variants": [{"model_data": "models/m"}]},
    "AutoMLJob": {"kind": "AutoMLJob", "inputs": {"train": "d.csv"}, "target_attribute_name": "y"},
    "BaselineJob": {"kind": "BaselineJob", "dataset": {"uri": "train.csv"}},
    "MonitoringSchedule": {
        "kind": "MonitoringSchedule",
        "name": "churn-data",
        "endpoint": "churn",
        "baseline_statistics": "b/statistics.json",
        "schedule_cron_expression": "rate(5 minutes)",
    },
    "ClarifyJob": {
        "kind": "ClarifyJob",
        "dataset": {"uri": "d.csv"},
        "label": "y",
        "bias": {"label_values_or_threshold": [1], "facet_name": "sex"},
    },
    "Pipeline": {
        "kind": "Pipeline",
        "name": "churn",
        "Parameters": [{"Name": "Rounds", "Type": "Integer", "DefaultValue": 5}],
        "Steps": [
            {
                "Name": "train",
                "Type": "Training",
                "Arguments": {
                    "algorithm": "xgboost",
                    "hyperparameters": {"num_round": {"Get": "Parameters.Rounds"}},
                },
                "CacheConfig": {"Enabled": True},
            },
            {"Name": "no", "Type": "Fail", "DependsOn": ["train"]},
        ],
    },
    "MonitoringExecution": {
        "kind": "MonitoringExecution",
        "name": "churn-data-20261202-100000",
        "schedule": "churn-data",
        "scheduled_time": 1796220000.0,
        "start": 1796219700.0,
        "end": 1796220000.0,
    },
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_validates_and_round_trips_through_yaml(kind):
    spec = parse_spec(VALID[kind])
    assert spec.kind == kind
    again = loads_spec(dump_spec(spec))
    assert again == spec


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "jobs", "*.yaml"))))
def test_every_example_job_validates(path):
    spec = load_spec(path)
    assert spec.kind in KINDS


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "Foo"}, "spec.kind: 'Foo' is not a known kind; allowed: ProcessingJob"),
        ({"code": "x.py"}, "spec.kind: missing is not a known kind"),
        (
            {"kind": "ProcessingJob"},
            "give exactly one of code, recipe or fitted_recipe (given: none)",
        ),
        (
            {"kind": "ProcessingJob", "recipe": [{"op": "drop", "columns": ["a"]}]},
            "a recipe job reads exactly one input (got 0)",
        ),
        (
            {
                "kind": "ProcessingJob",
                "recipe": "r.yaml",
                "inputs": [{"name": "raw", "source": "data/x"}],
                "split": {"method": "stratified", "test_fraction": 0.5, "validation_fraction": 0.5},
            },
            "test_fraction (0.5) + validation_fraction (0.5) must be < 1",
        ),
        (
            {"kind": "ProcessingJob", "code": "x.py", "inputz": []},
            "spec.inputz: unknown field (did you mean 'inputs'?); allowed fields: arguments, code, command",
        ),
        (
            {"kind": "ProcessingJob", "code": "x.py", "inputs": [{"name": "a", "src": "s"}]},
            "spec.inputs[0].src: unknown field (did you mean 'source'?); allowed fields: columns, destination, format, header",
        ),
        (
            {"kind": "ProcessingJob", "code": "x.py", "instance_count": 0},
            "spec.instance_count: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            {"kind": "ProcessingJob", "code": "x.py", "name": "bad_name!"},
            "spec.name: String should match pattern",
        ),
        (
            {**VALID["Endpoint"], "autoscaling": {"min_replicas": 2, "max_replicas": 1}},
            "spec.autoscaling: max_replicas (1) must be >= min_replicas (2)",
        ),
        (
            {**VALID["TuningJob"], "objective": {"metric_name": "m", "type": "Max"}},
            "spec.objective.type: Input should be 'Maximize' or 'Minimize' (got 'Max')",
        ),
        (
            {
                **VALID["TuningJob"],
                "hyperparameter_ranges": {
                    "eta": {"type": "Continuous", "min_value": 1, "max_value": 1}
                },
            },
            "spec.hyperparameter_ranges.eta: min_value (1.0) must be < max_value (1.0)",
        ),
        (
            {**VALID["TuningJob"], "strategy": "Grid"},
            "strategy Grid needs Categorical ranges only; not categorical: eta",
        ),
        (
            {"kind": "TrainingJob"},
            "give exactly one of algorithm or entry_point (algorithm=None, entry_point=None)",
        ),
        (
            {**VALID["TransformJob"], "input": {"data_uri": "d", "split_type": "Record"}},
            "spec.input.split_type: Input should be 'Line' or 'None' (got 'Record')",
        ),
    ],
)
def test_bad_specs_name_the_field_and_the_allowed_values(data, expected):
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    assert expected in str(info.value)


def test_not_a_mapping_and_bad_yaml():
    with pytest.raises(SpecError, match="must be a mapping"):
        loads_spec("- a\n- b\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        loads_spec("kind: [unclosed\n")


def test_missing_spec_file(tmp_path):
    with pytest.raises(NotFound):
        load_spec(tmp_path / "nope.yaml")


def test_specs_are_checked_on_assignment_too():
    spec = parse_spec(VALID["ProcessingJob"])
    with pytest.raises(ValueError):
        spec.instance_count = -3
