"""Participants and their enrollments on protocol versions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ... import rules
from ...extensions import db
from ...models import (
    Clinic,
    Enrollment,
    Event,
    EventVoid,
    Exemption,
    LedgerEntry,
    Participant,
    Protocol,
)
from ...rules.substances import substance_words
from ..access import audit
from ..access.actors import Actor
from ..access.passwords import PIN_PATTERN as PIN_PATTERN  # the portal reads it here
from ..access.passwords import check_pin, hash_secret
from ..access.scope import get_participant
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import FAR, check_date, check_text, horizon
from .checkins import ANALYTES
from .evaluation import evaluate_enrollment, standing
from .ledger import Balance, balance_of
from .timeline import Timeline, clinic_today, load_timelines

# ASCII only and anchored with \Z: `$` would take a trailing newline.
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9-]{1,38}\Z")
FAR_START = "The start date is more than a year from today: check the year."
# The column widths of Participant.display_name and Exemption.medication/prescriber.
DISPLAY_NAME_MAX = MEDICATION_MAX = 120
MAX_PHASE = 52  # phase indexes are weeks at most; anything larger is a typo


def participant_with_code(clinic_id: int | None, code: str) -> Participant | None:
    """The clinic's participant with this code, typed in any case and with spaces
    around it, or None: the one lookup by code (the API, the register form and
    operations all use it)."""
    code = code.strip().upper()
    if not CODE_PATTERN.match(code):
        return None  # text no code can be (a NUL, 10,000 characters): not looked up
    return db.session.scalars(
        select(Participant).where(
            Participant.clinic_id == clinic_id, Participant.code == code
        )
    ).first()


def participant_by_code(actor: Actor, code: str) -> Participant:
    """The actor's clinic's participant with this code (case-insensitive).

    Raises NotFound for unknown codes and for codes registered in another clinic.
    """
    participant = participant_with_code(actor.clinic_id, code)
    if participant is None:
        raise NotFound("No such participant.", "code")
    return participant


def register_participant(
    actor: Actor,
    clinic_id: int,
    code: str,
    *,
    now: datetime,
    display_name: str | None = None,
    pin: str | None = None,
) -> Participant:
    """Register a participant under a pseudonymous code (e.g. P-0042)."""
    actor.require("admin", "staff")
    if not actor.may_see_clinic(clinic_id):
        raise NotFound("No such clinic.", "clinic")
    code = check_text("code", code, max_length=40).upper()
    if not CODE_PATTERN.match(code):
        raise InvalidInput("code", "Use 2-40 letters, digits or dashes, e.g. P-0042.")
    display_name = (
        check_text("display_name", display_name, max_length=DISPLAY_NAME_MAX) or None
    )
    if pin is not None:
        check_pin(pin)
    if participant_with_code(clinic_id, code) is not None:
        raise Conflict("code_taken", f"{code} is already registered.", "code")
    participant = Participant(
        clinic_id=clinic_id,
        code=code,
        display_name=display_name,
        pin_hash=hash_secret(pin) if pin else None,
        created_at=now,
    )
    db.session.add(participant)
    db.session.flush()
    audit.append(
        actor,
        "register_participant",
        "participant",
        participant.id,
        now=now,
        clinic_id=clinic_id,
        participant_id=participant.id,
        detail={"code": code},
    )
    db.session.commit()
    return participant


def enroll(
    actor: Actor,
    participant_id: int,
    protocol_id: int,
    start_on: date,
    *,
    now: datetime,
    testing_days: Mapping[int, Sequence[int]] | None = None,
    targets: Sequence[str] | None = None,
    exemptions: Sequence[Mapping[str, object]] = (),
) -> Enrollment:
    """Enrol a participant on a protocol version, pinned for the whole enrollment.

    `exemptions`: [{"analyte", "medication", "prescriber"?, "starts_on", "ends_on"?}].
    """
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    protocol = (
        db.session.get(Protocol, protocol_id)
        if isinstance(protocol_id, int) and 0 < protocol_id < 2**31
        else None
    )
    if protocol is None or protocol.clinic_id != participant.clinic_id:
        raise InvalidInput("protocol", "Choose one of this clinic's protocols.")
    if not isinstance(start_on, date) or isinstance(start_on, datetime):
        raise InvalidInput("start_on", "Enter the start date as YYYY-MM-DD.")
    # A start past the horizon (year 9999) would break every read of the enrollment.
    latest = horizon(clinic_today(participant.clinic, now))
    check_date("start_on", start_on, latest=latest, too_late=FAR_START)
    # Every field is checked before the state and before anything is written: a
    # bad exemption leaves no enrollment, and a bad field is named as such.
    prescriptions = [
        _exemption(None, i, item, latest) for i, item in enumerate(exemptions)
    ]
    days, chosen = _clean_testing_days(testing_days), _clean_targets(targets)
    if _active_enrollment(participant.id) is not None:
        raise Conflict(
            "already_enrolled",
            f"{participant.code} is already enrolled.",
            "participant",
        )
    enrollment = Enrollment(
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        protocol_id=protocol.id,
        start_on=start_on,
        status="active",
        testing_days=days,
        targets=chosen,
        created_at=now,
    )
    db.session.add(enrollment)
    db.session.flush()
    for prescription in prescriptions:
        prescription.enrollment_id = enrollment.id
        db.session.add(prescription)
    audit.append(
        actor,
        "enroll",
        "enrollment",
        enrollment.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={
            "protocol": f"{protocol.key} v{protocol.version}",
            "start_on": start_on.isoformat(),
        },
    )
    db.session.commit()
    return enrollment


def end_enrollment(
    actor: Actor, participant_id: int, status: str, ends_on: date, *, now: datetime
) -> Enrollment:
    """Discharge or complete the participant's active enrollment as of `ends_on`.

    No award is made for a day after a discharge. Raises NotFound outside the
    clinic, InvalidInput("status" | "ends_on"), Conflict("not_enrolled").
    """
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    if status not in ("discharged", "completed"):
        raise InvalidInput("status", "Choose discharged or completed.")
    enrollment = _active_enrollment(participant.id)
    if enrollment is None:
        raise Conflict("not_enrolled", f"{participant.code} has no active enrollment.")
    if not isinstance(ends_on, date) or ends_on < enrollment.start_on:
        raise InvalidInput("ends_on", "The end date must follow the start date.")
    if ends_on > clinic_today(participant.clinic, now):
        raise InvalidInput("ends_on", "The end date cannot be in the future.")
    enrollment.status, enrollment.ends_on = status, ends_on
    audit.append(
        actor,
        "complete_enrollment" if status == "completed" else "discharge_enrollment",
        "enrollment",
        enrollment.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={"status": status, "ends_on": ends_on.isoformat()},
    )
    db.session.commit()
    return enrollment


def _active_enrollment(participant_id: int) -> Enrollment | None:
    return db.session.scalars(
        select(Enrollment).where(
            Enrollment.participant_id == participant_id, Enrollment.status == "active"
        )
    ).first()


def _clean_testing_days(
    days: Mapping[int, Sequence[int]] | None,
) -> dict[str, list[int]]:
    if days is not None and not isinstance(days, Mapping):
        raise InvalidInput("testing_days", "Expected phases and weekdays: {0: [0, 3]}.")
    clean: dict[str, list[int]] = {}
    for phase, weekdays in (days or {}).items():
        index = _phase_index(phase)
        if index is None:
            raise InvalidInput(
                f"testing_days.{phase}", f"Phases are numbered 0 to {MAX_PHASE}."
            )
        if isinstance(weekdays, str | bytes) or not isinstance(weekdays, Sequence):
            raise InvalidInput("testing_days", "Choose at least one weekday.")
        if not weekdays or any(
            isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6
            for d in weekdays
        ):
            raise InvalidInput("testing_days", "Choose at least one weekday.")
        clean[str(index)] = sorted(set(weekdays))
    return clean


def _phase_index(phase: object) -> int | None:
    if isinstance(phase, str) and phase.isascii() and phase.isdigit():
        phase = int(phase) if len(phase) <= 3 else None
    if isinstance(phase, bool) or not isinstance(phase, int):
        return None
    return phase if 0 <= phase <= MAX_PHASE else None


def _clean_targets(targets: Sequence[str] | None) -> list[str] | None:
    if targets is None:
        return None
    if (
        isinstance(targets, str)
        or not isinstance(targets, Sequence)
        or not all(isinstance(t, str) for t in targets)
    ):
        raise InvalidInput("targets", "Choose target substances from the panel.")
    clean = sorted({t.strip().lower() for t in targets})
    if not clean or any(t not in ANALYTES for t in clean):
        raise InvalidInput("targets", "Choose target substances from the panel.")
    return clean


def _exemption(
    enrollment_id: int | None, index: int, item: Mapping[str, object], latest: date
) -> Exemption:
    field = f"exemptions[{index}]"
    if not isinstance(item, Mapping):
        raise InvalidInput(field, "Expected an exemption.")
    analyte = item.get("analyte")
    analyte = analyte.strip().lower() if isinstance(analyte, str) else ""
    if analyte not in ANALYTES:
        raise InvalidInput(
            f"{field}.analyte", "Choose the exempt substance from the panel."
        )
    medication = check_text(
        f"{field}.medication", item.get("medication"), max_length=MEDICATION_MAX
    )
    if not medication:
        raise InvalidInput(f"{field}.medication", "Name the prescribed medication.")
    prescriber = check_text(
        f"{field}.prescriber", item.get("prescriber"), max_length=MEDICATION_MAX
    )
    starts_on, ends_on = item.get("starts_on"), item.get("ends_on")
    if not isinstance(starts_on, date) or isinstance(starts_on, datetime):
        raise InvalidInput(f"{field}.starts_on", "Enter the start date as YYYY-MM-DD.")
    if ends_on is not None and (
        not isinstance(ends_on, date)
        or isinstance(ends_on, datetime)
        or ends_on < starts_on
    ):
        raise InvalidInput(
            f"{field}.ends_on", "The end date must follow the start date."
        )
    check_date(f"{field}.starts_on", starts_on, latest=latest, too_late=FAR)
    if ends_on is not None:
        check_date(f"{field}.ends_on", ends_on, latest=latest, too_late=FAR)
    return Exemption(
        enrollment_id=enrollment_id,
        analyte=analyte,
        medication=medication,
        prescriber=prescriber or None,
        starts_on=starts_on,
        ends_on=ends_on,
    )


@dataclass(frozen=True)
class ParticipantRecord:
    """Everything the participant page shows, read in one use case."""

    participant: Participant
    enrollment: Enrollment | None
    evaluation: rules.Evaluation | None
    entries: list[LedgerEntry]
    balance: Balance
    today: date
    # The enrollment's prescribed-medication exemptions, ended ones too.
    exemptions: tuple[Exemption, ...] = ()


def view_participant(
    actor: Actor, participant_id: int, *, now: datetime
) -> ParticipantRecord:
    """Read a participant's record for staff; writes the audit 'view' row (HIPAA)."""
    record = participant_record(actor, participant_id, now=now)
    audit.append(
        actor,
        "view_participant",
        "participant",
        record.participant.id,
        now=now,
        clinic_id=record.participant.clinic_id,
        participant_id=record.participant.id,
    )
    db.session.commit()
    return record


def participant_record(
    actor: Actor, participant_id: int, *, now: datetime
) -> ParticipantRecord:
    """The same read without the audit row: for the record the actor is looking at,
    shown again with a form's errors (which must write nothing)."""
    actor.require("admin", "staff", "auditor")
    participant = get_participant(actor, participant_id)
    today = clinic_today(participant.clinic, now)
    enrollment = latest_enrollment(participant.id)
    evaluation = evaluate_enrollment(enrollment, today) if enrollment else None
    entries = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.participant_id == participant.id)
            .order_by(LedgerEntry.posted_at.desc(), LedgerEntry.id.desc())
        )
    )
    return ParticipantRecord(
        participant,
        enrollment,
        evaluation,
        entries,
        balance_of(participant.id),
        today,
        exemptions_of(enrollment),
    )


def exemptions_of(enrollment: Enrollment | None) -> tuple[Exemption, ...]:
    """The enrollment's exemptions, ended ones too, oldest first (read afresh: a
    relationship loaded earlier in the session would miss one just added)."""
    if enrollment is None:
        return ()
    return tuple(
        db.session.scalars(
            select(Exemption)
            .where(Exemption.enrollment_id == enrollment.id)
            .order_by(Exemption.starts_on, Exemption.id)
        )
    )


@dataclass(frozen=True)
class BalanceRecord:
    """A participant's balance and standing, as the API's balance shows them."""

    participant: Participant
    balance: Balance
    evaluation: rules.Standing | None


def view_balance(actor: Actor, participant_id: int, *, now: datetime) -> BalanceRecord:
    """Read a participant's balance and standing; writes the audit 'view_balance' row,
    since it is a view of the participant's record (HIPAA).

    Raises NotFound outside the actor's clinic (also for ids that exist elsewhere).
    """
    actor.require("admin", "staff", "auditor")
    participant = get_participant(actor, participant_id)
    enrollment = latest_enrollment(participant.id)
    evaluation = None
    if enrollment is not None:
        today = clinic_today(participant.clinic, now)
        evaluation = standing(enrollment, today)
    balance = balance_of(participant.id)
    audit.append(
        actor,
        "view_balance",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
    )
    db.session.commit()
    return BalanceRecord(participant, balance, evaluation)


def latest_enrollment(participant_id: int) -> Enrollment | None:
    return db.session.scalars(
        select(Enrollment)
        .where(Enrollment.participant_id == participant_id)
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    ).first()


@dataclass(frozen=True)
class LastResult:
    """A participant's latest verified specimen or breath test, in words."""

    on: date
    words: str  # "negative", "refused", "cocaine positive, PCP dilute"
    negative: bool


@dataclass(frozen=True)
class ParticipantRow:
    participant: Participant
    enrollment: Enrollment | None
    balance: Balance
    next_test: date | None = None  # the next scheduled test not yet given
    last_result: LastResult | None = None


# How far ahead the list looks for a participant's next scheduled test.
NEXT_TEST_DAYS = 28


def list_participants(
    actor: Actor, *, today: date | None = None
) -> list[ParticipantRow]:
    """The actor's clinic's participants with their balances, latest enrollment,
    next scheduled test (from `today`) and last result; no audit row
    (view_participant_list is the staff page's read). A few set-based queries
    whatever the number of participants: no fold, no query per row."""
    actor.require("admin", "staff", "auditor")
    people = list(
        db.session.scalars(
            select(Participant)
            .where(Participant.clinic_id == actor.clinic_id)
            .order_by(Participant.code)
        )
    )
    latest = _latest_enrollments(actor.clinic_id)
    balances = _balances(actor.clinic_id)
    results = _last_results(actor.clinic_id)
    active = [e for e in latest.values() if e.status == "active"]
    timelines = load_timelines(active, with_events=False) if active else {}
    rows = []
    for person in people:
        enrollment = latest.get(person.id)
        last = results.get(person.id)
        timeline = timelines.get(enrollment.id) if enrollment is not None else None
        rows.append(
            ParticipantRow(
                person,
                enrollment,
                balances.get(person.id, Balance(0, 0, 0)),
                _next_test(timeline, last, today) if timeline and today else None,
                last,
            )
        )
    return rows


def _latest_enrollments(clinic_id: int | None) -> dict[int, Enrollment]:
    """Each participant's latest enrollment (as latest_enrollment picks it)."""
    found: dict[int, Enrollment] = {}
    for enrollment in db.session.scalars(
        select(Enrollment)
        .options(selectinload(Enrollment.protocol))
        .where(Enrollment.clinic_id == clinic_id)
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    ):
        found.setdefault(enrollment.participant_id, enrollment)
    return found


def _balances(clinic_id: int | None) -> dict[int, Balance]:
    """Every participant's balance, as balance_of sums it, in one query."""
    sums: dict[int, dict[str, tuple[int, int]]] = {}
    for participant_id, account, amount, cents in db.session.execute(
        select(
            LedgerEntry.participant_id,
            LedgerEntry.account,
            func.sum(LedgerEntry.amount),
            func.sum(LedgerEntry.cents),
        )
        .join(Participant, Participant.id == LedgerEntry.participant_id)
        .where(Participant.clinic_id == clinic_id)
        .group_by(LedgerEntry.participant_id, LedgerEntry.account)
    ):
        sums.setdefault(participant_id, {})[account] = (int(amount), int(cents))
    return {
        pid: Balance(
            points=found.get("points", (0, 0))[0],
            cents=found.get("points", (0, 0))[1],
            draws=found.get("draws", (0, 0))[0],
        )
        for pid, found in sums.items()
    }


def _last_results(clinic_id: int | None) -> dict[int, LastResult]:
    """Each participant's latest verified, unvoided specimen or breath test."""
    ranked = (
        select(
            Event.id,
            func.row_number()
            .over(
                partition_by=Event.participant_id,
                order_by=(Event.collected_on.desc(), Event.id.desc()),
            )
            .label("rank"),
        )
        .outerjoin(EventVoid, EventVoid.event_id == Event.id)
        .where(
            Event.clinic_id == clinic_id,
            Event.kind.in_(("specimen", "breath")),
            Event.verified_at.is_not(None),
            EventVoid.id.is_(None),
        )
        .subquery()
    )
    latest = db.session.scalars(
        select(Event).join(ranked, ranked.c.id == Event.id).where(ranked.c.rank == 1)
    )
    return {event.participant_id: _result_of(event) for event in latest}


def _result_of(event: Event) -> LastResult:
    if event.refused:
        return LastResult(event.collected_on, "refused", False)
    odd = [(a, r) for a, r in sorted(event.results.items()) if r != "negative"]
    if not odd:
        return LastResult(event.collected_on, "negative", True)
    words = ", ".join(f"{substance_words(a)} {r}" for a, r in odd)
    return LastResult(event.collected_on, words, False)


def _next_test(timeline: Timeline, last: LastResult | None, today: date) -> date | None:
    """The first scheduled test day from `today` on that has no result yet (today's
    test, once given, moves it on)."""
    first = today + timedelta(days=1) if last and last.on >= today else today
    days = rules.scheduled_days(
        timeline.spec, timeline.facts, first, first + timedelta(days=NEXT_TEST_DAYS)
    )
    return days[0] if days else None


def view_participant_list(actor: Actor, *, now: datetime) -> list[ParticipantRow]:
    """list_participants as staff open the list: it shows every participant's
    balance, so it writes the audit "list_participants" row on the clinic, with the
    number listed (no codes: the row would grow with the clinic)."""
    clinic = db.session.get_one(Clinic, actor.clinic_id)
    rows = list_participants(actor, today=clinic_today(clinic, now))
    audit.append(
        actor,
        "list_participants",
        "clinic",
        actor.clinic_id,
        now=now,
        clinic_id=actor.clinic_id,
        detail={"count": len(rows)},
    )
    db.session.commit()
    return rows


# -- portal access -------------------------------------------------------------------

LANGUAGES = ("en", "es")  # the portal's languages (services.reads.portal.LANGUAGES)


def set_pin(actor: Actor, participant_id: int, pin: str, *, now: datetime) -> None:
    """Set or reset the participant's portal PIN (check_pin's rules). Ends every
    portal session of the participant, copies included, by bumping session_version.
    Audited as "set_pin", never with the PIN."""
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    check_pin(pin)
    participant.pin_hash = hash_secret(pin)
    participant.session_version = (participant.session_version or 0) + 1
    audit.append(
        actor,
        "set_pin",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
    )
    db.session.commit()


def set_language(
    actor: Actor, participant_id: int, language: str, *, now: datetime
) -> Participant:
    """Set the participant's portal language ("en" or "es"); audited."""
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    if language not in LANGUAGES:
        raise InvalidInput("language", "Choose English or Spanish.")
    before = participant.language
    if before == language:
        return participant
    participant.language = language
    audit.append(
        actor,
        "set_language",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={"from": before, "to": language},
    )
    db.session.commit()
    return participant
