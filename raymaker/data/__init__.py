"""Data preparation: processing jobs (readers, recipes and profiles arrive with issue 3)."""
