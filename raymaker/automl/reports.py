"""An Autopilot job's reports, as SageMaker's artifacts, in the job's output:

- ``data-exploration/``: the data profile of the training rows against the target (the
  profile ``raymaker data profile`` writes), ``report.html`` and ``profile.json``;
- ``model-insights/``: the best candidate's metrics, confusion matrix, per-class scores, ROC
  and precision-recall curves (regression: predicted against actual, residuals),
  ``report.html`` and ``insights.json``;
- ``explainability/``: the best candidate's global SHAP importances by column and by encoded
  feature, ``report.html`` and ``analysis.json``.

Pages are Plotly figures loading ``assets/plotly.min.js`` beside them (``data.charts``), so the
output folder opens offline.
"""

from __future__ import annotations

from raymaker.data import charts
from raymaker.data.charts import card, esc, figure, table
from raymaker.storage import join

TOP = 25  # bars in the importance chart


def guarded(reports: dict, name: str, write) -> None:
    """Run ``write``, keeping the URI it returns under ``reports[name]``; a report that
    fails is named under ``reports["errors"]`` and in the job's log, and the job goes on
    (its models do not depend on it)."""
    try:
        uri = write()
    except Exception as exc:  # noqa: BLE001
        _failed(reports, name, exc)
        return
    if isinstance(uri, str):
        reports[name] = uri


def _failed(reports: dict, name: str, exc: Exception) -> None:
    print(f"automl: the {name} report is not written: {exc}", flush=True)
    reports.setdefault("errors", {})[name] = str(exc)


def write_best(ctx, prefix: str, data, best: dict, local: dict, *, seed: int,
               deadline: float | None) -> None:  # fmt: skip
    """The best candidate's model insights and explainability reports, from its members'
    files in ``local`` (candidate -> folder): scored as the leaderboard scored it, explained
    until ``deadline`` (``explain`` names the members it left out)."""
    import os

    import numpy as np

    from raymaker.automl.explain import importances
    from raymaker.automl.insights import model_insights

    file = "holdout.npy" if data.holdout_rows else "oof.npy"
    members = best["members"]
    scored = sum(m["weight"] * np.load(os.path.join(local[m["candidate"]], file))
                 for m in members) / sum(m["weight"] for m in members)  # fmt: skip
    y, w = (data.y_holdout, data.w_holdout) if data.holdout_rows else (data.y, data.w)
    on = "holdout" if data.holdout_rows else "out-of-fold"
    insights = model_insights(data.problem_type, y, scored, classes=data.classes,
                              sample_weight=w, threshold=best.get("threshold", 0.5),
                              scored_on=on)  # fmt: skip

    explanation = None
    try:
        explained = [_explained_member(ctx.name, data, m, local) for m in members]
        explanation = importances(explained, data.X, data.features, data.plan, seed=seed,
                                  deadline=deadline)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - the insights stand without it
        _failed(data.reports, "Explainability", exc)
    locations = write_candidate_reports(ctx.store, prefix, best["CandidateName"], insights,
                                        explanation)  # fmt: skip
    best["artifacts"] = locations
    data.reports.update(locations)


def write_data_exploration(store, prefix: str, frame, target: str) -> str:
    """Profile the training rows; the folder's URI."""
    from raymaker.data.profile import profile
    from raymaker.data.report import render_html

    report = profile(frame, target)
    folder = join(prefix, "data-exploration")
    store.write_json(join(folder, "profile.json"), report)
    store.write_text(join(folder, "report.html"),
                     render_html(report, title=f"Data exploration: {target}"))  # fmt: skip
    return store.uri(folder) + "/"


def write_candidate_reports(store, prefix: str, candidate: str, insights: dict,
                            explanation: dict | None) -> dict[str, str]:  # fmt: skip
    """The model insights and explainability folders of ``candidate``: SageMaker's
    ``CandidateArtifactLocations`` (``ModelInsights``, ``Explainability``)."""
    charts.write_asset(store, prefix)
    out = {}
    folder = join(prefix, "model-insights")
    store.write_json(join(folder, "insights.json"), {"candidate": candidate, **insights})
    store.write_text(join(folder, "report.html"), insights_page(candidate, insights))
    out["ModelInsights"] = store.uri(folder) + "/"
    if explanation is not None:
        folder = join(prefix, "explainability")
        store.write_json(join(folder, "analysis.json"), {"candidate": candidate, **explanation})
        store.write_text(join(folder, "report.html"), explainability_page(candidate, explanation))
        out["Explainability"] = store.uri(folder) + "/"
    return out


def _explained_member(job: str, data, member: dict, local: dict) -> tuple:
    """``(learner, Bagged, weight[, X, names])``: a stacked member with the rows it learned
    from (the features plus its inputs' out-of-fold predictions)."""
    import os

    import joblib
    import numpy as np

    from raymaker.automl.candidates import candidate_name
    from raymaker.automl.explain import stacked_names
    from raymaker.automl.zoo import stack_features

    bagged = joblib.load(os.path.join(local[member["candidate"]], "bagged.joblib"))
    if not member.get("inputs"):
        return member["learner"], bagged, member["weight"]
    oofs = [np.load(os.path.join(local[candidate_name(job, i)], "oof.npy"))
            for i in member["inputs"]]  # fmt: skip
    X = stack_features(data.X, oofs, data.problem_type)
    widths = [1 if p.ndim == 1 or p.shape[1] == 2 else p.shape[1] for p in oofs]
    names = stacked_names(data.features, member["inputs"], widths, data.classes)
    return member["learner"], bagged, member["weight"], X, names


def insights_page(candidate: str, insights: dict) -> str:
    import plotly.graph_objects as go

    metrics = insights["metrics"]
    scored = ("held-out rows" if insights["scored_on"] == "holdout"
              else "out-of-fold predictions of the training rows")  # fmt: skip
    parts = [card("Metrics", table(["metric", "value"], [[k, v] for k, v in metrics.items()]),
                  f"on {insights['rows']:,} {scored}")]  # fmt: skip
    if insights["problem_type"] == "Regression":
        s = insights["scatter"]
        lo, hi = min(s["actual"] + s["predicted"]), max(s["actual"] + s["predicted"])
        fig = go.Figure([
            go.Scattergl(x=s["actual"], y=s["predicted"], mode="markers", name="rows",
                         marker={"size": 5, "opacity": 0.6, "color": charts.COLORS[0]}),
            go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="perfect",
                       line={"dash": "dash", "color": charts.COLORS[5]}),
        ])  # fmt: skip
        fig.update_layout(xaxis_title="actual", yaxis_title="predicted")
        parts.append(card("Predicted against actual", figure(fig)))
        r = insights["residuals"]
        centers = [(a + b) / 2 for a, b in zip(r["edges"], r["edges"][1:], strict=False)]
        fig = go.Figure(go.Bar(x=centers, y=r["counts"], marker_color=charts.COLORS[1]))
        fig.update_layout(xaxis_title="actual − predicted", yaxis_title="rows", bargap=0.05)
        parts.append(card("Residuals", figure(fig),
                          f"mean {r['mean']:.4g}, standard deviation {r['std']:.4g}"))  # fmt: skip
    else:
        parts += _classification_cards(insights)
    facts = {"candidate": candidate, "problem type": insights["problem_type"],
             "rows": f"{insights['rows']:,}"}  # fmt: skip
    body = f'<div class="grid">{"".join(parts)}</div>'
    return charts.page("Model insights", facts, body)


def _classification_cards(insights: dict) -> list[str]:
    import plotly.graph_objects as go

    labels = insights["labels"]
    matrix = insights["confusion_matrix"]
    fig = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, colorscale="Blues",
                               text=matrix, texttemplate="%{text}", showscale=False))  # fmt: skip
    fig.update_layout(xaxis_title="predicted", yaxis_title="actual",
                      yaxis_autorange="reversed")  # fmt: skip
    note = (f"decision threshold {insights['threshold']:.3f} on the probability of "
            f"{labels[1]!r}" if insights.get("threshold") is not None else "")  # fmt: skip
    cards = [card("Confusion matrix", figure(fig, height=max(300, 40 * len(labels) + 120)), note)]
    rows = [[c["label"], c["precision"], c["recall"], c["f1"], c["support"]]
            for c in insights["per_class"]]  # fmt: skip
    cards.append(card("Per class", table(["label", "precision", "recall", "F1", "rows"], rows)))
    roc, pr = go.Figure(), go.Figure()
    for i, c in enumerate(insights["curves"]):
        color = charts.COLORS[i % len(charts.COLORS)]
        roc.add_trace(go.Scatter(x=c["roc"]["fpr"], y=c["roc"]["tpr"], mode="lines",
                                 name=f"{c['label']} (AUC {c['auc']:.3f})",
                                 line={"color": color}))  # fmt: skip
        pr.add_trace(go.Scatter(x=c["pr"]["recall"], y=c["pr"]["precision"], mode="lines",
                                name=f"{c['label']} (AP {c['average_precision']:.3f})",
                                line={"color": color}))  # fmt: skip
    roc.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                             line={"dash": "dash", "color": "#9ca3af"}))  # fmt: skip
    roc.update_layout(xaxis_title="false positive rate", yaxis_title="true positive rate")
    pr.update_layout(xaxis_title="recall", yaxis_title="precision")
    against = "" if len(labels) == 2 else "each class against the rest"
    cards.append(card("ROC curve", figure(roc), against))
    cards.append(card("Precision-recall curve", figure(pr), against))
    return cards


def explainability_page(candidate: str, explanation: dict) -> str:
    import plotly.graph_objects as go

    parts = []
    for key, title in (("columns", "By column"), ("features", "By encoded feature")):
        top = explanation[key][:TOP]
        fig = go.Figure(go.Bar(x=[t["importance"] for t in reversed(top)],
                               y=[t["name"] for t in reversed(top)], orientation="h",
                               marker_color=charts.COLORS[0]))  # fmt: skip
        fig.update_layout(xaxis_title="share of mean |SHAP value|")
        more = len(explanation[key]) - len(top)
        parts.append(card(title, figure(fig, height=max(260, 22 * len(top) + 90)),
                          f"the top {len(top)}; {more} more in analysis.json" if more > 0
                          else ""))  # fmt: skip
    rows = [[m["learner"], m["weight"], m["method"], m.get("fold_models", "")]
            for m in explanation["members"]]  # fmt: skip
    parts.append(card("How it was explained",
                      table(["member", "weight", "method", "fold models"], rows),
                      f"{explanation['rows_explained']} rows of the training data"))  # fmt: skip
    body = f'<div class="grid">{"".join(parts)}</div>'
    if explanation.get("members_left_out"):
        body = (f'<p class="note">Explains {explanation["weight_explained"]:.0%} of the '
                f"ensemble's weight: the job's time budget ran out before "
                f"{esc(', '.join(explanation['members_left_out']))}.</p>{body}")  # fmt: skip
    facts = {"candidate": candidate, "method": explanation["method"]}
    return charts.page("Explainability", facts, body)
