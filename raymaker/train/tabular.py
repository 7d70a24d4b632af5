"""Tabular data for the built-ins: driver-side checks, worker-side feature matrices.

The driver reads only the schema and the first block (plus the label column when classes
must be known), so a wrong label, a non-numeric feature or a missing channel fails before
any worker starts. Workers read their shard, apply the fitted recipe with the same pandas
code that serving uses, and build a float32 matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from raymaker.errors import DataError, SpecError
from raymaker.train.channels import Shard, read_column, read_shard, schema_of
from raymaker.train.channels import head as first_rows


@dataclass
class TabularData:
    """What workers need to build the same features from any shard."""

    sources: dict  # channel -> readers.Source
    label: str
    features: list[str]
    input_schema: dict[str, str]  # raw input columns (label excluded) -> Arrow type
    label_type: str
    recipe_json: str | None = None
    classes: list | None = None
    extra: dict = field(default_factory=dict)

    def label_values(self) -> list:
        """The label's distinct values in the training channel, sorted."""
        import pyarrow.compute as pc

        column = read_column(self.sources["train"], self.label)
        values = pc.unique(column.drop_null() if hasattr(column, "drop_null") else column)
        return sorted(values.to_pylist())


def prepare_tabular(
    spec, sources: dict, fitted=None, *, algorithm: str, text_features: bool = False
) -> TabularData:
    """Check label and features on the driver. Raises SpecError, DataError."""
    import pandas as pd

    train = sources["train"]
    schema = schema_of(train)
    columns = list(schema)
    if not spec.label:
        raise SpecError(
            f"label: the built-in algorithm {algorithm!r} needs the target column; "
            f"columns: {', '.join(columns)}"
        )
    if spec.label not in schema:
        raise SpecError(
            f"label: column {spec.label!r} is not in the train channel; "
            f"columns: {', '.join(columns)}"
        )
    for channel, source in sources.items():
        if channel == "train":
            continue
        other = schema_of(source)
        missing = [c for c in columns if c not in other]
        if missing:
            raise SpecError(
                f"inputs.{channel}: columns {', '.join(missing)} of the train channel are missing"
            )
    head = first_rows(train)
    if head is None or head.empty:
        raise DataError(f"the train channel {train.uri} has no rows")
    out = fitted.transform_frame(head) if fitted is not None else head
    if spec.label not in out.columns:
        raise SpecError(f"the recipe removes the label column {spec.label!r}")
    features = [c for c in out.columns if c != spec.label]
    bad = [
        f"{c} ({out[c].dtype})"
        for c in features
        if not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c]))
    ]
    if bad and not text_features:
        hint = (
            " after the recipe" if fitted is not None else "; give a recipe (onehot, ordinal, ...)"
        )
        raise SpecError(f"{algorithm} needs numeric features, but {', '.join(bad)} are not{hint}")
    if not features:
        raise SpecError(f"no feature columns besides the label {spec.label!r}")
    return TabularData(
        sources=sources,
        label=spec.label,
        features=features,
        input_schema={c: t for c, t in schema.items() if c != spec.label},
        label_type=schema[spec.label],
        recipe_json=fitted.to_json() if fitted is not None else None,
    )


def load_xy(data: TabularData, channel: str, shard: Shard):
    """This shard's ``(X float32 matrix, y array)`` of ``channel``. Raises DataError."""
    import numpy as np

    table = read_shard(data.sources[channel], shard)
    if data.recipe_json is not None:
        from raymaker.data.recipe import FittedRecipe

        frame = FittedRecipe.from_json(data.recipe_json).transform_frame(table.to_pandas())
        X = frame[data.features].to_numpy(dtype=np.float32, na_value=np.nan)
        y = frame[data.label].to_numpy()
    else:
        X = np.empty((table.num_rows, len(data.features)), dtype=np.float32)
        for i, name in enumerate(data.features):
            X[:, i] = table.column(name).to_numpy(zero_copy_only=False)
        y = table.column(data.label).to_numpy(zero_copy_only=False)
    return X, encode_label(data, y, channel)


def encode_label(data: TabularData, y, channel: str):
    """Class labels -> 0..k-1 (float32); a value outside the known classes is a DataError."""
    import numpy as np
    import pandas as pd

    if data.classes is None:
        y = np.asarray(y, dtype=np.float32)
        if np.isnan(y).any():
            raise DataError(f"the label {data.label!r} has missing values in channel {channel!r}")
        return y
    codes = pd.Categorical(y, categories=data.classes).codes
    if (codes < 0).any():
        unknown = sorted({str(v) for v in np.asarray(y)[codes < 0]})[:5]
        raise DataError(
            f"label values {', '.join(unknown)} in channel {channel!r} are not among the "
            f"training classes ({', '.join(map(str, data.classes))}) or are missing"
        )
    return codes.astype(np.float32)
