"""Tuning: Bayesian vs Random, ASHA vs full-budget Random, and parallel trials, in one run.

Problem: the built-in XGBoost on a generated binary task (sklearn ``make_classification``:
20,000 training rows x 20 features, 5,000 validation rows), minimizing validation logloss over
4 hyperparameters: eta (0.01-0.5, log), max_depth (2-10), min_child_weight (0.5-50, log),
subsample (0.5-1). Every trial is a real raymaker training job inside a TuningJob.

  1. Sample efficiency, 5 seeds per strategy, ``--trials`` trials each, 100 rounds: the trial
     at which each run's best-so-far first comes within 0.5 % of the best logloss any run
     found (a run that never does counts as trials + 1). Bayesian (Optuna TPE) vs Random.
  2. Compute: Hyperband (ASHA, 9 -> 243 rounds, eta 3) vs Random with every trial at 243
     rounds, same seeds and trial counts: total boosting rounds trained, and the best logloss.
  3. Throughput: max_parallel_jobs 2 vs 1 (cpu.1 trials on 2 cores): trials per hour.

    python benchmarks/bench_tune.py [--seeds 5] [--trials 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Report, warm_session  # noqa: E402

RANGES = {
    "eta": {"type": "Continuous", "min_value": 0.01, "max_value": 0.5,
            "scaling_type": "Logarithmic"},
    "max_depth": {"type": "Integer", "min_value": 2, "max_value": 10},
    "min_child_weight": {"type": "Continuous", "min_value": 0.5, "max_value": 50,
                         "scaling_type": "Logarithmic"},
    "subsample": {"type": "Continuous", "min_value": 0.5, "max_value": 1.0},
}  # fmt: skip
# Hyperband's own problem: the learning rate fixed (a slow learner looks bad early, and ASHA
# cuts it before it wins), the tree shape tuned
RANGES_FIXED_ETA = {
    "max_depth": RANGES["max_depth"],
    "min_child_weight": RANGES["min_child_weight"],
    "subsample": RANGES["subsample"],
    "colsample_bytree": {"type": "Continuous", "min_value": 0.3, "max_value": 1.0},
}
WITHIN = 0.005  # "within 0.5 % of the best objective found by any run"


def make_data(folder: str, rows: int = 20_000) -> dict[str, str]:
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows + 5_000, n_features=20, n_informative=8, n_redundant=4, flip_y=0.05,
        class_sep=0.8, random_state=0,
    )  # fmt: skip
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["label"] = y
    os.makedirs(folder, exist_ok=True)
    paths = {
        "train": os.path.join(folder, "train.csv"),
        "validation": os.path.join(folder, "val.csv"),
    }
    df[:rows].to_csv(paths["train"], index=False)
    df[rows:].to_csv(paths["validation"], index=False)
    return paths


CEILING = """
import sys, time, multiprocessing as mp
import pandas as pd, xgboost as xgb
df = pd.read_csv(sys.argv[1]); y = df.pop("label").to_numpy(); X = df.to_numpy()
def work(_):
    d = xgb.DMatrix(X, label=y, nthread=1)
    t = time.perf_counter()
    xgb.train({"nthread": 1, "max_depth": 6, "objective": "binary:logistic"}, d, 100)
    return time.perf_counter() - t
if __name__ == "__main__":
    n = int(sys.argv[2])
    t = time.perf_counter(); [work(i) for i in range(n)]; one = time.perf_counter() - t
    with mp.get_context("fork").Pool(2) as pool:
        t = time.perf_counter(); pool.map(work, range(n)); two = time.perf_counter() - t
    print(one, two)
"""


def ceiling(train_csv: str, n: int = 6) -> tuple[float, float]:
    """What 2 cores give 2 plain processes doing the same training: the machine's ceiling."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", CEILING, train_csv, str(n)], check=True,
                         capture_output=True, text=True).stdout.split()  # fmt: skip
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--asha-seeds", type=int, default=3)
    parser.add_argument("--trials-asha", type=int, default=20)
    parser.add_argument("--throughput-trials", type=int, default=20)
    parser.add_argument("--throughput-rows", type=int, default=100_000)
    args = parser.parse_args()

    with warm_session("raymaker-bench-tune-") as (session, home, _):
        folder = tempfile.mkdtemp(dir=home)
        local = make_data(folder)
        inputs = {c: session.upload_data(p, key_prefix=f"bench/{c}") for c, p in local.items()}
        big = make_data(os.path.join(folder, "big"), args.throughput_rows)
        args.big_local = big["train"]
        args.big = {c: session.upload_data(p, key_prefix=f"bench-big/{c}") for c, p in big.items()}
        run(session, inputs, args)


def tune(session, inputs, name, *, strategy, seed, trials, rounds, parallel=2, ranges=None,
         fixed=None, **extra) -> dict:  # fmt: skip
    hps = {**({"num_round": rounds} if rounds else {}), **(fixed or {})}
    spec = {
        "kind": "TuningJob",
        "training": {
            "algorithm": "xgboost", "label": "label", "inputs": inputs,
            "hyperparameters": hps, "checkpoint_interval_s": None,
        },
        "objective": {"metric_name": "validation:logloss", "type": "Minimize"},
        "hyperparameter_ranges": ranges or RANGES, "strategy": strategy, "max_jobs": trials,
        "max_parallel_jobs": parallel, "random_seed": seed, **extra,
    }  # fmt: skip
    t0 = time.perf_counter()
    handle = session.jobs.submit(spec, name=name, wait=True)
    wall = time.perf_counter() - t0
    board = session.tuning_leaderboard(name)
    by_number = sorted(board["trials"], key=lambda t: t["number"])
    record = handle.describe()
    print(
        f"{name}: {len(by_number)} trials in {wall:.1f} s, best {record.result['best_objective']:.5f}"
        f", {record.result['total_steps']} rounds",
        flush=True,
    )
    return {"trials": by_number, "wall": wall, "result": record.result}


def trials_to_reach(trials: list[dict], target: float, limit: int) -> int:
    best = None
    for i, t in enumerate(trials, 1):
        if t["status"] == "SUCCEEDED" and t["objective"] is not None:
            best = t["objective"] if best is None else min(best, t["objective"])
        if best is not None and best <= target:
            return i
    return limit + 1


def run(session, inputs, args) -> None:
    report = Report(
        "tune",
        f"Tuning XGBoost (20k x 20, 4 hyperparameters), {args.seeds} seeds, "
        f"{args.trials} trials per run, 2 at a time on 2 cores",
    )
    seeds = list(range(1, args.seeds + 1))

    # 1. sample efficiency
    runs = {"Random": [], "Bayesian": []}
    for seed in seeds:
        for strategy in runs:
            runs[strategy].append(
                tune(
                    session,
                    inputs,
                    f"eff-{strategy.lower()}-{seed}",
                    strategy=strategy,
                    seed=seed,
                    trials=args.trials,
                    rounds=100,
                )["trials"]  # fmt: skip
            )
    best = min(
        t["objective"] for rs in runs.values() for r in rs for t in r if t["objective"] is not None
    )
    target = best * (1 + WITHIN)
    reach = {s: [trials_to_reach(r, target, args.trials) for r in rs] for s, rs in runs.items()}
    report.add("Random: trials to within 0.5% of the best", reach["Random"], unit="trials")
    report.add(
        "Bayesian (TPE): trials to within 0.5% of the best", reach["Bayesian"], unit="trials",
        baseline="Random: trials to within 0.5% of the best",
    )  # fmt: skip
    for strategy, values in reach.items():
        missed = sum(v > args.trials for v in values)
        report.notes.append(
            f"{strategy}: per seed {values}; {missed} of {len(values)} runs never got within "
            f"0.5% (counted as {args.trials + 1})"
        )
    report.notes.append(f"best validation logloss found by any run: {best:.5f}")
    # the same runs, a second view: how soon Bayesian matches what Random found in all its trials
    match = []
    for rnd, bay in zip(runs["Random"], runs["Bayesian"], strict=True):
        random_best = min(t["objective"] for t in rnd if t["objective"] is not None)
        match.append(trials_to_reach(bay, random_best, args.trials))
    report.add("Random: trials run", [args.trials] * len(seeds), unit="trials")
    report.add("Bayesian: trials to match Random's best of all its trials", match,
               unit="trials", baseline="Random: trials run")  # fmt: skip
    for strategy, rs in runs.items():
        bests = [min(t["objective"] for t in r if t["objective"] is not None) for r in rs]
        report.add(f"{strategy}: best logloss after {args.trials} trials", bests,
                   unit="logloss", baseline=None if strategy == "Random" else
                   f"Random: best logloss after {args.trials} trials")  # fmt: skip
    mean_ratio = sum(reach["Bayesian"]) / sum(reach["Random"])
    report.notes.append(
        f"Bayesian needs {mean_ratio:.0%} of Random's trials on the mean, "
        f"{_median(reach['Bayesian']) / _median(reach['Random']):.0%} on the median (goal <= 60%)"
    )

    # 2. ASHA vs full-budget Random, on the 4-parameter space and with the learning rate fixed
    spaces = {
        "eta tuned": (RANGES, None),
        "eta fixed 0.1": (RANGES_FIXED_ETA, {"eta": 0.1}),
    }
    for label, (ranges, fixed) in spaces.items():
        full, asha = [], []
        tag = "fixed" if fixed else "tuned"
        for seed in seeds[: args.asha_seeds]:
            full.append(tune(session, inputs, f"full-random-{tag}-{seed}", strategy="Random",
                             seed=seed, trials=args.trials_asha, rounds=243, ranges=ranges,
                             fixed=fixed))  # fmt: skip
            asha.append(tune(session, inputs, f"asha-{tag}-{seed}", strategy="Hyperband",
                             seed=seed, trials=args.trials_asha, rounds=None, ranges=ranges,
                             fixed=fixed, hyperband={"min_resource": 9, "max_resource": 243,
                                                     "reduction_factor": 3}))  # fmt: skip
        base = f"{label}: Random, 243 rounds each"
        report.add(f"{base}: total rounds", [r["result"]["total_steps"] for r in full],
                   unit="rounds")  # fmt: skip
        report.add(f"{label}: ASHA 9-243: total rounds",
                   [r["result"]["total_steps"] for r in asha], unit="rounds",
                   baseline=f"{base}: total rounds")  # fmt: skip
        report.add(f"{base}: best logloss", [r["result"]["best_objective"] for r in full],
                   unit="logloss")  # fmt: skip
        report.add(f"{label}: ASHA 9-243: best logloss",
                   [r["result"]["best_objective"] for r in asha], unit="logloss",
                   baseline=f"{base}: best logloss")  # fmt: skip
        report.add(f"{base}: wall", [r["wall"] for r in full])
        report.add(f"{label}: ASHA 9-243: wall", [r["wall"] for r in asha],
                   baseline=f"{base}: wall")  # fmt: skip
        needed = []  # equal quality: Random's rounds (in its own order) until it matches ASHA
        for a, f in zip(asha, full, strict=True):
            k = trials_to_reach(f["trials"], a["result"]["best_objective"], args.trials_asha)
            needed.append(min(k, args.trials_asha) * 243)
        report.add(f"{base}: rounds until it matches ASHA's best", needed, unit="rounds")
        report.add(f"{label}: ASHA 9-243: rounds for its best",
                   [r["result"]["total_steps"] for r in asha], unit="rounds",
                   baseline=f"{base}: rounds until it matches ASHA's best")  # fmt: skip
        compute = sum(r["result"]["total_steps"] for r in asha) / sum(
            r["result"]["total_steps"] for r in full
        )
        quality = [a["result"]["best_objective"] / f["result"]["best_objective"] - 1
                   for a, f in zip(asha, full, strict=True)]  # fmt: skip
        report.notes.append(
            f"{label}: ASHA trains {compute:.0%} of full-budget Random's rounds (goal <= 50%); "
            f"its best logloss differs by {', '.join(f'{q:+.2%}' for q in quality)} per seed"
        )

    # 3. throughput
    walls, steady = {}, {}
    for parallel in (1, 2):
        out = tune(session, args.big, f"throughput-{parallel}", strategy="Random", seed=99,
                   trials=args.throughput_trials, rounds=100, parallel=parallel)  # fmt: skip
        walls[parallel] = out["wall"]
        # the trials alone: first trial's start to last trial's end (no job start-up)
        span = max(t["ended_at"] for t in out["trials"]) - min(
            t["started_at"] for t in out["trials"]
        )
        steady[parallel] = span
    n = args.throughput_trials
    per_hour = {p: n / w * 3600 for p, w in walls.items()}
    per_hour_trials = {p: n / w * 3600 for p, w in steady.items()}
    report.add("max_parallel_jobs 1: trials/hour (whole job)", [per_hour[1]], unit="/h",
               higher_is_better=True)  # fmt: skip
    report.add("max_parallel_jobs 2: trials/hour (whole job)", [per_hour[2]], unit="/h",
               higher_is_better=True,
               baseline="max_parallel_jobs 1: trials/hour (whole job)")  # fmt: skip
    report.add("max_parallel_jobs 1: trials/hour (trials only)", [per_hour_trials[1]],
               unit="/h", higher_is_better=True)  # fmt: skip
    report.add("max_parallel_jobs 2: trials/hour (trials only)", [per_hour_trials[2]],
               unit="/h", higher_is_better=True,
               baseline="max_parallel_jobs 1: trials/hour (trials only)")  # fmt: skip
    one, two = ceiling(args.big_local)
    report.add("plain processes, same training: 1 at a time (jobs/hour)", [6 / one * 3600],
               unit="/h", higher_is_better=True)  # fmt: skip
    report.add("plain processes, same training: 2 at a time (jobs/hour)", [6 / two * 3600],
               unit="/h", higher_is_better=True,
               baseline="plain processes, same training: 1 at a time (jobs/hour)")  # fmt: skip
    report.notes.append(
        f"the machine's ceiling: 2 plain processes training the same model get {one / two:.2f}x "
        "of 1 (2 vCPUs; per-process training slows when both run)"
    )
    report.notes.append(
        f"throughput: {n} trials of XGBoost on {args.throughput_rows:,} rows, 100 rounds; whole "
        f"job (submit -> SUCCEEDED) {per_hour[2] / per_hour[1]:.2f}x, trials only "
        f"{per_hour_trials[2] / per_hour_trials[1]:.2f}x with 2 at a time (goal >= 1.7x)"
    )
    report.finish()


def _median(values):
    import statistics

    return statistics.median(values)


if __name__ == "__main__":
    main()
