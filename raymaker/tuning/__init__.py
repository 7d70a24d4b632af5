"""Hyperparameter tuning: ``kind: TuningJob`` on Ray Tune, each trial a full training job."""
