"""Reads for the protocols admin page: the clinic's versions and a preview of what a
version pays when every scheduled test is negative (the budget ceiling).

Every staff role reads protocols (the staff who check participants in should see what
they pay); only admins add versions (`clinics.add_protocol_version`)."""

from __future__ import annotations

from functools import cache

from ... import rules
from ...extensions import db
from ...models import Protocol
from ..access.actors import Actor
from ..cm.timeline import spec_of
from ..errors import NotFound
from .clinics import protocols_of

READERS = ("admin", "staff", "auditor")


def protocol_label(protocol: Protocol) -> str:
    """The short name staff and participants read for a protocol version: its
    spec's `label`; for a version stored before presets had labels that kept its
    preset's name (a preset row, or a clinic's copy), the preset's label; else
    its `name`. The full name and the citation stay on the protocol's own page."""
    label = (protocol.spec or {}).get("label")
    if isinstance(label, str) and label.strip():
        return label
    preset = _preset_labels().get(protocol.key)
    if preset is not None and preset[0] == protocol.name:
        return preset[1]
    return protocol.name


@cache
def _preset_labels() -> dict[str, tuple[str, str]]:
    """{key: (name, label)} of the built-in presets (they ship with the code)."""
    found = {}
    for key in rules.preset_keys():
        document = rules.load_preset(key)
        if document.get("label"):
            found[key] = (document["name"], document["label"])
    return found


def list_protocols(actor: Actor) -> list[Protocol]:
    """The actor's clinic's protocol versions, presets included."""
    actor.require(*READERS)
    if actor.clinic_id is None:
        return []  # the system actor: no clinic, so no protocol is its own
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
