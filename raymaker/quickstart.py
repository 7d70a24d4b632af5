"""``raymaker quickstart``: the main job, end to end on the embedded default.

Today: generate a small churn data set, split it (stratified) and upload it, run a
SageMaker-style processing script on it through the job layer (a real Ray Job), fit a data
recipe on the training split (impute, scale, one-hot; a recipe job on Ray Data), train the
XGBoost built-in on the raw split with that fitted recipe inside the model (validation on the
test split), deploy it to a real-time endpoint and score raw rows over HTTP, batch-score the
raw scoring set with a transform job, run a short AutoML job on the training split, and print
a summary.

It leaves what the README's examples use: in the store ``data/churn/`` (``churn.csv``,
``train/``, ``test/``) and ``data/churn-scoring/``; locally ``raymaker-quickstart/`` with
``train.csv``, ``test.csv``, ``scoring.csv`` and ``rows.csv`` (five raw rows to invoke with).
Each capability that lands adds its step here (prep -> train -> tune -> deploy -> predict ->
batch -> register).
"""

from __future__ import annotations

import json
import os
import time
from importlib import resources

from raymaker.sagemaker.session import Session

CHURN_RECIPE = [
    {"op": "impute", "columns": ["total_charges"], "strategy": "median"},
    {"op": "scale", "columns": ["tenure", "monthly_charges", "total_charges"]},
    {"op": "onehot", "columns": ["contract"]},
]


def make_churn_data(rows: int, seed: int = 7):
    """A synthetic, deterministic customer-churn table (pandas DataFrame)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, rows)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], rows, p=[0.55, 0.25, 0.2])
    monthly = np.round(rng.normal(65, 20, rows).clip(18, 120), 2)
    calls = rng.poisson(1.5, rows)
    risk = (
        -1.0
        - 0.04 * tenure
        + 0.02 * (monthly - 65)
        + 0.45 * calls
        + np.select([contract == "month-to-month", contract == "one-year"], [1.4, 0.2], -0.6)
    )
    churn = (rng.random(rows) < 1 / (1 + np.exp(-risk))).astype(int)
    total = np.round(monthly * tenure, 2).astype(float)
    total[rng.random(rows) < 0.01] = np.nan  # a few missing values, as real data has
    return pd.DataFrame(
        {
            "tenure": tenure,
            "contract": contract,
            "monthly_charges": monthly,
            "total_charges": total,
            "support_calls": calls,
            "churn": churn,
        }
    )


def write_example_data(rows: int, folder: str) -> dict[str, str]:
    """The churn data, split stratified, as the local files the README's examples use."""
    from raymaker.data.splits import split_frame
    from raymaker.specs.jobs import SplitSpec

    os.makedirs(folder, exist_ok=True)
    frame = make_churn_data(rows)
    parts = split_frame(frame, SplitSpec(method="stratified", label="churn", seed=7))
    test = parts["test"]
    files = {
        "churn": frame,
        "train": parts["train"],
        "test": test,
        "scoring": test.drop(columns=["churn"]),
        "rows": _invoke_rows(test),
    }
    paths = {}
    for name, table in files.items():
        paths[name] = os.path.join(folder, f"{name}.csv")
        # a batch file has no header, as SageMaker's do; the rest name their columns
        table.to_csv(paths[name], index=False, header=name != "scoring")
    return paths


def _invoke_rows(test):
    """Five raw rows (two churners, three stayers) without the label: what ``invoke`` sends."""
    import pandas as pd

    rows = pd.concat([test[test["churn"] == 1].head(2), test[test["churn"] == 0].head(3)])
    return rows.drop(columns=["churn"])


def run_quickstart(*, keep_cluster: bool = False, rows: int = 5000, echo=print,
                   folder: str = "raymaker-quickstart") -> dict:  # fmt: skip
    """Run the quickstart; returns the summary it prints. Raises JobFailed, ClusterError."""
    from raymaker.cluster import LocalCluster
    from raymaker.specs.jobs import ProcessingInput, ProcessingJob, ProcessingOutput

    t0 = time.perf_counter()
    session = Session()
    echo(f"store: {session.store.uri()}")
    started_cluster = False
    if not session.settings.ray_address:
        echo("starting the local Ray head (once; later jobs reuse it) ...")
        _, started_cluster = LocalCluster(session.settings).up()
    t_cluster = time.perf_counter()
    try:
        local = write_example_data(rows, folder)
        data_uri = session.upload_data(local["churn"], key_prefix="data/churn")
        train_uri = session.upload_data(local["train"], key_prefix="data/churn/train")
        test_uri = session.upload_data(local["test"], key_prefix="data/churn/test")
        scoring_uri = session.upload_data(local["scoring"], key_prefix="data/churn-scoring")
        echo(f"uploaded {rows} rows to {data_uri} (split: churn/train, churn/test; "
             f"churn-scoring without the label); local copies in {folder}/")  # fmt: skip

        script = resources.files("raymaker") / "_assets" / "quickstart_summarize.py"
        spec = ProcessingJob(
            code=str(script),
            inputs=[ProcessingInput(name="raw", source=data_uri)],
            outputs=[ProcessingOutput(name="summary")],
            arguments=[
                "--input",
                "/opt/ml/processing/input/raw",
                "--output",
                "/opt/ml/processing/output/summary",
                "--label",
                "churn",
            ],  # fmt: skip
        )
        t_submit = time.perf_counter()
        handle = session.jobs.submit(spec)
        echo(f"submitted processing job {handle.name}; its output:")
        record = handle.wait(logs=True)
        t_done = time.perf_counter()
        out_uri = record.result["outputs"]["summary"]
        summary = json.loads(session.store.read_bytes(session.store.key(out_uri) + "/summary.json"))

        echo("\nfitting a data recipe on the training split (a recipe job on Ray Data) ...")
        prep = ProcessingJob(
            recipe=CHURN_RECIPE, inputs=[ProcessingInput(name="raw", source=train_uri)]
        )
        t_prep = time.perf_counter()
        prepared = session.jobs.submit(prep).wait()
        t_prep_done = time.perf_counter()

        echo("\ntraining the XGBoost built-in on the raw split, the fitted recipe inside ...")
        from raymaker.sagemaker.xgboost import XGBoost

        xgb = XGBoost(
            label="churn",
            recipe=prepared.result["recipe"],
            hyperparameters={"num_round": 40, "max_depth": 4, "eta": 0.2},
            session=session,
        )
        t_train = time.perf_counter()
        xgb.fit({"train": train_uri, "validation": test_uri}, logs=False)
        t_train_done = time.perf_counter()
        trained = xgb.describe()

        echo("\ndeploying the model to a real-time endpoint (Ray Serve) ...")
        from raymaker.sagemaker.predictor import Predictor
        from raymaker.sagemaker.serializers import JSONSerializer

        t_deploy = time.perf_counter()
        model = xgb.create_model()  # half a core: the endpoint stays while a laptop runs jobs
        endpoint = session.endpoints.apply(model.endpoint_spec("quickstart-churn", 1, "cpu.0.5"))
        t_deploy_done = time.perf_counter()
        predictor = Predictor("quickstart-churn", session=session, serializer=JSONSerializer())
        import pandas as pd

        raw = pd.read_csv(local["rows"])  # raw rows: the recipe inside the model prepares them
        labels = [1, 1, 0, 0, 0]
        answer = predictor.predict({"instances": raw.to_dict("records")})
        scored = [
            (round(p["score"], 3), label)
            for p, label in zip(answer["predictions"], labels, strict=True)
        ]
        url = session.endpoints.url("quickstart-churn")
        echo(f"POST {url}: raw rows -> (score, true label) {scored}")
        if not keep_cluster:
            predictor.delete_endpoint()

        echo("\nbatch-scoring the raw scoring set (a TransformJob with the endpoint's handler) ...")
        transformer = xgb.transformer(instance_count=1, instance_type="cpu.1")
        t_batch = time.perf_counter()
        transformer.transform(scoring_uri, content_type="text/csv", split_type="Line",
                              logs=False)  # fmt: skip
        t_batch_done = time.perf_counter()
        batch = transformer.describe().result
        scores = [
            float(line)
            for key in session.store.list(session.store.key(batch["output_path"]))
            if key.endswith(".out")
            for line in session.store.read_text(key).split()
        ]
        truth = pd.read_csv(local["test"])["churn"].tolist()
        batch_accuracy = sum((s > 0.5) == bool(t) for s, t in zip(scores, truth, strict=True))
        batch_accuracy /= max(1, len(truth))
        echo(f"{batch['rows_out']} rows scored into {batch['output_path']}")

        echo("\nAutoML on the training split: two learners bagged, an ensemble, a 30 s budget ...")
        from raymaker.sagemaker.automl import AutoML

        automl = AutoML(target_attribute_name="churn", algorithms=["lightgbm", "linear-learner"],
                        folds=3, total_job_runtime_in_seconds=30, session=session)  # fmt: skip
        t_automl = time.perf_counter()
        automl.fit(train_uri, logs=False)
        t_automl_done = time.perf_counter()
        best = automl.best_candidate()
        metric = best["FinalAutoMLJobObjectiveMetric"]
        echo(f"best candidate {best['CandidateName']}: {metric['MetricName']} "
             f"{metric['Value']:.4f} (out-of-fold)")  # fmt: skip
    finally:
        if started_cluster and not keep_cluster:
            LocalCluster(session.settings).down()
    report = {
        "job": record.name,
        "status": record.status.value,
        "rows": summary["rows"],
        "churn_rate": round(summary["label_rate"], 4),
        "churn_by_contract": summary["by_contract"],
        "output": out_uri,
        "prep_job": prepared.name,
        "prepared_rows": prepared.result["rows"],
        "fitted_recipe": prepared.result["recipe"],
        "training_job": trained.name,
        "validation_logloss": round(trained.result["metrics"]["validation-logloss"], 4),
        "model_data": xgb.model_data,
        "cluster_start_s": round(t_cluster - t0, 2),
        "job_s": round(t_done - t_submit, 2),
        "prep_job_s": round(t_prep_done - t_prep, 2),
        "training_job_s": round(t_train_done - t_train, 2),
        "endpoint": url if keep_cluster else f"{url} (deleted; --keep-cluster keeps it)",
        "endpoint_predictions": scored,
        "deploy_s": round(t_deploy_done - t_deploy, 2),
        "endpoint_status": endpoint["status"],
        "batch_output": batch["output_path"],
        "batch_rows": batch["rows_out"],
        "scoring_rows": len(truth),
        "batch_accuracy": round(batch_accuracy, 4),
        "batch_job_s": round(t_batch_done - t_batch, 2),
        "automl_job": automl.current_job_name,
        "automl_best_candidate": best["CandidateName"],
        "automl_f1": round(metric["Value"], 4),
        "automl_job_s": round(t_automl_done - t_automl, 2),
        "example_files": folder,
        "total_s": round(time.perf_counter() - t0, 2),
    }
    echo("\nquickstart summary")
    width = max(map(len, report))
    for key, value in report.items():
        echo(f"  {key.ljust(width)}  {value}")
    return report
