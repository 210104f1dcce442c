"""`flask cm token ...` (create and revoke API tokens) and `flask cm import-results`
(a lab's CSV file), as the system actor over the same services as the API."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from .. import clock
from ..models import CONSENT_PURPOSES
from ..services.access import api_tokens
from ..services.access.actors import SYSTEM
from ..services.errors import CMError
from ..services.integrations import results_import

token = AppGroup("token", help="API tokens.")


def _fail(error: CMError) -> click.UsageError:
    hint = f"{error.field}: " if error.field else ""
    return click.UsageError(f"{hint}{error.message}")


@token.command("create")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--role", type=click.Choice(api_tokens.API_ROLES), required=True)
@click.option("--name", default=None, help="Who or what uses it, e.g. 'lab feed'.")
@click.option(
    "--recipient",
    default=None,
    help="An outside recipient, e.g. 'County EHR' or a payer: each participant "
    "record it reads is a disclosure, made only under a matching consent "
    "(role auditor).",
)
@click.option(
    "--recipient-class",
    default=None,
    help="The class of recipients it belongs to, which a consent may name.",
)
@click.option(
    "--purpose",
    type=click.Choice(CONSENT_PURPOSES),
    default=None,
    help="What the recipient reads records for (required with --recipient).",
)
def token_create(
    clinic_id: int,
    role: str,
    name: str | None,
    recipient: str | None,
    recipient_class: str | None,
    purpose: str | None,
) -> None:
    """Create a token; prints it once, alone on the last line."""
    try:
        row, secret = api_tokens.create_token(
            SYSTEM,
            clinic_id,
            role,
            now=clock.now(),
            name=name,
            recipient=recipient,
            recipient_class=recipient_class,
            purpose=purpose,
        )
    except CMError as error:
        raise _fail(error) from None
    who = f" (recipient {row.recipient}, for {row.purpose})" if row.recipient else ""
    click.echo(f"Created {role} token {row.id} for clinic {clinic_id}{who}.")
    click.echo("It is shown only now; store it where the client keeps secrets.")
    click.echo(secret)


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token: requests carrying it get 401 from now on."""
    try:
        api_tokens.revoke_token(SYSTEM, token_id, now=clock.now())
    except CMError as error:
        raise _fail(error) from None
    click.echo(f"Revoked token {token_id}.")


@click.command("import-results")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--clinic", "clinic_id", type=int, required=True)
def import_results(path: Path, clinic_id: int) -> None:
    """Import a lab's CSV of results into a clinic, all or nothing.

    Columns: participant_code, collected_on, analyte, result[, value]. On any bad
    line nothing is recorded: each error is printed as `line N: column: message`
    and the exit status is 2. Lines imported before are not recorded again.
    """
    try:
        result = results_import.import_lab_file(
            SYSTEM, clinic_id, path.read_bytes(), now=clock.now()
        )
    except results_import.InvalidFile as error:
        for field, message in error.errors:
            click.echo(f"{field}: {message}", err=True)
        click.echo("Nothing was recorded.", err=True)
        sys.exit(2)
    except CMError as error:
        raise _fail(error) from None
    click.echo(
        f"Recorded {len(result.recorded)} result(s); "
        f"{len(result.already_recorded)} already recorded (not recorded again); "
        f"{len(result.posted)} ledger entries posted."
    )
