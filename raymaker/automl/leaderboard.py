"""An AutoML job's leaderboard, once its trials end: every finished candidate (each stacking
layer's too) published as a raymaker model artifact and timed on one raw row, the ensemble
candidate weighted by greedy selection over their out-of-fold predictions (ENSEMBLING, from two
candidates), all ranked by the objective, and the best candidate's model insights and
explainability reports written (``reports``).

A stacked member's model carries the members it learns from (``_with_inputs``), at weight 0
when the blend does not use them.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from raymaker.automl import candidates as cands
from raymaker.automl import reports
from raymaker.automl.data import Prepared
from raymaker.automl.objectives import REGRESSION, all_metrics
from raymaker.storage import artifacts, join, layout


def build(spec, ctx, data: Prepared, *, output: str, deadline: float | None):
    """Publish and time every finished candidate, and the ensemble (ENSEMBLING mode, from
    two candidates). ``(rows best first, best candidate's name)``."""
    store = ctx.store
    rows = cands.read_rows(store, ctx.name)
    done = sorted((r for r in rows if r["CandidateStatus"] == "Completed"),
                  key=lambda r: (r.get("layer", 1), r.get("member", r["learner"])))  # fmt: skip
    if not done:
        return rows, None
    objective = data.objective
    with tempfile.TemporaryDirectory() as tmp:
        local = {}  # candidate -> its files here
        for i, r in enumerate(done):
            prefix = cands.candidate_prefix(ctx.name, r["CandidateName"])
            local[r["CandidateName"]] = folder = os.path.join(tmp, f"c{i}")
            os.makedirs(folder)
            for file in ("bagged.joblib", "oof.npy", "holdout.npy"):
                store.get(join(prefix, file), os.path.join(folder, file))
            r["members"] = [_member(r, 1.0)]
        candidates = list(done)
        if data.mode == "ENSEMBLING" and len(done) > 1:
            candidates.append(_weighted(ctx, data, done, local))
        by_member = {r.get("member", r["learner"]): r for r in done}
        began = time.time()
        for r in candidates:
            parts = [{**m, "file": os.path.join(local[m["candidate"]], "bagged.joblib")}
                     for m in _with_inputs(r["members"], by_member)]  # fmt: skip
            r.update(_publish(ctx, data, r, parts, tmp, output))
        print(f"automl {ctx.name}: {len(candidates)} models published and timed in "
              f"{time.time() - began:.1f} s", flush=True)  # fmt: skip
        failed = [r for r in rows if r["CandidateStatus"] != "Completed"]
        ranked = sorted(candidates, key=lambda r: _rank(objective, r))
        began = time.time()
        reports.guarded(data.reports, "ModelInsights", lambda: reports.write_best(
            ctx, output, data, ranked[0], local, seed=spec.random_seed,
            deadline=deadline))  # fmt: skip
        print(f"automl {ctx.name}: the best candidate's reports written in "
              f"{time.time() - began:.1f} s", flush=True)  # fmt: skip
    return ranked + failed, ranked[0]["CandidateName"]


def _member(row: dict, weight: float) -> dict:
    """A model's member: a candidate's bagged models, its weight in the blend, and (a
    stacking layer above the first) the members whose predictions it learned from."""
    return {"learner": row["learner"], "member": row.get("member", row["learner"]),
            "candidate": row["CandidateName"], "weight": weight, "layer": row.get("layer", 1),
            "inputs": row.get("inputs", [])}  # fmt: skip


def _with_inputs(members: list[dict], by_member: dict) -> list[dict]:
    """``members`` and, with weight 0, every member a stacked one needs the predictions of
    (the layers below), lowest layer first."""
    out = {m["member"]: m for m in members}
    pending = [i for m in members for i in m["inputs"]]
    while pending:
        key = pending.pop()
        if key not in out:
            out[key] = _member(by_member[key], 0.0)
            pending += out[key]["inputs"]
    return sorted(out.values(), key=lambda m: (m["layer"], m["member"]))


def _weighted(ctx, data: Prepared, done: list[dict], local: dict) -> dict:
    """The ensemble candidate: greedy selection's weights over the candidates' out-of-fold
    predictions, scored like them (holdout, or out-of-fold)."""
    from raymaker.automl.ensemble import blend, decision_threshold, select

    def load(r, file):
        return np.load(os.path.join(local[r["CandidateName"]], file))

    oofs = [load(r, "oof.npy") for r in done]
    scored = [load(r, "holdout.npy") for r in done] if data.holdout_rows else oofs
    chosen = select(oofs, data.y, data.objective, sample_weight=data.w)
    threshold = decision_threshold(blend(oofs, chosen.weights), data.y, data.objective, data.w)
    return {
        "CandidateName": cands.candidate_name(ctx.name, "ensemble"),
        "learner": "ensemble",
        "CandidateStatus": "Completed",
        "objective": data.objective.name,
        "oof_objective": chosen.score,
        "threshold": threshold,
        "metrics": _metrics(data, blend(scored, chosen.weights), threshold),
        "members": [_member(r, round(float(w), 6))
                    for r, w in zip(done, chosen.weights, strict=True) if w > 0],
    }  # fmt: skip


def _rank(objective, row) -> tuple:
    value = row["metrics"][objective.name]
    return (-value if objective.maximize else value, row["learner"] != "ensemble")


def _metrics(data: Prepared, prediction, threshold: float = 0.5) -> dict[str, float]:
    if data.holdout_rows:
        return all_metrics(data.problem_type, data.y_holdout, prediction, data.w_holdout,
                           threshold)  # fmt: skip
    return all_metrics(data.problem_type, data.y, prediction, data.w, threshold)


def _publish(ctx, data: Prepared, row: dict, parts, tmp: str, output: str) -> dict:
    from raymaker.automl.serving import AutoMLModel, write_model
    from raymaker.train.job import version_of

    name = row["CandidateName"]
    folder = os.path.join(tmp, "publish", name)
    os.makedirs(folder)
    files = write_model(folder, parts, problem_type=data.problem_type, classes=data.classes,
                        recipe_json=data.recipe_json,
                        threshold=row.get("threshold", 0.5))  # fmt: skip
    task = {REGRESSION: "regression", "BinaryClassification": "binary"}.get(
        data.problem_type, "multiclass"
    )
    manifest = {
        "framework": "automl",
        "framework_version": version_of("raymaker"),
        "algorithm": "autopilot",
        "task": task,
        "label": data.target,
        "classes": data.classes,
        "features": data.features,
        "input_schema": data.input_schema,
        "output": {
            "type": "value" if task == "regression" else "probabilities",
            "classes": data.classes,
        },  # fmt: skip
        "recipe": files["recipe"],
        "problem_type": data.problem_type,
        "lineage": {"job": ctx.name, "kind": "AutoMLJob", "data": data.sources},
    }
    artifacts.write_manifest(folder, manifest)
    published = artifacts.publish(
        ctx.store, folder, staging=layout.job_staging(ctx.name, name),
        target=join(output, "candidates", name),
    )  # fmt: skip
    model = AutoMLModel(folder, manifest)
    row = data.example
    model.predict(row)  # warm
    times = []
    for _ in range(3):
        t = time.perf_counter()
        model.predict(row)
        times.append(time.perf_counter() - t)
    return {
        "model_data": published["model_data"],
        "inference_latency_ms": round(1000 * float(np.median(times)), 3),
    }
