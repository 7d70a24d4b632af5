"""Inference: the one handler and the one model loader, shared by endpoints and batch."""
