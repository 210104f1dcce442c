"""How a participant reaches their clinic's portal login, and the card staff print.

No page lists the clinics (which clinic someone attends is itself protected under
42 CFR Part 2): each clinic's login is its own link, /me/<portal_slug>/login, where
the slug is the clinic's name in plain letters and six random lowercase letters or
digits (36**6, about two billion, per name), so clinics cannot be walked by number
or guessed. Staff hand participants a printed card with that link, a QR code of it
and their code; never their PIN.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import Clinic, Participant
from ..errors import NotFound
from . import audit
from .actors import Actor
from .scope import get_participant

SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
SUFFIX_LENGTH = 6
NAME_PART_MAX = 40
SLUG_MAX = NAME_PART_MAX + 1 + SUFFIX_LENGTH
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# What new_slug makes: a link of any other shape (a NUL, a lone surrogate) names no
# clinic and is not looked up (PostgreSQL would refuse the NUL with a 500).
_SLUG_SHAPE = re.compile(r"[a-z0-9][a-z0-9-]*\Z")


def new_slug(name: str) -> str:
    """A new slug: "Riverside Recovery" -> "riverside-recovery-k3v9xq" (random)."""
    plain = unicodedata.normalize("NFKD", name or "")
    plain = plain.encode("ascii", "ignore").decode().lower()
    words = _NOT_SLUG.sub("-", plain).strip("-")[:NAME_PART_MAX].rstrip("-")
    suffix = "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
    return f"{words or 'clinic'}-{suffix}"


def unused_slug(name: str) -> str:
    """A new slug for `name` that no clinic has (a clash is one in two billion)."""
    slug = new_slug(name)
    while db.session.scalar(select(Clinic.id).where(Clinic.portal_slug == slug)):
        slug = new_slug(name)
    return slug


def login_clinic(clinic_id: object) -> Clinic | None:
    """The clinic whose portal login this browser used (its id from the session)."""
    return db.session.get(Clinic, clinic_id) if isinstance(clinic_id, int) else None


def signed_in(participant_id: object, version: object) -> Participant | None:
    """The participant a portal session names, while it is at their current
    session_version (a logout or timeout since bumps it); None otherwise."""
    if not isinstance(participant_id, int):
        return None
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.session_version != version:
        return None
    return participant


def clinic_of(slug: str) -> Clinic:
    """The clinic whose portal link this is; NotFound, saying nothing more, if none."""
    clinic = None
    if 0 < len(slug) <= SLUG_MAX and _SLUG_SHAPE.match(slug):
        clinic = db.session.scalars(
            select(Clinic).where(Clinic.portal_slug == slug)
        ).first()
    if clinic is None:
        raise NotFound("No such page.", "clinic")
    return clinic


@dataclass(frozen=True)
class Card:
    participant: Participant
    clinic: Clinic


def card(actor: Actor, participant_id: int, *, now: datetime) -> Card:
    """What a participant's portal card shows; audited as a view of their record (it
    names them and their clinic). NotFound outside the actor's clinic."""
    actor.require("admin", "staff", "auditor")
    participant = get_participant(actor, participant_id)
    clinic = participant.clinic
    audit.append(
        actor,
        "view_participant",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={"page": "portal_card"},
    )
    db.session.commit()
    return Card(participant, clinic)
