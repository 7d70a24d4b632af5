"""Recipe throughput: impute + scale + one-hot over N rows x 20 columns, raymaker vs pandas.

Side by side in one run, on the same Parquet files:
  - pandas:   read everything, fit the three steps, apply them, write Parquet (one process;
              pyarrow's own reader threads included, as pandas users get them)
  - raymaker job: what a recipe ProcessingJob runs: one Ray task per file and pass, each
              streaming its file a row group at a time and writing its own Parquet part
  - raymaker Dataset API: Recipe.fit(dataset) + transform(dataset).write_parquet on Ray Data
Both raymaker sides use a small object store (default 256 MiB, about 3x smaller than the
data) and are timed after one tiny warm-up job, as on a warm cluster.
Each side runs in its own process so its peak memory (RSS of its whole process tree) is its own.

    python benchmarks/bench_prepare.py [--rows 5000000] [--object-store-mb 256]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Report  # noqa: E402

NUMERIC = [f"x{i}" for i in range(16)]
CATEGORICAL = [f"c{i}" for i in range(4)]
STEPS = [
    {"op": "impute", "columns": NUMERIC, "strategy": "mean"},
    {"op": "scale", "columns": NUMERIC, "method": "standard"},
    {"op": "onehot", "columns": CATEGORICAL, "max_categories": 12},
]


def generate(folder: str, rows: int, files: int) -> int:
    """Write ``files`` Parquet files; returns the data's size in memory (bytes)."""
    import numpy as np
    import pandas as pd

    per = rows // files
    size = 0
    for i in range(files):
        rng = np.random.default_rng(i)
        frame = pd.DataFrame({c: rng.normal(i, 3.0, per) for c in NUMERIC})
        for c in NUMERIC:
            frame.loc[rng.random(per) < 0.05, c] = np.nan
        for j, c in enumerate(CATEGORICAL):
            frame[c] = rng.choice([f"v{k}" for k in range(8 + j)], per)
        frame.to_parquet(os.path.join(folder, f"part-{i:03d}.parquet"), index=False)
        size += int(frame.memory_usage(deep=True).sum())
    return size


PANDAS_SIDE = r"""
import json, sys, time, glob, os
import numpy as np, pandas as pd
src, out = sys.argv[1], sys.argv[2]
num = [f"x{i}" for i in range(16)]; cat = [f"c{i}" for i in range(4)]
t0 = time.perf_counter()
df = pd.concat([pd.read_parquet(f) for f in sorted(glob.glob(src + "/*.parquet"))], ignore_index=True)
means = df[num].mean()
df[num] = df[num].fillna(means)
mu, sd = df[num].mean(), df[num].std(ddof=0).replace(0, 1)
df[num] = (df[num] - mu) / sd
df = pd.get_dummies(df, columns=cat, dtype="int8")
os.makedirs(out, exist_ok=True)
df.to_parquet(out + "/part-0.parquet", index=False)
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(df), "columns": df.shape[1]}))
"""

RAY_SIDE = r"""
import json, sys, time, glob, os
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
import ray
src, out, store_mb, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
mode = sys.argv[5]
ray.init(address="local", num_cpus=2, object_store_memory=store_mb << 20, include_dashboard=False,
         logging_level="ERROR")
ray.data.DataContext.get_current().enable_progress_bars = False
from raymaker.data.recipe import Recipe
ray.data.range(1000).map_batches(lambda b: b).materialize()  # warm worker pool, as a warm cluster has
t0 = time.perf_counter()
if mode == "files":  # what a recipe ProcessingJob runs: one Ray task per file and pass
    import pyarrow.fs
    from raymaker.data import filetasks
    from raymaker.data.readers import resolve
    from raymaker.storage import open_store
    source = resolve(open_store(src), src)
    fitted, _ = filetasks.fit_files(Recipe.parse(steps), source)
    t_fit = time.perf_counter() - t0
    os.makedirs(out, exist_ok=True)
    filetasks.write_files(fitted, source, pyarrow.fs.LocalFileSystem(), {"data": out})
else:  # the Dataset API on Ray Data
    ds = ray.data.read_parquet(sorted(glob.glob(src + "/*.parquet")))
    fitted = Recipe.parse(steps).fit(ds)
    t_fit = time.perf_counter() - t0
    fitted.transform(ds).write_parquet(out)
seconds = time.perf_counter() - t0
rows = ray.data.read_parquet(out).count()
print(json.dumps({"seconds": seconds, "fit_seconds": t_fit, "rows": rows,
                  "columns": len(fitted.output_columns)}))
"""


def tree_rss(root: int) -> int:
    """Total RSS (bytes) of ``root`` and all its descendants, from /proc."""
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    members, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in members:
                members.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in members)


def run_side(code: str, args: list[str]) -> dict:
    """Run one side in a fresh process; returns its JSON line plus its peak tree RSS."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.2)
    out = proc.stdout.read()
    if proc.returncode:
        raise RuntimeError(f"side failed ({proc.returncode}): {out}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss"] = peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--object-store-mb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="raymaker-bench-prep-")
    try:
        src = os.path.join(work, "in")
        os.makedirs(src)
        size = generate(src, args.rows, args.files)
        pandas_runs, ray_runs, data_runs = [], [], []
        for i in range(args.repeat):
            pandas_runs.append(run_side(PANDAS_SIDE, [src, os.path.join(work, f"pd{i}")]))
            for mode, runs in (("files", ray_runs), ("dataset", data_runs)):
                runs.append(
                    run_side(RAY_SIDE, [src, os.path.join(work, f"rm-{mode}{i}"),
                                        str(args.object_store_mb), json.dumps(STEPS), mode])
                )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rows = args.rows
    report = Report("prepare", f"Recipe (impute + scale + one-hot), {rows:,} rows x 20 columns")
    report.add("pandas: rows/s", [rows / r["seconds"] for r in pandas_runs], unit="rows/s",
               higher_is_better=True)  # fmt: skip
    report.add("raymaker job (task per file): rows/s", [rows / r["seconds"] for r in ray_runs],
               unit="rows/s", baseline="pandas: rows/s", higher_is_better=True)  # fmt: skip
    report.add("raymaker Dataset API (Ray Data): rows/s",
               [rows / r["seconds"] for r in data_runs], unit="rows/s",
               baseline="pandas: rows/s", higher_is_better=True)  # fmt: skip
    report.add("pandas: peak memory", [r["peak_rss"] / 2**20 for r in pandas_runs], unit="MiB")
    report.add("raymaker job: peak memory", [r["peak_rss"] / 2**20 for r in ray_runs],
               unit="MiB", baseline="pandas: peak memory")  # fmt: skip
    report.add("raymaker Dataset API: peak memory", [r["peak_rss"] / 2**20 for r in data_runs],
               unit="MiB", baseline="pandas: peak memory")  # fmt: skip
    report.add("raymaker job: fit part", [r["fit_seconds"] for r in ray_runs])
    report.add("raymaker Dataset API: fit part", [r["fit_seconds"] for r in data_runs])
    report.notes.append(f"data in memory: {size / 2**20:.0f} MiB; object store: "
                        f"{args.object_store_mb} MiB ({size / (args.object_store_mb << 20):.1f}x smaller)")  # fmt: skip
    report.notes.append(
        f"rows out: pandas {pandas_runs[0]['rows']:,}, raymaker {ray_runs[0]['rows']:,}; "
        f"columns out: pandas {pandas_runs[0]['columns']}, raymaker {ray_runs[0]['columns']}"
    )
    report.notes.append("peak memory is the RSS of each side's whole process tree (Ray's shared "
                        "object store pages can count once per process that maps them)")  # fmt: skip
    report.finish()


if __name__ == "__main__":
    main()
