"""``raymaker quickstart``: the main job, end to end on the embedded default.

Today: generate a small churn data set, upload it, run a SageMaker-style processing script on
it through the job layer (a real Ray Job), then prepare it with a data recipe (impute, scale,
one-hot; fitted on Ray Data, split stratified into train/test Parquet), train the XGBoost
built-in on the prepared data (validation on the test split), deploy it to a real-time
endpoint and score test rows over HTTP, batch-score the whole test split with a transform job,
and print a summary.
Each capability that lands adds its step here (prep -> train -> tune -> deploy -> predict ->
batch -> register).
"""

from __future__ import annotations

import json
import os
import tempfile
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


def run_quickstart(*, keep_cluster: bool = False, rows: int = 5000, echo=print) -> dict:
    """Run the quickstart; returns the summary it prints. Raises JobFailed, ClusterError."""
    from raymaker.cluster import LocalCluster
    from raymaker.specs.jobs import ProcessingInput, ProcessingJob, ProcessingOutput, SplitSpec

    t0 = time.perf_counter()
    session = Session()
    echo(f"store: {session.default_bucket()}")
    started_cluster = False
    if not session.settings.ray_address:
        echo("starting the local Ray head (once; later jobs reuse it) ...")
        _, started_cluster = LocalCluster(session.settings).up()
    t_cluster = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "churn.csv")
            make_churn_data(rows).to_csv(path, index=False)
            data_uri = session.upload_data(path, key_prefix="quickstart/raw")
        echo(f"uploaded {rows} rows to {data_uri}")

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

        echo("\npreparing the data with a recipe (fit on Ray Data, stratified split) ...")
        prep = ProcessingJob(
            recipe=CHURN_RECIPE,
            inputs=[ProcessingInput(name="raw", source=data_uri)],
            split=SplitSpec(method="stratified", label="churn", test_fraction=0.2, seed=7),
        )
        t_prep = time.perf_counter()
        prepared = session.jobs.submit(prep).wait()
        t_prep_done = time.perf_counter()

        echo("\ntraining the XGBoost built-in on the prepared data ...")
        from raymaker.sagemaker.xgboost import XGBoost

        xgb = XGBoost(
            label="churn",
            hyperparameters={"num_round": 40, "max_depth": 4, "eta": 0.2},
            session=session,
        )
        outputs = prepared.result["outputs"]
        t_train = time.perf_counter()
        xgb.fit({"train": outputs["train"], "validation": outputs["test"]}, logs=False)
        t_train_done = time.perf_counter()
        trained = xgb.describe()

        echo("\ndeploying the model to a real-time endpoint (Ray Serve) ...")
        from raymaker.sagemaker.predictor import Predictor
        from raymaker.sagemaker.serializers import JSONSerializer

        t_deploy = time.perf_counter()
        endpoint = session.endpoints.apply(xgb.create_model().endpoint_spec("quickstart-churn"))
        t_deploy_done = time.perf_counter()
        predictor = Predictor("quickstart-churn", session=session, serializer=JSONSerializer())
        import pandas as pd

        test = session.read_pandas(outputs["test"])  # two churners and three stayers
        rows = pd.concat([test[test["churn"] == 1].head(2), test[test["churn"] == 0].head(3)])
        answer = predictor.predict({"instances": rows.drop(columns=["churn"]).to_dict("records")})
        scored = [
            (round(p["score"], 3), int(label))
            for p, label in zip(answer["predictions"], rows["churn"], strict=True)
        ]
        url = session.endpoints.url("quickstart-churn")
        echo(f"POST {url}: (score, true label) {scored}")
        if not keep_cluster:
            predictor.delete_endpoint()

        echo("\nbatch-scoring the test split (a TransformJob with the endpoint's handler) ...")
        transformer = xgb.transformer(instance_count=1, instance_type="cpu.1")
        t_batch = time.perf_counter()
        transformer.transform(outputs["test"], content_type="application/x-parquet",
                              split_type="Line", join_source="Input", logs=False)  # fmt: skip
        t_batch_done = time.perf_counter()
        batch = transformer.describe().result
        scored_test = session.read_pandas(batch["output_path"])
        batch_accuracy = float((scored_test["predicted_label"] == scored_test["churn"]).mean())
        echo(f"{batch['rows_out']} rows scored into {batch['output_path']}")
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
        "prepared_train": prepared.result["outputs"]["train"],
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
        "batch_accuracy": round(batch_accuracy, 4),
        "batch_job_s": round(t_batch_done - t_batch, 2),
        "total_s": round(time.perf_counter() - t0, 2),
    }
    echo("\nquickstart summary")
    width = max(map(len, report))
    for key, value in report.items():
        echo(f"  {key.ljust(width)}  {value}")
    return report
