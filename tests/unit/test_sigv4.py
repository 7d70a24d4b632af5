"""SigV4 requests signed by botocore's own signer, checked by the gateway's verifier."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from raymaker.serve import sigv4

URL = "http://127.0.0.1:8080/endpoints/churn/invocations"


def signed(url=URL, body=b"1,2,3", secret="t0k", service="sagemaker", headers=None):
    """The headers botocore sends for ``body`` posted to ``url`` (Host included)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "text/csv", **(headers or {})})  # fmt: skip
    SigV4Auth(Credentials("raymaker", secret), service, "eu-west-1").add_auth(request)
    return {"Host": urlsplit(url).netloc, **dict(request.headers.items())}


def verify(headers, body=b"1,2,3", url=URL, secret="t0k", now=None, method="POST"):
    parts = urlsplit(url)
    return sigv4.verify(secret, method, parts.path, parts.query, list(headers.items()), body, now)


def test_a_botocore_signature_verifies():
    headers = signed()
    assert sigv4.is_sigv4(headers["Authorization"])
    assert verify(headers) == "raymaker"
    with_query = "http://h:1/endpoints/a-b/invocations?b=2&a=1"
    assert verify(signed(url=with_query), url=with_query) == "raymaker"
    token = {"X-Amz-Security-Token": "session"}  # signed too when the credentials carry one
    assert verify(signed(headers=token)) == "raymaker"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: verify(h, body=b"1,2,4"), "does not match"),
        (lambda h: verify(h, secret="other"), "does not match"),
        (lambda h: verify(h, method="PUT"), "does not match"),
        (lambda h: verify(h, url=URL.replace("churn", "other")), "does not match"),
        (lambda h: verify({**h, "Host": "evil:80"}), "does not match"),
        (lambda h: verify(h, now=time.time() + 3600), "away from the gateway's clock"),
        (lambda h: verify({k: v for k, v in h.items() if k != "X-Amz-Date"}), "X-Amz-Date"),
        (lambda h: verify({**h, "X-Amz-Date": "yesterday"}), "yyyymmdd"),
        (lambda h: verify({**h, "Authorization": "AWS4-HMAC-SHA256 Credential=a/b"}), "no"),
        (
            lambda h: verify({**h, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}),
            "payload is not signed",
        ),
    ],
)
def test_a_changed_request_is_refused(change, message):
    with pytest.raises(sigv4.SignatureError, match=message):
        change(signed())


def test_only_sagemaker_signatures():
    with pytest.raises(sigv4.SignatureError, match="'s3', not 'sagemaker'"):
        verify(signed(service="s3"))


@pytest.mark.parametrize("path", ["/a%20b/./c/../d", "/x//y/", "/", "/endpoints/e/invocations"])
def test_paths_are_canonical_as_botocore_signs_them(path):
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials

    signer = SigV4Auth(Credentials("a", "b"), "sagemaker", "us-east-1")
    assert sigv4.canonical_path(path) == signer._normalize_url_path(path)
