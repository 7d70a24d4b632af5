"""The job layer: records, the runner (``raymaker run``) and the client over Ray Jobs.

Submodules are imported where used, so ``raymaker run`` loads only the runner's path.
"""
