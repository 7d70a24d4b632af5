"""SageMaker SDK v2's serializers, as in ``sagemaker.serializers``.

A serializer turns ``predict``'s argument into a body and names its ``CONTENT_TYPE``.
"""

from __future__ import annotations

import csv
import io
import json


class IdentitySerializer:
    def __init__(self, content_type: str = "application/octet-stream"):
        self.CONTENT_TYPE = content_type

    def serialize(self, data) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode()


class CSVSerializer:
    CONTENT_TYPE = "text/csv"

    def __init__(self, content_type: str = "text/csv"):
        self.CONTENT_TYPE = content_type

    def serialize(self, data) -> bytes:
        if isinstance(data, (bytes, str)):
            return data.encode() if isinstance(data, str) else data
        if hasattr(data, "to_csv"):  # a DataFrame: values only, as SageMaker sends
            return data.to_csv(header=False, index=False).encode()
        rows = data.tolist() if hasattr(data, "tolist") else list(data)
        if rows and not isinstance(rows[0], (list, tuple)):
            rows = [rows]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue().encode()


class JSONSerializer:
    CONTENT_TYPE = "application/json"

    def __init__(self, content_type: str = "application/json"):
        self.CONTENT_TYPE = content_type

    def serialize(self, data) -> bytes:
        if isinstance(data, (bytes, str)):
            return data.encode() if isinstance(data, str) else data
        if hasattr(data, "to_dict"):  # a DataFrame: records
            data = {"instances": data.to_dict(orient="records")}
        elif hasattr(data, "tolist"):
            data = data.tolist()
        return json.dumps(data, default=str).encode()


class JSONLinesSerializer:
    CONTENT_TYPE = "application/jsonlines"

    def serialize(self, data) -> bytes:
        if isinstance(data, (bytes, str)):
            return data.encode() if isinstance(data, str) else data
        rows = data.tolist() if hasattr(data, "tolist") else data
        return "".join(json.dumps(r, default=str) + "\n" for r in rows).encode()


class NumpySerializer:
    CONTENT_TYPE = "application/x-npy"

    def serialize(self, data) -> bytes:
        import numpy as np

        from raymaker.inference.codecs import encode_npy

        return encode_npy(np.asarray(data))
