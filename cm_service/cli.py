"""`flask --app wsgi cm ...`: operations commands over the same services as the web."""

from __future__ import annotations

import json
import secrets
import sys
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from . import rules
from .extensions import db
from .services import audit, clinics, demo
from .services.actors import SYSTEM
from .services.errors import CMError

cm = AppGroup("cm", help="cm-service operations.")


def init_app(app: Flask) -> None:
    from .api.commands import token

    cm.add_command(token)
    app.cli.add_command(cm)


def _now() -> datetime:
    return datetime.now(UTC)


def _fail(error: CMError) -> click.UsageError:
    hint = f"{error.field}: " if error.field else ""
    return click.UsageError(f"{hint}{error.message}")


@cm.command("init")
def init_command() -> None:
    """Apply every migration (safe to run again)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    upgrade()
    click.echo("Database schema is up to date.")


clinic_group = AppGroup("clinic", help="Clinics.")
cm.add_command(clinic_group)


@clinic_group.command("create")
@click.option("--name", required=True)
@click.option("--timezone", "tz", required=True, help="IANA zone, e.g. America/Chicago")
def clinic_create(name: str, tz: str) -> None:
    """Create a clinic; prints its id alone on the last line."""
    try:
        clinic = clinics.create_clinic(SYSTEM, name, tz, now=_now())
    except CMError as error:
        raise _fail(error) from None
    click.echo(f"Created clinic {clinic.name!r} ({clinic.timezone}) with the presets.")
    click.echo(clinic.id)


staff_group = AppGroup("staff", help="Staff accounts.")
cm.add_command(staff_group)


@staff_group.command("create")
@click.option("--clinic", "clinic_id", type=int, required=True)
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(["admin", "staff", "auditor"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def staff_create(
    clinic_id: int, username: str, role: str, password_stdin: bool
) -> None:
    """Create a staff login; without --password-stdin a password is generated."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    generated = password is None
    password = password or secrets.token_urlsafe(15)
    try:
        user = clinics.create_staff(
            SYSTEM, clinic_id, username, role, password, now=_now()
        )
    except CMError as error:
        raise _fail(error) from None
    click.echo(f"Created {role} {user.username!r} in clinic {clinic_id}.")
    if generated:
        click.echo(f"Password (shown once): {password}")


@cm.command("demo")
@click.option("--participants", "count", type=click.IntRange(1, 500), default=12)
@click.option("--seed", type=int, default=7)
def demo_command(count: int, seed: int) -> None:
    """Load the demo clinic once, and print where and how to log in."""
    secret = current_app.config["DRAW_SECRET"].encode()
    logins = demo.load_demo(
        now=_now(), secret=secret, participants_count=count, seed=seed
    )
    path = Path(current_app.instance_path) / "demo-logins.txt"
    if logins.passwords:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{user}  {pw}" for user, pw in logins.passwords.items()]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        click.echo(f"Loaded the demo clinic (id {logins.clinic_id}).")
    else:
        click.echo(f"The demo clinic is already loaded (id {logins.clinic_id}).")
    if path.exists():
        click.echo("Demo logins (username  password):")
        click.echo(path.read_text().rstrip())


protocol_group = AppGroup("protocol", help="Protocols.")
cm.add_command(protocol_group)


@protocol_group.command("list")
@click.option("--clinic", "clinic_id", type=int, default=None)
def protocol_list(clinic_id: int | None) -> None:
    """List the built-in presets, or a clinic's protocol versions."""
    if clinic_id is None:
        for key in rules.preset_keys():
            spec = rules.load_preset(key)
            click.echo(f"{key:<24} {spec['name']}")
            click.echo(f"{'':<24} source: {spec['source']}")
        return
    for protocol in clinics.protocols_of(clinic_id):
        origin = "preset" if protocol.is_preset else "clinic"
        click.echo(
            f"{protocol.id:>4}  {protocol.key:<24} v{protocol.version}  "
            f"{origin:<6} {protocol.name}"
        )


@cm.command("simulate")
@click.argument("protocol")
@click.option("--outcomes", help='One token per scheduled test: "N N P M E R D".')
@click.option("--cohort", type=click.IntRange(1, 1_000_000), help="Participants.")
@click.option("--p-negative", default="0.6", help="Chance each test is negative.")
@click.option("--seed", type=int, default=7)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--json", "as_json", is_flag=True)
def simulate_command(protocol, outcomes, cohort, p_negative, seed, start, as_json):
    """Simulate a protocol: what a timeline pays, or what a cohort costs."""
    spec = _load_spec(protocol)
    if (outcomes is None) == (cohort is None):
        raise click.UsageError("give exactly one of --outcomes or --cohort")
    try:
        if outcomes is not None:
            day = start.date() if start else None
            result = rules.simulate_outcomes(spec, outcomes, day)
        else:
            result = rules.simulate_cohort(spec, cohort, _probability(p_negative), seed)
    except rules.SimulationError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(rules.format_table(result))


def _load_spec(protocol: str) -> rules.ProtocolSpec:
    try:
        data = (
            json.loads(Path(protocol).read_text())
            if protocol.endswith(".json") or Path(protocol).is_file()
            else rules.load_preset(protocol)
        )
    except KeyError:
        known = ", ".join(rules.preset_keys())
        raise click.UsageError(
            f"unknown protocol {protocol!r}; presets: {known}"
        ) from None
    except (OSError, ValueError) as error:
        raise click.UsageError(f"cannot read {protocol}: {error}") from None
    try:
        return rules.validate_spec(data)
    except rules.SpecError as error:
        lines = "\n".join(f"  {e}" for e in error.errors)
        raise click.UsageError(f"invalid protocol spec:\n{lines}") from None


def _probability(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or not 0 <= value <= 1:
        raise click.UsageError("--p-negative: give a probability between 0 and 1")
    return value


audit_group = AppGroup("audit", help="The audit log.")
cm.add_command(audit_group)


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 at the first broken row."""
    broken = audit.verify()
    if broken is not None:
        click.echo(f"Audit chain broken at row {broken}.", err=True)
        sys.exit(1)
    click.echo("Audit chain intact.")
