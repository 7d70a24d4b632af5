"""``sagemaker.pytorch.estimator``: the PyTorch estimator."""

from __future__ import annotations

from raymaker.sagemaker.estimator import Estimator


class PyTorch(Estimator):
    """A PyTorch script (``torch.distributed`` ready), or a built-in (``algorithm="mlp"``)."""

    _framework = "pytorch"
    _script_model = "raymaker.sagemaker.pytorch.model:PyTorchModel"
