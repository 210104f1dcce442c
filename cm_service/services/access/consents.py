"""Consent to share and disclosures (42 CFR Part 2, final rule 2024; docs/consent.md).

A participant's records leave the program only under their written consent: staff
record it (to whom: one named recipient or a class of recipients; for which
purposes; what may be shared; signed on; expires on, or until revoked in writing)
and its revocation, which takes effect the moment it is recorded. Every route that
sends identifiable records out (the FHIR export, the identifiable research export,
a read by an outside recipient's API token) asks `find_consent` first and is
refused with `ConsentRequired`, naming what is missing, when no consent matches;
what it sends is logged as a `disclosure` row, with the consent relied on, in the
same transaction as its audit row. The participant sees both in the portal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from ...extensions import db
from ...models import (
    CONSENT_PURPOSES,
    CONSENT_SHARES,
    RECIPIENT_KINDS,
    AuditLog,
    Consent,
    Disclosure,
    Participant,
)
from ..cm.timeline import clinic_today
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..validation import LAST_DAY, REASON_MAX, check_date, check_reason, check_text
from . import audit
from .actors import Actor, Recipient
from .scope import get_participant

PURPOSES = CONSENT_PURPOSES
SHARES = CONSENT_SHARES
PURPOSE_WORDS = {
    "treatment": "treatment",
    "payment": "payment",
    "operations": "health-care operations",
    "research": "research",
    "reminders": "reminders",
    "other": "other",
}
SHARE_WORDS = {
    "identity": "identity",
    "test_results": "test results",
    "attendance": "attendance",
    "incentives": "incentives ledger",
}
RECIPIENT_MAX = 200
# What each kind of disclosure sends (a record always names its participant).
FHIR_SHARES = ("identity", "test_results")
REPORT_SHARES = ("identity", "test_results", "attendance", "incentives")

# 42 CFR 2.32(a)(1), as amended by the 2024 final rule (89 FR 12472): the
# statement that must accompany each disclosure made with the patient's consent.
NOTICE = (
    "This record which has been disclosed to you is protected by Federal "
    "confidentiality rules (42 CFR part 2). These rules prohibit you from using or "
    "disclosing this record, or testimony that describes the information contained "
    "in this record, in any civil, criminal, administrative, or legislative "
    "proceedings by any Federal, State, or local authority, against the patient, "
    "unless authorized by the consent of the patient, except as provided at 42 CFR "
    "2.12(c)(5) or as authorized by a court in accordance with 42 CFR 2.64 or 2.65. "
    "In addition, the Federal rules prohibit you from making any other use or "
    "disclosure of this record unless at least one of the following applies: (i) "
    "Further use or disclosure is expressly permitted by the written consent of the "
    "individual whose information is being disclosed in this record or as otherwise "
    "permitted by 42 CFR part 2. (ii) You are a covered entity or business associate "
    "and have received the record for treatment, payment, or health care "
    "operations, or (iii) You have received the record from a covered entity or "
    "business associate as permitted by 45 CFR part 164, subparts A and E. A "
    "general authorization for the release of medical or other information is NOT "
    "sufficient to meet the required elements of written consent to further use or "
    "redisclose the record (see 42 CFR 2.31)."
)
DEIDENTIFIED_NOTICE = (
    "De-identified export: participants appear under pseudonyms that change with "
    "every export and dates as days from the start of each episode. It identifies "
    "no one, so it needs no 42 CFR Part 2 consent and no disclosure was logged. "
    "Do not attempt to re-identify anyone in it."
)


class ConsentRequired(Forbidden):
    """A disclosure with no matching active consent: `field` and `missing` name
    what is missing (recipient, purpose, shares, expires_on, revoked_on...)."""

    code = "consent_required"

    def __init__(
        self, message: str, field: str = "consent", missing: Sequence[str] = ()
    ) -> None:
        super().__init__(message, field)
        self.missing = tuple(missing) or (field,)


# --- Recording and revoking ------------------------------------------------------


def record_consent(
    actor: Actor,
    participant_id: int,
    *,
    recipient: str,
    recipient_kind: str,
    purposes: Iterable[str],
    shares: Iterable[str],
    signed_on: date,
    now: datetime,
    expires_on: date | None = None,
    purpose_note: str | None = None,
) -> Consent:
    """Record a participant's written consent to share; commits.

    Raises NotFound outside the actor's clinic, Forbidden for auditors, and
    InvalidInput(field) for a blank or overlong recipient, an unknown kind, no
    purpose or share (or an unknown one), "other" without a note, a signing date
    after today, an expiry before the signing date; nothing is written then.
    """
    consent = add_consent(
        actor,
        participant_id,
        recipient=recipient,
        recipient_kind=recipient_kind,
        purposes=purposes,
        shares=shares,
        signed_on=signed_on,
        now=now,
        expires_on=expires_on,
        purpose_note=purpose_note,
    )
    db.session.commit()
    return consent


def add_consent(
    actor: Actor,
    participant_id: int,
    *,
    recipient: str,
    recipient_kind: str,
    purposes: Iterable[str],
    shares: Iterable[str],
    signed_on: date,
    now: datetime,
    expires_on: date | None = None,
    purpose_note: str | None = None,
) -> Consent:
    """record_consent inside the caller's transaction (the opt-in to reminders
    rests on a consent recorded with it): checked, added and audited, not
    committed."""
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    today = clinic_today(participant.clinic, now)
    recipient = check_text(
        "recipient", recipient, max_length=RECIPIENT_MAX, required=True
    )
    if recipient_kind not in RECIPIENT_KINDS:
        raise InvalidInput(
            "recipient_kind", "Say whether it names a recipient or a class of them."
        )
    chosen_purposes = _chosen("purposes", purposes, PURPOSES, "Choose a purpose.")
    chosen_shares = _chosen(
        "shares", shares, SHARES, "Choose what may be shared (at least one)."
    )
    if "other" in chosen_purposes:
        note: str | None = check_reason(
            purpose_note, "Describe the other purpose.", field="purpose_note"
        )
    else:
        note = check_text(
            "purpose_note", purpose_note, max_length=REASON_MAX, multiline=True
        )
    check_date(
        "signed_on",
        signed_on,
        latest=today,
        too_late="The consent cannot be signed after today.",
    )
    if expires_on is not None:
        check_date("expires_on", expires_on, earliest=signed_on, latest=LAST_DAY)
    consent = Consent(
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        recipient=recipient,
        recipient_kind=recipient_kind,
        purposes=list(chosen_purposes),
        purpose_note=note or None,
        shares=list(chosen_shares),
        signed_on=signed_on,
        expires_on=expires_on,
        recorded_by_id=actor.user_id,
        recorded_at=now,
    )
    db.session.add(consent)
    db.session.flush()
    audit.append(
        actor,
        "record_consent",
        "consent",
        consent.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={
            "recipient": recipient,
            "recipient_kind": recipient_kind,
            "purposes": consent.purposes,
            "shares": consent.shares,
            "signed_on": signed_on.isoformat(),
            "expires_on": expires_on.isoformat() if expires_on else None,
        },
    )
    return consent


def _chosen(
    field: str, values: Iterable[str], allowed: Sequence[str], message: str
) -> tuple[str, ...]:
    found = [v for v in (values or ()) if isinstance(v, str)]
    unknown = [v for v in found if v not in allowed]
    if unknown or len(found) != len(list(values or ())):
        raise InvalidInput(field, f"Choose from: {', '.join(allowed)}.")
    if not found:
        raise InvalidInput(field, message)
    return tuple(v for v in allowed if v in found)  # in the canonical order, once


def revoke_consent(
    actor: Actor,
    consent_id: int,
    *,
    revoked_on: date,
    note: str,
    now: datetime,
) -> Consent:
    """Record the written revocation of a consent: from now on nothing is
    disclosed under it (disclosures made before stand, and stay listed).

    Raises NotFound outside the actor's clinic, Forbidden for auditors,
    Conflict("already_revoked"), InvalidInput("revoked_on") before the signing
    date or after today, InvalidInput("revocation_note") without a note.
    """
    actor.require("admin", "staff")
    consent = db.session.get(Consent, consent_id) if consent_id < 2**31 else None
    if consent is None or not actor.may_see_clinic(consent.clinic_id):
        raise NotFound("No such consent.", "consent")
    if consent.revoked_at is not None:
        raise Conflict("already_revoked", "This consent is already revoked.")
    today = clinic_today(consent.participant.clinic, now)
    check_date(
        "revoked_on",
        revoked_on,
        earliest=consent.signed_on,
        latest=today,
        too_late="The revocation cannot be dated after today.",
    )
    note = check_reason(
        note, "Say how it was revoked (e.g. signed form).", field="revocation_note"
    )
    consent.revoked_on = revoked_on
    consent.revoked_at = now
    consent.revoked_by_id = actor.user_id
    consent.revocation_note = note
    audit.append(
        actor,
        "revoke_consent",
        "consent",
        consent.id,
        now=now,
        clinic_id=consent.clinic_id,
        participant_id=consent.participant_id,
        detail={"revoked_on": revoked_on.isoformat()},
    )
    db.session.commit()
    return consent


# --- Reading ---------------------------------------------------------------------


def consents_of(participant_id: int) -> list[Consent]:
    """Every consent of the participant, newest signed first."""
    return list(
        db.session.scalars(
            select(Consent)
            .where(Consent.participant_id == participant_id)
            .order_by(Consent.signed_on.desc(), Consent.id.desc())
        )
    )


def disclosures_of(participant_id: int) -> list[Disclosure]:
    """Every disclosure of the participant's records, newest first."""
    return list(
        db.session.scalars(
            select(Disclosure)
            .where(Disclosure.participant_id == participant_id)
            .order_by(Disclosure.at.desc(), Disclosure.id.desc())
        )
    )


def status_of(consent: Consent, today: date) -> str:
    """active | revoked | expired | not_yet (signed for a later day)."""
    if consent.revoked_at is not None:
        return "revoked"
    if consent.expires_on is not None and consent.expires_on < today:
        return "expired"
    if consent.signed_on > today:
        return "not_yet"
    return "active"


# --- Matching and disclosing -----------------------------------------------------


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def names(consent: Consent, recipient: Recipient) -> bool:
    """Whether the consent names this recipient, itself or (a class consent) the
    class it belongs to; case and spacing aside."""
    if consent.recipient_kind == "class":
        return bool(recipient.class_name) and _norm(consent.recipient) == _norm(
            recipient.class_name
        )
    return _norm(consent.recipient) == _norm(recipient.name)


def _gaps(
    consent: Consent, recipient: Recipient, shared: Sequence[str], today: date
) -> list[tuple[str, str]]:
    """What keeps the consent from covering this disclosure: (field, words)."""
    gaps: list[tuple[str, str]] = []
    if consent.revoked_at is not None:
        revoked = (consent.revoked_on or today).isoformat()
        gaps.append(("revoked_on", f"was revoked on {revoked}"))
    if consent.expires_on is not None and consent.expires_on < today:
        gaps.append(("expires_on", f"expired on {consent.expires_on.isoformat()}"))
    if consent.signed_on > today:
        gaps.append(("signed_on", "is dated after today"))
    if recipient.purpose not in consent.purposes:
        words = PURPOSE_WORDS.get(recipient.purpose, recipient.purpose or "none")
        gaps.append(("purpose", f"does not cover the purpose {words}"))
    missing = [SHARE_WORDS[s] for s in shared if s not in consent.shares]
    if missing:
        gaps.append(("shares", f"does not cover sharing {', '.join(missing)}"))
    return gaps


def find_consent(
    participant: Participant,
    recipient: Recipient,
    shared: Sequence[str],
    today: date,
) -> Consent:
    """The participant's active consent covering this disclosure (the most recently
    signed one, if several do). Raises ConsentRequired naming what is missing."""
    named = [c for c in consents_of(participant.id) if names(c, recipient)]
    if not named:
        who = recipient.name
        if recipient.class_name:
            who += f" (or {recipient.class_name})"
        raise ConsentRequired(
            f"{participant.code} has no consent to share records with {who}.",
            "recipient",
        )
    ranked = sorted(
        ((_gaps(c, recipient, shared, today), c) for c in named),
        key=lambda pair: (len(pair[0]), -pair[1].signed_on.toordinal()),
    )
    gaps, consent = ranked[0]
    if not gaps:
        return consent
    raise ConsentRequired(
        f"{participant.code}'s consent to share with {consent.recipient} "
        f"(signed {consent.signed_on.isoformat()}) {'; '.join(w for _, w in gaps)}.",
        gaps[0][0],
        [field for field, _ in gaps],
    )


def recipient_for(
    actor: Actor,
    name: str | None,
    purpose: str | None,
    class_name: str | None = None,
    *,
    default_purpose: str | None = None,
) -> Recipient:
    """Who an export goes to: an outside recipient's token's own recipient, else
    the one the request names (staff and the clinic's tokens must name one).

    Raises ConsentRequired("recipient" | "purpose") when none is named,
    InvalidInput for text that is no name or an unknown purpose.
    """
    if actor.recipient is not None:
        return actor.recipient
    name = check_text("recipient", name, max_length=RECIPIENT_MAX)
    class_name = check_text("recipient_class", class_name, max_length=RECIPIENT_MAX)
    if purpose is None:
        purpose = default_purpose
    else:  # named, it must name one: blank (or only invisible) is a mistake
        purpose = check_text("purpose", purpose, max_length=16, required=True)
    if not name:
        raise ConsentRequired(
            "Name the recipient this export is for: identifiable records leave the "
            "program only under the participant's consent to share with them.",
            "recipient",
        )
    if purpose not in PURPOSES:
        raise ConsentRequired(
            f"Give the purpose of this disclosure: one of {', '.join(PURPOSES)}.",
            "purpose",
        )
    return Recipient(name, purpose, class_name or None)


def log_disclosure(
    actor: Actor,
    participant_id: int,
    consent: Consent,
    recipient: Recipient,
    shared: Sequence[str],
    *,
    route: str,
    audit_row: AuditLog,
    now: datetime,
) -> Disclosure:
    """Add a disclosure row to the transaction holding `audit_row` (the caller
    commits both together).

    The consent is read again in this writing transaction, locked against a
    concurrent revocation (FOR SHARE on PostgreSQL; SQLite writes one at a
    time): revoked since it was found, the transaction is rolled back and
    ConsentRequired raised, so a revocation takes effect at once."""
    db.session.refresh(consent, with_for_update={"read": True})
    if consent.revoked_at is not None:
        db.session.rollback()
        revoked = consent.revoked_on.isoformat() if consent.revoked_on else "now"
        raise ConsentRequired(
            f"The consent to share with {consent.recipient} was revoked on {revoked}.",
            "revoked_on",
        )
    row = Disclosure(
        clinic_id=consent.clinic_id,
        participant_id=participant_id,
        consent_id=consent.id,
        recipient=recipient.name,
        purpose=recipient.purpose,
        shared=list(shared),
        route=route[:200],
        at=now,
        by_user_id=actor.user_id,
        by_token_id=actor.id if actor.kind == "api" else None,
        audit_log_id=audit_row.id,
    )
    db.session.add(row)
    return row


def disclose_record(
    actor: Actor,
    participant_id: int,
    shared: Sequence[str],
    *,
    route: str,
    now: datetime,
) -> Disclosure | None:
    """Before an outside recipient's token reads a participant's record: find the
    consent it needs and log the disclosure with its audit row, committed. The
    clinic's own tokens and staff read without disclosing: None.

    Raises NotFound outside the actor's clinic, ConsentRequired without a
    matching active consent (nothing is written then).
    """
    if actor.recipient is None:
        return None
    participant = get_participant(actor, participant_id)
    today = clinic_today(participant.clinic, now)
    consent = find_consent(participant, actor.recipient, shared, today)
    row = audit.append(
        actor,
        "disclose_record",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail=disclosure_detail(consent, actor.recipient, shared, route),
    )
    disclosure = log_disclosure(
        actor,
        participant.id,
        consent,
        actor.recipient,
        shared,
        route=route,
        audit_row=row,
        now=now,
    )
    db.session.commit()
    return disclosure


def disclosure_detail(
    consent: Consent, recipient: Recipient, shared: Sequence[str], route: str
) -> dict[str, object]:
    return {
        "consent": consent.id,
        "recipient": recipient.name,
        "recipient_class": recipient.class_name,
        "purpose": recipient.purpose,
        "shared": list(shared),
        "route": route,
    }


# --- The pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentRow:
    consent: Consent
    status: str  # status_of
    disclosures: int


@dataclass(frozen=True)
class ConsentsPage:
    """A participant's consents (newest signed first, with their status today
    and how many disclosures relied on each) and every disclosure, newest first."""

    participant: Participant
    today: date
    consents: list[ConsentRow]
    disclosures: list[Disclosure]

    @property
    def active(self) -> list[Consent]:
        return [r.consent for r in self.consents if r.status == "active"]


def view_consents(
    actor: Actor, participant_id: int, *, now: datetime, again: bool = False
) -> ConsentsPage:
    """The consents page of a participant's record, for staff (a view of the
    record: audited, unless `again` shows it back with a form's errors) and for
    the participant themselves in the portal (not audited: their own record).

    Raises NotFound outside the actor's clinic (or another participant's).
    """
    if actor.kind == "participant":
        if actor.id != participant_id:
            raise NotFound("No such participant.", "participant")
        participant = get_participant(actor, participant_id)
    else:
        actor.require("admin", "staff", "auditor")
        participant = get_participant(actor, participant_id)
    today = clinic_today(participant.clinic, now)
    made = disclosures_of(participant.id)
    counts: dict[int, int] = {}
    for row in made:
        counts[row.consent_id] = counts.get(row.consent_id, 0) + 1
    page = ConsentsPage(
        participant,
        today,
        [
            ConsentRow(c, status_of(c, today), counts.get(c.id, 0))
            for c in consents_of(participant.id)
        ],
        made,
    )
    if actor.kind == "staff" and not again:
        audit.append(
            actor,
            "view_consents",
            "participant",
            participant.id,
            now=now,
            clinic_id=participant.clinic_id,
            participant_id=participant.id,
        )
        db.session.commit()
    return page
