"""The model registry as the SDK offers it: ``rm.ModelRegistry()`` on a session's store,
mirrored into MLflow's registry with ``RAYMAKER_MLFLOW_REGISTRY=1``, and resolving
``registry://`` names it does not hold in MLflow's.

The registry itself (groups, versions, approvals, lineage) is the ``registry`` engine; this
only finds the store the way every SDK object does (a given session, else the environment's).
"""

from __future__ import annotations

from raymaker.registry.registry import ModelRegistry as _StoreRegistry
from raymaker.registry.registry import ModelVersion
from raymaker.sagemaker.session import default_session


class ModelRegistry(_StoreRegistry):
    """Model package groups and versions in a session's store (SageMaker Model Registry)."""

    def __init__(self, session=None, *, store=None):
        self.session = session
        sess = session or default_session()
        settings = sess.settings
        super().__init__(
            store if store is not None else sess.store,
            mlflow_uri=settings.tracking_uri() if settings.mlflow else None,
            mirror=settings.mlflow_registry,  # RAYMAKER_MLFLOW_REGISTRY=1
        )


__all__ = ["ModelRegistry", "ModelVersion"]
