import os

import pytest

import raymaker as rm
from raymaker.errors import InvalidKey, NotFound
from raymaker.sagemaker.session import Session


@pytest.fixture
def session(settings):
    return Session(settings=settings)


@pytest.fixture
def files(tmp_path):
    src = tmp_path / "train"
    src.mkdir()
    (src / "a.csv").write_text("x,y\n1,0\n")
    (src / "b.csv").write_text("x,y\n2,1\n")
    return src


def test_creating_a_session_is_instant_and_touches_nothing(tmp_path):
    s = Session(store=str(tmp_path / "nowhere"))
    assert s.settings.store == str(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_upload_file_and_folder_like_sagemaker(session, files):
    root = session.store.uri()
    assert session.upload_data(files / "a.csv") == f"{root}/data/a.csv"
    assert session.upload_data(files, key_prefix="churn/train") == f"{root}/churn/train"
    assert session.store.list("churn/train") == ["churn/train/a.csv", "churn/train/b.csv"]
    bucket = session.default_bucket()  # a notebook's own path to what it uploaded
    assert session.store.key(f"s3://{bucket}/churn/train/a.csv") == "churn/train/a.csv"


def test_uploads_stay_under_data(session, files):
    uri = session.upload_data(files / "a.csv", key_prefix="jobs/evil")
    assert uri.endswith("/data/jobs/evil/a.csv")
    with pytest.raises(InvalidKey):
        session.upload_data(files / "a.csv", key_prefix="../../etc")


def test_download_both_signatures(session, files, tmp_path):
    uri = session.upload_data(files, key_prefix="dl")
    got = session.download_data(uri, tmp_path / "out1")
    assert sorted(os.path.basename(p) for p in got) == ["a.csv", "b.csv"]
    bucket = session.default_bucket()
    got = session.download_data(str(tmp_path / "out2"), bucket, key_prefix="dl/b.csv")
    assert [open(p).read() for p in got] == ["x,y\n2,1\n"]
    with pytest.raises(NotFound):
        session.download_data(session.store.uri("data/none"), tmp_path / "out3")


def test_a_foreign_bucket_is_refused(session, files):
    with pytest.raises(InvalidKey, match="not this session's store"):
        session.upload_data(files / "a.csv", bucket="someone-elses-bucket")


def test_sagemaker_names_notebooks_use_without_aws():
    import raymaker.sagemaker as sagemaker

    role = sagemaker.get_execution_role()
    assert role.startswith("arn:aws:iam::")
    est = rm.XGBoost(label="y", role=role, script_mode=True, instance_type="ml.m5.xlarge")
    assert est.training_job_spec({"train": "data/t.csv"}).instance_type == "ml.m5.xlarge"
    assert hasattr(sagemaker.Session().sagemaker_runtime_client, "invoke_endpoint")


def test_framework_predictors_have_sagemakers_defaults():
    from raymaker.sagemaker.deserializers import JSONDeserializer, NumpyDeserializer
    from raymaker.sagemaker.pytorch import PyTorchModel, PyTorchPredictor
    from raymaker.sagemaker.serializers import CSVSerializer, NumpySerializer
    from raymaker.sagemaker.sklearn import SKLearnModel, SKLearnPredictor

    for cls in (SKLearnPredictor, PyTorchPredictor):
        p = cls("e")
        assert isinstance(p.serializer, NumpySerializer)
        assert isinstance(p.deserializer, NumpyDeserializer)
        assert p.content_type == "application/x-npy"
    plain = rm.Predictor("e")  # raymaker's built-ins: CSV rows in, JSON out
    assert isinstance(plain.serializer, CSVSerializer)
    assert isinstance(plain.deserializer, JSONDeserializer)
    assert SKLearnModel(model_data="m").predictor_cls is SKLearnPredictor
    assert PyTorchModel(model_data="m").predictor_cls is PyTorchPredictor
    assert (
        rm.Model(model_data="m", predictor_cls=PyTorchPredictor).predictor_cls is PyTorchPredictor
    )
    assert rm.SKLearn(entry_point="t.py")._script_model.endswith("SKLearnModel")
