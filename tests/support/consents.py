"""Consent helpers for tests: record a participant's consent to share through the
service, and the recipient the tests name."""

from __future__ import annotations

from datetime import date

from cm_service.models import CONSENT_SHARES
from cm_service.services.access import consents
from cm_service.services.access.actors import Recipient
from tests.support.factories import NOW, START

EHR = "County EHR"
EHR_TREATMENT = Recipient(EHR, "treatment")
RESEARCH = Recipient("CTN study team", "research")
# What an export query names to reach them.
EHR_QUERY = "recipient=County%20EHR&purpose=treatment"
RESEARCH_QUERY = "recipient=CTN%20study%20team&purpose=research"


def grant(
    actor,
    person,
    recipient: str = EHR,
    *,
    purposes=("treatment", "payment", "operations"),
    shares=CONSENT_SHARES,
    signed_on: date = START,
    expires_on: date | None = None,
    kind: str = "named",
    purpose_note: str | None = None,
    now=NOW,
):
    participant_id = person if isinstance(person, int) else person.id
    return consents.record_consent(
        actor,
        participant_id,
        recipient=recipient,
        recipient_kind=kind,
        purposes=purposes,
        shares=shares,
        signed_on=signed_on,
        expires_on=expires_on,
        purpose_note=purpose_note,
        now=now,
    )


def grant_research(actor, person, **kwargs):
    return grant(actor, person, RESEARCH.name, purposes=("research",), **kwargs)
