"""The SageMaker Python SDK v2's public surface, name by name, and what raymaker does with each.

The names are SDK 2.257's own (each class body's public methods and properties, and its
``__init__`` parameters, read from its source): ``Session``, ``Estimator`` (with
``EstimatorBase`` and ``Framework``), ``Model``, ``Predictor``, ``Transformer`` and
``HyperparameterTuner``. Each name is one of:

- **works**: it does what SageMaker's does, on raymaker;
- **accepted, ignored**: an argument about AWS itself (IAM roles, KMS keys, VPCs, images,
  volumes...); it is taken, and a one-line ``RaymakerNotice`` says it is ignored;
- **not supported**: calling it raises ``NotSupported`` saying why (often: which issue will
  bring it).

``install`` puts the not-supported methods on raymaker's classes, ``ignored`` gives the
notices, ``markdown`` writes the README's table, and a test walks every row against the
classes, so the table cannot drift from the code.
"""

from __future__ import annotations

import warnings

from raymaker.errors import NotSupported, RaymakerNotice

WORKS, IGNORED, UNSUPPORTED = "works", "accepted, ignored", "not supported"

# Why a name is not supported, by theme (the table's notes)
LOW_LEVEL = "SageMaker's low-level API shapes come with the control-plane API (issue 26); use the SDK classes or raymaker's jobs/endpoints"  # noqa: E501
AUTOML = "Autopilot: issue 21"
FEATURES = "Feature Store: issue 27"
MLFLOW = "MLflow tracking: issue 23"
NEO = (
    "Neo compilation and edge packaging build for AWS hardware; raymaker serves the model as it is"  # noqa: E501
)
COMPONENTS = "inference components share AWS instances between models; raymaker has multi-model endpoints and variants instead"  # noqa: E501
AWS = "an AWS account service (resource groups, tags, buckets' owners, training plans, capacity) with no counterpart here"  # noqa: E501
HUB = "JumpStart hubs: there is no model hub here"
RECOMMENDER = "Inference Recommender benchmarks AWS instance types"
PACKAGES = "model packages: use Model.register and raymaker's ModelRegistry (registry://group/<n>)"
DEBUGGER = "SageMaker Debugger, Profiler and remote debugging run inside AWS's containers"
VISUALIZE = "the tuning job's trials are HyperparameterTuningJobAnalytics(...).dataframe() and raymaker tuning leaderboard"  # noqa: E501
PIPELINES = "Airflow's workflow helpers: raymaker runs SageMaker Pipelines itself (Pipeline, steps)"

# class -> name -> (status, note). Methods end in "()", __init__ arguments in "=".
SURFACE: dict[str, dict[str, tuple[str, str]]] = {}


def _rows(cls: str, status: str, note: str, names: str) -> None:
    table = SURFACE.setdefault(cls, {})
    for name in names.split():
        table[name] = (status, note)


# -- Session -----------------------------------------------------------------------------------
_rows(
    "Session",
    WORKS,
    "settings is raymaker's Settings (not SageMaker's SessionSettings)",
    "settings=",
)
_rows("Session", WORKS, "waits return raymaker's job record (DescribeTrainingJob's shape: "
      "issue 26)", "wait_for_job() wait_for_processing_job() wait_for_transform_job() "
      "wait_for_tuning_job()")  # fmt: skip
_rows("Session", WORKS, "", "default_bucket= upload_data() download_data() "
      "default_bucket() read_s3_file() list_s3_files() upload_string_as_file_body() "
      "boto_region_name account_id() expand_role() get_caller_identity_arn() logs_for_job() "
      "logs_for_processing_job() logs_for_transform_job() stop_training_job() "
      "stop_processing_job() stop_transform_job() stop_tuning_job() delete_endpoint() "
      "delete_model() wait_for_endpoint()")  # fmt: skip
_rows("Session", IGNORED, "boto3 clients and AWS config: there is no AWS here",
      "boto_session= sagemaker_client= sagemaker_runtime_client= "
      "sagemaker_featurestore_runtime_client= sagemaker_metrics_client= sagemaker_config= "
      "default_bucket_prefix=")  # fmt: skip
_rows("Session", UNSUPPORTED, LOW_LEVEL, "config get_train_request() train() "
      "update_training_job() process() describe_processing_job() was_processing_job_successful() "
      "describe_training_job() tune() create_tuning_job() describe_tuning_job() transform() "
      "describe_transform_job() create_model() create_model_from_job() describe_model() "
      "create_endpoint_config() create_endpoint_config_from_existing() create_endpoint() "
      "endpoint_in_service_or_not() update_endpoint() describe_endpoint() "
      "describe_endpoint_config() delete_endpoint_config() endpoint_from_job() "
      "endpoint_from_model_data() endpoint_from_production_variants()")  # fmt: skip
_rows("Session", WORKS, "DescribeMonitoringSchedule's and the List calls' shapes",
      "start_monitoring_schedule() stop_monitoring_schedule() delete_monitoring_schedule() "
      "describe_monitoring_schedule() list_monitoring_executions() "
      "list_monitoring_schedules()")  # fmt: skip
_rows("Session", UNSUPPORTED, LOW_LEVEL + "; use DefaultModelMonitor (and its kin)",
      "create_monitoring_schedule() update_monitoring_schedule()")  # fmt: skip
_rows("Session", UNSUPPORTED, "CloudWatch alarms: use the Prometheus gauges and "
      "cluster/prometheus/monitor-alerts.yaml, or a schedule's webhook",
      "update_monitoring_alert() list_monitoring_alerts() "
      "list_monitoring_alert_history()")  # fmt: skip
_rows("Session", WORKS, "DescribeAutoMLJob's and ListCandidatesForAutoMLJob's shapes",
      "describe_auto_ml_job() describe_auto_ml_job_v2() list_candidates() "
      "wait_for_auto_ml_job() logs_for_auto_ml_job()")  # fmt: skip
_rows("Session", UNSUPPORTED, LOW_LEVEL + "; use AutoML(...).fit", "auto_ml() "
      "create_auto_ml_v2()")  # fmt: skip
_rows("Session", UNSUPPORTED, FEATURES, "delete_feature_group() create_feature_group() "
      "describe_feature_group() update_feature_group() list_feature_groups() "
      "update_feature_metadata() describe_feature_metadata() put_record() delete_record() "
      "get_record() batch_get_record() start_query_execution() get_query_execution() "
      "wait_for_athena_query() download_athena_query_result() search()")  # fmt: skip
_rows(
    "Session",
    UNSUPPORTED,
    NEO,
    "compile_model() package_model_for_edge() "
    "wait_for_compilation_job() wait_for_edge_packaging_job() wait_for_optimization_job()",
)
_rows("Session", UNSUPPORTED, COMPONENTS, "is_inference_component_based_endpoint() "
      "create_inference_component() wait_for_inference_component() "
      "describe_inference_component() wait_for_inference_component_deletion() "
      "update_inference_component() delete_inference_component() "
      "list_and_paginate_inference_component_names_associated_with_endpoint() "
      "list_inference_components()")  # fmt: skip
_rows("Session", UNSUPPORTED, PACKAGES, "create_model_package_from_algorithm() "
      "create_model_package_from_containers() wait_for_model_package() "
      "get_most_recently_created_approved_model_package()")  # fmt: skip
_rows("Session", UNSUPPORTED, AWS, "expected_bucket_owner_id_bucket_check() "
      "general_bucket_check_if_user_has_permission() create_bucket_for_not_exist_error() "
      "list_group_resources() delete_resource_group() get_resource_group_query() "
      "get_tagging_resources() create_group() list_tags() describe_training_plan() "
      "list_training_plans()")  # fmt: skip
_rows("Session", UNSUPPORTED, HUB, "create_hub() describe_hub() list_hubs() list_hub_contents() "
      "delete_hub() create_hub_content_reference() delete_hub_content_reference() "
      "describe_hub_content() list_hub_content_versions()")  # fmt: skip
_rows(
    "Session",
    UNSUPPORTED,
    RECOMMENDER,
    "create_inference_recommendations_job() wait_for_inference_recommendations_job()",
)
_rows("Session", UNSUPPORTED, MLFLOW, "create_presigned_mlflow_tracking_server_url()")

# -- Estimator (EstimatorBase, Estimator, Framework) --------------------------------------------
_rows("Estimator", WORKS, "", "entry_point= source_dir= hyperparameters= instance_count= "
      "instance_type= max_run= output_path= base_job_name= sagemaker_session= "
      "metric_definitions= checkpoint_s3_uri= environment= max_retry_attempts= fit() attach() "
      "deploy() register() model_data create_model() transformer() set_hyperparameters() "
      "hyperparameters() logs() training_job_analytics")  # fmt: skip
_rows("Estimator", IGNORED, "AWS resources: IAM, KMS, VPC, images, volumes, spot capacity, "
      "tags", "role= image_uri= keep_alive_period_in_seconds= volume_size= volume_kms_key= "
      "output_kms_key= tags= subnets= security_group_ids= encrypt_inter_container_traffic= "
      "use_spot_instances= max_wait= enable_network_isolation= instance_groups= "
      "training_repository_access_mode= training_repository_credentials_provider_arn= "
      "enable_infra_check= enable_session_tag_chaining= training_plan= "
      "instance_placement_config= code_location= container_log_level= "
      "disable_output_compression= enable_sagemaker_metrics= input_mode= "
      "checkpoint_local_path=")  # fmt: skip
_rows("Estimator", IGNORED, "SageMaker Debugger and Profiler run inside AWS's containers",
      "rules= debugger_hook_config= tensorboard_output_config= profiler_config= "
      "disable_profiler= enable_remote_debug=")  # fmt: skip
_rows(
    "Estimator",
    UNSUPPORTED,
    "a container's entry point: raymaker runs the script, not an image (give entry_point)",
    "container_entry_point= container_arguments=",
)
_rows(
    "Estimator",
    UNSUPPORTED,
    "copy the files into source_dir (its hash covers only that folder)",
    "dependencies= git_config=",
)
_rows(
    "Estimator",
    UNSUPPORTED,
    "warm-starting from a model channel: give the model as an input channel instead",
    "model_uri= model_channel_name=",
)
_rows(
    "Estimator",
    UNSUPPORTED,
    DEBUGGER,
    "latest_job_debugger_artifacts_path() "
    "latest_job_tensorboard_artifacts_path() latest_job_profiler_artifacts_path() "
    "enable_default_profiling() disable_profiling() update_profiler() "
    "get_remote_debug_config() enable_remote_debug() disable_remote_debug() get_app_url()",
)
_rows(
    "Estimator",
    UNSUPPORTED,
    "images: raymaker runs scripts on its own Python, with no container image",
    "training_image_uri()",
)
_rows("Estimator", UNSUPPORTED, NEO, "compile_model()")
_rows("Estimator", UNSUPPORTED, AWS, "get_vpc_config() get_session_chaining_config() "
      "enable_network_isolation()")  # fmt: skip
_rows("Estimator", UNSUPPORTED, PIPELINES, "prepare_workflow_for_training()")

# -- Model ---------------------------------------------------------------------------------------
_rows("Model", WORKS, "", "model_data= entry_point= source_dir= name= env= predictor_cls= "
      "sagemaker_session= create() deploy() register() transformer() delete_model()")  # fmt: skip
_rows("Model", IGNORED, "AWS resources: IAM, KMS, VPC, images", "role= image_uri= vpc_config= "
      "enable_network_isolation= model_kms_key= image_config= code_location= "
      "container_log_level= resources= model_reference_arn=")  # fmt: skip
_rows(
    "Model",
    UNSUPPORTED,
    "copy the files into source_dir (its hash covers only that folder)",
    "dependencies= git_config=",
)
_rows(
    "Model",
    UNSUPPORTED,
    "a model in several artifacts: put them in one model.tar.gz",
    "additional_model_data_sources=",
)
_rows("Model", UNSUPPORTED, LOW_LEVEL, "attach() prepare_container_def() is_repack()")
_rows("Model", UNSUPPORTED, AWS, "add_tags() remove_tag_with_key() enable_network_isolation()")
_rows("Model", UNSUPPORTED, NEO, "package_for_edge() compile()")
_rows("Model", UNSUPPORTED, RECOMMENDER, "tune()")

# -- Predictor -----------------------------------------------------------------------------------
_rows(
    "Predictor",
    WORKS,
    "",
    "endpoint_name= sagemaker_session= serializer= deserializer= "
    "predict() update_endpoint() delete_endpoint() delete_model() content_type accept",
)
_rows("Predictor", UNSUPPORTED, COMPONENTS, "component_name= delete_predictor() "
      "update_predictor() list_related_models()")  # fmt: skip
_rows(
    "Predictor",
    UNSUPPORTED,
    "response streaming (InvokeEndpointWithResponseStream) is not built",
    "predict_stream()",
)
_rows(
    "Predictor",
    UNSUPPORTED,
    "data capture is set when deploying "
    "(deploy(data_capture_config=...)); changing it later is not built",
    "enable_data_capture() disable_data_capture() update_data_capture_config()",
)
_rows("Predictor", WORKS, "the endpoint's schedules, as monitor objects", "list_monitors()")
_rows("Predictor", WORKS, "SageMaker's older name of endpoint_name", "endpoint")
_rows("Predictor", UNSUPPORTED, "ML lineage contexts: issue 23 (MLflow)", "endpoint_context()")

# -- Transformer ---------------------------------------------------------------------------------
_rows("Transformer", WORKS, "", "model_name= instance_count= instance_type= strategy= "
      "assemble_with= output_path= accept= max_concurrent_transforms= max_payload= env= "
      "base_transform_job_name= sagemaker_session= transform() wait() stop_transform_job() "
      "attach() delete_model()")  # fmt: skip
_rows("Transformer", IGNORED, "AWS resources: KMS keys and tags", "output_kms_key= "
      "volume_kms_key= tags=")  # fmt: skip
_rows("Transformer", UNSUPPORTED, "a transform with monitoring in one call is not built: "
      "transform, then a schedule's batch_transform_input",
      "transform_with_monitoring()")  # fmt: skip

# -- HyperparameterTuner ---------------------------------------------------------------------------
_rows("HyperparameterTuner", WORKS, "", "estimator= objective_metric_name= "
      "hyperparameter_ranges= metric_definitions= strategy= objective_type= max_jobs= "
      "max_parallel_jobs= max_runtime_in_seconds= base_tuning_job_name= warm_start_config= "
      "strategy_config= completion_criteria_config= early_stopping_type= random_seed= fit() "
      "attach() deploy() stop_tuning_job() describe() wait() best_estimator() "
      "best_training_job() analytics() hyperparameter_ranges() sagemaker_session "
      "transfer_learning_tuner() identical_dataset_and_algorithm_tuner()")  # fmt: skip
_rows("HyperparameterTuner", IGNORED, "AWS resources: tags", "tags=")
_rows("HyperparameterTuner", UNSUPPORTED, "tuning several estimators in one job is not built: "
      "run a tuner per estimator", "estimator_name= create() override_resource_config() "
      "hyperparameter_ranges_dict()")  # fmt: skip
_rows("HyperparameterTuner", UNSUPPORTED, "SageMaker's Autotune picks ranges for AWS's "
      "built-in algorithms; give hyperparameter_ranges", "autotune= "
      "hyperparameters_to_keep_static=")  # fmt: skip
_rows("HyperparameterTuner", UNSUPPORTED, VISUALIZE, "visualize_jobs() visualize_job()")

# -- AutoML ------------------------------------------------------------------------------------
_rows("AutoML", WORKS, "", "role= target_attribute_name= output_path= base_job_name= "
      "sagemaker_session= problem_type= max_candidates= "
      "max_runtime_per_training_job_in_seconds= total_job_runtime_in_seconds= job_objective= "
      "generate_candidate_definitions_only= validation_fraction= mode= "
      "sample_weight_attribute_name= feature_specification_s3_uri= fit() attach() "
      "describe_auto_ml_job() best_candidate() "
      "list_candidates() create_model() deploy() "
      "validate_and_update_inference_response()")  # fmt: skip
_rows("AutoML", IGNORED, "AWS resources: KMS keys, VPCs, tags; content and compression are "
      "read from the files", "output_kms_key= compression_type= volume_kms_key= "
      "encrypt_inter_container_traffic= vpc_config= tags= content_type= s3_data_type= "
      "auto_generate_endpoint_name= endpoint_name=")  # fmt: skip


def install(cls, name: str) -> None:
    """Give ``cls`` each not-supported method (or property) of ``SURFACE[name]`` it does not
    define: one raising NotSupported with the reason."""
    for entry, (status, note) in SURFACE[name].items():
        attr = entry.removesuffix("()")
        if status != UNSUPPORTED or entry.endswith("=") or hasattr(cls, attr):
            continue
        refuse = _refusal(f"{name}.{attr}", note)
        setattr(cls, attr, refuse if entry.endswith("()") else property(refuse))


def _refusal(qualname: str, why: str):
    def refuse(*_args, **_kwargs):
        raise NotSupported(f"{qualname} is not supported: {why}")

    refuse.__name__ = qualname.rsplit(".", 1)[-1]
    refuse.__doc__ = f"Not supported: {why}."
    return refuse


_NOTICED: set[tuple[str, str]] = set()


def ignored(name: str, given: dict) -> None:
    """A one-line notice (once per process) for each AWS-only argument in ``given`` that is
    set; raises NotSupported for a not-supported one."""
    table = SURFACE[name]
    for arg, value in given.items():
        status, note = table.get(f"{arg}=", (WORKS, ""))
        if value is None or value is False or status == WORKS:
            continue
        if status == UNSUPPORTED:
            raise NotSupported(f"{name}({arg}=...) is not supported: {note}")
        if (name, arg) not in _NOTICED:
            _NOTICED.add((name, arg))
            warnings.warn(f"{name}: {arg} is accepted and ignored ({note})", RaymakerNotice,
                          stacklevel=3)  # fmt: skip


def ignored_args(name: str) -> frozenset[str]:
    """The ``__init__`` arguments ``name`` takes without using (ignored or refused)."""
    return frozenset(
        entry[:-1] for entry, (status, _) in SURFACE[name].items()
        if entry.endswith("=") and status != WORKS
    )  # fmt: skip


def markdown() -> str:
    """The README's table: one row per class and status, the names and why."""
    lines = ["| SDK v2 class | status | names | why |", "| --- | --- | --- | --- |"]
    for cls, table in SURFACE.items():
        groups: dict[tuple[str, str], list[str]] = {}
        for entry, key in table.items():
            groups.setdefault(key, []).append(entry)
        for (status, note), names in groups.items():
            shown = " ".join(f"`{n}`" for n in names)
            lines.append(f"| `{cls}` | {status} | {shown} | {note} |")
    return "\n".join(lines) + "\n"
