"""AWS Signature Version 4 checked against the gateway's token, so that SageMaker clients work
unchanged against a token-protected endpoint.

boto3's ``sagemaker-runtime`` client signs each request (SigV4) with an access key and a
secret key; it cannot send a bearer token. The gateway accepts such a signature when it was
made with the gateway's token as the secret key (any access key id, any region, the service
``sagemaker``), so a user points boto3 at raymaker with::

    boto3.client("sagemaker-runtime", endpoint_url=URL,
                 aws_access_key_id="raymaker", aws_secret_access_key=TOKEN)

The token never crosses the wire. What is checked is what AWS checks: the signature over the
method, path, query, signed headers and the body's SHA-256, a request time within
``MAX_SKEW_S`` of the gateway's clock, and a credential scope of that day.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from urllib.parse import quote

from raymaker.errors import AuthError

SCHEME = "aws4-hmac-sha256"
SERVICE = "sagemaker"
MAX_SKEW_S = 15 * 60  # AWS answers RequestTimeTooSkewed beyond 15 minutes
UNSIGNED = {"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}


class SignatureError(AuthError):
    """The request's signature is missing, malformed or wrong (the gateway answers 401)."""


def is_sigv4(authorization: str) -> bool:
    """Whether an Authorization header carries a SigV4 signature."""
    return authorization[: len(SCHEME)].lower() == SCHEME


def parse(authorization: str) -> dict:
    """``{"credential": [key id, date, region, service, "aws4_request"], "signed_headers":
    [...], "signature": hex}`` of a SigV4 Authorization header. Raises SignatureError."""
    fields = {}
    for part in authorization[len(SCHEME) :].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value.strip()
    try:
        credential = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    except KeyError as e:
        raise SignatureError(f"the AWS4-HMAC-SHA256 authorization has no {e.args[0]}") from None
    if len(credential) != 5 or credential[4] != "aws4_request":
        raise SignatureError(
            "the credential scope is not <key>/<date>/<region>/<service>/aws4_request"
        )
    if credential[3] != SERVICE:
        raise SignatureError(
            f"the request is signed for service {credential[3]!r}, not {SERVICE!r}"
        )
    if "host" not in signed:
        raise SignatureError("the signature does not cover the host header")
    return {"credential": credential, "signed_headers": signed, "signature": signature}


def check_time(amz_date: str, scope_date: str, now: float | None = None) -> None:
    """Raises SignatureError unless ``amz_date`` (X-Amz-Date) is within ``MAX_SKEW_S`` of
    ``now`` and on the credential scope's day."""
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise SignatureError(f"X-Amz-Date {amz_date!r} is not yyyymmddThhmmssZ") from None
    if not amz_date.startswith(scope_date):
        raise SignatureError(f"X-Amz-Date {amz_date} is not on the credential's day {scope_date}")
    skew = abs((time.time() if now is None else now) - signed_at)
    if skew > MAX_SKEW_S:
        raise SignatureError(
            f"the request was signed {skew:.0f} s away from the gateway's clock "
            f"(at most {MAX_SKEW_S} s)"
        )


def canonical_path(raw_path: str) -> str:
    """The path as SigV4 signs it (every service but S3): dot segments and empty segments
    removed (RFC 3986 5.2.4), then the path as sent URI-encoded once more."""
    if not raw_path:
        return "/"
    kept: list[str] = []
    for segment in raw_path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    path = ("/" if raw_path.startswith("/") else "") + "/".join(kept)
    if raw_path.endswith("/") and kept:
        path += "/"
    return quote(path, safe="/~")


def canonical_query(raw_query: str) -> str:
    """The query string as sent, its pairs sorted."""
    if not raw_query:
        return ""
    pairs = sorted(tuple(pair.partition("=")[::2]) for pair in raw_query.split("&"))
    return "&".join(f"{k}={v}" for k, v in pairs)


def check(headers: list[tuple[str, str]], now: float | None = None) -> dict:
    """What can be checked before the body is read: the Authorization header's form, the
    service, the request time. Returns the parsed header; raises SignatureError."""
    values = _values(headers)
    auth = parse((values.get("authorization") or [""])[0])
    amz_date = (values.get("x-amz-date") or [""])[0]
    if not amz_date:
        raise SignatureError("a SigV4-signed request needs an X-Amz-Date header")
    check_time(amz_date, auth["credential"][1], now)
    for name in auth["signed_headers"]:
        if name not in values:
            raise SignatureError(f"signed header {name!r} is not in the request")
    return auth


def signed_payload_hash(headers: list[tuple[str, str]]) -> str | None:
    """The body's SHA-256 the client signed in X-Amz-Content-SHA256, when it sent one: then
    the signature is checked before the body is read, and the body against it afterwards."""
    claimed = (_values(headers).get("x-amz-content-sha256") or [""])[0].lower()
    return claimed if len(claimed) == 64 and all(c in "0123456789abcdef" for c in claimed) else None


def verify(
    secret: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    now: float | None = None,
) -> str:
    """Check a SigV4-signed request against ``secret``; returns the access key id.

    ``headers`` are the request's (name, value) pairs as received. ``body`` None checks the
    signature over the signed X-Amz-Content-SHA256 (``signed_payload_hash``) before the body
    is read; the caller compares the body with it. Raises SignatureError.
    """
    values = _values(headers)
    auth = check(headers, now)
    key_id, day, region, service, _ = auth["credential"]
    amz_date = values["x-amz-date"][0]
    claimed = (values.get("x-amz-content-sha256") or [None])[0]
    if body is None:
        digest = signed_payload_hash(headers)
        if digest is None:
            raise SignatureError("the body is needed to check this signature")
    else:
        digest = hashlib.sha256(body).hexdigest()
    if claimed is not None:
        _check_digest(claimed, digest)
    lines = [
        f"{name}:{','.join(' '.join(v.split()) for v in values[name])}"
        for name in auth["signed_headers"]
    ]
    canonical = "\n".join(
        [
            method.upper(),
            canonical_path(raw_path),
            canonical_query(raw_query),
            "\n".join(lines) + "\n",
            ";".join(auth["signed_headers"]),
            claimed or digest,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    expected = signature(secret, day, region, service, to_sign).encode()
    if not hmac.compare_digest(expected, auth["signature"].encode("utf-8", "surrogateescape")):
        raise SignatureError(
            "the signature does not match: sign with the endpoint token as the secret access key"
        )
    return key_id


def check_payload(claimed: str, body: bytes) -> None:
    """Raise SignatureError unless ``body`` has the SHA-256 the client claimed (and signed)
    in X-Amz-Content-SHA256."""
    _check_digest(claimed, hashlib.sha256(body).hexdigest())


def _check_digest(claimed: str, digest: str) -> None:
    if claimed != digest:
        why = "is not signed" if claimed in UNSIGNED else "does not match the body's SHA-256"
        raise SignatureError(f"the payload {why} (X-Amz-Content-SHA256)")


def _values(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)
    return values


def signature(secret: str, day: str, region: str, service: str, string_to_sign: str) -> str:
    """The hex SigV4 signature of ``string_to_sign`` under ``secret``."""
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
