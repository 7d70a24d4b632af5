"""``sagemaker.tensorflow.estimator``: the TensorFlow estimator (script mode)."""

from __future__ import annotations

import warnings
from typing import Any

from raymaker.errors import RaymakerNotice
from raymaker.sagemaker.estimator import Estimator


class TensorFlow(Estimator):
    """A TensorFlow script under SageMaker's TensorFlow contract: ``--model_dir`` and
    ``SM_MODEL_DIR`` name the folder whose SavedModel becomes the artifact, and with several
    instances TF_CONFIG lists every worker for ``MultiWorkerMirroredStrategy``.

    ``framework_version`` / ``py_version`` are accepted; the installed TensorFlow runs, with a
    notice when it differs. ``distribution`` is accepted (TF_CONFIG is set for any multi-worker
    job). ``deploy`` serves the SavedModel as TensorFlow Serving's REST API does; the training
    script is not the inference handler (give ``entry_point`` to ``create_model`` for one).
    """

    _framework = "tensorflow"
    _script_model = "raymaker.sagemaker.tensorflow.model:TensorFlowModel"
    _script_serves = False  # SageMaker's TensorFlow Serving container never runs train.py

    def __init__(self, entry_point: str | None = None, framework_version: str | None = None,
                 py_version: str | None = None, distribution: dict | None = None,
                 **kwargs: Any):  # fmt: skip
        notice_version(framework_version)
        self.distribution = distribution
        super().__init__(entry_point=entry_point, framework_version=framework_version,
                         py_version=py_version, **kwargs)  # fmt: skip


def notice_version(framework_version: str | None) -> None:
    """A one-line notice when the asked TensorFlow version is not the installed one."""
    if not framework_version:
        return
    from importlib.metadata import PackageNotFoundError, version

    for name in ("tensorflow", "tensorflow-cpu"):
        try:
            installed = version(name)
            break
        except PackageNotFoundError:
            continue
    else:
        installed = None
    if installed is None:
        warnings.warn(
            f"TensorFlow {framework_version} was asked for and TensorFlow is not installed here: "
            'pip install "raymaker[tensorflow]"', RaymakerNotice, stacklevel=3,
        )  # fmt: skip
    elif installed.split(".")[:2] != str(framework_version).split(".")[:2]:
        warnings.warn(
            f"framework_version {framework_version}: TensorFlow {installed} is installed here "
            "and runs instead", RaymakerNotice, stacklevel=3,
        )  # fmt: skip
