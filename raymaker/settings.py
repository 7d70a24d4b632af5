"""Every ``RAYMAKER_*`` setting, read from the environment in one place.

| variable | default | meaning |
| --- | --- | --- |
| ``RAYMAKER_HOME`` | ``~/.raymaker`` | local state: the local head's address, scratch |
| ``RAYMAKER_STORE`` | ``$RAYMAKER_HOME/store`` | a folder or any fsspec URI (``s3://b/p``) |
| ``RAYMAKER_S3_ENDPOINT_URL`` | ``AWS_ENDPOINT_URL(_S3)`` | an S3-compatible server |
| ``RAYMAKER_S3_REGION`` | ``AWS_DEFAULT_REGION`` | region for the S3 client |
| ``RAY_ADDRESS`` | unset | an existing cluster (``http://head:8265``, ``host:6379``, ``auto``) |
| ``RAYMAKER_NUM_CPUS`` | all cores | size of the embedded local Ray |
| ``RAYMAKER_OBJECT_STORE_MB`` | 1/8 of memory, 512..4096 | object store of the embedded Ray |
| ``RAYMAKER_POLL_S`` | ``0.05`` | status polling interval while waiting for jobs |
| ``RAYMAKER_SERVE_HOST`` | ``127.0.0.1`` | where the endpoints' gateway listens |
| ``RAYMAKER_SERVE_PORT`` | ``8080`` | its port |
| ``RAYMAKER_SERVE_TOKEN`` | unset | bearer token for invocations; required beyond loopback |
| ``RAYMAKER_SERVE_MAX_BODY_MB`` | ``6`` | largest request body (413 above) |
| ``RAYMAKER_SERVE_SPARE`` | ``1`` | a spare process warm for cold starts from zero (``0``: off) |
| ``RAYMAKER_QUIET`` | ``0`` | no Ray/Serve log lines here (the CLI sets it unless ``-v``) |
| ``RAYMAKER_MLFLOW`` | ``1`` | every job is an MLflow run (``0``: none is) |
| ``RAYMAKER_MLFLOW_TRACKING_URI`` | ``sqlite:///$RAYMAKER_HOME/mlflow.db`` | any MLflow URI |
| ``RAYMAKER_MLFLOW_REGISTRY`` | ``0`` | registered versions also go to MLflow's registry |

S3 credentials come from the usual AWS variables (``AWS_ACCESS_KEY_ID``, ...), never from a
spec, so they are not written into the store or a job's visible runtime environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from raymaker.errors import SpecError

# Settings a job inherits: everything here is safe to show in a job's runtime environment.
FORWARDED_TO_JOBS = (
    "RAYMAKER_STORE",
    "RAYMAKER_S3_ENDPOINT_URL",
    "RAYMAKER_S3_REGION",
    "RAYMAKER_POLL_S",
    "RAYMAKER_SERVE_HOST",  # an Endpoint spec run as a job deploys behind the same gateway
    "RAYMAKER_SERVE_PORT",
    "RAYMAKER_SERVE_MAX_BODY_MB",
    "RAYMAKER_SERVE_SPARE",
    "RAYMAKER_FIT_INSTANCE_TYPES",  # a job on the local head fits ml.* types as its client did
    "RAYMAKER_NUM_CPUS",
    "RAYMAKER_DEFAULT_BUCKET",
    "RAYMAKER_JOBS_API",  # a job that submits jobs (a pipeline's) reaches Ray as its client did
    "RAYMAKER_MLFLOW",
    "RAYMAKER_MLFLOW_TRACKING_URI",  # resolved: a job tracks where its client does
)

# Named resource presets: what one worker (one SageMaker "instance") asks Ray for.
INSTANCE_TYPES: dict[str, dict[str, float]] = {
    "local": {"cpus": 1, "gpus": 0},
    "cpu.0.25": {"cpus": 0.25, "gpus": 0},  # light endpoint replicas share a core
    "cpu.0.5": {"cpus": 0.5, "gpus": 0},
    "cpu.1": {"cpus": 1, "gpus": 0},
    "cpu.2": {"cpus": 2, "gpus": 0},
    "cpu.4": {"cpus": 4, "gpus": 0},
    "cpu.8": {"cpus": 8, "gpus": 0},
    "cpu.16": {"cpus": 16, "gpus": 0},
    "gpu.1": {"cpus": 4, "gpus": 1},
    "gpu.2": {"cpus": 8, "gpus": 2},
    "gpu.4": {"cpus": 16, "gpus": 4},
    "gpu.8": {"cpus": 32, "gpus": 8},
}


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _flag(name: str, raw: str | None, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SpecError(f"{name}={raw!r}: allowed values are 1, 0, true, false, yes, no, on, off")


def _positive(name: str, raw: str, kind: type) -> float | int:
    try:
        value = kind(raw)
    except ValueError:
        raise SpecError(f"{name}={raw!r} is not a {kind.__name__}") from None
    if value <= 0:
        raise SpecError(f"{name}={raw!r} must be > 0")
    return value


LOOPBACK = ("127.0.0.1", "localhost", "::1")  # hosts no one else can reach


@dataclass(frozen=True)
class Settings:
    """A snapshot of the settings; ``Settings.from_env()`` reads the environment."""

    home: Path
    store: str
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    ray_address: str | None = None
    jobs_api: str | None = None  # the Ray Jobs (dashboard) URL, when already known
    num_cpus: int = 1
    object_store_mb: int = 512
    poll_s: float = 0.05
    serve_host: str = "127.0.0.1"
    serve_port: int = 8080
    serve_token: str | None = field(default=None, repr=False)
    serve_max_body_mb: float = 6.0
    serve_spare: bool = True
    quiet: bool = False
    fit_instance_types: bool = False  # ml.* types shrink to this machine (the local head)
    default_bucket: str = ""  # s3://<it>/<key> is data/<key> in the store; "" = raymaker
    instance_types: dict[str, dict[str, float]] = field(default_factory=lambda: INSTANCE_TYPES)
    mlflow: bool = True  # every job an MLflow run
    mlflow_tracking_uri: str | None = None  # None: SQLite in home
    mlflow_registry: bool = False  # mirror raymaker's registry into MLflow's

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read every setting from ``env`` (default ``os.environ``).

        Raises SpecError for a malformed number.
        """
        env = os.environ if env is None else env
        home = Path(env.get("RAYMAKER_HOME") or Path.home() / ".raymaker").expanduser()
        store = env.get("RAYMAKER_STORE") or str(home / "store")
        cpus = env.get("RAYMAKER_NUM_CPUS")
        mem = env.get("RAYMAKER_OBJECT_STORE_MB")
        default_mem = min(max(_memory_bytes() // 8 >> 20, 512), 4096)
        return cls(
            home=home,
            store=store,
            s3_endpoint_url=env.get("RAYMAKER_S3_ENDPOINT_URL")
            or env.get("AWS_ENDPOINT_URL_S3")
            or env.get("AWS_ENDPOINT_URL")
            or None,
            s3_region=env.get("RAYMAKER_S3_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            ray_address=env.get("RAY_ADDRESS") or None,
            jobs_api=env.get("RAYMAKER_JOBS_API") or None,
            num_cpus=int(_positive("RAYMAKER_NUM_CPUS", cpus, int))
            if cpus
            else os.cpu_count() or 1,
            object_store_mb=int(_positive("RAYMAKER_OBJECT_STORE_MB", mem, int))
            if mem
            else default_mem,
            poll_s=float(_positive("RAYMAKER_POLL_S", env.get("RAYMAKER_POLL_S", "0.05"), float)),
            serve_host=env.get("RAYMAKER_SERVE_HOST") or "127.0.0.1",
            serve_port=int(
                _positive("RAYMAKER_SERVE_PORT", env.get("RAYMAKER_SERVE_PORT", "8080"), int)
            ),
            serve_token=env.get("RAYMAKER_SERVE_TOKEN") or None,
            serve_max_body_mb=float(
                _positive(
                    "RAYMAKER_SERVE_MAX_BODY_MB", env.get("RAYMAKER_SERVE_MAX_BODY_MB", "6"), float
                )
            ),
            serve_spare=_flag("RAYMAKER_SERVE_SPARE", env.get("RAYMAKER_SERVE_SPARE"), True),
            quiet=_flag("RAYMAKER_QUIET", env.get("RAYMAKER_QUIET"), False),
            default_bucket=env.get("RAYMAKER_DEFAULT_BUCKET") or "",
            mlflow=_flag("RAYMAKER_MLFLOW", env.get("RAYMAKER_MLFLOW"), True),
            mlflow_tracking_uri=env.get("RAYMAKER_MLFLOW_TRACKING_URI") or None,
            mlflow_registry=_flag(
                "RAYMAKER_MLFLOW_REGISTRY", env.get("RAYMAKER_MLFLOW_REGISTRY"), False
            ),
            fit_instance_types=_flag(
                "RAYMAKER_FIT_INSTANCE_TYPES",
                env.get("RAYMAKER_FIT_INSTANCE_TYPES"),
                not env.get("RAY_ADDRESS"),  # no address: the local head or an embedded Ray
            ),  # fmt: skip
        )

    def serve_loopback(self) -> bool:
        """Whether the gateway listens on loopback only."""
        return self.serve_host in LOOPBACK

    def check_serve(self) -> None:
        """Raises SpecError when the gateway would listen beyond loopback without a token."""
        if not self.serve_loopback() and not self.serve_token:
            raise SpecError(
                f"RAYMAKER_SERVE_HOST={self.serve_host} listens beyond loopback: set "
                "RAYMAKER_SERVE_TOKEN (clients send it as 'Authorization: Bearer <token>')"
            )

    def tracking_uri(self) -> str:
        """Where MLflow runs go: ``RAYMAKER_MLFLOW_TRACKING_URI``, else SQLite in home."""
        return self.mlflow_tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').as_posix()}"

    def replace(self, **changes) -> Settings:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def job_env(self) -> dict[str, str]:
        """The settings a submitted job must see to use the same store."""
        values = {
            "RAYMAKER_STORE": self.store,
            "RAYMAKER_S3_ENDPOINT_URL": self.s3_endpoint_url,
            "RAYMAKER_S3_REGION": self.s3_region,
            "RAYMAKER_POLL_S": str(self.poll_s),
            "RAYMAKER_SERVE_HOST": self.serve_host,
            "RAYMAKER_SERVE_PORT": str(self.serve_port),
            "RAYMAKER_SERVE_MAX_BODY_MB": f"{self.serve_max_body_mb:g}",
            "RAYMAKER_SERVE_SPARE": "1" if self.serve_spare else "0",
            "RAYMAKER_FIT_INSTANCE_TYPES": "1" if self.fit_instance_types else "0",
            "RAYMAKER_NUM_CPUS": str(self.num_cpus),
            "RAYMAKER_DEFAULT_BUCKET": self.default_bucket,
            "RAYMAKER_MLFLOW": "1" if self.mlflow else "0",
            "RAYMAKER_MLFLOW_TRACKING_URI": self.tracking_uri(),
        }
        return {k: v for k, v in values.items() if k in FORWARDED_TO_JOBS and v}

    def resources_for(self, instance_type: str) -> dict[str, float]:
        """One instance's ``{"cpus", "gpus"}``: a preset's, or a SageMaker ``ml.*`` type's
        (fitted to this machine on the local head). Raises SpecError with a "did you mean"."""
        if instance_type in self.instance_types:
            return dict(self.instance_types[instance_type])
        from raymaker import instance_types as ml

        need = ml.resources(instance_type)
        if need is None:
            close = ml.suggestions(instance_type, self.instance_types)
            raise SpecError(
                f"instance_type {instance_type!r} is not a known preset; allowed: "
                f"{', '.join(sorted(self.instance_types))}, or a SageMaker ml.* type such as "
                "ml.m5.xlarge" + (f"; did you mean {' or '.join(close)}?" if close else "")
            )
        if self.fit_instance_types:
            need = ml.fit(instance_type, need, cpus=self.num_cpus, gpus=ml.machine_gpus())
        return need
