"""Recording what happened at a visit: specimens, breath tests, attendance, excuses,
missed days, and voiding a wrong record. Each records, settles at once and commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ... import rules
from ...extensions import db
from ...models import (
    VERIFICATIONS,
    Appointment,
    Enrollment,
    Event,
    EventVoid,
    LedgerEntry,
    Participant,
)
from ...rules.breath import BRAC_OUT_OF_RANGE, brac_in_range, brac_result
from ...rules.facts import RESULT_VALUES
from ...transactions import reading
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import REASON_MAX, check_date, check_reason, check_text
from .evaluation import standing
from .events import add_event
from .ledger import Balance, balance_of, settle_explained
from .timeline import clinic_today, load_timelines, to_facts

# A check-in form's nonce (uuid4().hex when the form is shown); anchored at the end
# too, so the form's Regexp validator (re.match) checks exactly what this does.
NONCE = re.compile(r"[0-9a-f]{32}\Z")
# Panels clinics use; results for other names are refused so typos cannot go unpaid.
ANALYTES = (
    "cocaine",
    "amphetamine",
    "methamphetamine",
    "mdma",
    "opiates",
    "morphine",
    "heroin",
    "oxycodone",
    "fentanyl",
    "buprenorphine",
    "methadone",
    "tramadol",
    "benzodiazepines",
    "barbiturates",
    "cannabis",
    "pcp",
    "alcohol",
    "etg",
    "nicotine",
)
RESULTS = RESULT_VALUES
SESSION_TYPES = ("individual", "group", "cbt", "family", "twelve_step", "other")
# Meetings held elsewhere: attendance there is confirmed by a slip, a call or a note.
OFF_SITE_TYPES = ("twelve_step",)
REFUSED_WITH_RESULTS = (
    "A refused specimen has no results: send refused or the results, not both."
)


@dataclass(frozen=True)
class CheckinResult:
    """What a check-in did: the event, its postings, where the participant stands."""

    event: Event
    posted: list[LedgerEntry]
    balance: Balance
    run: int
    next_points: int
    next_draws: int
    next_cents: int
    # Per attendance schedule: what its next session pays (rules.NextSession).
    next_sessions: tuple[rules.NextSession, ...] = ()
    # Where the enrollment stands, as its settle kept it (None for a replay).
    evaluation: rules.Standing | None = field(default=None, compare=False)


def record_specimen(
    actor: Actor,
    participant_id: int,
    collected_on: date,
    results: Mapping[str, str],
    *,
    now: datetime,
    refused: bool = False,
    brac_milli: int | None = None,
    nonce: str | None = None,
) -> CheckinResult:
    """Record a verified urine specimen (per-analyte results, or refused) and settle.

    An optional breath reading taken at the same visit (BrAC in thousandths) is kept
    on the event and, unless the panel already has one, gives the alcohol result.
    Raises NotFound outside the actor's clinic, InvalidInput(field) for bad values
    (InvalidInput("refused") for a refusal with results: which one is true?).
    """
    if refused and results:
        raise InvalidInput("refused", REFUSED_WITH_RESULTS)
    if brac_milli is not None:
        _check_brac(brac_milli)
        breath = brac_result(brac_milli)
        if not refused and results.get("alcohol", breath) != breath:
            raise InvalidInput(
                "brac", f"The BrAC reading is {breath} for alcohol; check both."
            )
        if not refused:
            results = {**results, "alcohol": breath}
    clean = _clean_results(results, refused)
    return _record(
        actor,
        participant_id,
        collected_on,
        now,
        "specimen",
        nonce=nonce,
        results=clean,
        refused=refused,
        brac_milli=brac_milli,
    )


def record_breath(
    actor: Actor,
    participant_id: int,
    collected_on: date,
    brac_milli: int,
    *,
    now: datetime,
) -> CheckinResult:
    """Record a breath-alcohol test; BrAC in thousandths (0.020 -> 20)."""
    _check_brac(brac_milli)
    result = brac_result(brac_milli)
    return _record(
        actor,
        participant_id,
        collected_on,
        now,
        "breath",
        results={"alcohol": result},
        brac_milli=brac_milli,
    )


def _check_brac(brac_milli: object) -> None:
    if (
        isinstance(brac_milli, bool)
        or not isinstance(brac_milli, int)
        or not brac_in_range(brac_milli)
    ):
        raise InvalidInput("brac", BRAC_OUT_OF_RANGE)


def record_attendance(
    actor: Actor,
    participant_id: int,
    on: date,
    session_type: str,
    *,
    now: datetime,
    nonce: str | None = None,
    late: bool = False,
    verification: str | None = None,
    verification_note: str | None = None,
) -> CheckinResult:
    """Record an attended session (late: after the protocol's on-time window).

    An off-site session (a twelve-step meeting) must say how it was confirmed
    (signed slip, phone call, note) and by whom: InvalidInput names the field."""
    check_session_type(session_type)
    verification, note = _verified(session_type, verification, verification_note)
    return _record(
        actor,
        participant_id,
        on,
        now,
        "attendance",
        nonce=nonce,
        session_type=session_type,
        late=bool(late),
        verification=verification,
        verification_note=note,
    )


def check_session_type(session_type: object) -> str:
    if session_type not in SESSION_TYPES:
        raise InvalidInput("session_type", "Choose the type of session.")
    return str(session_type)


def _verified(
    session_type: str, verification: str | None, note: str | None
) -> tuple[str | None, str | None]:
    verification = verification or None
    # Who confirmed it: a name and a role, one line.
    note = check_text("verification_note", note, max_length=REASON_MAX) or None
    if verification is None and session_type in OFF_SITE_TYPES:
        raise InvalidInput(
            "verification",
            "Say how this off-site meeting was confirmed: signed slip, phone call "
            "or note.",
        )
    if verification is not None and verification not in VERIFICATIONS:
        raise InvalidInput("verification", "Choose signed slip, phone call or note.")
    if verification is not None and (note is None or len(note) < 3):
        raise InvalidInput(
            "verification_note",
            "Say who confirmed it (e.g. the meeting chair who signed the slip).",
        )
    return verification, note


def excuse_session(
    actor: Actor,
    participant_id: int,
    on: date,
    session_type: str,
    reason: str,
    *,
    now: datetime,
    nonce: str | None = None,
) -> CheckinResult:
    """Excuse a booked session: it neither breaks nor extends the run."""
    check_session_type(session_type)
    reason = check_reason(reason, "Say why the session is excused.")
    _check_booked(get_participant(actor, participant_id), on, session_type, now)
    return _record(
        actor,
        participant_id,
        on,
        now,
        "excused",
        nonce=nonce,
        reason=reason,
        session_type=session_type,
    )


def _check_booked(
    participant: Participant, on: date, session_type: str, now: datetime
) -> None:
    """An excuse is for a booked session: one nobody booked would count nowhere."""
    enrollment = enrollment_on(participant, on, now)
    booked = db.session.scalar(
        select(Appointment.id).where(
            Appointment.enrollment_id == enrollment.id,
            Appointment.on == on,
            Appointment.session_type == session_type,
            Appointment.cancelled_at.is_(None),
        )
    )
    if booked is None:
        raise InvalidInput(
            "session_type",
            f"No {session_type} session is booked on {on:%a %d %b %Y}: "
            "book it first, or excuse the test day instead.",
        )


def excuse_day(
    actor: Actor,
    participant_id: int,
    on: date,
    reason: str,
    *,
    now: datetime,
    nonce: str | None = None,
) -> CheckinResult:
    """Excuse a scheduled test day: it neither breaks nor extends the run."""
    reason = check_reason(reason, "Say why the day is excused.")
    return _record(
        actor, participant_id, on, now, "excused", nonce=nonce, reason=reason
    )


def record_missed(
    actor: Actor, participant_id: int, on: date, *, now: datetime
) -> CheckinResult:
    """Record that a scheduled test was not given (the nightly job's entry)."""
    return _record(actor, participant_id, on, now, "missed")


def void_event(
    actor: Actor, event_id: int, reason: str, *, now: datetime
) -> CheckinResult:
    """Void a wrong event with a reason; settle posts whatever adjustment follows.

    Nothing is deleted: the event stays, with its void beside it.
    """
    actor.require("admin", "staff")
    event = db.session.get(Event, event_id)
    if event is None or not actor.may_see_clinic(event.clinic_id):
        raise NotFound("No such event.", "event")
    reason = check_reason(reason, "Give the reason for the correction.")
    if db.session.scalar(select(EventVoid.id).where(EventVoid.event_id == event.id)):
        raise Conflict("already_voided", "This event was already voided.")
    void = EventVoid(
        event_id=event.id, reason=reason, voided_by_id=actor.user_id, voided_at=now
    )
    db.session.add(void)
    db.session.flush()
    enrollment = db.session.get_one(Enrollment, event.enrollment_id)
    return _settle_and_commit(
        actor, enrollment, event, now, "void_event", {"reason": reason}
    )


def _record(
    actor: Actor,
    participant_id: int,
    on: date,
    now: datetime,
    kind: str,
    nonce: str | None = None,
    **fields: Any,
) -> CheckinResult:
    """Record and settle one event. A repeated form `nonce` returns the visit it
    recorded the first time instead of recording it again."""
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    source_ref = _form_ref(actor, nonce)
    earlier = _recorded_as(participant.clinic_id, source_ref)
    if earlier is not None:
        return _replayed(earlier, now)
    enrollment = enrollment_on(participant, on, now)
    event = add_event(
        enrollment,
        kind,
        on,
        now=now,
        by_id=actor.user_id,
        source_ref=source_ref,
        **fields,
    )
    try:
        db.session.flush()
    except IntegrityError:
        # The same form, sent twice at once: the other request recorded it.
        db.session.rollback()
        earlier = _recorded_as(participant.clinic_id, source_ref)
        if source_ref is None or earlier is None:
            raise
        return _replayed(earlier, now)
    detail = {"on": on.isoformat(), **{k: v for k, v in fields.items() if v}}
    replaced = replace_missed([event], actor_id=actor.user_id, now=now)
    if replaced:
        detail["replaced_missed"] = replaced
    return _settle_and_commit(actor, enrollment, event, now, f"record_{kind}", detail)


def replace_missed(
    events: Sequence[Event], *, actor_id: int | None, now: datetime
) -> list[int]:
    """Void the `missed` events a late result or excuse now decides (same
    enrollment and day), with the reason; returns their ids. A missed day stays
    missed only while nothing valid is known for it."""
    replaced = _replace_missed_sessions(
        [e for e in events if e.session_type is not None], actor_id, now
    )
    deciding = [
        e
        for e in events
        if e.kind in ("specimen", "breath", "excused") and e.session_type is None
    ]
    # Most check-ins replace nothing: look for a missed event before loading
    # what deciding the day's outcome needs.
    found = [(event, _missed_test(event)) for event in deciding]
    stale_by_event = [(event, stale) for event, stale in found if stale]
    if not stale_by_event:
        db.session.flush()
        return replaced
    timelines = load_timelines(
        [
            db.session.get_one(Enrollment, i)
            for i in {event.enrollment_id for event, _ in stale_by_event}
        ],
        with_events=False,
    )
    for event, stale in stale_by_event:
        timeline = timelines[event.enrollment_id]
        outcome, _ = rules.outcome_of_day(
            timeline.spec, timeline.facts, to_facts([event])
        )
        if outcome not in ("negative", "positive", "refused", "excused"):
            continue  # a pending or untargeted result leaves the day missed
        # A specimen and a breath test of one day decide the same missed event.
        stale = [missed for missed in stale if missed.id not in replaced]
        replaced += _void_replaced(stale, event, actor_id, now)
    db.session.flush()
    return replaced


def _missed_test(event: Event) -> list[Event]:
    """The live `missed` events of the event's enrollment and day."""
    return list(
        db.session.scalars(
            select(Event)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(
                Event.enrollment_id == event.enrollment_id,
                Event.collected_on == event.collected_on,
                Event.kind == "missed",
                Event.session_type.is_(None),
                EventVoid.id.is_(None),
            )
        )
    )


def _replace_missed_sessions(
    events: Sequence[Event], actor_id: int | None, now: datetime
) -> list[int]:
    """A session attended or excused after the nightly job wrote it missed."""
    replaced: list[int] = []
    for event in events:
        if event.kind not in ("attendance", "excused"):
            continue
        stale = db.session.scalars(
            select(Event)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(
                Event.enrollment_id == event.enrollment_id,
                Event.collected_on == event.collected_on,
                Event.kind == "missed",
                Event.session_type == event.session_type,
                EventVoid.id.is_(None),
            )
        )
        replaced += _void_replaced(stale, event, actor_id, now)
    return replaced


def _void_replaced(
    stale: Iterable[Event], event: Event, actor_id: int | None, now: datetime
) -> list[int]:
    replaced = []
    for missed in stale:
        db.session.add(
            EventVoid(
                event_id=missed.id,
                reason=f"Replaced by {event.kind} event {event.id}, recorded later",
                voided_by_id=actor_id,
                voided_at=now,
            )
        )
        replaced.append(missed.id)
    return replaced


def _settle_and_commit(
    actor: Actor,
    enrollment: Enrollment,
    event: Event,
    now: datetime,
    action: str,
    detail: dict[str, Any],
) -> CheckinResult:
    settled = settle_explained(enrollment, now=now, actor_id=actor.user_id)
    posted = settled.entries
    detail = {**detail, "posted": [[e.award_key, e.amount] for e in posted]}
    if settled.withheld:
        detail["withheld"] = [
            [w.key, w.amount, w.explanation] for w in settled.withheld
        ]
    audit.append(
        actor,
        action,
        "event",
        event.id,
        now=now,
        clinic_id=event.clinic_id,
        participant_id=event.participant_id,
        detail=detail,
    )
    db.session.commit()
    with reading():
        return _result(event, posted, now, settled.evaluation)


def _replayed(event: Event, now: datetime) -> CheckinResult:
    """The answer for a visit recorded before: this request writes nothing, so its
    transaction ends before the answer is read, as a recording's does."""
    db.session.rollback()
    with reading():
        return _result(event, [], now)


def _result(
    event: Event,
    posted: list[LedgerEntry],
    now: datetime,
    evaluation: rules.Standing | None = None,
) -> CheckinResult:
    """The answer: where the enrollment stands as its settle folded it, or for a
    replay (nothing settled) a fold read after the transaction ended, holding no
    lock (PostgreSQL's audit-chain lock, SQLite's write lock) others wait on."""
    if evaluation is None:
        enrollment = db.session.get_one(Enrollment, event.enrollment_id)
        today = clinic_today(enrollment.clinic, now)
        evaluation = standing(enrollment, today)
    nxt = evaluation.next_negative
    return CheckinResult(
        event=event,
        posted=posted,
        balance=balance_of(event.participant_id),
        run=evaluation.run,
        next_points=nxt.points + nxt.bonus_points,
        next_draws=nxt.draws + nxt.bonus_draws,
        next_cents=nxt.cents,
        next_sessions=evaluation.next_sessions,
        evaluation=evaluation,
    )


def _form_ref(actor: Actor, nonce: str | None) -> str | None:
    if nonce is None:
        return None
    if not NONCE.match(nonce):
        raise InvalidInput("nonce", "Reload the form and try again.")
    return f"form:{actor.user_id}:{nonce}"


def _recorded_as(clinic_id: int, source_ref: str | None) -> Event | None:
    if source_ref is None:
        return None
    return db.session.scalars(
        select(Event).where(
            Event.clinic_id == clinic_id, Event.source_ref == source_ref
        )
    ).first()


def enrollment_on(participant: Participant, on: date, now: datetime) -> Enrollment:
    today = clinic_today(participant.clinic, now)
    future = "The date cannot be in the future."
    check_date("collected_on", on, latest=today, too_late=future)
    enrollment = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.participant_id == participant.id,
            Enrollment.start_on <= on,
            (Enrollment.ends_on.is_(None)) | (Enrollment.ends_on >= on),
        )
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    ).first()
    if enrollment is None:
        raise InvalidInput(
            "collected_on", f"{participant.code} was not enrolled on {on.isoformat()}."
        )
    return enrollment


def _clean_results(results: Mapping[str, str], refused: bool) -> dict[str, str]:
    if refused:
        return {}
    if not results:
        raise InvalidInput("results", "Enter at least one result, or mark it refused.")
    clean = {}
    for analyte, result in results.items():
        name = str(analyte).strip().lower()
        if name not in ANALYTES:
            raise InvalidInput(f"results.{analyte}", f"Unknown analyte '{analyte}'.")
        if result not in RESULTS:
            raise InvalidInput(
                f"results.{analyte}", f"Result must be one of: {', '.join(RESULTS)}."
            )
        clean[name] = result
    return clean
