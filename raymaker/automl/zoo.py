"""Autopilot's model zoo and stacking: the learners ENSEMBLING mode bags, and the second layer
that learns from their out-of-fold predictions (as AutoGluon's multi-layer stacking does).

Each learner is ``fit(X, y, problem_type=..., seed=..., threads=...) -> Fitted``, on a numeric
matrix (the recipe has run) with the target encoded ``0..k-1`` for classification. A
``Fitted.predict`` answers in ``objectives``' shapes: a value a row, or a probability a class.
The libraries are the field's own (LightGBM, XGBoost, scikit-learn, torch), with settings
that are good defaults for tabular data rather than tuned per dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from raymaker.automl.ensemble import Bagged, bag, blend, select
from raymaker.automl.objectives import REGRESSION, Objective
from raymaker.errors import SpecError


@dataclass
class Fitted:
    """A fitted learner: its name and the library's model, answering in objective shapes."""

    name: str
    model: Any
    problem_type: str

    def predict(self, X) -> np.ndarray:
        if self.problem_type == REGRESSION:
            return np.asarray(self.model.predict(X), dtype=np.float64)
        return np.asarray(self.model.predict_proba(X), dtype=np.float64)

    def oob(self) -> np.ndarray:
        """A forest's out-of-bag predictions of its training rows (objective shapes); a row
        no tree left out (rare with hundreds of trees) gets the mean prediction."""
        forest = self.model.steps[-1][1] if hasattr(self.model, "steps") else self.model
        if self.problem_type == REGRESSION:
            out = np.asarray(forest.oob_prediction_, dtype=np.float64)
        else:
            out = np.asarray(forest.oob_decision_function_, dtype=np.float64)
        missing = np.isnan(out).any(axis=1) if out.ndim == 2 else np.isnan(out)
        if missing.any():
            out[missing] = np.nanmean(out[~missing], axis=0)
        return out


def _lightgbm(classify: bool, seed: int, threads: int):
    import lightgbm as lgb

    cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
    return cls(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=10,
               subsample=0.9, subsample_freq=1, colsample_bytree=0.9, random_state=seed,
               n_jobs=threads, verbose=-1)  # fmt: skip


def _xgboost(classify: bool, seed: int, threads: int):
    import xgboost as xgb

    cls = xgb.XGBClassifier if classify else xgb.XGBRegressor
    return cls(n_estimators=300, learning_rate=0.05, max_depth=6, subsample=0.9,
               colsample_bytree=0.9, tree_method="hist", random_state=seed,
               n_jobs=threads)  # fmt: skip


def _forest(extra: bool):
    def make(classify: bool, seed: int, threads: int):
        from sklearn import ensemble as sk

        if extra:
            cls = sk.ExtraTreesClassifier if classify else sk.ExtraTreesRegressor
        else:
            cls = sk.RandomForestClassifier if classify else sk.RandomForestRegressor
        # bootstrapped, so each row's out-of-bag prediction stands in for k-fold bagging
        return cls(n_estimators=300, min_samples_leaf=2, max_features="sqrt" if classify else 0.6,
                   bootstrap=True, oob_score=True, random_state=seed,
                   n_jobs=threads)  # fmt: skip

    return make


def _linear(classify: bool, seed: int, threads: int):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = LogisticRegression(C=1.0, max_iter=2000) if classify else Ridge(alpha=1.0)
    return make_pipeline(SimpleImputer(), StandardScaler(), model)


class TorchMLP:
    """A torch MLP for tables (two hidden layers, ReLU, dropout), on imputed and standardized
    inputs (and a standardized target for regression), trained with Adam and early stopping
    on a held-out tenth; scikit-learn's ``fit`` / ``predict`` / ``predict_proba``."""

    def __init__(self, classify: bool, seed: int, threads: int, *, hidden=(128, 64),
                 epochs: int = 200, patience: int = 15, batch: int = 128,
                 lr: float = 1e-3):  # fmt: skip
        self.classify, self.seed, self.threads = classify, seed, threads
        self.hidden, self.epochs, self.patience, self.batch, self.lr = (
            hidden,
            epochs,
            patience,
            batch,
            lr,
        )

    def fit(self, X, y, sample_weight=None):
        import torch
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        torch.manual_seed(self.seed)
        torch.set_num_threads(max(1, self.threads))
        self.prep = make_pipeline(SimpleImputer(), StandardScaler())
        Xt = torch.tensor(self.prep.fit_transform(X), dtype=torch.float32)
        y = np.asarray(y)
        w = (
            torch.ones(len(y))
            if sample_weight is None
            else torch.tensor(np.asarray(sample_weight, dtype=np.float32))
        )
        if self.classify:
            self.k = int(y.max()) + 1
            yt = torch.tensor(y, dtype=torch.long)
            per_row, outputs = torch.nn.functional.cross_entropy, self.k
        else:
            self.mu, self.sd = float(y.mean()), float(y.std() or 1.0)
            yt = torch.tensor((y - self.mu) / self.sd, dtype=torch.float32)[:, None]
            per_row, outputs = torch.nn.functional.mse_loss, 1

        def loss_fn(idx):  # the rows' losses, weighted
            losses = per_row(self.net(Xt[idx]), yt[idx], reduction="none").reshape(len(idx), -1)
            return (losses.mean(1) * w[idx]).sum() / w[idx].sum()

        layers, width = [], Xt.shape[1]
        for h in self.hidden:
            layers += [torch.nn.Linear(width, h), torch.nn.ReLU(), torch.nn.Dropout(0.1)]
            width = h
        self.net = torch.nn.Sequential(*layers, torch.nn.Linear(width, outputs))
        order = torch.randperm(len(Xt), generator=torch.Generator().manual_seed(self.seed))
        cut = max(1, len(Xt) // 10)
        held, train = order[:cut], order[cut:]
        optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=1e-5)
        best, best_state, waited = float("inf"), None, 0
        for _ in range(self.epochs):
            self.net.train()
            epoch = train[torch.randperm(len(train))]  # every training row once an epoch
            for i in range(0, len(epoch), self.batch):
                idx = epoch[i : i + self.batch]
                optimizer.zero_grad()
                loss_fn(idx).backward()
                optimizer.step()
            self.net.eval()
            with torch.no_grad():
                val = float(loss_fn(held))
            if val < best - 1e-6:
                best, waited = val, 0
                best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
            else:
                waited += 1
                if waited >= self.patience:
                    break
        self.net.load_state_dict(best_state)
        self.net.eval()
        return self

    def _forward(self, X):
        import torch

        with torch.no_grad():
            return self.net(torch.tensor(self.prep.transform(X), dtype=torch.float32))

    def predict_proba(self, X):
        import torch

        return torch.softmax(self._forward(X), dim=1).numpy()

    def predict(self, X):
        if self.classify:
            return self.predict_proba(X).argmax(1)
        return self._forward(X).numpy()[:, 0] * self.sd + self.mu


def _mlp(classify: bool, seed: int, threads: int):
    return TorchMLP(classify, seed, threads)


LEARNERS = {
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
    "random_forest": _forest(extra=False),
    "extra_trees": _forest(extra=True),
    "linear": _linear,
    "mlp": _mlp,
}
NEEDS_IMPUTATION = frozenset({"random_forest", "extra_trees"})  # scikit-learn's forests: NaN
OUT_OF_BAG = NEEDS_IMPUTATION  # fitted once: their out-of-bag predictions replace the folds


def learner(name: str, *, problem_type: str, seed: int = 0, threads: int = 1,
            params: dict | None = None):  # fmt: skip
    """``fit(X, y) -> Fitted`` of the zoo's ``name``, its defaults overridden by ``params``
    (the estimator's own names; ``linear``: ``strength``, the regularization; ``mlp``:
    ``width`` and ``lr``). Raises SpecError naming the zoo."""
    make = LEARNERS.get(name)
    if make is None:
        raise SpecError(f"learner {name!r} is not in the zoo; allowed: {', '.join(LEARNERS)}")
    classify = problem_type != REGRESSION

    def fit(X, y, sample_weight=None) -> Fitted:
        model = _with_params(make(classify, seed, threads), name, classify, params or {})
        if name in NEEDS_IMPUTATION:
            from sklearn.impute import SimpleImputer
            from sklearn.pipeline import make_pipeline

            model = make_pipeline(SimpleImputer(), model)
        weights = {}
        if sample_weight is not None:  # a pipeline routes it to its last step by name
            steps = getattr(model, "steps", None)
            key = f"{steps[-1][0]}__sample_weight" if steps else "sample_weight"
            weights[key] = np.asarray(sample_weight, dtype=np.float64)
        return Fitted(name, model.fit(X, y, **weights), problem_type)

    fit.out_of_bag = name in OUT_OF_BAG
    return fit


def _with_params(model, name: str, classify: bool, params: dict):
    if not params:
        return model
    params = dict(params)
    if name == "mlp":
        width = int(params.pop("width", model.hidden[0]))
        model.hidden, model.lr = (width, max(8, width // 2)), params.pop("lr", model.lr)
    elif name == "linear":  # C for logistic regression, alpha for ridge: one strength
        strength = float(params.pop("strength"))
        last = model.steps[-1][0]
        key, value = ("C", 1.0 / strength) if classify else ("alpha", strength)
        model.set_params(**{f"{last}__{key}": value})
    if params:
        model.set_params(**params)
    return model


def stack_features(X, predictions: list[np.ndarray], problem_type: str) -> np.ndarray:
    """A second layer's input: the rows' own features, then each first-layer candidate's
    prediction (a value, the positive class's probability, or every class's)."""
    parts = [np.asarray(X, dtype=np.float64)]
    for p in predictions:
        p = np.asarray(p, dtype=np.float64)
        if p.ndim == 1:
            parts.append(p[:, None])
        elif p.shape[1] == 2:  # binary: the positive class says it all
            parts.append(p[:, 1:])
        else:
            parts.append(p)
    return np.hstack(parts)


@dataclass
class Layer:
    """One layer of bagged candidates and its greedy-selection weights."""

    names: list[str]
    bagged: list[Bagged]
    weights: np.ndarray
    score: float

    def candidate_predictions(self, X) -> list[np.ndarray]:
        return [b.predict(X) for b in self.bagged]

    def predict(self, X) -> np.ndarray:
        return blend(self.candidate_predictions(X), self.weights)


@dataclass
class Stack:
    """Layers of bagged learners; each layer past the first sees the features and the
    previous layer's candidates' predictions. The last layer's selection answers."""

    layers: list[Layer]
    problem_type: str

    def predict(self, X) -> np.ndarray:
        inputs = np.asarray(X, dtype=np.float64)
        out = None
        for i, layer in enumerate(self.layers):
            preds = layer.candidate_predictions(inputs)
            out = blend(preds, layer.weights)
            if i + 1 < len(self.layers):
                inputs = stack_features(X, preds, self.problem_type)
        return out


def fit_stack(X, y, objective: Objective, *, learners=("lightgbm", "xgboost", "random_forest",
              "extra_trees", "linear", "mlp"), layers: int = 2, folds: int = 5, seed: int = 0,
              threads: int = 1) -> Stack:  # fmt: skip
    """Bag every learner over ``folds`` folds, select an ensemble of them on out-of-fold
    predictions, and with ``layers`` > 1 train the learners again on the features plus those
    predictions. A layer that does not beat the one below is dropped (the stack never gets
    worse on out-of-fold predictions)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    problem_type = objective.problem_type
    built: list[Layer] = []
    inputs = X
    for depth in range(layers):
        bagged = [
            bag(learner(name, problem_type=problem_type, seed=seed + depth, threads=threads),
                inputs, y, problem_type=problem_type, folds=folds, seed=seed)
            for name in learners
        ]  # fmt: skip
        chosen = select([b.oof for b in bagged], y, objective)
        layer = Layer(list(learners), bagged, chosen.weights, chosen.score)
        if built and not objective.better(layer.score, built[-1].score):
            break  # the next layer would not help: keep the stack as it is
        built.append(layer)
        inputs = stack_features(X, [b.oof for b in bagged], problem_type)
    return Stack(built, problem_type)
