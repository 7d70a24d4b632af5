"""The pipelines of one session (``Session.pipelines``): what ``raymaker pipelines ...``
calls. Pipelines are saved with ``Pipeline.upsert`` or by submitting a ``kind: Pipeline``
spec; an execution's id is its job's name."""

from __future__ import annotations

import time


class Pipelines:
    """list, describe, start, executions, execution, steps, stop, retry, picture."""

    def __init__(self, session):
        self.session = session

    def list(self) -> list[dict]:
        from raymaker.pipelines import catalog

        return [
            {
                "name": r["name"],
                "version": r.get("version"),
                "steps": _count(r),
                "last_execution": r.get("last_execution"),
                "updated_at": _date(r.get("updated_at")),
            }
            for r in catalog.list_pipelines(self.session.store)
        ]

    def describe(self, name: str) -> dict:
        """A pipeline's definition and its latest executions. Raises NotFound."""
        from raymaker.pipelines import catalog

        record = catalog.read(self.session.store, name)
        return {
            "name": name,
            "version": record.get("version"),
            "created_at": _date(record.get("created_at")),
            "updated_at": _date(record.get("updated_at")),
            "parameters": record["definition"].get("Parameters", []),
            "steps": [f"{s['Name']} ({s['Type']})" for s in _all_steps(record["definition"])],
            "executions": self.executions(name)[:5],
        }

    def upsert(self, spec, *, base_dir: str | None = None) -> dict:
        from raymaker.pipelines import catalog

        return catalog.upsert(self.session.jobs, spec, base_dir=base_dir)

    def start(
        self,
        name: str,
        parameters: dict | None = None,
        *,
        display_name: str | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ):
        """Start an execution; its job handle. Raises SpecError (a bad parameter), NotFound."""
        from raymaker.pipelines import catalog

        return catalog.start(
            self.session.jobs,
            name,
            parameters=parameters,
            display_name=display_name,
            wait=wait,
            timeout=timeout,
        )

    def executions(self, name: str) -> list[dict]:
        from raymaker.pipelines import catalog

        return [
            {**r.summary(), "display_name": (r.spec.get("start") or {}).get("display_name")}
            for r in catalog.executions(self.session.jobs, name)
        ]

    def execution(self, execution: str) -> dict:
        """An execution's state: status, parameters, each step's status, times, cache hit or
        miss reason, jobs. Raises NotFound."""
        from raymaker.pipelines import catalog

        return catalog.execution(self.session.jobs, execution)

    def steps(self, execution: str) -> list[dict]:
        from raymaker.pipelines import catalog

        return catalog.steps(self.execution(execution))

    def stop(self, execution: str) -> dict:
        from raymaker.pipelines import catalog

        return catalog.stop(self.session.jobs, execution)

    def retry(self, execution: str, *, wait: bool = False, timeout: float | None = None):
        from raymaker.pipelines import catalog

        return catalog.retry(self.session.jobs, execution, wait=wait, timeout=timeout)

    def picture(self, name_or_execution: str) -> str:
        """The graph as an HTML page with its SVG: an execution's (statuses, times, cache
        hits), or a pipeline's definition. Raises NotFound."""
        from raymaker.errors import NotFound
        from raymaker.pipelines import catalog, picture

        try:
            state = self.execution(name_or_execution)
        except NotFound:
            return picture.page(catalog.spec_of(self.session.store, name_or_execution))
        spec = catalog.spec_of_execution(self.session.jobs, name_or_execution)
        return picture.page(spec, state)


def _all_steps(definition: dict) -> list[dict]:
    out = []
    for s in definition.get("Steps", []):
        out.append(s)
        if s.get("Type") == "Condition":
            for branch in ("IfSteps", "ElseSteps"):
                out.extend(
                    _all_steps(
                        {
                            "Steps": [
                                x for x in s["Arguments"].get(branch) or [] if isinstance(x, dict)
                            ]
                        }
                    )
                )
    return out


def _count(record: dict) -> int:
    return len(_all_steps(record.get("definition") or {}))


def _date(value: float | None) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value)) if value else None
