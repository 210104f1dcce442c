"""Staff sessions: revocable on the server, with an idle and an absolute timeout.

Flask's session is a signed cookie that the server cannot delete, so each staff
session also carries the account's session_version; the user loader refuses a
session whose version is not the account's current one (services/access/accounts.py
bumps
it on logout, password change and deactivation). Like the portal's (portal/access.py),
a session idle for longer than STAFF_IDLE_MINUTES, or older than STAFF_SESSION_HOURS,
ends at its next request, with a message on the login page (HIPAA automatic logoff,
ASVS 7.3.1 and 7.3.2).

A form posted by a session that ended by time is not lost: staff/drafts.py keeps it
(before the CSRF check, never acting on it) and shows it again, filled in, once the
same account has signed in again.

Signing in may take two steps (password, then a TOTP code or, for an admin without a
second factor, enrolment). Between them the session holds only a short-lived
"pending" marker: nobody is logged in until the last step succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from .. import auth, clock
from ..extensions import login_manager
from ..services.access import accounts

if TYPE_CHECKING:
    from ..models import User

VERSION_KEY = "staff_session_version"
STARTED_KEY = "staff_session_started_at"
SEEN_KEY = "staff_session_seen_at"
PENDING_KEY = "staff_pending_login"
PENDING_SECONDS = 300
DEFAULT_IDLE_MINUTES = 15
DEFAULT_SESSION_HOURS = 12
# Where an admin without a second factor may still go: enrol, or leave.
_ENROLMENT_ENDPOINTS = {
    "staff.account.enrol",
    "staff.account.logout",
    "staff.account.login",
    "static",
}


def start(user: User) -> None:
    """Log `user` in (every step of signing in has succeeded)."""
    session.pop(PENDING_KEY, None)
    login_user(user)
    at = clock.now().timestamp()
    session[VERSION_KEY] = user.session_version
    session[STARTED_KEY] = at
    session[SEEN_KEY] = at


def renew_version(user: User) -> None:
    """Keep this session after its account's version was bumped on purpose (a
    password change ends the other sessions, not the one that made it)."""
    session[VERSION_KEY] = user.session_version


def end() -> None:
    logout_user()
    for key in (VERSION_KEY, STARTED_KEY, SEEN_KEY, PENDING_KEY):
        session.pop(key, None)


def begin_pending(user: User, step: str, next_url: str) -> None:
    """The password was right; remember who is half-way through signing in."""
    end()
    session[PENDING_KEY] = {
        "user": user.id,
        "version": user.session_version,
        "step": step,
        "at": clock.now().timestamp(),
        "next": next_url,
    }


def pending(step: str) -> tuple[User, str] | None:
    """The user half-way through signing in at `step`, and where they were going."""
    state = session.get(PENDING_KEY)
    if not isinstance(state, dict) or state.get("step") != step:
        return None
    at = state.get("at")
    if (
        not isinstance(at, int | float)
        or clock.now().timestamp() - at > PENDING_SECONDS
    ):
        session.pop(PENDING_KEY, None)
        return None
    user = accounts.session_user(state.get("user"), state.get("version"))
    if user is None:
        session.pop(PENDING_KEY, None)
        return None
    return user, str(state.get("next") or url_for("staff.today.today"))


def clear_pending() -> None:
    session.pop(PENDING_KEY, None)


def _load_user(user_id: str) -> User | None:
    """The user loader: the active account, only while this session's version is
    the account's current one."""
    user = auth.active_user(user_id)
    if user is None or session.get(VERSION_KEY) != user.session_version:
        return None
    return user


def _limits() -> tuple[float, float]:
    idle = float(current_app.config["STAFF_IDLE_MINUTES"]) * 60
    lifetime = float(current_app.config["STAFF_SESSION_HOURS"]) * 3600
    return idle, lifetime


def _expired(at: float) -> str | None:
    idle, lifetime = _limits()
    started, seen = session.get(STARTED_KEY), session.get(SEEN_KEY)
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        return "revoked"
    if at - started > lifetime:
        return "absolute"
    if at - seen > idle:
        return "idle"
    return None


MESSAGES = {
    "idle": "For privacy you were logged out after {minutes} minutes without activity."
    " Please log in again.",
    "absolute": "Your session reached its {hours}-hour limit. Please log in again.",
    "revoked": "Your session was ended. Please log in again.",
}
NOT_SAVED = "What you sent was not saved: log in, then enter it again."


def _check_session() -> Any:
    """Before every request: end an expired or revoked staff session."""
    # Who is logged in is decided anew for every request, also where an outer app
    # context (a test, a CLI) outlives one request and would keep Flask-Login's cache.
    # Flask-Login and Flask-WTF both cache in g (the user, the CSRF token).
    g.pop("_login_user", None)
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    at = clock.now().timestamp()
    reason = _expired(at)
    if reason is None and not current_user.is_authenticated:
        reason = "revoked"  # the loader refused it: logged out elsewhere, deactivated
    if reason is None:
        session[SEEN_KEY] = at
        return None
    end_expired(reason)
    if request.endpoint == "staff.account.login" or request.blueprint == "api":
        return None
    if request.method == "GET":
        return redirect(url_for("staff.account.login", next=request.full_path))
    if request.endpoint != "staff.account.logout":
        # A form the session could not keep (drafts.py keeps those it can): say so.
        flash(NOT_SAVED)
    return redirect(url_for("staff.account.login"))


def expired_owner() -> tuple[User, str] | None:
    """The account this request's session belonged to, and why it ended ("idle" or
    "absolute"), while the cookie still names an active account at its current
    session_version; None for a live, revoked or anonymous session. Only for tying
    what the expired session posted to that account (staff/drafts.py): it logs no
    one in, and runs before the CSRF check, so it reads only the signed cookie and
    the account."""
    if "_user_id" not in session:
        return None
    reason = _expired(clock.now().timestamp())
    user_id = session.get("_user_id")
    if reason not in ("idle", "absolute") or not isinstance(user_id, str):
        return None
    user = accounts.session_user(user_id, session.get(VERSION_KEY))
    if user is None:
        return None
    return user, reason


def end_expired(reason: str) -> None:
    """End this expired or revoked session: audit one that ended by time, and say
    on the next page why it ended."""
    user_id = session.get("_user_id")
    end()
    if reason != "revoked" and isinstance(user_id, str) and user_id.isdigit():
        accounts.session_expired(int(user_id), reason, now=clock.now())
    config = current_app.config
    flash(
        MESSAGES[reason].format(
            minutes=config["STAFF_IDLE_MINUTES"], hours=config["STAFF_SESSION_HOURS"]
        )
    )


def _require_admin_second_factor() -> Any:
    """An admin without a second factor can do nothing but set one up."""
    if (
        current_user.is_authenticated
        and current_user.role == "admin"
        and not current_user.totp_secret
        and request.endpoint not in _ENROLMENT_ENDPOINTS
        and request.blueprint not in ("api", "portal")
    ):
        flash("Admins must set up a second factor before going on.")
        return redirect(url_for("staff.account.enrol"))
    return None


def init_app(app: Flask) -> None:
    from . import drafts  # here: drafts imports this module

    app.config.setdefault("STAFF_IDLE_MINUTES", DEFAULT_IDLE_MINUTES)
    app.config.setdefault("STAFF_SESSION_HOURS", DEFAULT_SESSION_HOURS)
    login_manager.user_loader(_load_user)
    drafts.init_app(app)  # first: keeps an expired session's form before CSRF
    app.before_request(_check_session)
    app.before_request(_require_admin_second_factor)
