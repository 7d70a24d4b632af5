"""SageMaker SDK v2's deserializers, as in ``sagemaker.deserializers``.

A deserializer reads a response body and names what it ``ACCEPT``s.
"""

from __future__ import annotations

import csv
import io
import json


class BytesDeserializer:
    ACCEPT = ("*/*",)

    def deserialize(self, body: bytes, content_type: str):
        return body


class StringDeserializer:
    ACCEPT = ("application/json",)

    def deserialize(self, body: bytes, content_type: str):
        return body.decode("utf-8")


class JSONDeserializer:
    ACCEPT = ("application/json",)

    def deserialize(self, body: bytes, content_type: str):
        return json.loads(body) if body else None


class CSVDeserializer:
    ACCEPT = ("text/csv",)

    def deserialize(self, body: bytes, content_type: str):
        return list(csv.reader(io.StringIO(body.decode("utf-8"))))


class NumpyDeserializer:
    ACCEPT = ("application/x-npy",)

    def deserialize(self, body: bytes, content_type: str):
        from raymaker.inference.codecs import decode_npy

        return decode_npy(body)
