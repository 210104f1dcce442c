"""`flask cm token ...`: create and revoke API tokens (as the system actor)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from ..services import api_tokens
from ..services.actors import SYSTEM
from ..services.errors import CMError

token = AppGroup("token", help="API tokens.")


def _fail(error: CMError) -> click.UsageError:
    hint = f"{error.field}: " if error.field else ""
    return click.UsageError(f"{hint}{error.message}")


@token.command("create")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--role", type=click.Choice(api_tokens.API_ROLES), required=True)
@click.option("--name", default=None, help="Who or what uses it, e.g. 'lab feed'.")
def token_create(clinic_id: int, role: str, name: str | None) -> None:
    """Create a token; prints it once, alone on the last line."""
    try:
        row, secret = api_tokens.create_token(
            SYSTEM, clinic_id, role, now=datetime.now(UTC), name=name
        )
    except CMError as error:
        raise _fail(error) from None
    click.echo(f"Created {role} token {row.id} for clinic {clinic_id}.")
    click.echo("It is shown only now; store it where the client keeps secrets.")
    click.echo(secret)


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token: requests carrying it get 401 from now on."""
    try:
        api_tokens.revoke_token(SYSTEM, token_id, now=datetime.now(UTC))
    except CMError as error:
        raise _fail(error) from None
    click.echo(f"Revoked token {token_id}.")
