"""Batch transform on Ray Data: the endpoint's handler over files, with SageMaker's contract."""
