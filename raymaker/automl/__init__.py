"""Autopilot (issue 21), being built: SageMaker's AutoML on Ray Tune.

So far: the objectives with SageMaker's names (``objectives``), and the ensembling pieces that
need no Ray (``ensemble``: k-fold bagging with out-of-fold predictions and greedy ensemble
selection). Not yet wired to a job kind, the SDK or the CLI.
"""
