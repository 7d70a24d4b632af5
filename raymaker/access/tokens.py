"""API tokens with roles, kept hashed in the store: one auth for every raymaker HTTP API.

    access/tokens/<id>.json     {"id", "name", "roles", "sha256", "created_at", "created_by",
                                 "expires_at", "revoked_at"}: never the token itself

A token reads ``rmk_<id>_<secret>``: the id finds its record, the sha256 of the whole token
proves it (the secret is 192 random bits, so a fast hash is enough; a slow password hash buys
nothing against a guess of that size). Revoking keeps the record, with ``revoked_at``.

Roles are SageMaker Role Manager's personas cut to what raymaker does, least privilege:

    viewer      reads every page and API
    invoker     viewer + calls endpoints
    operator    invoker + submits, deploys, stops, retries
    approver    viewer + approves and rejects model versions
    admin       everything, tokens included

``RAYMAKER_SERVE_TOKEN`` (the single token of earlier releases) is an admin token. On
loopback with no token set, a request without one is the local user's, as an admin: the
machine's own user already holds the store. A token that is sent is always checked.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from raymaker.errors import AuthError, Forbidden, NotFound, SpecError
from raymaker.storage import join, layout

ACTIONS = ("read", "invoke", "operate", "approve", "admin")
ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "invoker": frozenset({"read", "invoke"}),
    "operator": frozenset({"read", "invoke", "operate"}),
    "approver": frozenset({"read", "approve"}),
    "admin": frozenset(ACTIONS),
}
PREFIX = "rmk_"
CACHE_S = 2.0  # a revoked token stops working within this long on every server


@dataclass(frozen=True)
class Principal:
    """Who sent a request: the token's name (the identity that approvals record) and roles."""

    name: str
    roles: tuple[str, ...]
    token_id: str | None = None

    def can(self, action: str) -> bool:
        return any(action in ROLES.get(role, ()) for role in self.roles)

    def require(self, action: str) -> None:
        """Raises Forbidden naming the action and the roles that allow it."""
        if not self.can(action):
            allowed = ", ".join(r for r, acts in ROLES.items() if action in acts)
            raise Forbidden(
                f"{self.name} ({', '.join(self.roles) or 'no role'}) may not {action}; "
                f"roles that may: {allowed}"
            )


def local_user() -> Principal:
    """The machine's own user on loopback with no token set."""
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database entry (containers)
        name = "local"
    return Principal(name, ("admin",))


def check_roles(roles) -> tuple[str, ...]:
    """The roles, checked. Raises SpecError naming the allowed ones (with a "did you mean")."""
    import difflib

    roles = tuple(dict.fromkeys(roles))
    if not roles:
        raise SpecError(f"a token needs at least one role; roles: {', '.join(ROLES)}")
    for role in roles:
        if role not in ROLES:
            near = difflib.get_close_matches(role, ROLES, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise SpecError(f"role {role!r} is unknown{hint}; roles: {', '.join(ROLES)}")
    return roles


def parse_duration(text: str) -> float:
    """Seconds in ``90m``, ``12h``, ``30d`` (or ``45s``). Raises SpecError."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise SpecError(f"expires_in {text!r}: give a positive number and a unit, "
                        "s, m, h or d (90m, 12h, 30d)")  # fmt: skip
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _key(token_id: str) -> str:
    return join(layout.ACCESS, "tokens", f"{token_id}.json")


class Tokens:
    """The tokens of one store, and who a request's credentials name.

    ``admin_token``: ``RAYMAKER_SERVE_TOKEN``. Records are cached for ``CACHE_S``, so a busy
    server reads each token's record from the store at most every two seconds.
    """

    def __init__(self, store, *, admin_token: str | None = None):
        self.store = store
        self.admin_token = admin_token
        self._cache: dict[str, tuple[float, dict | None]] = {}
        self._lock = threading.Lock()

    # -- managing ----------------------------------------------------------------------------
    def create(self, name: str, roles, *, by: str | None = None,
               expires_in: str | None = None) -> tuple[str, dict]:  # fmt: skip
        """A new token for ``name`` with ``roles``, valid for ``expires_in`` (``90m``, ``12h``,
        ``30d``; default: until revoked): ``(token, record)``. The token is shown once; only
        its hash is kept. Raises SpecError."""
        from raymaker.specs.base import check_name

        check_name(name)
        roles = check_roles(roles)
        lifetime = parse_duration(expires_in) if expires_in else None
        token_id = secrets.token_hex(6)
        token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(24)}"
        record = {
            "id": token_id,
            "name": name,
            "roles": list(roles),
            "sha256": _digest(token),
            "created_at": time.time(),
            "created_by": by or local_user().name,
            "expires_at": time.time() + lifetime if lifetime else None,
            "revoked_at": None,
        }
        self.store.create_json(_key(token_id), record)
        return token, record

    def list(self) -> list[dict]:
        """Every token's record (hash left out), newest first."""
        rows = []
        for key in [] if self.store is None else self.store.list(join(layout.ACCESS, "tokens")):
            if key.endswith(".json"):
                record = self.store.read_json(key)
                record.pop("sha256", None)
                rows.append(record)
        return sorted(rows, key=lambda r: r["created_at"], reverse=True)

    def revoke(self, id_or_name: str) -> list[dict]:
        """Revoke the token with this id, or every live token of this name. Raises NotFound."""
        hits = [
            r for r in self.list()
            if (r["id"] == id_or_name or r["name"] == id_or_name) and not r["revoked_at"]
        ]  # fmt: skip
        if not hits:
            raise NotFound(f"no live token has the id or name {id_or_name!r}")
        for row in hits:
            record = self.store.read_json(_key(row["id"]))
            record["revoked_at"] = time.time()
            self.store.write_json(_key(row["id"]), record)
            with self._lock:
                self._cache.pop(row["id"], None)
            row["revoked_at"] = record["revoked_at"]
        return hits

    def any(self) -> bool:
        """Whether a request can be authenticated at all (an admin token or a live token)."""
        now = time.time()
        return bool(self.admin_token) or any(
            not r["revoked_at"] and not (r.get("expires_at") and r["expires_at"] <= now)
            for r in self.list()
        )

    # -- checking ----------------------------------------------------------------------------
    def identify(self, token: str) -> Principal:
        """Who ``token`` is. Raises AuthError for a wrong, unknown or revoked token."""
        given = token.strip()
        if self.admin_token and hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), self.admin_token.encode()
        ):
            return Principal("admin", ("admin",))
        token_id = given[len(PREFIX) :].split("_", 1)[0] if given.startswith(PREFIX) else ""
        record = self._record(token_id) if token_id.isalnum() else None
        if record is None or not hmac.compare_digest(record["sha256"], _digest(given)):
            raise AuthError("wrong or unknown token")
        if record.get("revoked_at"):
            raise AuthError(f"token {token_id} ({record['name']}) was revoked")
        if record.get("expires_at") and time.time() >= record["expires_at"]:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record["expires_at"]))
            raise AuthError(f"token {token_id} ({record['name']}) expired at {when}")
        return Principal(record["name"], tuple(record["roles"]), token_id)

    def authenticate(self, authorization: str | None, *, required: bool) -> Principal:
        """The principal of an ``Authorization`` header (``Bearer <token>``). Without one:
        the local user when ``required`` is false. Raises AuthError."""
        if not authorization:
            if required:
                raise AuthError(
                    "a token is required: send 'Authorization: Bearer <token>' "
                    "(`raymaker tokens create NAME --role viewer` makes one)"
                )
            return local_user()
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError("send the token as 'Authorization: Bearer <token>'")
        return self.identify(value)

    def _record(self, token_id: str) -> dict | None:
        if self.store is None:  # only the admin token (a gateway outside a store: unit tests)
            return None
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(token_id)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1]
        try:
            record = self.store.read_json(_key(token_id))
        except NotFound:
            record = None
        with self._lock:
            if len(self._cache) > 10_000:  # guessed ids must not grow the cache without end
                self._cache.clear()
            self._cache[token_id] = (now, record)
        return record
