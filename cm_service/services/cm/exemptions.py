"""Prescribed-medication exemptions added or ended after enrolment.

An exemption makes a positive for its analyte on a day in [starts_on, ends_on] count
as negative. Adding or ending one changes what earlier days earned, so each use case
settles the enrollment in its own transaction, with its audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from ...extensions import db
from ...models import Enrollment, Exemption, LedgerEntry, Participant
from ...rules.substances import substance_label
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import FAR, check_date, check_text, horizon
from .checkins import ANALYTES
from .ledger import settle
from .participants import MEDICATION_MAX
from .timeline import clinic_today

# No exemption date further than a year from the clinic's today (validation.HORIZON):
# a later one is a mistyped year (an open-ended prescription has no end date, and is
# ended later).


@dataclass(frozen=True)
class ExemptionChange:
    """The exemption as it now stands and what settling after the change posted."""

    exemption: Exemption
    posted: list[LedgerEntry]


def add_exemption(
    actor: Actor,
    participant_id: int,
    analyte: str,
    medication: str,
    starts_on: date,
    *,
    now: datetime,
    ends_on: date | None = None,
    prescriber: str | None = None,
) -> ExemptionChange:
    """Exempt `analyte` from `starts_on` (to `ends_on`, if given) in the participant's
    active enrollment, then settle it.

    Raises NotFound outside the actor's clinic, Forbidden for auditors,
    Conflict("not_enrolled") without an active enrollment, InvalidInput(field) for
    bad values and Conflict("exemption_overlaps", field="starts_on") when the
    analyte is already exempt on some of those days.
    """
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    enrollment = _active_enrollment(participant)
    today = clinic_today(participant.clinic, now)
    analyte = analyte.strip().lower() if isinstance(analyte, str) else ""
    if analyte not in ANALYTES:
        raise InvalidInput("analyte", "Choose the exempt substance from the panel.")
    medication = check_text("medication", medication, max_length=MEDICATION_MAX)
    if not medication:
        raise InvalidInput("medication", "Name the prescribed medication.")
    prescriber = check_text("prescriber", prescriber, max_length=MEDICATION_MAX) or None
    _check_day("starts_on", starts_on, today)
    if starts_on < enrollment.start_on:
        raise InvalidInput(
            "starts_on",
            "The exemption cannot start before the enrollment "
            f"({enrollment.start_on.isoformat()}).",
        )
    if ends_on is not None:
        _check_end(ends_on, starts_on, today)
    _refuse_overlap(enrollment, analyte, starts_on, ends_on)
    exemption = Exemption(
        enrollment_id=enrollment.id,
        analyte=analyte,
        medication=medication,
        prescriber=prescriber,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    db.session.add(exemption)
    db.session.flush()
    detail = {
        "analyte": analyte,
        "medication": medication,
        "prescriber": prescriber,
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on and ends_on.isoformat(),
    }
    return _settle_and_commit(
        actor, participant, enrollment, exemption, now, "add_exemption", detail
    )


def end_exemption(
    actor: Actor,
    participant_id: int,
    exemption_id: int,
    ends_on: date,
    *,
    now: datetime,
) -> ExemptionChange:
    """Make `ends_on` the last exempt day of an exemption still in force, then settle
    (a positive after it counts again). The audit row keeps the end before and after.

    Raises NotFound outside the actor's clinic or for another participant's
    exemption, Forbidden for auditors, InvalidInput("ends_on") for a bad date and
    Conflict("exemption_ended") for an exemption that has already ended.
    """
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    exemption = _exemption_of(participant, exemption_id)
    enrollment = db.session.get_one(Enrollment, exemption.enrollment_id)
    today = clinic_today(participant.clinic, now)
    if exemption.ends_on is not None and exemption.ends_on < today:
        raise Conflict(
            "exemption_ended",
            f"This exemption ended on {exemption.ends_on.isoformat()}.",
            "ends_on",
        )
    _check_end(ends_on, exemption.starts_on, today)
    before = exemption.ends_on
    exemption.ends_on = ends_on
    db.session.flush()
    detail = {
        "analyte": exemption.analyte,
        "ends_on": {
            "before": before and before.isoformat(),
            "after": ends_on.isoformat(),
        },
    }
    return _settle_and_commit(
        actor, participant, enrollment, exemption, now, "end_exemption", detail
    )


def _settle_and_commit(
    actor: Actor,
    participant: Participant,
    enrollment: Enrollment,
    exemption: Exemption,
    now: datetime,
    action: str,
    detail: dict[str, Any],
) -> ExemptionChange:
    posted = settle(enrollment, now=now, actor_id=actor.user_id)
    audit.append(
        actor,
        action,
        "exemption",
        exemption.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={**detail, "posted": [[e.award_key, e.amount] for e in posted]},
    )
    db.session.commit()
    return ExemptionChange(exemption, posted)


def _active_enrollment(participant: Participant) -> Enrollment:
    enrollment = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.participant_id == participant.id,
            Enrollment.status == "active",
        )
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    ).first()
    if enrollment is None:
        raise Conflict("not_enrolled", f"{participant.code} has no active enrollment.")
    return enrollment


def _exemption_of(participant: Participant, exemption_id: int) -> Exemption:
    exemption = (
        db.session.get(Exemption, exemption_id)
        if isinstance(exemption_id, int) and 0 < exemption_id < 2**31
        else None
    )
    if exemption is None or exemption.enrollment.participant_id != participant.id:
        raise NotFound("No such exemption.", "exemption")
    return exemption


def _check_day(field: str, day: object, today: date) -> None:
    check_date(field, day, latest=horizon(today), too_late=FAR)


def _check_end(ends_on: object, starts_on: date, today: date) -> None:
    if not isinstance(ends_on, date) or isinstance(ends_on, datetime):
        raise InvalidInput("ends_on", "Enter the date as YYYY-MM-DD.")
    if ends_on < starts_on:
        raise InvalidInput("ends_on", "The end date cannot come before the start date.")
    check_date("ends_on", ends_on, latest=horizon(today), too_late=FAR)


def _refuse_overlap(
    enrollment: Enrollment, analyte: str, starts_on: date, ends_on: date | None
) -> None:
    for other in db.session.scalars(
        select(Exemption).where(
            Exemption.enrollment_id == enrollment.id, Exemption.analyte == analyte
        )
    ):
        if (other.ends_on is None or starts_on <= other.ends_on) and (
            ends_on is None or other.starts_on <= ends_on
        ):
            until = f" to {other.ends_on.isoformat()}" if other.ends_on else ""
            raise Conflict(
                "exemption_overlaps",
                f"{substance_label(analyte)} is already exempt from "
                f"{other.starts_on.isoformat()}"
                f"{until} ({other.medication}): end that exemption first.",
                "starts_on",
            )


def exemption_of(actor: Actor, participant_id: int, exemption_id: int) -> Exemption:
    """One of the participant's exemptions, if the actor may see the participant;
    NotFound otherwise (also for another participant's or clinic's exemption)."""
    actor.require("admin", "staff", "auditor")
    return _exemption_of(get_participant(actor, participant_id), exemption_id)
