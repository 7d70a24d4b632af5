"""The experiments of one session's tracking store: what ``raymaker experiments ...`` calls
(``Session.experiments``)."""

from __future__ import annotations

from raymaker.storage import layout


class Experiments:
    """list, runs, compare, sync, ui_command: the configured MLflow tracking store."""

    def __init__(self, session):
        self.session = session

    @property
    def uri(self) -> str:
        return self.session.settings.tracking_uri()

    def list(self) -> list[dict]:
        from raymaker.tracking import queries

        return queries.experiments(self.uri)

    def runs(self, experiment: str | None = None, *, max_results: int = 1000) -> list[dict]:
        """An experiment's runs, newest first. Raises NotFound."""
        from raymaker.tracking import queries

        return queries.runs(self.uri, experiment, max_results=max_results)

    def compare(self, refs: list[str], experiment: str | None = None) -> list[dict]:
        """Runs (ids, job names or run names) side by side. Raises NotFound."""
        from raymaker.tracking import queries

        return queries.compare(self.uri, refs, experiment)

    def sync(self) -> dict:
        """Send what jobs spooled while their tracking server was away (and, with no relay
        running here, what running jobs handed to one)."""
        from raymaker.tracking import ledger, relay

        store = self.session.store
        if relay.alive(store):  # it sends them (two senders would send points twice)
            waiting = [k for k in store.list(layout.mlflow_spool()) if not k.endswith(".end.json")]
            return {"sent": [], "waiting": {}, "relay": f"sending {len(waiting)} run(s)"}
        out = ledger.replay(store)
        relay.tick(store)  # runs handed to a relay that is gone
        return out

    def ui_command(self, *, host: str, port: int, token: str | None):
        """``(argv, env)`` of MLflow's server and UI on this store. Raises SpecError,
        MissingDependency."""
        from raymaker.tracking import ui

        return ui.command(self.uri, host=host, port=port, token=token,
                          home=str(self.session.settings.home))  # fmt: skip
