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


class LibSVMSerializer:
    """LIBSVM text (``index:value`` pairs a row, no label): a string or bytes as they are, a
    file's contents, or a NumPy / SciPy sparse matrix written by scikit-learn's svmlight
    writer with zero-based indices, as XGBoost reads them."""

    CONTENT_TYPE = "text/libsvm"

    def __init__(self, content_type: str = "text/libsvm"):
        self.CONTENT_TYPE = content_type

    def serialize(self, data) -> bytes:
        if isinstance(data, (bytes, str)):
            return data.encode() if isinstance(data, str) else data
        if hasattr(data, "read"):
            raw = data.read()
            return raw.encode() if isinstance(raw, str) else raw
        import numpy as np
        from sklearn.datasets import dump_svmlight_file

        matrix = data if hasattr(data, "tocsr") else np.atleast_2d(np.asarray(data))
        buf = io.BytesIO()
        dump_svmlight_file(matrix, np.zeros(matrix.shape[0]), buf, zero_based=True)
        # each line is "<label> i:v ...": SageMaker's requests carry no label
        return b"".join(line.split(b" ", 1)[1] + b"\n" if b" " in line else b"\n"
                        for line in buf.getvalue().splitlines())  # fmt: skip


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
