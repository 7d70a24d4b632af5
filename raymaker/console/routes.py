"""Every console address in one table: method, path, the action it needs, page or JSON, and
the handler. A GET reads; each POST names the role's action that may do it."""

from __future__ import annotations

from raymaker.console import endpoints, home, jobs, models, workflows

READ, OPERATE, INVOKE, APPROVE = "read", "operate", "invoke", "approve"

ROUTES = [
    ("GET", "/", READ, "page", home.home),
    ("GET", "/api/cluster", READ, "api", home.cluster),
    # jobs (every kind), tuning and AutoML on the job's page
    ("GET", "/jobs", READ, "page", jobs.jobs_list),
    ("GET", "/jobs/{name}", READ, "page", jobs.job_page),
    ("GET", "/api/jobs/{name}", READ, "api", jobs.job_state),
    ("GET", "/api/jobs/{name}/logs", READ, "api", jobs.job_logs),
    ("GET", "/api/jobs/{name}/metrics", READ, "api", jobs.job_metrics),
    ("POST", "/jobs/{name}/stop", OPERATE, "page", jobs.job_stop),
    ("POST", "/jobs/{name}/resume", OPERATE, "page", jobs.job_resume),
    # endpoints
    ("GET", "/endpoints", READ, "page", endpoints.endpoints_list),
    ("GET", "/endpoints/{name}", READ, "page", endpoints.endpoint_page),
    ("GET", "/api/endpoints/{name}", READ, "api", endpoints.endpoint_live),
    ("POST", "/endpoints/{name}/invoke", INVOKE, "page", endpoints.endpoint_invoke),
    # the model registry
    ("GET", "/models", READ, "page", models.groups),
    ("GET", "/models/{group}", READ, "page", models.group),
    ("GET", "/models/{group}/compare", READ, "page", models.compare),
    ("GET", "/models/{group}/{version:int}", READ, "page", models.version),
    ("POST", "/models/{group}/{version:int}/status", APPROVE, "page", models.set_status),
    ("POST", "/models/{group}/{version:int}/deploy", OPERATE, "page", models.deploy),
    # pipelines
    ("GET", "/pipelines", READ, "page", workflows.pipelines_list),
    ("GET", "/pipelines/{name}", READ, "page", workflows.pipeline_page),
    ("GET", "/api/pipelines/{name}/picture", READ, "api", workflows.pipeline_picture),
    ("GET", "/executions/{execution}", READ, "page", workflows.execution_page),
    ("GET", "/api/executions/{execution}/picture", READ, "api", workflows.execution_picture),
    ("POST", "/executions/{execution}/retry", OPERATE, "page", workflows.execution_retry),
    ("POST", "/executions/{execution}/stop", OPERATE, "page", workflows.execution_stop),
    # monitors
    ("GET", "/monitors", READ, "page", workflows.monitors_list),
    ("GET", "/monitors/{name}", READ, "page", workflows.monitor_page),
    # experiments (MLflow)
    ("GET", "/experiments", READ, "page", home.experiments),
    ("GET", "/experiments/compare", READ, "page", home.compare_runs),
    # data: profiles and the store, read-only
    ("GET", "/data", READ, "page", home.data),
    ("GET", "/store/{key:path}", READ, "page", home.store_object),
]
