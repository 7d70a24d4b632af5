"""``raymaker tokens ...``: API tokens with roles, for the console, the gateway and every
raymaker HTTP API."""

from __future__ import annotations

import click

from raymaker.cli.common import session
from raymaker.cli.render import emit, output_option

ROLES = ["viewer", "invoker", "operator", "approver", "admin"]


def register(cli: click.Group) -> None:
    cli.add_command(tokens)


@click.group()
def tokens():
    """API tokens with roles: viewer, invoker, operator, approver, admin."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="Repeatable: viewer reads; invoker calls endpoints; operator submits, "
                   "deploys and stops; approver approves models; admin does all.")  # fmt: skip
@click.option(
    "--expires",
    "expires_in",
    default=None,
    help="How long it works: 90m, 12h, 30d (default: until revoked).",
)
@output_option
def tokens_create(name, roles, expires_in, output):
    """A token for NAME (the identity approvals record). It is shown once: only its hash is
    kept in the store."""
    token, record = session().tokens.create(name, roles, expires_in=expires_in)
    if output == "table":
        click.echo(token)
        click.echo(f"token {record['id']} for {name} ({', '.join(record['roles'])}); it is not "
                   "shown again: send it as 'Authorization: Bearer <token>'", err=True)  # fmt: skip
    else:
        record.pop("sha256", None)
        emit({"token": token, **record}, output)


@tokens.command("list")
@output_option
def tokens_list(output):
    """Every token: id, name, roles, when made and by whom, and whether revoked."""
    rows = session().tokens.list()
    if output == "table":
        rows = [{**r, "roles": ",".join(r["roles"]), "revoked_at": r["revoked_at"] or "-",
                 "expires_at": r.get("expires_at") or "-"} for r in rows]  # fmt: skip
    emit(rows, output, columns=["id", "name", "roles", "created_at", "created_by", "expires_at",
                                "revoked_at"])  # fmt: skip


@tokens.command("revoke")
@click.argument("id_or_name")
def tokens_revoke(id_or_name):
    """Revoke the token with this id, or every live token of this name (within 2 s
    everywhere)."""
    for row in session().tokens.revoke(id_or_name):
        click.echo(f"revoked {row['id']} ({row['name']})")
