"""Clinics, their staff accounts and their protocol versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from ... import rules
from ...extensions import db
from ...models import ROLES, Clinic, Protocol, User
from ..access import audit, portal_links
from ..access.actors import Actor
from ..access.passwords import check_password, hash_secret
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import check_text
from . import protocol_checks


def own_clinic(actor: Actor) -> Clinic:
    """The clinic the actor works in (the system actor has none: NotFound)."""
    clinic = db.session.get(Clinic, actor.clinic_id) if actor.clinic_id else None
    if clinic is None:
        raise NotFound("No such clinic.")
    return clinic


def create_clinic(actor: Actor, name: str, timezone: str, *, now: datetime) -> Clinic:
    """Create a clinic with every preset protocol installed as its version 1, and
    its own portal login link (portal_links.py)."""
    actor.require("system")
    name = check_text("name", name, max_length=200)
    if not name:
        raise InvalidInput("name", "Give the clinic a name.")
    try:
        ZoneInfo(check_text("timezone", timezone, max_length=64))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "timezone", f"'{timezone}' is not an IANA time zone (e.g. America/Chicago)."
        ) from None
    slug = portal_links.unused_slug(name)
    clinic = Clinic(name=name, timezone=timezone, portal_slug=slug, created_at=now)
    db.session.add(clinic)
    db.session.flush()
    for key in rules.preset_keys():
        _add_version(clinic.id, rules.load_preset(key), now, is_preset=True)
    audit.append(
        actor,
        "create_clinic",
        "clinic",
        clinic.id,
        now=now,
        clinic_id=clinic.id,
        detail={"name": name, "timezone": timezone, "portal_slug": slug},
    )
    db.session.commit()
    return clinic


def create_staff(
    actor: Actor,
    clinic_id: int,
    username: str,
    role: str,
    password: str,
    *,
    now: datetime,
) -> User:
    actor.require("admin")
    if actor.kind != "system" and actor.clinic_id != clinic_id:
        raise InvalidInput("clinic", "Staff can only be added to your own clinic.")
    if db.session.get(Clinic, clinic_id) is None:
        raise InvalidInput("clinic", f"There is no clinic {clinic_id}.")
    username = check_text("username", username, max_length=80)
    if (
        not username
        or len(username) > 80
        or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
    ):
        raise InvalidInput(
            "username", "Use letters, digits, dots, dashes or underscores."
        )
    if role not in ROLES:
        raise InvalidInput("role", f"Role must be one of: {', '.join(ROLES)}.")
    clinic = db.session.get_one(Clinic, clinic_id)
    check_password(password, username=username, clinic_name=clinic.name)
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("username_taken", "That username is taken.", "username")
    user = User(
        clinic_id=clinic_id,
        username=username,
        role=role,
        password_hash=hash_secret(password),
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    audit.append(
        actor,
        "create_staff",
        "user",
        user.id,
        now=now,
        clinic_id=clinic_id,
        detail={"username": username, "role": role},
    )
    db.session.commit()
    return user


def add_protocol_version(
    actor: Actor, clinic_id: int, spec_json: Any, *, now: datetime
) -> Protocol:
    """Validate a spec and store it as the next version of its key.

    Raises InvalidInput with the field path of the first spec error.
    """
    actor.require("admin")
    # Nesting, text and numbers first: validation deep-copies the document.
    protocol_checks.check_document(spec_json)
    try:
        rules.validate_spec(spec_json)
    except rules.SpecError as error:
        first = error.errors[0]
        raise InvalidInput(f"spec.{first.path}", first.message) from None
    protocol_checks.check_spec(spec_json)
    protocol = _add_version(clinic_id, spec_json, now, is_preset=False)
    audit.append(
        actor,
        "add_protocol_version",
        "protocol",
        protocol.id,
        now=now,
        clinic_id=clinic_id,
        detail={"key": protocol.key, "version": protocol.version},
    )
    db.session.commit()
    return protocol


def _add_version(
    clinic_id: int, spec_json: dict[str, Any], now: datetime, *, is_preset: bool
) -> Protocol:
    latest = db.session.scalar(
        select(func.max(Protocol.version)).where(
            Protocol.clinic_id == clinic_id, Protocol.key == spec_json["key"]
        )
    )
    protocol = Protocol(
        clinic_id=clinic_id,
        key=spec_json["key"],
        version=(latest or 0) + 1,
        name=spec_json["name"],
        spec=spec_json,
        is_preset=is_preset,
        created_at=now,
    )
    db.session.add(protocol)
    db.session.flush()
    return protocol


def protocols_of(clinic_id: int) -> list[Protocol]:
    return list(
        db.session.scalars(
            select(Protocol)
            .where(Protocol.clinic_id == clinic_id)
            .order_by(Protocol.key, Protocol.version)
        )
    )


def set_maker_checker(actor: Actor, on: bool, *, now: datetime) -> Clinic:
    """Require (or stop requiring) a second staff member to approve corrections and
    manual adjustments before they take effect."""
    actor.require("admin")
    clinic = db.session.get_one(Clinic, actor.clinic_id)
    clinic.maker_checker = bool(on)
    audit.append(
        actor,
        "maker_checker_on" if on else "maker_checker_off",
        "clinic",
        clinic.id,
        now=now,
    )
    db.session.commit()
    return clinic
