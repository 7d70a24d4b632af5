"""``sagemaker.utils``: the helpers notebooks call."""

from __future__ import annotations


def name_from_base(base: str | None, **_ignored) -> str | None:
    """A unique job name from ``base`` (``base-<date>-<time>-<random>``); None for no base."""
    if not base:
        return None
    from raymaker.jobs.records import generate_name

    return generate_name(base)
