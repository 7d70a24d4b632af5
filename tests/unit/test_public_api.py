import subprocess
import sys

import raymaker


def test_all_is_explicit_and_every_name_resolves():
    assert raymaker.__all__ == sorted(raymaker.__all__)
    for name in raymaker.__all__:
        assert getattr(raymaker, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    try:
        raymaker.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_raymaker_and_its_cli_imports_no_engine():
    code = (
        "import sys, raymaker, raymaker.cli.main; "
        "heavy = [m for m in ('ray', 'torch', 'xgboost', 'lightgbm', 'pandas', 's3fs', 'fsspec')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_help_is_instant():
    import time

    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "raymaker", "--help"], capture_output=True, check=True)
    assert time.perf_counter() - start < 3.0


# SageMaker Python SDK v2's module paths a notebook imports from, and what each must offer.
SDK_PATHS = {
    "raymaker.sagemaker": ["Session", "Estimator", "Model", "Predictor", "TrainingInput",
                           "Transformer", "HyperparameterTuner", "ContinuousParameter",
                           "IntegerParameter", "CategoricalParameter", "ScriptProcessor",
                           "ProcessingInput", "ProcessingOutput"],
    "raymaker.sagemaker.session": ["Session"],
    "raymaker.sagemaker.estimator": ["Estimator"],
    "raymaker.sagemaker.inputs": ["TrainingInput"],
    "raymaker.sagemaker.model": ["Model"],
    "raymaker.sagemaker.predictor": ["Predictor"],
    "raymaker.sagemaker.serializers": ["CSVSerializer", "JSONSerializer", "NumpySerializer",
                                       "JSONLinesSerializer", "IdentitySerializer"],
    "raymaker.sagemaker.deserializers": ["CSVDeserializer", "JSONDeserializer",
                                         "NumpyDeserializer", "BytesDeserializer",
                                         "StringDeserializer"],
    "raymaker.sagemaker.parameter": ["ContinuousParameter", "IntegerParameter",
                                     "CategoricalParameter"],
    "raymaker.sagemaker.tuner": ["HyperparameterTuner", "ContinuousParameter",
                                 "WarmStartConfig", "HyperparameterTuningJobAnalytics"],
    "raymaker.sagemaker.transformer": ["Transformer"],
    "raymaker.sagemaker.processing": ["ScriptProcessor", "ProcessingInput", "ProcessingOutput"],
    "raymaker.sagemaker.xgboost": ["XGBoost"],
    "raymaker.sagemaker.pytorch": ["PyTorch"],
    "raymaker.sagemaker.sklearn": ["SKLearn", "SKLearnProcessor"],
    "raymaker.sagemaker.serverless": ["ServerlessInferenceConfig"],
    "raymaker.sagemaker.model_monitor": ["DataCaptureConfig"],
}  # fmt: skip


def test_the_sdk_is_laid_out_like_sagemakers_and_rm_names_point_there():
    import importlib

    for path, names in SDK_PATHS.items():
        module = importlib.import_module(path)
        for name in names:
            assert getattr(module, name) is not None, f"{path}.{name}"
    assert raymaker.XGBoost is importlib.import_module("raymaker.sagemaker.xgboost").XGBoost
    assert raymaker.Session.__module__ == "raymaker.sagemaker.session"
    assert raymaker.Model.__module__ == "raymaker.sagemaker.model"


def test_importing_the_sdk_imports_no_engine():
    code = (
        "import sys, raymaker.sagemaker as sm; from raymaker.sagemaker.xgboost import XGBoost; "
        "from raymaker.sagemaker.tuner import HyperparameterTuner; sm.Session; sm.Model; "
        "heavy = [m for m in ('ray', 'torch', 'xgboost', 'lightgbm') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_script_processor_builds_the_processing_job_a_notebook_means(tmp_path):
    from raymaker.sagemaker.processing import ProcessingInput, ProcessingOutput
    from raymaker.sagemaker.sklearn import SKLearnProcessor

    processor = SKLearnProcessor(framework_version="1.2-1", role="arn:aws:iam::1:role/x",
                                 instance_type="cpu.1", instance_count=1,
                                 base_job_name="prep")  # fmt: skip
    spec = processor.processing_job_spec(
        "preprocess.py",
        inputs=[ProcessingInput(source="data/raw/", destination="/opt/ml/processing/input")],
        outputs=[ProcessingOutput(output_name="train", source="/opt/ml/processing/train")],
        arguments=["--test-size", 0.2],
    )
    assert spec.kind == "ProcessingJob" and spec.name.startswith("prep-")
    assert spec.code == "preprocess.py" and spec.arguments == ["--test-size", "0.2"]
    assert spec.inputs[0].name == "input-1" and spec.inputs[0].source == "data/raw/"
    assert spec.outputs[0].name == "train"
    assert spec.outputs[0].source == "/opt/ml/processing/train"
