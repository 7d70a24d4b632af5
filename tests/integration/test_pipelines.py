"""Pipelines on a real Ray head: processing -> training -> evaluation -> condition ->
register or fail, with parameters, a content-keyed cache (hit, then a miss that says why),
JsonGet over a PropertyFile; a retry policy absorbing a killed first attempt, `retry` of a
failed execution reusing what succeeded, independent steps overlapping; the CLI."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

import raymaker as rm
from raymaker.errors import JobFailed, SpecError
from raymaker.quickstart import CHURN_RECIPE, make_churn_data
from raymaker.sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
from raymaker.sagemaker.workflow.condition_step import ConditionStep
from raymaker.sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
from raymaker.sagemaker.workflow.fail_step import FailStep
from raymaker.sagemaker.workflow.functions import Join, JsonGet
from raymaker.sagemaker.workflow.parameters import ParameterFloat, ParameterInteger
from raymaker.sagemaker.workflow.pipeline import Pipeline
from raymaker.sagemaker.workflow.pipeline_context import PipelineSession
from raymaker.sagemaker.workflow.properties import PropertyFile
from raymaker.sagemaker.workflow.step_collections import RegisterModel
from raymaker.sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep

PREP = """
import glob, os, shutil
ML = os.environ.get("RAYMAKER_OPT_ML", "/opt/ml")
src = glob.glob(ML + "/processing/input/raw/*.csv")[0]
os.makedirs(ML + "/processing/output/train", exist_ok=True)
shutil.copy(src, ML + "/processing/output/train/train.csv")
"""
EVALUATE = """
import json, os, tarfile, glob
ML = os.environ.get("RAYMAKER_OPT_ML", "/opt/ml")
model_dir = ML + "/processing/input/model"
tar = glob.glob(model_dir + "/*.tar.gz")
if tar:
    tarfile.open(tar[0]).extractall(model_dir)
manifest = json.load(open(os.path.join(model_dir, "raymaker-model.json")))
out = ML + "/processing/output/evaluation"
os.makedirs(out, exist_ok=True)
json.dump({"metrics": {"auc": {"value": manifest["metrics"]["train-auc"]}}},
          open(os.path.join(out, "evaluation.json"), "w"))
"""


@pytest.fixture(scope="module")
def churn(ray_head, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipelines")
    session = rm.Session(store=str(root / "store"))
    data = root / "churn.csv"
    make_churn_data(400, seed=1).to_csv(data, index=False)
    for name, text in (("prep.py", PREP), ("evaluate.py", EVALUATE)):
        (root / name).write_text(text)
    (root / "recipe.yaml").write_text(json.dumps({"steps": CHURN_RECIPE}))
    uri = session.upload_data(str(data), key_prefix="pipelines/raw")
    return session, root, uri


def churn_pipeline(session, root, data_uri) -> Pipeline:
    psession = PipelineSession(settings=session.settings)
    rounds = ParameterInteger("Rounds", default_value=8)
    threshold = ParameterFloat("MinAuc", default_value=0.5)
    cache = CacheConfig(enable_caching=True, expire_after="PT1H")
    processor = ScriptProcessor(command=["python3"], sagemaker_session=psession)
    prep = ProcessingStep(
        "prep",
        step_args=processor.run(
            code=str(root / "prep.py"),
            inputs=[
                ProcessingInput(
                    source=data_uri, destination="/opt/ml/processing/input/raw", input_name="raw"
                )
            ],
            outputs=[
                ProcessingOutput(output_name="train", source="/opt/ml/processing/output/train")
            ],
        ),
        cache_config=cache,
    )
    est = rm.XGBoost(
        label="churn",
        hyperparameters={"num_round": rounds, "eval_metric": "auc"},
        recipe=str(root / "recipe.yaml"),
        sagemaker_session=psession,
    )
    train = TrainingStep(
        "train",
        step_args=est.fit(
            {"train": prep.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri}
        ),
        cache_config=cache,
    )
    report = PropertyFile(name="Evaluation", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        "evaluate",
        step_args=processor.run(
            code=str(root / "evaluate.py"),
            inputs=[
                ProcessingInput(
                    source=train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination="/opt/ml/processing/input/model",
                    input_name="model",
                )
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation", source="/opt/ml/processing/output/evaluation"
                )
            ],
        ),
        property_files=[report],
        cache_config=cache,
    )
    register = RegisterModel(
        "register",
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        model_package_group_name="pipeline-churn",
        approval_status="Approved",
    )
    fail = FailStep("too-weak", error_message=Join(on=" ", values=["auc below", threshold]))
    check = ConditionStep(
        "check-auc",
        conditions=[
            ConditionGreaterThanOrEqualTo(
                JsonGet(step_name="evaluate", property_file=report, json_path="metrics.auc.value"),
                threshold,
            )
        ],
        if_steps=[register],
        else_steps=[fail],
    )
    return Pipeline(
        "churn-pipe",
        parameters=[rounds, threshold],
        steps=[prep, train, evaluate, check],
        sagemaker_session=session,
    )


def statuses(execution) -> dict:
    return {s["StepName"]: s["StepStatus"] for s in execution.list_steps()}


def test_process_train_condition_register_then_cache_hits_and_misses(churn, tmp_path):
    session, root, data_uri = churn
    pipeline = churn_pipeline(session, root, data_uri)
    definition = json.loads(pipeline.definition())
    assert definition["Version"] == "2020-12-01"
    assert [s["Name"] for s in definition["Steps"]] == ["prep", "train", "evaluate", "check-auc"]
    pipeline.upsert()

    first = pipeline.start()
    first.wait()
    assert statuses(first) == {
        "prep": "Succeeded",
        "train": "Succeeded",
        "evaluate": "Succeeded",
        "check-auc": "Succeeded",
        "register-RegisterModel": "Succeeded",
    }
    steps = {s["StepName"]: s for s in first.list_steps()}
    assert steps["check-auc"]["Metadata"]["Condition"]["Outcome"] == "true"
    assert "TrainingJob" in steps["train"]["Metadata"]
    assert steps["prep"]["CacheMiss"] == "nothing cached for this step yet"
    versions = session.registry.versions("pipeline-churn")
    assert len(versions) == 1 and versions[0].lineage["pipeline_execution"] == first.execution_id
    model = first.result("train")["ModelArtifacts"]["S3ModelArtifacts"]
    assert versions[0].model_data == model

    # the same again: every job step is a cache hit, named by the execution that ran it
    second = pipeline.start(parameters={"MinAuc": 1.5})  # the else branch: FailStep
    with pytest.raises(JobFailed, match="auc below 1.5"):
        second.wait()
    steps = {s["StepName"]: s for s in second.list_steps()}
    for name in ("prep", "train", "evaluate"):
        assert steps[name]["CacheHitResult"]["SourcePipelineExecutionArn"].endswith(
            first.execution_id
        ), name
    assert steps["too-weak"]["StepStatus"] == "Failed"
    assert "register-RegisterModel" not in steps  # the branch not taken is not listed
    assert second.describe()["PipelineExecutionStatus"] == "Failed"
    assert second.describe()["FailureReason"].endswith("auc below 1.5")

    # the data changes under the same URI: prep misses and says why; so does what follows
    changed = tmp_path / "churn.csv"
    make_churn_data(400, seed=2).to_csv(changed, index=False)
    session.upload_data(str(changed), key_prefix="pipelines/raw")
    third = pipeline.start(parameters={"Rounds": 8})
    third.wait()
    steps = {s["StepName"]: s for s in third.list_steps()}
    assert "CacheHitResult" not in steps["prep"]
    assert "input inputs[0].source changed" in steps["prep"]["CacheMiss"]
    assert "input inputs.train changed" in steps["train"]["CacheMiss"]
    assert len(session.registry.versions("pipeline-churn")) == 2

    # the CLI renders the same state; the graph is an SVG page
    runner = CliRunner()
    env = {"RAYMAKER_STORE": session.settings.store}
    result = runner.invoke(rm_cli(), ["pipelines", "steps", second.execution_id], env=env)
    assert result.exit_code == 0, result.output
    assert "hit" in result.output and "auc below 1.5" in result.output
    result = runner.invoke(rm_cli(), ["pipelines", "list"], env=env)
    assert "churn-pipe" in result.output
    page = tmp_path / "graph.html"
    result = runner.invoke(
        rm_cli(), ["pipelines", "graph", third.execution_id, "-o", str(page)], env=env
    )
    assert result.exit_code == 0, result.output
    assert page.read_text().count('class="step"') == 6


def test_bad_parameter_is_refused_before_anything_runs(churn):
    session, root, data_uri = churn
    pipeline = churn_pipeline(session, root, data_uri)
    pipeline.upsert()
    before = len(session.jobs.list(kind="Pipeline"))
    with pytest.raises(SpecError, match="no parameter 'MinAUC'.*did you mean 'MinAuc'"):
        pipeline.start(parameters={"MinAUC": 0.9})
    with pytest.raises(SpecError, match="parameter Rounds: 'many' is not an Integer"):
        pipeline.start(parameters={"Rounds": "many"})
    assert len(session.jobs.list(kind="Pipeline")) == before


FLAKY = """
import os, signal, sys
ML = os.environ.get("RAYMAKER_OPT_ML", "/opt/ml")
marker = sys.argv[1]
if not os.path.exists(marker):
    open(marker, "w").close()
    os.kill(os.getppid(), signal.SIGKILL)  # the job's driver dies: an internal error
os.makedirs(ML + "/processing/output/out", exist_ok=True)
open(ML + "/processing/output/out/done.txt", "w").write("ok")
"""
FRAGILE = """
import os, sys
if not os.path.exists(sys.argv[1]):
    raise RuntimeError("the fix is not in yet")
"""
SLEEPY = """
import time
time.sleep(3)
"""


def test_retry_policy_resume_and_parallel_steps(churn, tmp_path):
    session = churn[0]
    for name, text in (("flaky.py", FLAKY), ("fragile.py", FRAGILE), ("sleepy.py", SLEEPY)):
        (tmp_path / name).write_text(text)
    marker, fix = tmp_path / "attempted", tmp_path / "fixed"

    def job(code, *args, outputs=()):
        return {
            "code": str(tmp_path / code),
            "arguments": [str(a) for a in args],
            "instance_type": "cpu.0.5",
            "outputs": [{"name": o} for o in outputs],
        }

    spec = {
        "kind": "Pipeline",
        "name": "flaky-pipe",
        "Steps": [
            {
                "Name": "flaky",
                "Type": "Processing",
                "Arguments": job("flaky.py", marker, outputs=["out"]),
                "RetryPolicies": [
                    {
                        "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"],
                        "IntervalSeconds": 0,
                        "MaxAttempts": 1,
                    }
                ],
            },
            {"Name": "sleep-a", "Type": "Processing", "Arguments": job("sleepy.py")},
            {"Name": "sleep-b", "Type": "Processing", "Arguments": job("sleepy.py")},
            {
                "Name": "fragile",
                "Type": "Processing",
                "Arguments": job("fragile.py", fix),
                "DependsOn": ["flaky", "sleep-a", "sleep-b"],
            },
        ],
    }
    handle = session.jobs.submit(spec)  # `raymaker submit pipeline.yaml` takes this path
    with pytest.raises(JobFailed, match="step fragile failed"):
        handle.wait(timeout=240)
    state = session.pipelines.execution(handle.name)
    steps = state["steps"]
    assert steps["flaky"]["StepStatus"] == "Succeeded" and steps["flaky"]["AttemptCount"] == 2
    assert "JOB_INTERNAL_ERROR" in steps["flaky"]["LastFailure"]
    assert steps["fragile"]["StepStatus"] == "Failed"
    assert (
        "the fix is not in yet" in steps["fragile"]["FailureReason"]
        or "RuntimeError" in steps["fragile"]["FailureReason"]
    )
    a, b = steps["sleep-a"], steps["sleep-b"]
    assert a["StartTime"] < b["EndTime"] and b["StartTime"] < a["EndTime"], "not in parallel"

    fix.touch()
    runner = CliRunner()
    env = {"RAYMAKER_STORE": session.settings.store}
    result = runner.invoke(rm_cli(), ["pipelines", "retry", handle.name], env=env)
    assert result.exit_code == 0, result.output
    state = session.pipelines.execution(handle.name)
    assert state["status"] == "Succeeded"
    steps = state["steps"]
    assert steps["flaky"]["ReusedFromAttempt"] == 1 and len(steps["flaky"]["Jobs"]) == 2
    assert steps["fragile"]["StepStatus"] == "Succeeded"
    with pytest.raises(Exception, match="only a Failed or Stopped"):
        session.pipelines.retry(handle.name)


def rm_cli():
    from raymaker.cli.main import cli

    return cli


def test_stop_ends_the_running_step_jobs(churn, tmp_path):
    session = churn[0]
    (tmp_path / "long.py").write_text("import time\ntime.sleep(120)\n")
    spec = {"kind": "Pipeline", "name": "stop-pipe", "Steps": [
        {"Name": "long", "Type": "Processing",
         "Arguments": {"code": str(tmp_path / "long.py"), "instance_type": "cpu.0.5"}}]}  # fmt: skip
    handle = session.jobs.submit(spec)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        step = session.pipelines.execution(handle.name)["steps"].get("long", {})
        if (
            step.get("RaymakerJob")
            and session.jobs.get(step["RaymakerJob"]).status.value == "RUNNING"
        ):
            break
        time.sleep(0.5)
    state = session.pipelines.stop(handle.name)
    assert state["status"] == "Stopped"
    assert state["steps"]["long"]["StepStatus"] == "Stopped"
    job = session.jobs.get(state["steps"]["long"]["RaymakerJob"]).describe()
    assert job.status.value == "STOPPED"


def test_quality_check_model_and_transform_steps(churn, tmp_path):
    session, root, data_uri = churn
    spec = {
        "kind": "Pipeline", "name": "check-pipe",
        "Parameters": [{"Name": "Constraints", "Type": "String", "DefaultValue": "none"}],
        "Steps": [
            {"Name": "train", "Type": "Training", "Arguments": {
                "algorithm": "xgboost", "label": "churn", "recipe": str(root / "recipe.yaml"),
                "inputs": {"train": data_uri}, "hyperparameters": {"num_round": 5}}},
            {"Name": "model", "Type": "Model", "Arguments": {
                "model_data": {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}}},
            {"Name": "score", "Type": "Transform", "Arguments": {
                "model_data": {"Get": "Steps.model.PrimaryContainer.ModelDataUrl"},
                "input": {"data_uri": data_uri, "content_type": "text/csv"},
                "output": {"accept": "text/csv"}}},
            {"Name": "quality", "Type": "QualityCheck", "Arguments": {"dataset": {"uri": data_uri}},
             "SkipCheck": False,
             "SuppliedBaselineConstraints": {"Get": "Parameters.Constraints"}},
        ],
    }  # fmt: skip
    first = session.jobs.submit({**spec, "start": {"parameters": {"Constraints": ""}}}, wait=True)
    state = session.pipelines.execution(first.name)
    assert {n: s["StepStatus"] for n, s in state["steps"].items()} == dict.fromkeys(
        ("train", "model", "score", "quality"), "Succeeded"
    )
    quality = state["steps"]["quality"]["Properties"]
    constraints = quality["CalculatedBaselineConstraints"]
    assert session.store.exists(session.store.key(constraints))
    score = state["steps"]["score"]["Properties"]["TransformOutput"]["S3OutputPath"]
    assert session.store.list(session.store.key(score))

    # checked against its own baseline: no violation; against a stricter one: the step fails
    second = session.jobs.submit({**spec, "start": {"parameters": {"Constraints": constraints}}},
                                 wait=True)  # fmt: skip
    assert session.pipelines.execution(second.name)["steps"]["quality"]["Properties"][
        "Violations"] == []  # fmt: skip
    strict = json.loads(session.store.read_text(session.store.key(constraints)))
    for feature in strict["features"]:
        if feature.get("num_constraints"):
            feature["num_constraints"]["is_non_negative"] = True
        feature["completeness"] = 1.0
    strict["features"].append({"name": "not-there", "inferred_type": "Fractional"})
    session.store.write_text("data/strict/constraints.json", json.dumps(strict))
    third = session.jobs.submit({**spec, "start": {"parameters": {
        "Constraints": session.store.uri("data/strict/constraints.json")}}})  # fmt: skip
    with pytest.raises(JobFailed, match="violation.*not-there"):
        third.wait()


def test_function_steps_pass_values_and_conditions_read_them(churn):
    session = churn[0]

    @rm.step(instance_type="cpu.0.5")
    def make(n: int) -> list:
        return list(range(n))

    @rm.step(name="total")
    def total(values: list, extra: int) -> int:
        return sum(values) + extra

    n = rm.ParameterInteger("N", default_value=4)
    out = total(make(n), extra=10)
    check = rm.ConditionStep(
        "big-enough", conditions=[rm.ConditionGreaterThan(out, 15)],
        else_steps=[rm.FailStep("too-small", error_message="the total is small")])  # fmt: skip
    pipeline = rm.Pipeline("fn-pipe", parameters=[n], steps=[out, check],
                           sagemaker_session=session)  # fmt: skip
    steps = json.loads(pipeline.definition())["Steps"]
    assert [(s["Name"], s["Type"]) for s in steps] == [
        ("make", "Function"), ("total", "Function"), ("big-enough", "Condition")]  # fmt: skip
    pipeline.upsert()
    execution = pipeline.start(parameters={"N": 5})
    execution.wait()
    assert execution.result("make") == [0, 1, 2, 3, 4]
    assert execution.result("total") == 20
    small = pipeline.start(parameters={"N": 2})
    with pytest.raises(JobFailed, match="the total is small"):
        small.wait()
