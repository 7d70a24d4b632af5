"""Experiments on MLflow: every job an MLflow run, its MLflow calls made by a warm relay (or a
thread), spooled when the tracking server is away.

MLflow is the engine; this room only feeds it. ``client`` opens the tracking store (SQLite in
raymaker's home by default, artifacts in raymaker's store; ``RAYMAKER_MLFLOW_TRACKING_URI``
anywhere else), ``ledger`` is what one job's run still owes its store (sent by ``flush``, kept
in the store while the server is away), ``relay`` is the one warm process a machine that sends
every job's ledger, ``jobrun`` hands a running job's run to it (or tracks it in a thread),
``models`` logs a built-in model in MLflow's format, ``queries`` reads experiments and runs
back, ``registry`` mirrors raymaker's registry into MLflow's, ``ui`` starts MLflow's UI.
Nothing here imports ray, or mlflow at import time.
"""
