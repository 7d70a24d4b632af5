"""Tuning without Ray: ranges, the search space both ways, spec errors, the SDK's spec."""

from __future__ import annotations

import pytest

import raymaker as rm
from raymaker.errors import SpecError
from raymaker.jobs.runner import run_spec
from raymaker.specs import parse_spec
from raymaker.specs.jobs import ParameterRange
from raymaker.tuning import trials
from raymaker.tuning.runner import startup_trials
from raymaker.tuning.space import SearchSpace, scaling_of
from raymaker.tuning.trial import report_steps


def tuning(**changes) -> dict:
    body = {
        "kind": "TuningJob",
        "training": {"algorithm": "xgboost", "label": "y", "inputs": {"train": "data/t.csv"}},
        "objective": {"metric_name": "validation:auc"},
        "hyperparameter_ranges": {"eta": {"type": "Continuous", "min_value": 0.01, "max_value": 1}},
        "max_jobs": 4,
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("ranges", "changes", "message"),
    [
        ({"eta": {"type": "Float", "min_value": 0, "max_value": 1}}, {}, "Continuous"),
        ({"eta": {"type": "Continuous", "min_value": 1, "max_value": 1}}, {}, "must be <"),
        ({"d": {"type": "Integer", "min_value": 1.5, "max_value": 4}}, {}, "whole bounds"),
        (
            {
                "eta": {
                    "type": "Continuous",
                    "min_value": 0,
                    "max_value": 1,
                    "scaling_type": "Logarithmic",
                }
            },
            {},
            "min_value > 0",
        ),  # fmt: skip
        (
            {
                "m": {
                    "type": "Continuous",
                    "min_value": 0.9,
                    "max_value": 1,
                    "scaling_type": "ReverseLogarithmic",
                }
            },
            {},
            "max_value < 1",
        ),  # fmt: skip
        (
            {
                "d": {
                    "type": "Integer",
                    "min_value": 1,
                    "max_value": 9,
                    "scaling_type": "ReverseLogarithmic",
                }
            },
            {},
            "Continuous ranges only",
        ),  # fmt: skip
        ({"c": {"type": "Categorical", "values": []}}, {}, "non-empty values"),
        (None, {"strategy": "Grid"}, "Categorical ranges only; not categorical: eta"),
        (None, {"strategy": "Random", "max_jobs": None}, "max_jobs is required"),
        (None, {"strategy": "Hyperband", "early_stopping_type": "Auto"}, "must be Off"),
        (None, {"hyperband": {"min_resource": 1}}, "need strategy Hyperband"),
        (
            None,
            {"strategy": "Hyperband", "hyperband": {"min_resource": 9, "max_resource": 3}},
            "must be > min_resource",
        ),  # fmt: skip
        (None, {"warm_start_parents": ["p"]}, "needs warm_start_type"),
        (
            None,
            {"training": {"algorithm": "xgboost", "hyperparameters": {"eta": 0.1}}},
            "both fixed in training.hyperparameters and tuned: eta",
        ),  # fmt: skip
        (None, {"strategy": "Annealing"}, "Bayesian"),
    ],
)
def test_bad_tuning_specs_name_the_field(ranges, changes, message):
    body = tuning(**changes)
    if ranges is not None:
        body["hyperparameter_ranges"] = ranges
    with pytest.raises(SpecError, match=message):
        parse_spec(body)


def test_grid_infers_its_job_count():
    spec = parse_spec(
        tuning(
            strategy="Grid", max_jobs=None,
            hyperparameter_ranges={"a": {"type": "Categorical", "values": [1, 2, 3]},
                                   "b": {"type": "Categorical", "values": ["x", "y"]}},
        )
    )  # fmt: skip
    grid = SearchSpace(spec.hyperparameter_ranges).grid()
    assert len(grid) == 6 and grid[0] == {"a": 1, "b": "x"} and grid[-1] == {"a": 3, "b": "y"}


def r(**kw) -> ParameterRange:
    return ParameterRange.model_validate(kw)


def test_auto_scaling_goes_logarithmic_on_wide_positive_ranges():
    assert scaling_of(r(type="Continuous", min_value=1e-4, max_value=1)) == "Logarithmic"
    assert scaling_of(r(type="Continuous", min_value=0.1, max_value=1)) == "Linear"
    assert scaling_of(r(type="Integer", min_value=0, max_value=1000)) == "Linear"
    assert scaling_of(r(type="Integer", min_value=1, max_value=1000)) == "Logarithmic"
    assert scaling_of(r(type="Categorical", values=[1])) is None


def test_search_space_round_trips_user_values_including_reverse_log():
    space = SearchSpace(
        {
            "eta": r(type="Continuous", min_value=0.01, max_value=0.3),
            "momentum": r(
                type="Continuous", min_value=0.9, max_value=0.999, scaling_type="ReverseLogarithmic"
            ),  # fmt: skip
            "depth": r(type="Integer", min_value=2, max_value=9, scaling_type="Logarithmic"),
            "booster": r(type="Categorical", values=["gbtree", "dart", 0.5]),
        }
    )
    domains = space.tune_space()
    assert domains["momentum"].lower == pytest.approx(0.001)  # 1 - 0.999
    assert domains["momentum"].upper == pytest.approx(0.1)
    assert (domains["depth"].lower, domains["depth"].upper) == (2, 10)  # upper exclusive
    user = {"eta": 0.1, "momentum": 0.99, "depth": 4, "booster": "0.5"}  # YAML text matches 0.5
    internal = space.to_internal(user)
    assert internal["momentum"] == pytest.approx(0.01) and internal["booster"] == 0.5
    back = space.to_hyperparameters(internal)
    assert back["momentum"] == pytest.approx(0.99) and back["depth"] == 4
    assert isinstance(back["depth"], int) and isinstance(back["eta"], float)
    # outside the ranges, missing, or not a whole number: not an observation
    assert space.to_internal({**user, "eta": 0.5}) is None
    assert space.to_internal({"eta": 0.1}) is None
    assert space.to_internal({**user, "depth": 4.5}) is None
    assert space.to_internal({**user, "booster": "gblinear"}) is None


def test_report_schedule_is_geometric_and_includes_the_rungs():
    steps = report_steps([3, 9, 27, 81], limit=100)
    assert steps[:6] == [1, 2, 3, 4, 6, 9] and {27, 81} <= set(steps)
    assert len(steps) < 20


def test_metric_names_match_sagemaker_and_builtin_spellings():
    assert trials.objective_of({"validation-auc": 0.9}, "validation:auc") == 0.9
    assert trials.objective_of({"validation:auc": 0.8}, "validation-auc") == 0.8
    assert trials.objective_of({"validation-auc": float("nan")}, "validation:auc") is None
    assert trials.objective_of({"train-auc": 0.9}, "validation:auc") is None


def test_startup_trials_never_take_more_than_a_third():
    assert startup_trials(30, 4) == 7
    assert startup_trials(6, 4) == 2
    assert startup_trials(100, 2) == 5


def test_leaderboard_order_and_best():
    rows = [
        trials.TrialRow(1, "t-001", "SUCCEEDED", 0.5, {}),
        trials.TrialRow(2, "t-002", "STOPPED", 0.2, {}),
        trials.TrialRow(3, "t-003", "FAILED", None, {}),
        trials.TrialRow(4, "t-004", "SUCCEEDED", 0.3, {}),
    ]
    assert trials.best_of(rows, "Minimize").training_job == "t-004"  # a stopped trial never wins
    assert trials.best_of(rows, "Maximize").training_job == "t-001"
    order = [r.number for r in trials.ranked(rows, "Minimize")]
    assert order == [4, 1, 2, 3]


def test_template_errors_stop_the_job_before_any_trial(local_settings, tmp_path):
    bad_name = parse_spec(
        tuning(
            hyperparameter_ranges={
                "etta": {"type": "Continuous", "min_value": 0.1, "max_value": 0.3}
            }
        )  # fmt: skip
    )
    record = run_spec(bad_name, name="bad-hp", settings=local_settings)
    assert record.status == "FAILED" and "etta" in record.failure_reason
    assert "num_round" in record.failure_reason  # the allowed names are listed
    bad_choice = parse_spec(
        tuning(hyperparameter_ranges={"max_depth": {"type": "Categorical", "values": [3, "x"]}})
    )
    record = run_spec(bad_choice, name="bad-choice", settings=local_settings)
    assert record.status == "FAILED" and "max_depth" in record.failure_reason
    parent = parse_spec(tuning(warm_start_parents=["nope"], warm_start_type="TransferLearning"))
    record = run_spec(parent, name="bad-parent", settings=local_settings)
    assert record.status == "FAILED"
    assert "no tuning job named 'nope'" in record.failure_reason
    (tmp_path / "t.py").write_text("print('hi')\n")
    script = {"entry_point": str(tmp_path / "t.py")}
    hb = parse_spec(tuning(strategy="Hyperband", training=script))
    record = run_spec(hb, name="bad-hb", settings=local_settings)
    assert record.status == "FAILED" and "max_resource is required" in record.failure_reason
    long = parse_spec(tuning())
    record = run_spec(long, name="x" * 60, settings=local_settings)
    assert record.status == "FAILED" and "too long" in record.failure_reason


def test_tuner_builds_the_tuning_job_spec():
    est = rm.XGBoost(label="y", hyperparameters={"num_round": 50}, role="arn:aws:iam::1:role/x")
    tuner = rm.HyperparameterTuner(
        est,
        objective_metric_name="validation:logloss",
        objective_type="Minimize",
        hyperparameter_ranges={
            "eta": rm.ContinuousParameter(0.01, 0.3, scaling_type="Logarithmic"),
            "max_depth": rm.IntegerParameter(2, 8),
            "subsample": {"type": "Continuous", "min_value": 0.5, "max_value": 1.0},
        },
        strategy="Hyperband",
        strategy_config=rm.StrategyConfig(rm.HyperbandStrategyConfig(min_resource=5)),
        max_jobs=12,
        max_parallel_jobs=2,
        completion_criteria_config=rm.TuningJobCompletionCriteriaConfig(
            target_objective_metric_value=0.1
        ),
        warm_start_config=rm.WarmStartConfig(
            rm.WarmStartTypes.IDENTICAL_DATA_AND_ALGORITHM, parents={"old-tuning"}
        ),
        random_seed=7,
    )
    spec = tuner.tuning_job_spec({"train": "data/train.csv"}, job_name="tj")
    assert spec.name == "tj" and spec.training.name is None
    assert spec.training.algorithm == "xgboost" and spec.training.inputs == {
        "train": "data/train.csv"
    }
    assert spec.hyperparameter_ranges["eta"].scaling_type == "Logarithmic"
    assert spec.hyperband.min_resource == 5 and spec.hyperband.max_resource is None
    assert spec.completion_criteria.target_objective_metric_value == 0.1
    assert spec.warm_start_parents == ["old-tuning"]
    assert spec.warm_start_type == "IdenticalDataAndAlgorithm"
    assert spec.random_seed == 7 and spec.max_parallel_jobs == 2
    with pytest.raises(SpecError, match="unknown argument"):
        rm.HyperparameterTuner(est, "m", {"eta": rm.ContinuousParameter(0, 1)}, colour="red")
    with pytest.raises(SpecError, match="hyperparameter_ranges.eta"):
        rm.HyperparameterTuner(est, "m", {"eta": (0, 1)}, max_jobs=2).tuning_job_spec()
    with pytest.raises(SpecError, match="complete_on_convergence"):
        rm.TuningJobCompletionCriteriaConfig(complete_on_convergence=True)
    with pytest.raises(SpecError, match="not been fit"):
        tuner.best_training_job()


def test_a_tuned_name_the_estimator_also_fixes_is_tuned_as_in_sagemakers_sdk():
    est = rm.XGBoost(label="y", hyperparameters={"num_round": 50, "eta": 0.2, "max_depth": 6})
    tuner = rm.HyperparameterTuner(est, "validation:logloss",
                                   {"eta": rm.ContinuousParameter(0.01, 0.3)}, max_jobs=2)  # fmt: skip
    spec = tuner.tuning_job_spec({"train": "data/train.csv"})
    assert spec.training.hyperparameters == {"num_round": 50, "max_depth": 6}
    assert list(spec.hyperparameter_ranges) == ["eta"]
    assert est.hyperparameters["eta"] == 0.2  # the estimator itself is left as it was


def test_estimator_hyperparameters_read_and_set_as_in_sagemakers_sdk():
    est = rm.XGBoost(label="y", hyperparameters={"num_round": 5})
    est.set_hyperparameters(eta=0.1, max_depth=3)
    assert est.hyperparameters() == {"num_round": 5, "eta": 0.1, "max_depth": 3}
    assert est.hyperparameters["eta"] == 0.1
    assert est.training_job_spec({"train": "data/t.csv"}).hyperparameters["max_depth"] == 3
