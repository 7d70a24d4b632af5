"""``sagemaker.model_monitor.dataset_format``: how a baseline dataset is read."""

from __future__ import annotations


class DatasetFormat:
    """The SDK's format dicts: ``{"csv": {"header": ...}}``, ``{"json": {"lines": ...}}``,
    ``{"parquet": {}}``."""

    @staticmethod
    def csv(header: bool = True, output_columns_position: str = "START") -> dict:
        return {"csv": {"header": header, "output_columns_position": output_columns_position}}

    @staticmethod
    def json(lines: bool = True) -> dict:
        return {"json": {"lines": lines}}

    @staticmethod
    def parquet() -> dict:
        return {"parquet": {}}


def dataset_spec(uri: str, dataset_format: dict | None) -> dict:
    """The spec's ``dataset`` for a baseline dataset and a DatasetFormat dict. Raises
    SpecError for a format that is not one."""
    from raymaker.errors import SpecError

    fmt = dataset_format or DatasetFormat.csv()
    if (
        not isinstance(fmt, dict)
        or len(fmt) != 1
        or next(iter(fmt)) not in ("csv", "json", "parquet")
    ):
        raise SpecError(
            f"dataset_format {fmt!r} is not a DatasetFormat; use DatasetFormat.csv(header=...), "
            "DatasetFormat.json(lines=True) or DatasetFormat.parquet()"
        )
    kind, options = next(iter(fmt.items()))
    out = {"uri": uri, "format": kind}
    if kind == "csv":
        out["header"] = bool((options or {}).get("header", True))
    return out
