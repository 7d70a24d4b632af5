"""Training on Ray Train: built-in algorithms, script mode, checkpoints, metrics, artifacts."""
