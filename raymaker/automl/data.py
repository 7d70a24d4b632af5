"""An AutoML job's data, read and prepared once on the driver: the target checked and encoded,
the problem type and objective resolved, the mode chosen (AUTO: by size), the rows held out
(or not: cross-validation), the automatic recipe fitted and the matrices built."""

from __future__ import annotations

import numpy as np

from raymaker.automl.hpo import HOLDOUT
from raymaker.automl.objectives import REGRESSION, infer_problem_type, objective_for
from raymaker.errors import DataError, SpecError

ENSEMBLING_MAX_BYTES = 100 << 20  # SageMaker's AUTO: ensembling under 100 MB


class Prepared:
    """The job's data after the recipe: matrices, encoded targets, labels and schema."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def prepare(spec, ctx) -> Prepared:
    import pandas as pd

    from raymaker.automl.features import auto_recipe
    from raymaker.data.readers import read_frame
    from raymaker.train.channels import resolve_channels

    sources = resolve_channels(ctx.store, spec.inputs)
    frame = read_frame(sources["train"])
    target = spec.target_attribute_name
    _check_column(frame, target, "target_attribute_name")
    weight = spec.sample_weight_attribute_name
    if weight:
        _check_column(frame, weight, "sample_weight_attribute_name")
    if spec.feature_specification_s3_uri:
        keep = feature_names(ctx.store, spec.feature_specification_s3_uri, list(frame.columns))
        frame = frame[[c for c in frame.columns if c in keep or c in (target, weight)]]
    frame = frame[frame[target].notna()].reset_index(drop=True)
    if len(frame) < 2 * spec.folds:
        raise DataError(
            f"the train channel has {len(frame)} rows with a target; Autopilot needs at least "
            f"{2 * spec.folds} ({spec.folds} folds)"
        )
    problem_type = spec.problem_type or infer_problem_type(frame[target])
    objective = objective_for(problem_type, spec.objective)
    size = int(frame.memory_usage(deep=True).sum())
    mode = spec.mode if spec.mode != "AUTO" else (
        "ENSEMBLING" if size < ENSEMBLING_MAX_BYTES else "HYPERPARAMETER_TUNING")  # fmt: skip
    if "validation" in sources:
        holdout = read_frame(sources["validation"])
        _check_column(holdout, target, "inputs.validation")
        holdout = holdout[holdout[target].notna()].reset_index(drop=True)
        train = frame
    elif spec.validation_fraction or mode == "HYPERPARAMETER_TUNING":  # trials need held-out rows
        fraction = spec.validation_fraction or HOLDOUT
        train, holdout = _split(frame, target, problem_type, fraction, spec.random_seed)
    else:  # cross-validated: every row trains, the out-of-fold predictions are scored
        train, holdout = frame, frame.iloc[:0]
    drop = [c for c in (target, weight) if c]
    features_in = train.drop(columns=drop)
    recipe, plan = auto_recipe(features_in)
    fitted = recipe.fit(features_in) if recipe is not None else None

    def matrix(part: pd.DataFrame):
        x = part.drop(columns=[c for c in drop if c in part.columns])
        x = fitted.transform_frame(x, inference=True) if fitted is not None else x
        return x

    X_frame = matrix(train)
    features = list(X_frame.columns)
    bad = [c for c in features if not pd.api.types.is_numeric_dtype(X_frame[c])]
    if bad:
        raise DataError(f"columns {', '.join(bad)} are not numeric after the automatic recipe")
    classes = None
    y, y_holdout = train[target].to_numpy(), holdout[target].to_numpy()
    if problem_type != REGRESSION:
        classes = sorted(pd.unique(train[target]).tolist(), key=_sort_key)
        if problem_type == "BinaryClassification" and len(classes) != 2:
            raise DataError(
                f"problem_type BinaryClassification: the target has {len(classes)} values "
                f"({', '.join(map(str, classes[:5]))}{', ...' if len(classes) > 5 else ''})"
            )
        index = {c: i for i, c in enumerate(classes)}
        counts = pd.Series(y).value_counts()
        rare = counts[counts < spec.folds]
        if len(rare):
            raise DataError(
                f"each class needs at least {spec.folds} training rows (one a fold); "
                + ", ".join(f"{c!r} has {n}" for c, n in rare.items())
            )
        y = np.array([index[v] for v in y])
        unknown = [v for v in pd.unique(y_holdout) if v not in index]
        if unknown:
            raise DataError(f"the validation rows hold labels the train rows lack: {unknown[:5]}")
        y_holdout = np.array([index[v] for v in y_holdout])
    else:
        y, y_holdout = y.astype(np.float64), y_holdout.astype(np.float64)
    import pyarrow as pa

    schema = pa.Schema.from_pandas(features_in, preserve_index=False)
    w = w_holdout = None
    if weight:
        w, w_holdout = _weights(train, weight), _weights(holdout, weight)
    return Prepared(
        problem_type=problem_type, objective=objective, target=target, classes=classes,
        X=_numeric(X_frame), y=y, X_holdout=_numeric(matrix(holdout)), y_holdout=y_holdout,
        w=w, w_holdout=w_holdout, frame=train, example=train.drop(columns=drop).head(1),
        features=features,
        input_schema={f.name: str(f.type) for f in schema}, plan=plan,
        recipe_json=fitted.to_json() if fitted is not None else None,
        rows=len(train), holdout_rows=len(holdout), bytes=size, mode=mode,
        inferred=spec.problem_type is None, sources={c: s.uri for c, s in sources.items()},
    )  # fmt: skip


def feature_names(store, uri: str, columns: list[str]) -> set[str]:
    """The columns a feature specification file names (SageMaker's
    ``{"FeatureAttributeNames": [...]}``), each checked against the data's. Raises SpecError,
    NotFound."""
    import json

    from raymaker.specs.base import did_you_mean

    field = "feature_specification_s3_uri"
    try:
        names = json.loads(store.read_text(store.key(uri))).get("FeatureAttributeNames")
    except (ValueError, AttributeError) as exc:
        raise SpecError(f'{field}: {uri} is not JSON of the form '
                        f'{{"FeatureAttributeNames": [...]}} ({exc})') from exc  # fmt: skip
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise SpecError(f"{field}: FeatureAttributeNames must be a non-empty list of column "
                        f"names; {uri} holds {names!r}")  # fmt: skip
    for name in names:
        if name not in columns:
            known = ", ".join(map(str, columns))
            raise SpecError(f"{field}: column {name!r} is not in the data; columns: "
                            f"{known}{did_you_mean(name, columns)}")  # fmt: skip
    return set(names)


def _check_column(frame, column: str, field: str) -> None:
    if column not in frame.columns:
        from raymaker.specs.base import did_you_mean

        columns = [str(c) for c in frame.columns]
        raise SpecError(
            f"{field}: column {column!r} is not in the data; columns: "
            f"{', '.join(columns)}{did_you_mean(column, columns)}"
        )


def _weights(frame, column: str):
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"sample_weight_attribute_name {column!r}: weights must be numbers >= 0; row {row} "
            f"holds {frame[column].tolist()[row]!r}"
        )
    if len(values) and values.sum() == 0:
        raise DataError(f"sample_weight_attribute_name {column!r}: every weight is 0")
    return values


def _split(frame, target: str, problem_type: str, fraction: float, seed: int):
    from sklearn.model_selection import train_test_split

    stratify = frame[target] if problem_type != REGRESSION else None
    try:
        train, holdout = train_test_split(frame, test_size=fraction, random_state=seed,
                                          stratify=stratify)  # fmt: skip
    except ValueError:  # a class too rare to stratify: a plain split
        train, holdout = train_test_split(frame, test_size=fraction, random_state=seed)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def _numeric(frame):
    return np.ascontiguousarray(frame.to_numpy(dtype=np.float64, na_value=np.nan))


def _sort_key(value):
    return (str(type(value)), value)
