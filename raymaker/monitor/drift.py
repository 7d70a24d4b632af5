"""Drift methods: a name → ``"module:attr"`` table, each comparing one feature's baseline and
current statistics (statistics.json entries), so a method works from a baseline file alone.

=================  =====================================================  ==================
name               statistic (scipy where a test exists)                  drift when
=================  =====================================================  ==================
``linf``           SageMaker's distance: the largest gap between the two  > threshold (0.1)
                   CDFs (numbers) or category frequencies (strings)
``ks``             two-sample Kolmogorov–Smirnov (``scipy.stats``)        p < threshold (0.05)
``chisquare``      chi-squared on the contingency table of categories or  p < threshold (0.05)
                   baseline-decile bins (``chi2_contingency``)
``wasserstein``    Wasserstein-1 over the baseline's std dev              > threshold (0.1)
                   (``scipy.stats.wasserstein_distance``)
``jensenshannon``  Jensen–Shannon distance (``scipy.spatial.distance``)   > threshold (0.1)
``psi``            population stability index over baseline deciles       > threshold (0.1)
``auto``           Evidently's choice by type and baseline size: numbers
                   with more than 5 values: ``ks`` up to 1,000 rows, else
                   ``wasserstein``; other columns: ``chisquare`` up to
                   1,000 rows, else ``jensenshannon``
=================  =====================================================  ==================

Numbers are compared through their KLL sketches' weighted items (exact below k=2048 values),
categories through their counts. A method is added by one row in ``METHODS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from raymaker.monitor.stats import category_counts, common, weighted_items

METHODS: dict[str, str] = {
    "linf": "raymaker.monitor.drift:linf",
    "ks": "raymaker.monitor.drift:ks",
    "chisquare": "raymaker.monitor.drift:chisquare",
    "wasserstein": "raymaker.monitor.drift:wasserstein",
    "jensenshannon": "raymaker.monitor.drift:jensenshannon",
    "psi": "raymaker.monitor.drift:psi",
}
DEFAULT_THRESHOLDS = {
    "linf": 0.1,
    "ks": 0.05,
    "chisquare": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
P_VALUE_METHODS = ("ks", "chisquare")
SMALL_SAMPLE = 1000  # Evidently's cut between tests and distances
FEW_VALUES = 5


@dataclass
class Drift:
    """One feature's comparison."""

    method: str
    statistic: float
    threshold: float
    drifted: bool

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "statistic": _round(self.statistic),
            "threshold": self.threshold,
            "drifted": self.drifted,
            "kind": "p_value" if self.method in P_VALUE_METHODS else "distance",
        }


def compare(
    method: str, base: dict, current: dict, threshold: float | None = None, *, robust: bool = False
) -> Drift | None:
    """Compare one feature with ``method`` (a name in ``METHODS`` or ``auto``). None when
    either side has no values to compare. Raises SpecError for an unknown method."""
    from raymaker.errors import SpecError
    from raymaker.kinds import load

    if method == "auto":
        method = choose(base)
    if method not in METHODS:
        import difflib

        close = difflib.get_close_matches(method, [*METHODS, "auto"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(
            f"drift method {method!r} is not known; allowed: {', '.join([*METHODS, 'auto'])}{hint}"
        )
    threshold = DEFAULT_THRESHOLDS[method] if threshold is None else float(threshold)
    statistic = load(METHODS[method])(base, current, robust=robust)
    if statistic is None or not math.isfinite(statistic):
        return None
    drifted = statistic < threshold if method in P_VALUE_METHODS else statistic > threshold
    return Drift(method, float(statistic), threshold, bool(drifted))


def choose(base: dict) -> str:
    """Evidently's default for a feature, from its baseline statistics."""
    n = common(base).get("num_present", 0)
    counted = base.get("value_counts")
    if "numerical_statistics" in base and (not counted or len(counted["values"]) > FEW_VALUES):
        return "ks" if n <= SMALL_SAMPLE else "wasserstein"
    return "chisquare" if n <= SMALL_SAMPLE else "jensenshannon"


def _is_numeric(base: dict, current: dict) -> bool:
    return "numerical_statistics" in base and "numerical_statistics" in current


def _cdfs(base: dict, current: dict):
    """Both weighted empirical CDFs on the union of their items."""
    a, b = weighted_items(base), weighted_items(current)
    if a is None or b is None:
        return None
    grid = np.union1d(a[0], b[0])
    return _cdf(*a, grid), _cdf(*b, grid)


def _cdf(items: np.ndarray, weights: np.ndarray, grid: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()
    return cum[np.searchsorted(items, grid, side="right")]


def _frequencies(base: dict, current: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """Both sides' counts over one set of bins: categories, else baseline-decile bins."""
    counted = base.get("value_counts") and current.get("value_counts")
    if _is_numeric(base, current) and not counted:
        a, b = weighted_items(base), weighted_items(current)
        if a is None or b is None:
            return None
        cum = np.cumsum(a[1]) / a[1].sum()
        at = np.searchsorted(cum, np.linspace(0.1, 0.9, 9)).clip(0, len(a[0]) - 1)
        inner = np.unique(a[0][at])
        edges = np.concatenate([[-np.inf], inner, [np.inf]])
        return (
            np.histogram(a[0], edges, weights=a[1])[0],
            np.histogram(b[0], edges, weights=b[1])[0],
        )
    ca, cb = category_counts(base), category_counts(current)
    if not ca or not cb:
        return None
    keys = sorted(set(ca) | set(cb))
    return (
        np.array([ca.get(k, 0) for k in keys], dtype="float64"),
        np.array([cb.get(k, 0) for k in keys], dtype="float64"),
    )


def _sizes(base: dict, current: dict) -> tuple[int, int]:
    return common(base).get("num_present", 0), common(current).get("num_present", 0)


def linf(base: dict, current: dict, *, robust: bool = False) -> float | None:
    """SageMaker's baseline distance; ``robust`` (its Robust comparison) takes off the
    two-sample sampling margin at 95% (Kolmogorov's 1.358·sqrt((n+m)/nm)), so a small window
    drifts only beyond its noise."""
    if _is_numeric(base, current):
        cdfs = _cdfs(base, current)
        if cdfs is None:
            return None
        distance = float(np.max(np.abs(cdfs[0] - cdfs[1])))
    else:
        freq = _frequencies(base, current)
        if freq is None or not freq[0].sum() or not freq[1].sum():
            return None
        distance = float(np.max(np.abs(freq[0] / freq[0].sum() - freq[1] / freq[1].sum())))
    if robust:
        n, m = _sizes(base, current)
        if n and m:
            distance = max(0.0, distance - 1.358 * math.sqrt((n + m) / (n * m)))
    return distance


def ks(base: dict, current: dict, *, robust: bool = False) -> float | None:
    """The KS test's p-value (exact for small samples, asymptotic beyond)."""
    from scipy import stats

    cdfs = _cdfs(base, current) if _is_numeric(base, current) else None
    if cdfs is None:
        return None
    d = float(np.max(np.abs(cdfs[0] - cdfs[1])))
    n, m = _sizes(base, current)
    if not n or not m:
        return None
    return float(stats.kstwo.sf(d, max(1, round(n * m / (n + m)))))


def chisquare(base: dict, current: dict, *, robust: bool = False) -> float | None:
    """The chi-squared test's p-value on the two sides' counts."""
    from scipy import stats

    freq = _frequencies(base, current)
    if freq is None:
        return None
    table = np.vstack(freq)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or not table[0].sum() or not table[1].sum():
        return 1.0
    return float(stats.chi2_contingency(table)[1])


def wasserstein(base: dict, current: dict, *, robust: bool = False) -> float | None:
    """Wasserstein-1 distance in units of the baseline's standard deviation."""
    from scipy import stats

    if not _is_numeric(base, current):
        return jensenshannon(base, current)
    a, b = weighted_items(base), weighted_items(current)
    if a is None or b is None:
        return None
    std = base["numerical_statistics"].get("std_dev") or 0.0
    distance = float(stats.wasserstein_distance(a[0], b[0], a[1], b[1]))
    return distance / std if std > 0 else distance


def jensenshannon(base: dict, current: dict, *, robust: bool = False) -> float | None:
    """The Jensen–Shannon distance (base 2, so 0..1) between the two distributions."""
    from scipy.spatial import distance

    freq = _frequencies(base, current)
    if freq is None or not freq[0].sum() or not freq[1].sum():
        return None
    return float(distance.jensenshannon(freq[0], freq[1], base=2))


def psi(base: dict, current: dict, *, robust: bool = False) -> float | None:
    """The population stability index, empty bins floored at 0.0001 as is usual."""
    freq = _frequencies(base, current)
    if freq is None or not freq[0].sum() or not freq[1].sum():
        return None
    p = np.clip(freq[0] / freq[0].sum(), 1e-4, None)
    q = np.clip(freq[1] / freq[1].sum(), 1e-4, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _round(value: float) -> float:
    return float(f"{value:.6g}")
