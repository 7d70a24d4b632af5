"""The data profile on pandas: stats, warnings, target analysis, the HTML page, the CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from raymaker.data.profile import profile
from raymaker.data.report import render_html
from raymaker.errors import DataError, SpecError


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 1000
    label = (rng.random(n) < 0.06).astype(int)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "age": rng.normal(40, 10, n).round(),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
            "refund_issued": label * 50.0 + rng.normal(0, 0.01, n),  # known only after churn
            "region": "north",
            "notes": np.where(rng.random(n) < 0.8, None, "called"),
            "churn": label,
        }
    )
    frame.loc[::10, "age"] = np.nan
    return pd.concat([frame, frame.iloc[:3]], ignore_index=True)


def kinds(report):
    return {(w["kind"], w["column"]) for w in report["warnings"]}


def test_column_statistics(frame):
    report = profile(frame)
    age = report["columns"]["age"]
    assert report["rows"] == 1003 and report["duplicate_rows"] == 3
    assert age["type"] == "numeric" and age["missing"] == 101
    assert age["mean"] == pytest.approx(frame["age"].mean(), rel=1e-9)
    assert age["std"] == pytest.approx(frame["age"].std(ddof=0), rel=1e-9)
    assert age["p50"] == pytest.approx(frame["age"].median(), abs=1.0)
    assert sum(age["histogram"]["counts"]) == pytest.approx(902, abs=1)
    plan = report["columns"]["plan"]
    assert plan["type"] == "categorical" and plan["distinct"] == 3
    assert plan["top"][0][0] == "basic"


def test_warnings_for_leakage_ids_constants_missing_imbalance_duplicates(frame):
    report = profile(frame, target="churn")
    found = kinds(report)
    assert ("target_leakage", "refund_issued") in found
    assert ("id_like", "customer_id") in found
    assert ("constant", "region") in found
    assert ("mostly_missing", "notes") in found
    assert ("imbalance", "churn") in found
    assert ("duplicates", None) in found
    assert ("target_leakage", "age") not in found


def test_target_analysis_and_importance(frame):
    report = profile(frame, target="churn")
    analysis = report["target_analysis"]
    assert analysis["classes"] == {"0": int((frame.churn == 0).sum()), "1": int(frame.churn.sum())}
    assert next(iter(analysis["correlation"])) == "refund_issued"
    assert "plan" in analysis["mutual_information"]
    assert next(iter(report["feature_importance"])) == "refund_issued"


def test_bad_target_and_empty_data():
    with pytest.raises(SpecError, match="target 'nope' not found; available columns: a"):
        profile(pd.DataFrame({"a": [1]}), target="nope")
    with pytest.raises(DataError, match="empty"):
        profile(pd.DataFrame({"a": []}))


def test_html_page_is_self_contained(frame):
    page = render_html(profile(frame, target="churn"), title="churn <data>")
    assert page.startswith("<!doctype html>") and "churn &lt;data&gt;" in page
    assert "<svg" in page and "<script" not in page and "http" not in page
    assert "likely leakage" in page


def test_cli_profile_writes_json_and_html(tmp_path, frame):
    frame.to_csv(tmp_path / "data.csv", index=False)
    env = {**os.environ, "RAYMAKER_STORE": str(tmp_path / "store")}
    proc = subprocess.run(
        [sys.executable, "-m", "raymaker", "data", "profile", str(tmp_path / "data.csv"),
         "--target", "churn", "--local", "--name", "churn", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "target_leakage: refund_issued" in proc.stdout
    assert json.loads((tmp_path / "out" / "profile.json").read_text())["rows"] == 1003
    assert (tmp_path / "store" / "profiles" / "churn" / "profile.html").exists()
