"""``sagemaker.experiments``: SageMaker's Experiments API over MLflow.

``Run(experiment_name, run_name)`` is an MLflow run in the experiment of that name;
``load_run()`` inside a job's script is the job's own run; ``list_runs(experiment_name)``
lists an experiment's runs. ``ExperimentAnalytics`` is in ``sagemaker.analytics``.
"""

from __future__ import annotations

from raymaker.sagemaker.experiments.run import Run, SortByType, SortOrderType, list_runs, load_run

__all__ = ["Run", "SortByType", "SortOrderType", "list_runs", "load_run"]
