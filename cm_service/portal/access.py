"""Participant sessions: kept apart from staff Flask-Login sessions, revocable on
the server.

The portal keeps the participant's id under its own session keys and never touches
Flask-Login's keys, so a staff login in the same browser is neither used nor ended
by the portal. Like a staff session (staff/sessions.py), each carries the
participant's session_version, which services.reads.portal.log_out bumps: a cookie
copied
before a logout or a timeout opens nothing afterwards. A session idle for longer
than PORTAL_IDLE_SECONDS (10 minutes by default: kiosks are shared), or older than
PORTAL_SESSION_HOURS (12), ends at the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import current_app, flash, g, redirect, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh

from .. import clock
from ..services.access import portal_links
from ..services.access.actors import Actor
from ..services.reads import portal
from .i18n import LANGUAGE_KEY

if TYPE_CHECKING:
    from ..models import Participant

PARTICIPANT_KEY = "participant_id"
SEEN_KEY = "portal_seen_at"
STARTED_KEY = "portal_started_at"
VERSION_KEY = "portal_session_version"
CLINIC_KEY = "portal_clinic_id"
DEFAULT_IDLE_SECONDS = 600
DEFAULT_SESSION_HOURS = 12


def start(participant: Participant, at: datetime) -> None:
    session[PARTICIPANT_KEY] = participant.id
    session[VERSION_KEY] = participant.session_version or 0
    session[STARTED_KEY] = session[SEEN_KEY] = at.timestamp()
    session[CLINIC_KEY] = participant.clinic_id


def end() -> None:
    """Forget the participant (the clinic stays, so a kiosk returns to its login)."""
    for key in (PARTICIPANT_KEY, VERSION_KEY, STARTED_KEY, SEEN_KEY):
        session.pop(key, None)
    g.pop("portal_participant", None)


def current_actor() -> Actor:
    return portal.participant_actor(g.portal_participant)


def _seconds_since(key: str, at: datetime) -> float:
    then = session.get(key)
    return at.timestamp() - then if isinstance(then, int | float) else float("inf")


def login_url() -> str:
    """The login a logged-out participant returns to: their clinic's own link if
    this browser logged in there, else the page that points to the card."""
    clinic_id = session.get(CLINIC_KEY)
    clinic = portal_links.login_clinic(clinic_id)
    if clinic is not None:
        return url_for("portal.clinic_login", slug=clinic.portal_slug)
    return url_for("portal.login")


def session_participant() -> Participant | None:
    """The participant this session belongs to, idle or not; None if there is none
    or it was ended on the server (a logout or timeout since it began)."""
    return portal_links.signed_in(
        session.get(PARTICIPANT_KEY), session.get(VERSION_KEY)
    )


def _time_out(participant: Participant, at: datetime, reason: str, message: str):
    portal.log_out(portal.participant_actor(participant), now=at, reason=reason)
    flash(message)
    # The login page the browser goes to next speaks their language too (it reads
    # the session's choice once nobody is logged in), like an ordinary logout.
    session[LANGUAGE_KEY] = participant.language
    end()
    return redirect(login_url())


def participant_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let a logged-in participant in (as g.portal_participant); send anyone else,
    and anyone idle too long, to the portal's login."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        participant = session_participant()
        at = clock.now()
        if participant is None:
            end()
            return redirect(login_url())
        # Any message from here on is in the participant's language.
        g.portal_participant = participant
        refresh()
        config = current_app.config
        hours = config.get("PORTAL_SESSION_HOURS", DEFAULT_SESSION_HOURS)
        if _seconds_since(STARTED_KEY, at) > float(hours) * 3600:
            message = _("For your privacy you were logged out. Please log in again.")
            return _time_out(participant, at, "lifetime", message)
        limit = config.get("PORTAL_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)
        if _seconds_since(SEEN_KEY, at) > limit:
            message = _(
                "For your privacy you were logged out after %(minutes)s minutes"
                " without activity.",
                minutes=max(1, limit // 60),
            )
            return _time_out(participant, at, "idle", message)
        session[SEEN_KEY] = at.timestamp()
        g.portal_participant = participant
        return view(*args, **kwargs)

    return wrapped
