"""``raymaker automl ...``: Autopilot jobs, their candidates, deploys and stops."""

from __future__ import annotations

import os

import click

from raymaker.cli.common import session, wait_for
from raymaker.cli.render import emit, output_option, table


def register(cli: click.Group) -> None:
    cli.add_command(automl)


@click.group()
def automl():
    """AutoML (SageMaker Autopilot) jobs: candidates, the best one, deploys."""


@automl.command("create")
@click.argument("spec", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--train", help="The training data (a file, folder or URI); or give a SPEC.")
@click.option("--target", help="The column to predict (target_attribute_name).")
@click.option("--validation", help="Held-out data (default: --validation-fraction of train).")
@click.option("--problem-type", type=click.Choice(
    ["BinaryClassification", "MulticlassClassification", "Regression"]))  # fmt: skip
@click.option("--objective", help="The objective metric (F1, Accuracy, MSE, AUC, ...).")
@click.option("--algorithms", help="Comma-separated: lightgbm,xgboost,randomforest,...")
@click.option("--max-candidates", type=int)
@click.option("--budget", "budget", type=int, help="total_job_runtime_in_seconds.")
@click.option("--validation-fraction", type=float)
@click.option("--definitions-only", is_flag=True, help="Write candidate definitions and stop.")
@click.option("--name", help="Job name (default: the spec's, else generated).")
@click.option("--wait/--no-wait", default=True, help="Wait for the job to end.")
@click.option("--timeout", type=float, help="Seconds to wait at most.")
@output_option
def automl_create(spec, train, target, validation, problem_type, objective, algorithms,
                  max_candidates, budget, validation_fraction, definitions_only, name, wait,
                  timeout, output):  # fmt: skip
    """Start an AutoML job from SPEC (kind: AutoMLJob) or from the options."""
    from raymaker.errors import SpecError
    from raymaker.specs import load_spec, parse_spec

    if spec:
        loaded, base_dir = load_spec(spec), os.path.dirname(os.path.abspath(spec))
    else:
        if not (train and target):
            raise SpecError("give a SPEC file, or --train and --target")
        inputs = {"train": train, **({"validation": validation} if validation else {})}
        body = {
            "kind": "AutoMLJob", "inputs": inputs, "target_attribute_name": target,
            "problem_type": problem_type, "objective": objective,
            "algorithms": algorithms.split(",") if algorithms else None,
            "max_candidates": max_candidates, "total_job_runtime_in_seconds": budget,
            "validation_fraction": validation_fraction,
            "generate_candidate_definitions_only": definitions_only or None,
        }  # fmt: skip
        loaded = parse_spec({k: v for k, v in body.items() if v is not None}, source="options")
        base_dir = os.getcwd()
    handle = session().jobs.submit(loaded, name=name, base_dir=base_dir)
    if not wait:
        click.echo(handle.name)
        return
    click.echo(f"submitted AutoML job {handle.name}", err=True)
    wait_for(handle, timeout=timeout)
    _describe(handle.name, output)


@automl.command("describe")
@click.argument("name")
@output_option
def automl_describe(name, output):
    """The job's status, resolved problem, best candidate and leaderboard."""
    _describe(name, output)


def _describe(name: str, output: str) -> None:
    desc = session().describe_auto_ml_job(name)
    if output != "table":
        emit(desc, output)
        return
    resolved = desc.get("ResolvedAttributes", {})
    click.echo(
        f"AutoML job {name}: {desc['AutoMLJobStatus']} ({desc['AutoMLJobSecondaryStatus']})"
        + (f", {resolved['ProblemType']}, objective {resolved['AutoMLJobObjective']['MetricName']}"
           if resolved else "")
    )  # fmt: skip
    if desc.get("FailureReason"):
        click.echo(f"failure: {desc['FailureReason']}")
    best = desc.get("BestCandidate")
    if best:
        metric = best["FinalAutoMLJobObjectiveMetric"]
        click.echo(f"best: {best['CandidateName']} {metric['MetricName']}={metric['Value']:.6g}")
    _candidates(name, "table")


@automl.command("candidates")
@click.argument("name")
@click.option("--sort-by", default="FinalObjectiveMetricValue", show_default=True)
@click.option("--sort-order", type=click.Choice(["Ascending", "Descending"]))
@click.option("--status", help="Only candidates in this status (Completed, Failed, Stopped).")
@output_option
def automl_candidates(name, sort_by, sort_order, status, output):
    """The job's candidates, best first."""
    _candidates(name, output, sort_by=sort_by, sort_order=sort_order, status_equals=status)


def _candidates(name: str, output: str, **filters) -> None:
    found = session().list_candidates(name, **filters)["Candidates"]
    if output != "table":
        emit(found, output)
        return
    rows = []
    for c in found:
        metric = c.get("FinalAutoMLJobObjectiveMetric") or {}
        latency = next((m["Value"] for m in c["CandidateProperties"]["CandidateMetrics"]
                        if m["MetricName"] == "InferenceLatency"), None)  # fmt: skip
        members = c["raymaker"].get("members") or []
        rows.append({
            "candidate": c["CandidateName"], "status": c["CandidateStatus"],
            metric.get("MetricName", "objective"): _num(metric.get("Value")),
            "latency_ms": _num(latency * 1000 if latency is not None else None),
            "fit_s": _num(c["raymaker"].get("fit_seconds")),
            "members": " ".join(f"{m['learner']}:{m['weight']:.2f}" for m in members)
            if len(members) > 1 else "",
            "failure": c.get("FailureReason", ""),
        })  # fmt: skip
    click.echo(table(rows))


def _num(value):
    return None if value is None else float(f"{value:.4g}")


@automl.command("deploy")
@click.argument("name")
@click.option("--candidate", help="A candidate's name (default: the best).")
@click.option("--endpoint", "endpoint_name", help="Endpoint name (default: generated).")
@click.option("--instance-type", default="cpu.1", show_default=True)
@click.option("--instance-count", default=1, show_default=True, type=int)
@click.option("--keys", help="inference_response_keys, comma-separated (predicted_label, "
              "probability, probabilities, labels).")  # fmt: skip
def automl_deploy(name, candidate, endpoint_name, instance_type, instance_count, keys):
    """Deploy a candidate (default: the best) to an endpoint; prints its name."""
    from raymaker.sagemaker.automl import AutoML

    job = AutoML.attach(name, session=session())
    predictor = job.deploy(instance_count, instance_type, candidate=candidate,
                           endpoint_name=endpoint_name,
                           inference_response_keys=keys.split(",") if keys else None)  # fmt: skip
    click.echo(predictor.endpoint_name)


@automl.command("stop")
@click.argument("name")
def automl_stop(name):
    """Stop the job: running candidates end, the finished ones still make the ensemble."""
    record = session().jobs.get(name).stop()
    click.echo(f"{name}: {record.status.value}")


REPORTS = (("data exploration", "DataExplorationNotebookLocation"),
           ("model insights", "ModelInsights"), ("explainability", "Explainability"))  # fmt: skip


@automl.command("reports")
@click.argument("name")
@click.option("--to", "to", type=click.Path(file_okay=False),
              help="Copy the reports (and the chart library) into this folder.")  # fmt: skip
def automl_reports(name, to):
    """Where the job's reports are (data exploration, and the best candidate's model insights
    and explainability), or a copy of them in --to that opens offline."""
    from raymaker.errors import NotFound

    s = session()
    desc = s.describe_auto_ml_job(name)
    best = (desc.get("BestCandidate") or {}).get("CandidateProperties", {})
    found = {**desc.get("AutoMLJobArtifacts", {}), **best.get("CandidateArtifactLocations", {})}
    rows = [(label, found[key]) for label, key in REPORTS if found.get(key)]
    charted = any(found.get(key) for _, key in REPORTS[1:])
    if not rows:
        raise NotFound(f"AutoML job {name} has no reports yet ({desc['AutoMLJobStatus']})")
    if to:
        folders = [uri.rstrip("/") for _, uri in rows]
        if charted:  # the candidate's pages load the chart library beside them
            folders.append(folders[-1].rsplit("/", 1)[0] + "/assets")
        for uri in folders:
            s.download(uri, os.path.join(to, uri.rsplit("/", 1)[1]))
        rows = [(label, os.path.join(to, uri.rstrip("/").rsplit("/", 1)[1]) + "/")
                for label, uri in rows]  # fmt: skip
    for label, where in rows:
        click.echo(f"{label + ':':18} {where}report.html")
