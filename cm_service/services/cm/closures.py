"""What keeps people from being punished for the clinic's faults: closures (holidays),
participant pauses (hospital, residential stay) and a clinic's safe mode."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Clinic, ClinicClosure, JobRun, Pause
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import FAR, HORIZON, check_date, check_reason, horizon
from .participants import latest_enrollment
from .timeline import clinic_today


def add_closure(actor: Actor, on: date, reason: str, *, now: datetime) -> ClinicClosure:
    """Close the clinic on a date: its scheduled tests are excused, not missed."""
    actor.require("admin")
    reason = _reason(reason)
    clinic = db.session.get(Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFound("No such clinic.", "clinic")
    today = clinic_today(clinic, now)
    # A closure entered after the fact reaches back a year at most: one older than
    # that excuses tests long settled, and is a mistyped year.
    check_date(
        "closed_on",
        on,
        earliest=today - HORIZON,
        latest=horizon(today),
        too_late=FAR,
    )
    exists = db.session.scalar(
        select(ClinicClosure.id).where(
            ClinicClosure.clinic_id == actor.clinic_id, ClinicClosure.closed_on == on
        )
    )
    if exists:
        raise Conflict("already_closed", f"{on} is already a closure.", "closed_on")
    closure = ClinicClosure(
        clinic_id=actor.clinic_id,
        closed_on=on,
        reason=reason,
        created_by_id=actor.user_id,
        created_at=now,
    )
    db.session.add(closure)
    db.session.flush()
    audit.append(
        actor,
        "add_closure",
        "clinic_closure",
        closure.id,
        now=now,
        detail={"on": on.isoformat(), "reason": reason},
    )
    db.session.commit()
    return closure


def pause_participant(
    actor: Actor,
    participant_id: int,
    starts_on: date,
    ends_on: date | None,
    reason: str,
    *,
    now: datetime,
) -> Pause:
    """Pause a participant's enrollment: scheduled tests in the pause are excused."""
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    enrollment = latest_enrollment(participant.id)
    if enrollment is None or enrollment.status != "active":
        raise InvalidInput("participant", f"{participant.code} is not enrolled.")
    reason = _reason(reason)
    if not isinstance(starts_on, date):
        raise InvalidInput("starts_on", "Enter the start date as YYYY-MM-DD.")
    latest = horizon(clinic_today(participant.clinic, now))
    # A pause excuses tests of this enrollment only: it cannot start before it.
    check_date(
        "starts_on",
        starts_on,
        earliest=enrollment.start_on,
        latest=latest,
        too_late=FAR,
    )
    if ends_on is not None:
        if not isinstance(ends_on, date) or ends_on < starts_on:
            raise InvalidInput(
                "ends_on", "The end date must not precede the start date."
            )
        check_date("ends_on", ends_on, latest=latest, too_late=FAR)
    pause = Pause(
        enrollment_id=enrollment.id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        created_by_id=actor.user_id,
        created_at=now,
    )
    db.session.add(pause)
    db.session.flush()
    audit.append(
        actor,
        "pause",
        "pause",
        pause.id,
        now=now,
        participant_id=participant.id,
        detail={
            "from": starts_on.isoformat(),
            "to": ends_on.isoformat() if ends_on else None,
        },
    )
    db.session.commit()
    return pause


def set_safe_mode(actor: Actor, on: bool, *, now: datetime) -> Clinic:
    """Switch safe mode: while on, the nightly job records nothing as missed."""
    actor.require("admin")
    clinic = db.session.get_one(Clinic, actor.clinic_id)
    clinic.safe_mode = bool(on)
    audit.append(
        actor, "safe_mode_on" if on else "safe_mode_off", "clinic", clinic.id, now=now
    )
    db.session.commit()
    return clinic


def release_held_day(actor: Actor, day: date, *, now: datetime) -> JobRun:
    """After review, let the nightly job close a day held in safe mode (add a closure
    first if the outage should excuse it). The next tick runs it."""
    actor.require("admin")
    run = db.session.scalars(
        select(JobRun).where(
            JobRun.clinic_id == actor.clinic_id,
            JobRun.run_on == day,
            JobRun.status == "held",
        )
    ).first()
    if run is None:
        raise NotFound(f"No held night on {day}.", "day")
    clinic = db.session.get_one(Clinic, actor.clinic_id)
    if clinic.safe_mode:
        raise Conflict("safe_mode_on", "Switch safe mode off before releasing days.")
    run.status = "failed"  # picked up again by the next tick, like any failed run
    run.error = "released for review by an admin"
    audit.append(
        actor,
        "release_held_day",
        "job_run",
        run.id,
        now=now,
        detail={"day": day.isoformat()},
    )
    db.session.commit()
    return run


def _reason(reason: str) -> str:
    # Refused past REASON_MAX rather than cut: what is stored is what was typed.
    return check_reason(reason, "Give the reason.")
