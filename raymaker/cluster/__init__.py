"""Where Ray is (foundation; no Ray import at module level).

- ``local``: the embedded local head (``raymaker cluster up/down``), Ray's auth token, and
  address resolution (``dashboard_url``, ``gcs_address``).
- ``connect``: join Ray in this process (``connect(settings)``), used by every engine.
- ``rest``: a small client of Ray's Jobs REST API.
"""

from raymaker.cluster.connect import connect
from raymaker.cluster.local import (
    LOOPBACK,
    LocalCluster,
    auth_headers,
    dashboard_url,
    default_token_path,
    ensure_token,
    gcs_address,
    is_loopback,
    load_token,
    ping,
)

__all__ = [
    "LOOPBACK",
    "LocalCluster",
    "auth_headers",
    "connect",
    "dashboard_url",
    "default_token_path",
    "ensure_token",
    "gcs_address",
    "is_loopback",
    "load_token",
    "ping",
]
