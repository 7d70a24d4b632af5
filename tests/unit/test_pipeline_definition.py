"""Pipelines without Ray: the SDK's objects build SageMaker's definition, which round-trips
through the spec; bad definitions are refused naming the step and field; expressions,
conditions, properties, the content cache key and its miss explanations, retry delays."""

from __future__ import annotations

import json

import pytest

import raymaker as rm
from raymaker.errors import SpecError
from raymaker.pipelines import cache
from raymaker.pipelines.definition import check_pipeline, parameter_values
from raymaker.pipelines.properties import lookup
from raymaker.pipelines.resolve import Resolver, evaluate
from raymaker.pipelines.steps import retry_delay
from raymaker.specs import parse_spec
from raymaker.specs.pipeline import Pipeline as PipelineSpec
from raymaker.specs.pipeline_graph import flatten, split_path


def sdk_pipeline(tmp_path):
    session = rm.PipelineSession(store=str(tmp_path / "store"))
    rounds = rm.ParameterInteger("Rounds", default_value=10)
    data = rm.ParameterString("Data", default_value="data/train.csv")
    est = rm.XGBoost(label="y", hyperparameters={"num_round": rounds}, sagemaker_session=session)
    train = rm.TrainingStep(
        "train",
        step_args=est.fit({"train": data}),
        cache_config=rm.CacheConfig(True, "PT1H"),
        retry_policies=[
            rm.SageMakerJobStepRetryPolicy(
                [rm.SageMakerJobExceptionTypeEnum.INTERNAL_ERROR], max_attempts=2
            )
        ],
    )
    auc = train.properties.FinalMetricDataList["validation:auc"].Value
    register = rm.RegisterModel(
        "reg",
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        model_package_group_name="g",
    )
    fail = rm.FailStep("low", error_message=rm.Join(on=" ", values=["auc", auc]))
    check = rm.ConditionStep(
        "check",
        conditions=[
            rm.ConditionOr(
                [
                    rm.ConditionGreaterThan(auc, 0.8),
                    rm.ConditionNot(rm.ConditionIn(data, ["x", "y"])),
                ]
            )
        ],
        if_steps=[register],
        else_steps=[fail],
    )
    return rm.Pipeline(
        "p", parameters=[rounds, data], steps=[train, check], sagemaker_session=session
    )


def test_sdk_definition_shape_and_round_trip(tmp_path):
    pipeline = sdk_pipeline(tmp_path)
    definition = json.loads(pipeline.definition())
    assert definition["Version"] == "2020-12-01"
    assert definition["Parameters"] == [
        {"Name": "Rounds", "Type": "Integer", "DefaultValue": 10},
        {"Name": "Data", "Type": "String", "DefaultValue": "data/train.csv"},
    ]
    train, check = definition["Steps"]
    assert train["Arguments"]["hyperparameters"] == {"num_round": {"Get": "Parameters.Rounds"}}
    assert train["Arguments"]["inputs"] == {"train": {"Get": "Parameters.Data"}}
    assert train["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT1H"}
    assert train["RetryPolicies"][0]["ExceptionType"] == ["SageMaker.JOB_INTERNAL_ERROR"]
    cond = check["Arguments"]["Conditions"][0]
    assert cond["Type"] == "Or" and cond["Conditions"][1]["Expression"]["Type"] == "In"
    assert cond["Conditions"][0]["LeftValue"] == {
        "Get": "Steps.train.FinalMetricDataList['validation:auc'].Value"
    }
    assert [s["Name"] for s in check["Arguments"]["IfSteps"]] == ["reg-RegisterModel"]
    assert check["Arguments"]["ElseSteps"][0]["Arguments"]["ErrorMessage"]["Std:Join"]["On"] == " "
    spec = PipelineSpec.from_definition("p", json.dumps(definition))
    assert spec.definition() == definition  # the round trip
    nodes = flatten(spec)
    assert nodes["reg-RegisterModel"].gate == ("check", True)
    assert nodes["low"].upstream == {"check", "train"}


def test_step_args_keep_the_door_checks(tmp_path):
    session = rm.PipelineSession(store=str(tmp_path / "store"))
    with pytest.raises(SpecError, match="hyperparamters|unknown argument"):
        rm.XGBoost(label="y", hyperparamters={}, sagemaker_session=session)
    est = rm.XGBoost(
        label="y", instance_count=rm.ParameterInteger("N", 1), sagemaker_session=session
    )
    args = est.fit({"train": "data/x.csv"})
    assert args.kind == "TrainingJob" and args.arguments["instance_count"] == {
        "Get": "Parameters.N"
    }
    step = rm.TrainingStep("t", step_args=args)
    with pytest.raises(AttributeError, match="did you mean 'ModelArtifacts'"):
        step.properties.ModelArtifact  # noqa: B018
    with pytest.raises(TypeError, match="to_string"):
        str(rm.ParameterString("S"))


def spec_of(steps, parameters=()):
    return {"kind": "Pipeline", "name": "p", "Parameters": list(parameters), "Steps": steps}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"Name": "a", "Type": "Trainng"}], "did you mean 'Training'"),
        (
            [{"Name": "a", "Type": "Training", "Arguments": {"x": {"Get": "Parameters.Roundz"}}}],
            "step a: no parameter 'Roundz' \\(did you mean 'Rounds'",
        ),
        ([{"Name": "a", "Type": "Fail", "DependsOn": ["b"]}], "DependsOn names no step 'b'"),
        (
            [
                {"Name": "a", "Type": "Fail", "DependsOn": ["b"]},
                {"Name": "b", "Type": "Fail", "DependsOn": ["a"]},
            ],
            "cycle: a -> b -> a",
        ),
        (
            [{"Name": "a", "Type": "Fail", "Arguments": {"ErrorMessage": {"Get": "Steps.zz.X"}}}],
            "refers to no step 'zz'",
        ),
        (
            [
                {
                    "Name": "a",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [{"Type": "GreaterThen", "LeftValue": 1, "RightValue": 2}]
                    },
                }
            ],
            "did you mean 'GreaterThan'",
        ),
        (
            [
                {
                    "Name": "a",
                    "Type": "Training",
                    "RetryPolicies": [
                        {"ExceptionType": ["SageMaker.JOB_INTERNAL_EROR"], "MaxAttempts": 1}
                    ],
                }
            ],
            "did you mean 'SageMaker.JOB_INTERNAL_ERROR'",
        ),
        (
            [
                {
                    "Name": "a",
                    "Type": "Training",
                    "CacheConfig": {"Enabled": True, "ExpireAfter": "1 hour"},
                }
            ],
            "not an ISO 8601 duration",
        ),
        ([{"Name": "a", "Type": "Fail"}, {"Name": "a", "Type": "Fail"}], "used twice"),
    ],
)
def test_bad_definitions_name_the_step_and_field(steps, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(spec_of(steps, [{"Name": "Rounds", "Type": "Integer", "DefaultValue": 1}]))


def test_a_steps_job_spec_is_checked_before_it_runs():
    spec = parse_spec(
        spec_of(
            [
                {
                    "Name": "t",
                    "Type": "Training",
                    "Arguments": {
                        "algorithm": "xgboost",
                        "hyperparamters": {},
                        "label": "y",
                        "instance_count": {"Get": "Parameters.N"},
                    },
                }
            ],
            [{"Name": "N", "Type": "Integer"}],
        )
    )
    problems = check_pipeline(spec)
    assert any(
        "step t.Arguments.hyperparamters: unknown field (did you mean 'hyperparameters'" in p
        for p in problems
    )
    assert not any(".instance_count:" in p for p in problems)  # its value comes at run time
    assert any("parameter N has no default" in p for p in problems)
    with pytest.raises(SpecError, match="parameter N: 'x' is not an Integer"):
        parameter_values(spec, {"N": "x"})
    assert parameter_values(spec, {"N": "3"}) == {"N": 3}


def test_expressions_properties_and_conditions():
    assert split_path("Steps.s.Outputs['train'].S3Output.S3Uri") == [
        "Steps",
        "s",
        "Outputs",
        "train",
        "S3Output",
        "S3Uri",
    ]
    props = {
        "FinalMetricDataList": [{"MetricName": "validation-auc", "Value": 0.9}],
        "ProcessingOutputConfig": {
            "Outputs": [{"OutputName": "eval", "S3Output": {"S3Uri": "s3://b/eval"}}]
        },
    }
    assert lookup(props, ["FinalMetricDataList", "validation:auc", "Value"], step="t") == 0.9
    with pytest.raises(SpecError, match="no item named 'test'.*has: eval"):
        lookup(props, ["ProcessingOutputConfig", "Outputs", "test"], step="t")
    files = {("e", "Report"): {"metrics": {"mse": {"value": "0.25"}}, "list": [1, 2]}}
    resolve = Resolver(
        {"P": 0.3},
        {"PipelineExecutionId": "x1"},
        {"t": props},
        lambda step, name: files[(step, name)],
    )
    get = {
        "Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.e.PropertyFiles.Report"},
            "Path": "metrics.mse.value",
        }
    }
    assert resolve(get) == "0.25"
    assert (
        resolve(
            {
                "Std:Join": {
                    "On": "/",
                    "Values": ["a", {"Get": "Execution.PipelineExecutionId"}, 1, True],
                }
            }
        )
        == "a/x1/1/true"
    )
    assert evaluate(
        {"Type": "LessThan", "LeftValue": get, "RightValue": {"Get": "Parameters.P"}}, resolve
    )  # a number read as text compares as a number
    assert evaluate(
        {"Type": "Not", "Expression": {"Type": "In", "QueryValue": 3, "Values": [1, 2]}}, resolve
    )
    assert evaluate(
        {
            "Type": "Or",
            "Conditions": [
                {"Type": "Equals", "LeftValue": "a", "RightValue": "b"},
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {"Get": "Steps.t.FinalMetricDataList[0].Value"},
                    "RightValue": 0.9,
                },
            ],
        },
        resolve,
    )
    with pytest.raises(SpecError, match="cannot compare"):
        evaluate({"Type": "GreaterThan", "LeftValue": "abc", "RightValue": 1}, resolve)


def test_cache_key_is_content_and_a_miss_says_why(tmp_path):
    store = rm.open_store(str(tmp_path / "store"))
    store.write_text("data/a/train.csv", "x,y\n1,2\n")
    store.write_text("jobs/run-1/code/train.py", "print(1)\n")
    store.write_text("jobs/run-2/code/train.py", "print(1)\n")  # the same code, staged elsewhere
    args = {
        "entry_point": "train.py",
        "source_dir": store.uri("jobs/run-1/code"),
        "inputs": {"train": store.uri("data/a/train.csv")},
        "hyperparameters": {"eta": 0.1},
        "output_path": store.uri("jobs/run-1/output"),
        "name": "job-1",
        "experiment_config": {"ExperimentName": "e"},
    }
    parts = cache.key_parts(store, "Training", args)
    moved = {**args, "source_dir": store.uri("jobs/run-2/code"), "name": "job-2"}
    assert cache.key_of(cache.key_parts(store, "Training", moved)) == cache.key_of(parts)
    cache.save(
        store, "p", "train", cache.key_of(parts), parts, job=None, properties={}, execution="e1"
    )
    store.write_text("data/a/train.csv", "x,y\n1,3\n")
    changed = {**args, "hyperparameters": {"eta": 0.2}}
    why = cache.explain_miss(store, "p", "train", cache.key_parts(store, "Training", changed))
    assert "input inputs.train changed" in why and "argument hyperparameters.eta: 0.1 -> 0.2" in why
    assert cache.explain_miss(store, "p", "other", parts) == "nothing cached for this step yet"


def test_retry_delays_follow_the_policy():
    spec = parse_spec(
        spec_of(
            [
                {
                    "Name": "a",
                    "Type": "Training",
                    "RetryPolicies": [
                        {
                            "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"],
                            "IntervalSeconds": 2,
                            "BackoffRate": 3,
                            "MaxAttempts": 2,
                        }
                    ],
                }
            ]
        )
    )
    policies = spec.steps[0].retry_policies
    assert retry_delay(policies, "SageMaker.JOB_INTERNAL_ERROR", 1, 0) == 2
    assert retry_delay(policies, "SageMaker.JOB_INTERNAL_ERROR", 2, 0) == 6
    assert retry_delay(policies, "SageMaker.JOB_INTERNAL_ERROR", 3, 0) is None
    assert retry_delay(policies, "Step.SERVICE_FAULT", 1, 0) is None
    assert retry_delay(policies, None, 1, 0) is None


def test_the_picture_has_a_box_a_step(tmp_path):
    from raymaker.pipelines.picture import page

    spec = sdk_pipeline(tmp_path).spec()
    html = page(
        spec,
        {
            "execution": "p-1",
            "status": "Succeeded",
            "steps": {
                "train": {
                    "StepStatus": "Succeeded",
                    "StartTime": 1.0,
                    "EndTime": 4.5,
                    "CacheHitResult": {"SourcePipelineExecutionArn": "x"},
                }
            },
        },
    )
    assert html.count('class="step"') == 4 and "3.5 s, cache hit" in html
    assert 'data-status="Succeeded"' in html and ">else<" in html


def test_every_step_type_builds_its_definition(tmp_path):
    from raymaker.sagemaker.clarify import BiasConfig, DataConfig
    from raymaker.sagemaker.workflow.clarify_check_step import (
        ClarifyCheckStep,
        DataBiasCheckConfig,
    )
    from raymaker.sagemaker.workflow.quality_check_step import (
        DataQualityCheckConfig,
        QualityCheckStep,
    )

    session = rm.PipelineSession(store=str(tmp_path / "store"))
    est = rm.XGBoost(label="y", sagemaker_session=session)
    train = rm.TrainingStep(
        "train", estimator=est, inputs={"train": "data/t.csv"}
    )  # SDK v2's older form
    tuner = rm.HyperparameterTuner(est, "validation:auc", {"eta": rm.ContinuousParameter(0.1, 0.3)},
                                   max_jobs=2)  # fmt: skip
    tune = rm.TuningStep("tune", step_args=tuner.fit({"train": "data/t.csv"}))
    model = rm.Model(model_data=tune.get_top_model_s3_uri(), sagemaker_session=session)
    create = rm.ModelStep("model", step_args=model.create())
    transformer = rm.Transformer(model_data=tune.get_top_model_s3_uri(), sagemaker_session=session)
    transform = rm.TransformStep("score", step_args=transformer.transform("data/t.csv"))
    quality = QualityCheckStep("quality", DataQualityCheckConfig("data/t.csv"),
                               supplied_baseline_constraints="data/constraints.json")  # fmt: skip
    clarify = ClarifyCheckStep(
        "bias", DataBiasCheckConfig(DataConfig("data/t.csv", label="y"), BiasConfig([1], "g")),
        skip_check=True)  # fmt: skip
    register = rm.ModelStep("reg", step_args=model.register(model_package_group_name="g"),
                            depends_on=[quality])  # fmt: skip
    pipeline = rm.Pipeline("all", steps=[train, tune, create, transform, quality, clarify, register],
                           sagemaker_session=session)  # fmt: skip
    steps = {s["Name"]: s for s in json.loads(pipeline.definition())["Steps"]}
    assert {n: s["Type"] for n, s in steps.items()} == {
        "train": "Training", "tune": "Tuning", "model-CreateModel": "Model",
        "score": "Transform", "quality": "QualityCheck", "bias": "ClarifyCheck",
        "reg-RegisterModel": "RegisterModel"}  # fmt: skip
    best = {"Get": "Steps.tune.BestTrainingJob.ModelArtifacts.S3ModelArtifacts"}
    assert steps["model-CreateModel"]["Arguments"]["model_data"] == best
    assert steps["score"]["Arguments"]["model_data"] == best
    assert steps["tune"]["Arguments"]["training"]["algorithm"] == "xgboost"
    assert steps["quality"]["SuppliedBaselineConstraints"] == "data/constraints.json"
    assert steps["quality"]["Arguments"]["dataset"]["uri"] == "data/t.csv"
    assert steps["bias"]["Arguments"]["analyses"] == ["pre_training_bias"]
    assert steps["reg-RegisterModel"]["DependsOn"] == ["quality"]
    spec = pipeline.spec()
    assert flatten(spec)["score"].upstream == {"tune"}
    assert check_pipeline(spec) == []


def test_an_execution_whose_job_ended_is_never_left_executing(tmp_path):
    from raymaker.jobs.client import JobsClient
    from raymaker.jobs.records import CLUSTER_GONE, JobRecord, JobStatus, write_record
    from raymaker.pipelines import catalog
    from raymaker.pipelines.execution import execution_key, reconcile_executions
    from raymaker.settings import Settings

    settings = Settings.from_env().replace(store=str(tmp_path / "store"))
    store = rm.open_store(settings.store)
    record = JobRecord(name="p-1", kind="Pipeline", spec={"name": "p"}, status=JobStatus.FAILED,
                       failure_reason=CLUSTER_GONE, ended_at=5.0)  # fmt: skip
    write_record(store, record)
    store.write_json(execution_key("p", "p-1"), {
        "pipeline": "p", "execution": "p-1", "status": "Executing", "steps": {
            "a": {"StepName": "a", "StepStatus": "Succeeded"},
            "b": {"StepName": "b", "StepStatus": "Executing", "StartTime": 1.0}}})  # fmt: skip
    assert reconcile_executions(settings, store) == {"restored": ["p-1"], "failed": {}}
    state = catalog.execution(JobsClient(settings, store), "p-1")
    assert state["status"] == "Failed" and state["steps"]["a"]["StepStatus"] == "Succeeded"
    assert state["steps"]["b"]["StepStatus"] == "Failed"
    assert "cluster stopped" in state["steps"]["b"]["FailureReason"]
    assert reconcile_executions(settings, store)["restored"] == []  # twice changes nothing


def test_function_steps_are_pickled_into_the_store_and_wired(tmp_path):
    session = rm.Session(store=str(tmp_path / "store"))

    @rm.step
    def make(n: int) -> list:
        return list(range(n))

    @rm.step(name="pick")
    def pick(values: list, scale: float):
        return {"first": values[0] * scale}

    n = rm.ParameterInteger("N", default_value=3)
    out = pick(make(n), scale=2.0)
    assert out.expr == {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.pick.PropertyFiles.Result"},
                                        "Path": "Return"}}  # fmt: skip
    assert out["first"].expr["Std:JsonGet"]["Path"] == "Return['first']"
    pipeline = rm.Pipeline("fn", parameters=[n], steps=[out], sagemaker_session=session)
    make_step, pick_step = json.loads(pipeline.definition())["Steps"]
    assert make_step["Arguments"]["values"] == {"v0": {"Get": "Parameters.N"}}
    assert pick_step["Arguments"]["results"] == {
        "r0": {"Get": "Steps.make.ProcessingOutputConfig.Outputs['result'].S3Output.S3Uri"}
    }
    assert session.store.exists(session.store.key(pick_step["Arguments"]["function"]))
    spec = pipeline.spec()
    assert flatten(spec)["pick"].upstream == {"make"} and check_pipeline(spec) == []
    with pytest.raises(TypeError, match="not iterable"):
        list(out)
