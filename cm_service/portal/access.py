"""Participant sessions: kept apart from staff Flask-Login sessions.

The portal keeps the participant's id under its own session key and never touches
Flask-Login's keys, so a staff login in the same browser is neither used nor ended
by the portal. A session idle for longer than PORTAL_IDLE_SECONDS (10 minutes by
default: kiosks are shared) ends at the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import current_app, flash, g, redirect, session, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..models import Participant
from ..services import portal
from ..services.actors import Actor

PARTICIPANT_KEY = "participant_id"
SEEN_KEY = "portal_seen_at"
CLINIC_KEY = "portal_clinic_id"
DEFAULT_IDLE_SECONDS = 600


def now() -> datetime:
    return datetime.now(UTC)


def start(participant: Participant, at: datetime) -> None:
    session[PARTICIPANT_KEY] = participant.id
    session[SEEN_KEY] = at.timestamp()
    session[CLINIC_KEY] = participant.clinic_id


def end() -> None:
    """Forget the participant (the clinic stays, so a kiosk returns to its login)."""
    session.pop(PARTICIPANT_KEY, None)
    session.pop(SEEN_KEY, None)
    g.pop("portal_participant", None)


def current_actor() -> Actor:
    return portal.participant_actor(g.portal_participant)


def _idle_for(at: datetime) -> float:
    seen = session.get(SEEN_KEY)
    return at.timestamp() - seen if isinstance(seen, int | float) else float("inf")


def login_url() -> str:
    """The login a logged-out participant returns to: their clinic's, if known."""
    clinic_id = session.get(CLINIC_KEY)
    if isinstance(clinic_id, int):
        return url_for("portal.clinic_login", clinic_id=clinic_id)
    return url_for("portal.login")


def session_participant() -> Participant | None:
    """The participant this session belongs to, idle or not; None if there is none."""
    participant_id = session.get(PARTICIPANT_KEY)
    if not isinstance(participant_id, int):
        return None
    return db.session.get(Participant, participant_id)


def participant_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let a logged-in participant in (as g.portal_participant); send anyone else,
    and anyone idle too long, to the portal's login."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        participant = session_participant()
        at = now()
        if participant is None:
            end()
            return redirect(login_url())
        limit = current_app.config.get("PORTAL_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)
        if _idle_for(at) > limit:
            portal.log_out(portal.participant_actor(participant), now=at, reason="idle")
            g.portal_participant = participant  # the message in their language
            flash(
                _(
                    "For your privacy you were logged out after %(minutes)s minutes"
                    " without activity.",
                    minutes=max(1, limit // 60),
                )
            )
            end()
            return redirect(login_url())
        session[SEEN_KEY] = at.timestamp()
        g.portal_participant = participant
        return view(*args, **kwargs)

    return wrapped
