"""`flask cm backup`: operations commands that are not use cases of the web app."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from .. import clock
from ..services.access.actors import SYSTEM
from ..services.admin import backup as backups
from ..services.errors import CMError


@click.command("backup")
@click.option(
    "--to",
    "to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="New file to write; default instance/backups/cm-<UTC time>.sqlite3.",
)
def backup(to: Path | None) -> None:
    """Back up the embedded SQLite database while the app runs (file mode 0600).

    Prints the new file's path alone on the last line. On PostgreSQL use pg_dump.
    """
    try:
        path = backups.backup_database(
            SYSTEM,
            now=clock.now(),
            instance_path=Path(current_app.instance_path),
            to=to,
        )
    except backups.BackupUnsupported as error:
        raise click.ClickException(error.message) from None
    except CMError as error:
        hint = f"--{error.field}: " if error.field else ""
        raise click.UsageError(f"{hint}{error.message}") from None
    click.echo(f"Backed up the database ({path.stat().st_size} bytes, mode 0600) to:")
    click.echo(path)
