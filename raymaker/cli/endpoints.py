"""``raymaker deploy | endpoints ... | invoke``: real-time and serverless endpoints.

Creating and changing an endpoint is a job like every other kind (an ``Endpoint`` spec applied
by ``raymaker run`` in a Ray Job's driver), so this process never joins Ray for it.
"""

from __future__ import annotations

import os
import sys

import click

from raymaker.cli.common import session
from raymaker.cli.render import emit, output_option


def register(cli: click.Group) -> None:
    for command in (deploy, endpoints, invoke):
        cli.add_command(command)


def _row(state: dict) -> dict:
    return {
        "name": state["name"], "status": state["status"],
        "url": (state.get("url") or "") + f"/endpoints/{state['name']}/invocations",
        "variants": ",".join(v["name"] for v in state["variants"]),
        "generation": state.get("generation"), "updated_at": state.get("updated_at"),
    }  # fmt: skip


def _apply(sess, spec, base_dir: str | None, output: str) -> None:
    """Apply ``spec`` through the job path and print the endpoint it leaves."""
    sess.jobs.submit(spec, base_dir=base_dir, wait=True)
    state = sess.endpoints.state(spec.name)
    emit(_row(state) if output == "table" else state, output)


@click.command()
@click.argument("spec", type=click.Path(exists=True, dir_okay=False))
@output_option
def deploy(spec, output):
    """Create or update the endpoint of SPEC (kind: Endpoint); wait until InService."""
    from raymaker.specs import load_spec

    loaded = load_spec(spec)
    if loaded.kind != "Endpoint":
        raise click.UsageError(f"{spec} is a {loaded.kind}; deploy takes kind: Endpoint")
    _apply(session(), loaded, os.path.dirname(os.path.abspath(spec)), output)


@click.group()
def endpoints():
    """Real-time and serverless endpoints: list, describe, update, delete."""


@endpoints.command("list")
@output_option
def endpoints_list(output):
    """Endpoints and their status."""
    emit(session().endpoints.list(), output)


@endpoints.command("describe")
@click.argument("name")
@output_option
def endpoints_describe(name, output):
    """An endpoint: status, variants, replicas, and live request figures."""
    state = session().endpoints.describe(name)
    if output != "table":
        emit(state, output)
        return
    emit(_row(state), output)
    replicas = state.get("replicas", {})
    live = state.get("metrics", {}).get("variants", {})
    rows = []
    for v in state["variants"]:
        rows.append({
            "variant": v["name"], "weight": v["weight"], "shadow": v["shadow"],
            "model_data": v["model_data"], **replicas.get(v["name"], {}),
            **live.get(v["name"], {}),
        })  # fmt: skip
    click.echo("")
    emit(rows, output)


@endpoints.command("update")
@click.argument("name")
@click.option("--model-data", help="Roll every variant to this model.")
@click.option("--instance-count", type=int, help="Replicas per variant.")
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False),
              help="A whole new Endpoint spec.")  # fmt: skip
@output_option
def endpoints_update(name, model_data, instance_count, spec_path, output):
    """Roll NAME to a new model, replica count or spec; no request fails meanwhile."""
    from raymaker.specs import load_spec

    sess = session()
    if spec_path:
        spec = load_spec(spec_path).model_copy(update={"name": name})
        base_dir = os.path.dirname(os.path.abspath(spec_path))
    else:
        if model_data is None and instance_count is None:
            raise click.UsageError("give --model-data, --instance-count or --spec")
        spec = sess.endpoints.rolled_spec(name, model_data=model_data,
                                          instance_count=instance_count)  # fmt: skip
        base_dir = None
    sess.endpoints.state(name)  # NotFound before anything is submitted
    _apply(sess, spec, base_dir, output)


@endpoints.command("delete")
@click.argument("name")
def endpoints_delete(name):
    """Stop NAME's replicas and forget it (captured data stays)."""
    session().endpoints.delete(name)
    click.echo(f"deleted endpoint {name}")


@click.command()
@click.argument("name")
@click.option("--data", "data_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The request body (a file).")  # fmt: skip
@click.option("--content-type", default="text/csv", show_default=True)
@click.option("--accept", default=None, help="Response type (default: the request's).")
@click.option("--variant", default=None, help="Send to this production variant.")
@click.option("--target-model", default=None, help="The model of a multi-model endpoint.")
@click.option("--custom-attributes", default=None, help="Passed to the handler's hooks.")
def invoke(name, data_path, content_type, accept, variant, target_model, custom_attributes):
    """POST a file to endpoint NAME and print the answer."""
    with open(data_path, "rb") as f:
        body = f.read()
    headers, answer = session().endpoints.invoke(
        name, body, content_type=content_type, accept=accept, variant=variant,
        target_model=target_model, custom_attributes=custom_attributes,
    )  # fmt: skip
    click.echo(f"variant: {headers.get('x-amzn-invoked-production-variant')}", err=True)
    try:
        click.echo(answer.decode("utf-8").rstrip("\n"))
    except UnicodeDecodeError:
        sys.stdout.buffer.write(answer)
