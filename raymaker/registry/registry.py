"""The model registry: groups, numbered versions, approvals and lineage, in the store only.

    registry/<group>/group.json                       created, description
    registry/<group>/versions/<000001>.json           one version, written once
    registry/<group>/events/<000001>/<000001>.json    its history: status changes, metrics

A version number is taken by creating its record only if absent (a link on a local folder, a
conditional PUT on S3): concurrent registrations get 1, 2, 3 ... with no gap and no
duplicate. A version never changes; what happens to it (approved, rejected, evaluated) is
appended to its events the same way, so the history keeps who, when and why.

A version pins its artifact by the hash of its manifest (which holds every file's hash):
endpoints and transforms given ``registry://group/approved`` (or ``/latest``, ``/3``) load that
artifact and refuse it if it changed.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
import time
from dataclasses import asdict, dataclass, field

from raymaker.errors import Conflict, DataError, NotFound, SpecError
from raymaker.specs.base import check_name
from raymaker.storage import join, layout

STATUSES = ("PendingManualApproval", "Approved", "Rejected")
SCHEME = "registry://"
ALIASES = ("approved", "latest")


@dataclass
class ModelVersion:
    """One registered version: what was registered, and its current status."""

    group: str
    version: int
    model_data: str  # the artifact as given (a folder or model.tar.gz URI)
    model_dir: str  # the unpacked folder endpoints and transforms load
    artifact_sha256: str  # sha256 of the artifact's manifest (which hashes every file)
    created_at: float
    created_by: str
    framework: str | None = None
    input_schema: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    lineage: dict = field(default_factory=dict)
    description: str | None = None
    customer_metadata: dict = field(default_factory=dict)
    # custom hooks: {"entry_point", "source_dir", "code_sha256"} (the code is hash-checked)
    inference: dict = field(default_factory=dict)
    status: str = "PendingManualApproval"
    history: list = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{SCHEME}{self.group}/{self.version}"

    @property
    def model_package_arn(self) -> str:  # SageMaker's name for the reference
        return self.ref

    def to_dict(self) -> dict:
        return {**asdict(self), "ref": self.ref}


def is_reference(uri: str | None) -> bool:
    return bool(uri) and uri.startswith(SCHEME)


def parse_reference(ref: str) -> tuple[str, str]:
    """``(group, selector)`` of ``registry://group/<version|approved|latest>``."""
    body = ref[len(SCHEME) :] if ref.startswith(SCHEME) else ref
    group, _, selector = body.strip("/").partition("/")
    if not group or not selector or "/" in selector:
        raise SpecError(
            f"{ref!r}: a registry reference is registry://<group>/<version>, "
            "registry://<group>/approved or registry://<group>/latest"
        )
    if not (selector in ALIASES or selector.isdigit()):
        raise SpecError(f"{ref!r}: {selector!r} is not a version number, approved or latest")
    return check_name(group), selector


def manifest_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _who() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


class ModelRegistry:
    """Model package groups and versions in one store (SageMaker Model Registry)."""

    def __init__(self, store, *, mlflow_uri: str | None = None, mirror: bool = False):
        """``mlflow_uri``: MLflow's registry, where ``registry://`` names raymaker's registry
        does not hold are resolved; ``mirror``: registrations and status changes go there too."""
        self.store = store
        self.mlflow_uri = mlflow_uri
        self.mirror = mirror and mlflow_uri is not None

    # -- keys --------------------------------------------------------------------------------
    @staticmethod
    def _group_key(group: str) -> str:
        return join(layout.REGISTRY, group, "group.json")

    @staticmethod
    def _version_key(group: str, version: int) -> str:
        return join(layout.REGISTRY, group, "versions", f"{version:06d}.json")

    @staticmethod
    def _events_prefix(group: str, version: int) -> str:
        return join(layout.REGISTRY, group, "events", f"{version:06d}")

    # -- writing -----------------------------------------------------------------------------
    def create_group(self, group: str, description: str | None = None) -> dict:
        """Create a model package group (idempotent). Returns its record."""
        group = check_name(group)
        record = {"name": group, "description": description, "created_at": time.time(),
                  "created_by": _who()}  # fmt: skip
        try:
            self.store.create_json(self._group_key(group), record)
        except Conflict:
            return self.store.read_json(self._group_key(group))
        return record

    def register(
        self,
        group: str,
        model_data: str,
        *,
        approval_status: str = "PendingManualApproval",
        description: str | None = None,
        customer_metadata: dict | None = None,
        metrics: dict | None = None,
        lineage: dict | None = None,
        entry_point: str | None = None,
        source_dir: str | None = None,
        by: str | None = None,
    ) -> ModelVersion:
        """Register ``model_data`` (a raymaker artifact) as the group's next version.

        Metrics, schemas and lineage come from the artifact's manifest (what training wrote);
        ``metrics`` / ``lineage`` add to them. ``entry_point`` (in ``source_dir``, a store URI
        or a local folder, copied into the registry) is the handler endpoints and transforms
        use when they deploy the version without one of their own. Raises SpecError, NotFound.
        """
        from raymaker.storage.artifacts import MANIFEST

        self._check_status(approval_status)
        group = check_name(group)
        model_dir, manifest_bytes = self._artifact(model_data)
        manifest = json.loads(manifest_bytes)
        self.create_group(group)
        who = by or _who()
        body = {
            "group": group,
            "model_data": self.store.uri(self.store.key(model_data)),
            "model_dir": model_dir,
            "artifact_sha256": manifest_sha256(manifest_bytes),
            "manifest": MANIFEST,
            "created_by": who,
            "framework": manifest.get("framework"),
            "input_schema": manifest.get("input_schema") or {},
            "output": manifest.get("output") or {},
            "metrics": {**(manifest.get("metrics") or {}), **(metrics or {})},
            "lineage": {**(manifest.get("lineage") or {}), **(lineage or {})},
            "description": description,
            "customer_metadata": {str(k): str(v) for k, v in (customer_metadata or {}).items()},
        }
        if entry_point:
            body["inference"] = self._stage_code(group, entry_point, source_dir)
        version = self._next_version(group)
        while True:
            try:
                now = time.time()
                self.store.create_json(
                    self._version_key(group, version), {**body, "version": version,
                                                        "created_at": now})  # fmt: skip
                break
            except Conflict:
                version += 1  # taken meanwhile by a concurrent registration
        self._append(group, version, {"type": "status", "status": approval_status,
                                      "comment": "registered", "by": who})  # fmt: skip
        return self._mirrored(self.get(group, version))

    def approve(self, group: str, version: int, comment: str | None = None, *, by=None):
        """Mark a version Approved (appended to its history). Raises NotFound."""
        return self.set_status(group, version, "Approved", comment, by=by)

    def reject(self, group: str, version: int, comment: str | None = None, *, by=None):
        """Mark a version Rejected (appended to its history). Raises NotFound."""
        return self.set_status(group, version, "Rejected", comment, by=by)

    def set_status(self, group: str, version: int, status: str, comment: str | None = None,
                   *, by: str | None = None) -> ModelVersion:  # fmt: skip
        self._check_status(status)
        self.get(group, version)  # NotFound first
        self._append(group, int(version), {"type": "status", "status": status,
                                           "comment": comment, "by": by or _who()})  # fmt: skip
        return self._mirrored(self.get(group, version))

    def _mirrored(self, version: ModelVersion) -> ModelVersion:
        """Send the version and its status to MLflow's registry when mirroring; a failure
        there is a warning (raymaker's registry, the source of truth, has it)."""
        if not self.mirror:
            return version
        import warnings

        from raymaker.errors import RaymakerNotice
        from raymaker.tracking import registry as mlflow_registry

        try:
            mlflow_registry.mirror(self.mlflow_uri, version)
        except Exception as exc:  # noqa: BLE001 - MLflow away or refusing: said, not fatal
            warnings.warn(
                f"{version.ref} was not mirrored to MLflow's registry at {self.mlflow_uri}: "
                f"{type(exc).__name__}: {exc}", RaymakerNotice, stacklevel=3,
            )  # fmt: skip
        return version

    def attach_metrics(self, group: str, version: int, metrics: dict, *, source: str = "evaluation",
                       by: str | None = None) -> ModelVersion:  # fmt: skip
        """Add metrics to a version later (an evaluation job's), kept with their source."""
        self.get(group, version)
        clean = {str(k): float(v) for k, v in metrics.items()}
        self._append(group, int(version), {"type": "metrics", "metrics": clean, "source": source,
                                           "by": by or _who()})  # fmt: skip
        return self.get(group, version)

    def _append(self, group: str, version: int, event: dict) -> None:
        prefix = self._events_prefix(group, version)
        seq = len(self.store.list(prefix)) + 1
        while True:
            try:
                self.store.create_json(join(prefix, f"{seq:06d}.json"),
                                       {**event, "seq": seq, "at": time.time()})  # fmt: skip
                return
            except Conflict:
                seq += 1

    def _stage_code(self, group: str, entry_point: str, source_dir: str | None) -> dict:
        """The handler's code as a store URI, hashed: a local folder (or the ``entry_point``
        file alone) is copied into the registry. Raises SpecError, NotFound."""
        import tempfile
        import uuid

        from raymaker.storage.artifacts import fetch_code, tree_sha256
        from raymaker.storage.staging import stage_code

        prefix = join(layout.REGISTRY, group, "code", uuid.uuid4().hex)
        uri, entry_point = stage_code(self.store, entry_point, source_dir, None, prefix)
        with tempfile.TemporaryDirectory(prefix="raymaker-code-") as tmp:
            code_sha256 = tree_sha256(fetch_code(self.store, uri, tmp))
        return {"entry_point": entry_point, "source_dir": uri, "code_sha256": code_sha256}

    def _next_version(self, group: str) -> int:
        names = self.store.list(join(layout.REGISTRY, group, "versions"))
        numbers = [int(n.rsplit("/", 1)[-1].split(".")[0]) for n in names if n.endswith(".json")]
        return max(numbers, default=0) + 1

    def _artifact(self, model_data: str) -> tuple[str, bytes]:
        """The artifact's folder URI and its manifest's bytes. Raises NotFound, SpecError."""
        from raymaker.storage.artifacts import MANIFEST

        if is_reference(model_data):
            raise SpecError("model_data: give the artifact's URI, not a registry reference")
        key = self.store.key(model_data)
        folder = key[: -len(".tar.gz")] if key.endswith(".tar.gz") else key
        if not self.store.exists(join(folder, MANIFEST)):
            if not self.store.exists(key):
                raise NotFound(f"model_data: no model at {model_data}")
            raise SpecError(
                f"model_data: {model_data} has no {MANIFEST} beside it (register a raymaker "
                "artifact: a training job's model folder or its model.tar.gz)"
            )
        return self.store.uri(folder), self.store.read_bytes(join(folder, MANIFEST))

    @staticmethod
    def _check_status(status: str) -> None:
        if status not in STATUSES:
            raise SpecError(
                f"approval_status {status!r} is invalid; allowed: {', '.join(STATUSES)}"
            )

    # -- reading -----------------------------------------------------------------------------
    def groups(self) -> list[dict]:
        """Every group with its version count, latest and latest approved version."""
        rows = []
        for key in self.store.list(layout.REGISTRY):
            name = key.rstrip("/").rsplit("/", 1)[-1]
            if not self.store.exists(self._group_key(name)):
                continue
            versions = self.versions(name)
            approved = [v.version for v in versions if v.status == "Approved"]
            rows.append({
                "group": name,
                "versions": len(versions),
                "latest": versions[-1].version if versions else None,
                "approved": approved[-1] if approved else None,
                "description": self.store.read_json(self._group_key(name)).get("description"),
            })  # fmt: skip
        return rows

    def versions(self, group: str, status: str | None = None) -> list[ModelVersion]:
        """The group's versions, oldest first (only ``status`` ones if given)."""
        if not self.store.exists(self._group_key(group)):
            raise NotFound(f"model group {group!r} does not exist")
        keys = self.store.list(join(layout.REGISTRY, group, "versions"))
        numbers = sorted(
            int(k.rsplit("/", 1)[-1].split(".")[0]) for k in keys if k.endswith(".json")
        )
        out = [self.get(group, n) for n in numbers]
        return [v for v in out if status is None or v.status == status]

    def get(self, group: str, version: int | str) -> ModelVersion:
        """One version with its status and history. Raises NotFound."""
        try:
            number = int(version)
        except (TypeError, ValueError):
            raise SpecError(f"version {version!r} is not a number") from None
        key = self._version_key(group, number)
        if not self.store.exists(key):
            raise NotFound(f"model {group!r} has no version {number}")
        record = self.store.read_json(key)
        history = [
            self.store.read_json(k) for k in self.store.list(self._events_prefix(group, number))
        ]
        history.sort(key=lambda e: e["seq"])
        status = next((e["status"] for e in reversed(history) if e["type"] == "status"),
                      "PendingManualApproval")  # fmt: skip
        metrics = dict(record.get("metrics") or {})
        for event in history:
            if event["type"] == "metrics":
                metrics.update(event["metrics"])
        fields = {k: record.get(k) for k in ModelVersion.__dataclass_fields__ if k in record}
        return ModelVersion(**{**fields, "metrics": metrics, "status": status, "history": history})

    def resolve(self, ref: str) -> ModelVersion:
        """The version ``registry://group/<n|approved|latest>`` names. Raises NotFound."""
        group, selector = parse_reference(ref)
        if self.mlflow_uri and not self.store.exists(self._group_key(group)):
            return self._from_mlflow(group, selector)
        if selector.isdigit():
            return self.get(group, int(selector))
        versions = self.versions(group)
        if selector == "approved":
            versions = [v for v in versions if v.status == "Approved"]
        if not versions:
            raise NotFound(f"{ref}: model {group!r} has no {selector} version")
        return versions[-1]

    def _from_mlflow(self, name: str, selector: str) -> ModelVersion:
        """A version of MLflow's registry whose model raymaker made. Raises NotFound."""
        from raymaker.storage.artifacts import MANIFEST
        from raymaker.tracking import registry as mlflow_registry

        found = mlflow_registry.resolve(self.mlflow_uri, name, selector)
        folder = self.store.key(found["model_data"])
        if folder.endswith(".tar.gz"):
            folder = folder[: -len(".tar.gz")]
        manifest_key = join(folder, MANIFEST)
        if not self.store.exists(manifest_key):
            raise NotFound(f"MLflow's {name!r} v{found['version']}: no raymaker model at {folder}")
        data = self.store.read_bytes(manifest_key)
        manifest = json.loads(data)
        return ModelVersion(
            group=name, version=found["version"], model_data=found["model_data"],
            model_dir=self.store.uri(folder),
            # pinned by what raymaker registered, else by the artifact as it is now
            artifact_sha256=found["artifact_sha256"] or manifest_sha256(data),
            created_at=time.time(), created_by="mlflow", framework=manifest.get("framework"),
            input_schema=manifest.get("input_schema") or {}, output=manifest.get("output") or {},
            metrics=manifest.get("metrics") or {}, lineage=manifest.get("lineage") or {},
            status=found["status"],
        )  # fmt: skip

    def verify(self, version: ModelVersion) -> None:
        """Check the artifact in the store against the registered hash. Raises DataError."""
        from raymaker.storage.artifacts import MANIFEST

        key = join(self.store.key(version.model_dir), MANIFEST)
        try:
            data = self.store.read_bytes(key)
        except NotFound:
            raise DataError(f"{version.ref}: the artifact at {version.model_dir} is gone") from None
        if manifest_sha256(data) != version.artifact_sha256:
            raise DataError(
                f"{version.ref}: the artifact at {version.model_dir} was changed after it was "
                f"registered (manifest sha256 {manifest_sha256(data)[:12]}..., registered "
                f"{version.artifact_sha256[:12]}...); refusing to load it"
            )

    def compare(self, group: str, versions: list[int] | None = None) -> list[dict]:
        """Metrics side by side: one row a metric, one column a version."""
        chosen = [self.get(group, v) for v in versions] if versions else self.versions(group)
        names = sorted({m for v in chosen for m in v.metrics})
        rows = [{"metric": "status", **{f"v{v.version}": v.status for v in chosen}}]
        for name in names:
            rows.append({"metric": name, **{f"v{v.version}": v.metrics.get(name) for v in chosen}})
        return rows

    def lineage(self, group: str, version: int) -> dict:
        """Where a version came from: its job, the data (URIs and hashes), code, parameters."""
        v = self.get(group, version)
        lineage = dict(v.lineage)
        job = lineage.get("job")
        record = None
        if job and self.store.exists(layout.job_record(job)):
            record = self.store.read_json(layout.job_record(job))
        return {
            "model": v.ref,
            "status": v.status,
            "artifact": v.model_dir,
            "artifact_sha256": v.artifact_sha256,
            "training_job": job,
            "training_job_status": (record or {}).get("status"),
            "tuning_job": lineage.get("tuning_job"),
            "data": lineage.get("data") or {},
            "code_sha256": lineage.get("code_sha256"),
            "hyperparameters": lineage.get("hyperparameters") or {},
            "parents": lineage.get("parents") or [],
            "registered_by": v.created_by,
            "registered_at": v.created_at,
        }


def resolve_model(store, model_data: str) -> tuple[str, str | None, ModelVersion | None]:
    """``(artifact URI, expected manifest sha256, version)`` for a ``model_data`` that may be a
    registry reference; the artifact is checked against the registration first.

    Raises SpecError, NotFound, DataError.
    """
    if not is_reference(model_data):
        return store.uri(store.key(model_data)), None, None
    from raymaker.settings import Settings

    settings = Settings.from_env()  # a job's or a replica's: its client's, forwarded
    registry = ModelRegistry(store=store, mlflow_uri=settings.tracking_uri() if settings.mlflow
                             else None)  # fmt: skip
    version = registry.resolve(model_data)
    registry.verify(version)
    return version.model_dir, version.artifact_sha256, version
