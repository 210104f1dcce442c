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
from werkzeug.serving import run_simple

from . import clock, rules
from .extensions import db
from .scheduler import build_scheduler
from .services.access import audit
from .services.access.actors import SYSTEM
from .services.admin import clinics, demo
from .services.cm import nightly
from .services.errors import CMError
from .services.validation import MAX_DEPTH, too_deep

cm = AppGroup("cm", help="cm-service operations.")


def init_app(app: Flask) -> None:
    from .commands.backup import backup
    from .commands.tokens import import_results, token

    cm.add_command(token)
    cm.add_command(import_results)
    cm.add_command(backup)
    app.cli.add_command(cm)


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
        clinic = clinics.create_clinic(SYSTEM, name, tz, now=clock.now())
    except CMError as error:
        raise _fail(error) from None
    click.echo(f"Created clinic {clinic.name!r} ({clinic.timezone}) with the presets.")
    click.echo(f"Portal login (on participants' cards): /me/{clinic.portal_slug}/login")
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
            SYSTEM, clinic_id, username, role, password, now=clock.now()
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
        now=clock.now(), secret=secret, participants_count=count, seed=seed
    )
    path = Path(current_app.instance_path) / "demo-logins.txt"
    if logins.passwords:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{user}  {pw}" for user, pw in logins.passwords.items()]
        for code, pin, shows in logins.portal_logins:
            lines.append(f"Portal: {logins.portal}  code {code}  PIN {pin}  ({shows})")
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        click.echo(f"Loaded the demo clinic (id {logins.clinic_id}).")
    else:
        click.echo(f"The demo clinic is already loaded (id {logins.clinic_id}).")
    if path.exists():
        click.echo("Demo logins (username  password; the portal: link, code, PIN):")
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
    day = start.date() if start else None
    try:
        if outcomes is not None:
            result = rules.simulate_outcomes(spec, outcomes, day)
        else:
            result = rules.simulate_cohort(
                spec, cohort, _probability(p_negative), seed, day
            )
    except rules.SimulationError as error:
        raise click.UsageError(f"{error.field}: {error.message}") from None
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(rules.format_table(result))


def _load_spec(protocol: str) -> rules.ProtocolSpec:
    try:
        data = (
            _read_json(Path(protocol))
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


def _read_json(path: Path) -> object:
    text = path.read_text()
    # json.loads recurses once per level: refuse deep nesting before it runs.
    if too_deep(text) is not None:
        raise ValueError(f"it nests more than {MAX_DEPTH} levels deep")
    return json.loads(text)


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


def _anchor(_ctx, _param, value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise click.BadParameter("give the anchor as SEQ:DIGEST (from cm audit anchor)")
    return int(seq), digest


@audit_group.command("verify")
@click.option(
    "--anchor",
    callback=_anchor,
    help="SEQ:DIGEST printed by `cm audit anchor`: also detects deleted rows.",
)
def audit_verify(anchor: tuple[int, str] | None) -> None:
    """Check the audit log's keyed hash chain; exit 1 where it is broken."""
    broken = audit.check(anchor)
    if broken is not None:
        click.echo(broken.reason, err=True)
        sys.exit(1)
    click.echo("Audit chain intact.")


@audit_group.command("anchor")
def audit_anchor() -> None:
    """Print the chain's head as SEQ:DIGEST, to keep outside the database."""
    head = audit.anchor()
    if head is None:
        click.echo("The audit log is empty.", err=True)
        sys.exit(1)
    click.echo(f"{head[0]}:{head[1]}")


@cm.command("nightly")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--clinic", "clinic_id", type=int, default=None, help="One clinic's id.")
@click.option("--catch-up", is_flag=True, help="Every closed date not yet run.")
def nightly_command(day, clinic_id: int | None, catch_up: bool) -> None:
    """Run the nightly job for one clinic-local date, or catch up on all due dates."""
    if (day is None) == (not catch_up):
        raise click.UsageError("give exactly one of --date or --catch-up")
    now = clock.now()
    if catch_up:
        _catch_up(now, clinic_id)
        return
    for clinic in nightly.clinics_to_run(clinic_id):
        try:
            outcome = nightly.run_nightly(clinic.id, day.date(), now=now)
        except CMError as error:
            raise _fail(error) from None
        _echo_outcome(outcome)


def _catch_up(now: datetime, clinic_id: int | None) -> None:
    due = sum(len(nightly.due_dates(c, now)) for c in nightly.clinics_to_run(clinic_id))
    outcomes: list[nightly.RunOutcome] = []
    with click.progressbar(length=due, label="Closing days", file=sys.stderr) as bar:
        outcomes = nightly.run_due(
            now,
            clinic_id=clinic_id,
            limit=max(due, 1),
            progress=lambda _: bar.update(1),
        )
    for outcome in outcomes:
        _echo_outcome(outcome)
    checks = nightly.reconcile_due(now, clinic_id=clinic_id)
    differences = sum(o.counts.reconcile_differences for o in checks)
    failed = sum(1 for o in outcomes + checks if o.status == "failed")
    click.echo(
        f"{len(outcomes)} date(s) processed, {len(checks)} reconciliation slice(s) "
        f"run ({differences} enrollment(s) needed a correction), {failed} failed."
    )
    if failed:
        sys.exit(1)


def _echo_outcome(outcome: nightly.RunOutcome) -> None:
    c = outcome.counts
    click.echo(
        f"clinic {outcome.clinic_id} {outcome.day}: {outcome.status} "
        f"(missed {c.missed}, excused {c.excused}, held {c.held}, "
        f"settled {c.settled}, awards {c.awards_posted}, points {c.points}, "
        f"draws {c.draws}, completed {c.completed})"
    )


@cm.command("reconcile")
def reconcile_command() -> None:
    """Re-settle every enrollment and report anything that had to be posted."""
    total = nightly.enrollment_count()
    with click.progressbar(length=total, label="Reconciling", file=sys.stderr) as bar:
        result = nightly.reconcile_all(clock.now(), progress=bar.update)
    click.echo(
        f"{result.get('enrollments', 0)} enrollments checked; "
        f"{result.get('entries', 0)} differences posted "
        f"({result.get('points', 0)} points); "
        f"{result.get('standings', 0)} kept standings differed and were replaced."
    )


@cm.command("scheduler")
def scheduler_command() -> None:
    """Run the one job process: the nightly catch-up every 15 minutes (UTC), the
    evening reminders and the reminder outbox every minute."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = build_scheduler(
        current_app._get_current_object(), BlockingScheduler(timezone=UTC)
    )
    click.echo("Scheduler running; Ctrl-C to stop.")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


@cm.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", type=int, default=5000)
def serve_command(host: str, port: int) -> None:
    """Development server with the scheduler inline, in this one process (no
    reloader, so the jobs never start twice)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    app = current_app._get_current_object()
    scheduler = build_scheduler(app, BackgroundScheduler(timezone=UTC))
    scheduler.start()
    try:
        # Flask ignores app.run() inside a `flask` command; serve with Werkzeug.
        run_simple(host, port, app, use_reloader=False, threaded=True)
    finally:
        scheduler.shutdown(wait=False)
