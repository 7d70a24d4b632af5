"""``sagemaker.model_monitor.monitoring_files``: statistics.json, constraints.json and
constraint_violations.json as objects with ``body_dict`` and ``file_s3_uri``."""

from __future__ import annotations

import json

from raymaker.sagemaker.session import UsesSession


class ModelMonitoringFile(UsesSession):
    """One monitoring file: its parsed body and where it is."""

    def __init__(self, body_dict: dict, file_s3_uri: str | None = None, kms_key=None,
                 sagemaker_session=None, *, session=None):  # fmt: skip
        self.body_dict = body_dict
        self.file_s3_uri = file_s3_uri
        self.kms_key = kms_key
        self.session = sagemaker_session or session

    @classmethod
    def _read(cls, uri: str, sagemaker_session=None, *, session=None):
        from raymaker.sagemaker.session import default_session

        sess = sagemaker_session or session or default_session()
        body = json.loads(sess.store.read_text(sess.store.key(uri)))
        return cls(body, uri, sagemaker_session=sess)

    @classmethod
    def from_string(cls, string: str, file_name: str | None = None, kms_key=None,
                    sagemaker_session=None):  # fmt: skip
        return cls(json.loads(string), None, kms_key, sagemaker_session)

    def save(self, new_save_location_s3_uri: str | None = None) -> str:
        """Write the (edited) body back, or to a new location; returns its URI."""
        uri = new_save_location_s3_uri or self.file_s3_uri
        if uri is None:
            raise ValueError("save() needs new_save_location_s3_uri for a file read from a string")
        store = self._session().store
        self.file_s3_uri = store.write_text(store.key(uri), json.dumps(self.body_dict, indent=1))
        return self.file_s3_uri

    def __repr__(self) -> str:
        return f"{type(self).__name__}(file_s3_uri={self.file_s3_uri!r})"


class Statistics(ModelMonitoringFile):
    """statistics.json."""

    @classmethod
    def from_s3_uri(cls, statistics_file_s3_uri: str, kms_key=None, sagemaker_session=None):
        return cls._read(statistics_file_s3_uri, sagemaker_session)


class Constraints(ModelMonitoringFile):
    """constraints.json; ``set_monitoring`` turns drift checks on or off."""

    @classmethod
    def from_s3_uri(cls, constraints_file_s3_uri: str, kms_key=None, sagemaker_session=None):
        return cls._read(constraints_file_s3_uri, sagemaker_session)

    def set_monitoring(self, enable_monitoring: bool, feature_name: str | None = None) -> None:
        """Turn the baseline drift check on or off, for one feature or all of them."""
        value = "Enabled" if enable_monitoring else "Disabled"
        if feature_name is None:
            config = self.body_dict.setdefault("monitoring_config", {})
            config.setdefault("distribution_constraints", {})["perform_comparison"] = value
            return
        for feature in self.body_dict.get("features", []):
            if feature["name"] == feature_name:
                feature.setdefault("monitoringConfigOverrides", {})["perform_comparison"] = value
                return
        raise ValueError(f"feature {feature_name!r} is not in these constraints")


class ConstraintViolations(ModelMonitoringFile):
    """constraint_violations.json."""

    @classmethod
    def from_s3_uri(cls, constraint_violations_file_s3_uri: str, kms_key=None,
                    sagemaker_session=None):  # fmt: skip
        return cls._read(constraint_violations_file_s3_uri, sagemaker_session)
