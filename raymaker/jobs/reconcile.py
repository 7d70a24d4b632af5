"""Desired state is the source of truth on start: after a head restart, the store says what
should run and the cluster has nothing. ``reconcile`` makes them agree again, in one step that
every kind joins through its row's ``reconcile`` (endpoints today; monitoring schedules and
pipelines as they land):

- jobs: an unfinished job Ray no longer knows is FAILED, with the reason, and can be resumed;
- each kind with a ``reconcile``: what it reports restored, or failed and why.

``raymaker cluster up`` and ``raymaker cluster reconcile`` run it; running it twice changes
nothing the second time.
"""

from __future__ import annotations

from raymaker.kinds import KINDS, load


def reconcile(settings, store) -> dict:
    """``{"jobs_failed": [...], "<Kind>": {"restored": [...], "failed": {...}}}``."""
    from raymaker.jobs.client import JobsClient

    out: dict = {"jobs_failed": JobsClient(settings, store).reconcile()}
    for kind, row in KINDS.items():
        if row.reconcile:
            out[kind] = load(row.reconcile)(settings, store)
    return out
