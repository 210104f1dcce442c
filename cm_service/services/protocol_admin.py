"""Reads for the protocols admin page: the clinic's versions and a preview of what a
version pays when every scheduled test is negative (the budget ceiling).

Every staff role reads protocols (the staff who check participants in should see what
they pay); only admins add versions (`clinics.add_protocol_version`)."""

from __future__ import annotations

from .. import rules
from ..extensions import db
from ..models import Protocol
from .actors import Actor
from .clinics import protocols_of
from .errors import NotFound
from .timeline import spec_of

READERS = ("admin", "staff", "auditor")


def list_protocols(actor: Actor) -> list[Protocol]:
    """The actor's clinic's protocol versions, presets included."""
    actor.require(*READERS)
    return protocols_of(actor.clinic_id)


def version(actor: Actor, protocol_id: int) -> Protocol:
    """One of the clinic's protocol versions. Raises NotFound outside the clinic."""
    actor.require(*READERS)
    protocol = db.session.get(Protocol, protocol_id)
    if protocol is None or protocol.clinic_id != actor.clinic_id:
        raise NotFound("No such protocol.", "protocol")
    return protocol


def preview(actor: Actor, protocol_id: int) -> tuple[Protocol, rules.SimulationResult]:
    """The all-negative simulation of one of the clinic's protocol versions.

    Raises NotFound outside the actor's clinic.
    """
    protocol = version(actor, protocol_id)
    result = rules.theoretical_maximum(spec_of(protocol), version=protocol.version)
    return protocol, result
