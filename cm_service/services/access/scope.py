"""Loading rows the actor may see: anything outside their clinic is NotFound."""

from __future__ import annotations

from ...extensions import db
from ...models import Participant
from ..errors import NotFound
from .actors import Actor


def get_participant(actor: Actor, participant_id: int) -> Participant:
    """The participant if the actor may see them; NotFound otherwise (also for
    participants that exist in another clinic, so ids reveal nothing)."""
    participant = db.session.get(Participant, participant_id)
    if participant is None or not actor.may_see_clinic(participant.clinic_id):
        raise NotFound("No such participant.", "participant")
    return participant
