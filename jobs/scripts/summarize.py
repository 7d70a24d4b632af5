"""Quickstart processing script: a plain SageMaker-style processing script.

Reads the CSV under /opt/ml/processing/input/raw and writes a summary JSON to
/opt/ml/processing/output/summary. raymaker maps those paths into the job's folder.
"""

import argparse
import glob
import json
import os

import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("--input", default="/opt/ml/processing/input/raw")
parser.add_argument("--output", default="/opt/ml/processing/output/summary")
parser.add_argument("--label", default="churn")
args = parser.parse_args()

files = sorted(glob.glob(os.path.join(args.input, "*.csv")))
print(f"reading {len(files)} file(s) from {args.input}")
frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
numeric = frame.select_dtypes("number")
summary = {
    "rows": int(len(frame)),
    "columns": list(frame.columns),
    "label_rate": float(frame[args.label].mean()),
    "missing": {c: int(n) for c, n in frame.isna().sum().items() if n},
    "means": {c: round(float(v), 4) for c, v in numeric.mean().items()},
    "by_contract": {
        k: round(float(v), 4) for k, v in frame.groupby("contract")[args.label].mean().items()
    },
}
os.makedirs(args.output, exist_ok=True)
with open(os.path.join(args.output, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
print(f"{summary['rows']} rows, {args.label} rate {summary['label_rate']:.3f}")
