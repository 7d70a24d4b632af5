"""Endpoints on Ray Serve: real-time, serverless (scale to zero), variants, capture."""
