"""Pipelines: a 5-step pipeline (prep -> train -> evaluate -> condition -> register) run cold,
then fully cached, then with one late step's code changed; and the same jobs run by hand, one
after another, through the same client (the baseline: what a script without a pipeline does).

Side by side in one run, on one warm local head:
  - by hand:   session.jobs.submit(...).wait() for prep, train, evaluate, then register
  - cold:      pipeline.start().wait(), nothing cached
  - cached:    the same again: every job step a cache hit (goal <= 3 s)
  - one late step changed: evaluate's code edited; prep and train hit, the rest run
Orchestration overhead per job step = the step's time in the pipeline (start to end, as the
execution records it) minus its job's own time (the job record's created -> ended): what the
pipeline adds around each job (goal <= 0.5 s).

    python benchmarks/bench_pipelines.py [--repeat 2] [--rows 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Report, warm_session  # noqa: E402

PREP = """
import glob, os, shutil
ML = os.environ.get("RAYMAKER_OPT_ML", "/opt/ml")
src = glob.glob(ML + "/processing/input/raw/*.csv")[0]
os.makedirs(ML + "/processing/output/train", exist_ok=True)
shutil.copy(src, ML + "/processing/output/train/train.csv")
"""
EVALUATE = """
import glob, json, os, tarfile
ML = os.environ.get("RAYMAKER_OPT_ML", "/opt/ml")
d = ML + "/processing/input/model"
tarfile.open(glob.glob(d + "/*.tar.gz")[0]).extractall(d)
m = json.load(open(os.path.join(d, "raymaker-model.json")))
os.makedirs(ML + "/processing/output/evaluation", exist_ok=True)
json.dump({"auc": m["metrics"]["train-auc"]},
          open(ML + "/processing/output/evaluation/evaluation.json", "w"))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    with warm_session("raymaker-bench-pipelines-") as (session, home, _):
        run(session, home, args.repeat, args.rows)


def build(session, work: str, data_uri: str):
    import raymaker as rm
    from raymaker.sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor

    ps = rm.PipelineSession(settings=session.settings)
    cache = rm.CacheConfig(enable_caching=True, expire_after="P1D")
    proc = ScriptProcessor(command=["python3"], sagemaker_session=ps)
    prep = rm.ProcessingStep(
        "prep",
        cache_config=cache,
        step_args=proc.run(
            code=os.path.join(work, "prep.py"),
            inputs=[ProcessingInput(data_uri, "/opt/ml/processing/input/raw", "raw")],
            outputs=[ProcessingOutput("/opt/ml/processing/output/train", output_name="train")],
        ),
    )
    est = rm.XGBoost(
        label="churn",
        hyperparameters={"num_round": 20, "eval_metric": "auc"},
        recipe=os.path.join(work, "recipe.yaml"),
        sagemaker_session=ps,
    )
    train = rm.TrainingStep(
        "train",
        cache_config=cache,
        step_args=est.fit(
            {"train": prep.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri}
        ),
    )
    report = rm.PropertyFile("Evaluation", "evaluation", "evaluation.json")
    evaluate = rm.ProcessingStep(
        "evaluate",
        cache_config=cache,
        property_files=[report],
        step_args=proc.run(
            code=os.path.join(work, "evaluate.py"),
            inputs=[
                ProcessingInput(
                    train.properties.ModelArtifacts.S3ModelArtifacts,
                    "/opt/ml/processing/input/model",
                    "model",
                )
            ],
            outputs=[
                ProcessingOutput("/opt/ml/processing/output/evaluation", output_name="evaluation")
            ],
        ),
    )
    register = rm.RegisterModel(
        "register",
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        model_package_group_name="bench-churn",
    )
    check = rm.ConditionStep(
        "check",
        conditions=[
            rm.ConditionGreaterThanOrEqualTo(
                rm.JsonGet(step_name="evaluate", property_file=report, json_path="auc"), 0.5
            )
        ],
        if_steps=[register],
    )
    return rm.Pipeline(
        "bench-pipe", steps=[prep, train, evaluate, check], sagemaker_session=session
    )


def by_hand(session, work: str, data_uri: str) -> float:
    """The same jobs submitted one after another by a script, and the registration."""
    from raymaker.sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from raymaker.sagemaker.xgboost import XGBoost

    start = time.perf_counter()
    proc = ScriptProcessor(command=["python3"], session=session)
    prep = proc.run(
        os.path.join(work, "prep.py"),
        [ProcessingInput(data_uri, "/opt/ml/processing/input/raw", "raw")],
        [ProcessingOutput("/opt/ml/processing/output/train", output_name="train")],
        logs=False,
    )
    train_uri = prep.describe().result["outputs"]["train"]
    est = XGBoost(
        label="churn",
        hyperparameters={"num_round": 20, "eval_metric": "auc"},
        recipe=os.path.join(work, "recipe.yaml"),
        session=session,
    )
    est.fit({"train": train_uri}, logs=False)
    proc.run(
        os.path.join(work, "evaluate.py"),
        [ProcessingInput(est.model_data, "/opt/ml/processing/input/model", "model")],
        [ProcessingOutput("/opt/ml/processing/output/evaluation", output_name="evaluation")],
        logs=False,
    )
    est.register(model_package_group_name="bench-churn-hand")
    return time.perf_counter() - start


def overheads(session, execution) -> list[float]:
    """Each job step's time in the pipeline minus its job's own time."""
    out = []
    for s in session.pipelines.steps(execution.execution_id):
        job = s.get("RaymakerJob")
        if not job or s.get("CacheHitResult") or not s.get("EndTime"):
            continue
        record = session.jobs.get(job).describe()
        out.append((s["EndTime"] - s["StartTime"]) - (record.ended_at - record.created_at))
    return out


def run(session, home: str, repeat: int, rows: int) -> None:
    import json

    from raymaker.quickstart import CHURN_RECIPE, make_churn_data

    work = tempfile.mkdtemp(prefix="bench-pipelines-", dir=home)
    for name, text in (("prep.py", PREP), ("evaluate.py", EVALUATE)):
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
    with open(os.path.join(work, "recipe.yaml"), "w") as f:
        json.dump({"steps": CHURN_RECIPE}, f)
    path = os.path.join(work, "churn.csv")
    make_churn_data(rows).to_csv(path, index=False)
    data_uri = session.upload_data(path, key_prefix="bench-pipelines/raw")

    hand, cold, cached, late, per_step, step_counts = [], [], [], [], [], []
    phases: list[dict] = []
    for i in range(repeat):
        hand.append(by_hand(session, work, data_uri))
        pipeline = build(session, work, data_uri)
        pipeline.name = f"bench-pipe-{i}"  # a fresh cache each round: cold is cold
        pipeline.upsert()
        t = time.perf_counter()
        execution = pipeline.start()
        execution.wait()
        cold.append(time.perf_counter() - t)
        per_step.extend(overheads(session, execution))
        t, wall = time.perf_counter(), time.time()
        execution = pipeline.start()
        submitted = time.perf_counter()
        execution.wait()
        cached.append(time.perf_counter() - t)
        record = session.jobs.get(execution.execution_id).describe()
        phases.append(
            {
                "client: start() until submitted": submitted - t,
                "Ray: submitted until the driver runs": record.started_at - record.submitted_at,
                "the driver: walk the steps (all cached)": record.ended_at - record.started_at,
                "until wait() returns": (t + cached[-1]) - (record.ended_at - wall + t),
            }
        )
        hits = sum(1 for s in execution.list_steps() if s.get("CacheHitResult"))
        step_counts.append(hits)
        with open(os.path.join(work, "evaluate.py"), "a") as f:
            f.write(f"# edit {i}\n")
        pipeline = build(session, work, data_uri)
        pipeline.name = f"bench-pipe-{i}"
        pipeline.upsert()
        t = time.perf_counter()
        execution = pipeline.start()
        execution.wait()
        late.append(time.perf_counter() - t)
        per_step.extend(overheads(session, execution))

    report = Report("pipelines", "Pipelines: 5 steps (prep, train, evaluate, condition, register)")
    report.add("by hand: the jobs one after another", hand)
    report.add("pipeline, cold", cold, baseline="by hand: the jobs one after another")
    report.add("pipeline, fully cached", cached, baseline="pipeline, cold")
    report.add("pipeline, one late step changed", late, baseline="pipeline, cold")
    report.add("overhead per job step", per_step)
    report.notes.append(
        f"fully cached run: {statistics.median(cached):.2f} s (goal <= 3 s); "
        f"cache hits a run: {step_counts}"
    )
    report.notes.append(
        f"orchestration overhead per job step: median "
        f"{statistics.median(per_step):.2f} s, max {max(per_step):.2f} s "
        "(goal <= 0.5 s)"
    )
    for phase in phases[0]:
        report.notes.append(f"fully cached run, {phase}: "
                            f"{statistics.median(p[phase] for p in phases):.2f} s")  # fmt: skip
    report.finish()


if __name__ == "__main__":
    main()
